"""Files picked by name from a list of folders (scene presets, sound keyframes): a name never reaches outside them.

A name is letters, digits, '-' and '_' (no path separators, no dots), looked up as `<folder>/<name><suffix>` in
each folder in turn; an unknown name gets a did-you-mean from the names that exist.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def names_in(folders: tuple[Path, ...], suffix: str) -> list[str]:
    """Every name `<name><suffix>` in the folders, sorted, each once."""
    return sorted({p.stem for folder in folders if folder.is_dir() for p in folder.glob(f"*{suffix}")})


def find_named(name, folders: tuple[Path, ...], suffix: str, kind: str, error: type[Exception],
               where: str = "") -> Path:
    """The file of `kind` `name` in the first folder that has it; `error` (one line) for a bad or unknown name.

    where: how to name the folders in the messages ('' leaves them out)."""
    if not isinstance(name, str) or not NAME.match(name):
        inside = f" (a {suffix.lstrip('.').upper()} in {where})" if where else ""
        raise error(f"invalid {kind} name {name!r}: use letters, digits, '-' and '_' only{inside}")
    for folder in folders:
        path = folder / f"{name}{suffix}"
        if path.is_file():
            return path
    known = names_in(folders, suffix)
    near = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean '{near[0]}'?" if near else f"known {kind}s: {', '.join(known) or 'none'}"
    raise error(f"no {kind} named '{name}'{f' in {where}' if where else ''}; {hint}")
