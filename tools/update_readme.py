"""Regenerate the README's generated sections from the code: `python tools/update_readme.py`."""

from pathlib import Path

from instrument.control.osc import namespace_table
from instrument.params import markdown_table

README = Path(__file__).parents[1] / "README.md"
SECTIONS = {"params": markdown_table, "osc": namespace_table}


def main() -> None:
    text = README.read_text()
    for name, make in SECTIONS.items():
        begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = f"{head}{begin}\n{make()}\n{end}{tail}"
    README.write_text(text)


if __name__ == "__main__":
    main()
