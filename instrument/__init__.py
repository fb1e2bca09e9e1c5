"""A latent-space audiovisual performance instrument."""

__version__ = "0.1.0"
