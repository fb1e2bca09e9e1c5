"""The README stays true: its set-up commands and its generated tables match the code."""

from pathlib import Path

from instrument.control.osc import namespace_table
from instrument.params import markdown_table

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_readme_opens_with_the_two_setup_commands():
    block = README.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["./bootstrap play", "./bootstrap test"]


def test_parameter_table_is_generated_from_the_code():
    section = README.split("<!-- params:begin -->", 1)[1].split("<!-- params:end -->", 1)[0]
    assert section.strip() == markdown_table(), "regenerate it: python tools/update_readme.py"


def test_osc_table_is_generated_from_the_code():
    section = README.split("<!-- osc:begin -->", 1)[1].split("<!-- osc:end -->", 1)[0]
    assert section.strip() == namespace_table(), "regenerate it: python tools/update_readme.py"
