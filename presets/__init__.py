"""Presets shipped with the instrument: controller mappings (controllers/*.toml) and scenes."""
