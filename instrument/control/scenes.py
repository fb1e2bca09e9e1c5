"""Scene presets: named sets of parameter values, recalled from OSC (`/instrument/preset/load <name>`) or code.

A scene is a TOML file with one table, `[params]`, mapping parameter names to values (numbers, or labels for
enums). Scenes are looked up by *name* only — letters, digits, '-' and '_' — in the bundled `presets/scenes/`
folder and then in the user's folder (`~/.config/instrument/scenes/`), so no message can name a path outside
them. Every value is checked against the parameter table before anything is applied: a scene applies whole or
not at all.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from instrument.errors import InstrumentError
from instrument.named import find_named, names_in
from instrument.params import ParamStore, UnknownParam

USER_FOLDER = Path.home() / ".config" / "instrument" / "scenes"


class SceneError(InstrumentError):
    pass


def bundled_folder() -> Path:
    return Path(str(resources.files("instrument.presets") / "scenes"))


def scene_names(folders: tuple[Path, ...] | None = None) -> list[str]:
    return names_in(folders or (bundled_folder(), USER_FOLDER), ".toml")


def find_scene(name: str, folders: tuple[Path, ...] | None = None) -> Path:
    """The file of scene `name`; the name can only pick a file inside the scene folders."""
    return find_named(name, folders or (bundled_folder(), USER_FOLDER), ".toml", "scene", SceneError)


def read_scene(path: Path, store: ParamStore) -> dict[str, float]:
    """Parse and validate a scene file into {parameter: value}; raises SceneError naming the file and entry."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise SceneError(f"scene '{path}' cannot be read ({e}); fix the TOML or delete the file") from None
    params = data.get("params")
    if not isinstance(params, dict) or set(data) - {"params", "doc"}:
        raise SceneError(f"scene '{path}' must hold a [params] table (and optionally doc = \"...\")")
    return {name: _value(path, store, name, value) for name, value in params.items()}


def _value(path: Path, store: ParamStore, name: str, value) -> float:
    try:
        spec = store.spec(name)
    except UnknownParam as e:
        raise SceneError(f"scene '{path}': {e}") from None
    if isinstance(value, str) and value in spec.choices:
        return float(spec.choices.index(value))
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        expected = " or ".join(spec.choices) if spec.choices else f"a number in {spec.lo:g}..{spec.hi:g}"
        raise SceneError(f"scene '{path}': {name} = {value!r}; expected {expected}")
    return float(value)


def load_scene(name: str, store: ParamStore, folders: tuple[Path, ...] | None = None) -> int:
    """Apply scene `name` to the store; returns how many parameters it set."""
    values = read_scene(find_scene(name, folders), store)
    for param, value in values.items():
        store.set(param, value)
    return len(values)
