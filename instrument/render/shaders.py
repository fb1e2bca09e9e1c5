"""Load GLSL sources from the installed package `instrument.shaders`, or from the checkout's `shaders/`."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from instrument.errors import DisplayError

_CHECKOUT_DIR = Path(__file__).resolve().parents[2] / "shaders"


# The text of one shader file, e.g. shader_source("display.frag.glsl").
def shader_source(name: str) -> str:
    try:
        return (importlib.resources.files("instrument.shaders") / name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, OSError, TypeError):
        pass
    path = _CHECKOUT_DIR / name
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        raise DisplayError(
            f"shader '{name}' not found in the package instrument.shaders or in {_CHECKOUT_DIR}; "
            "reinstall the instrument (pip install -e .) or restore the shaders/ folder"
        ) from None
