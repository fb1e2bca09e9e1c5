"""A plain (non-editable) install carries the shaders, presets and shipped weights: build the wheel and look inside."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.mark.e2e
def test_wheel_carries_shaders_presets_and_weights(tmp_path):
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next(tmp_path.glob("instrument-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for shader in (ROOT / "shaders").glob("*.glsl"):
        assert f"instrument/shaders/{shader.name}" in names
    for scene in (ROOT / "presets" / "scenes").glob("*.toml"):
        assert f"instrument/presets/scenes/{scene.name}" in names
    shipped = [p.relative_to(ROOT).as_posix() for p in (ROOT / "instrument").glob("*/weights/*.safetensors")]
    assert "instrument/models/weights/default.safetensors" in shipped
    assert not set(shipped) - names, "weights missing from the wheel"
    assert "instrument/cli.py" in names and "instrument/render/pipeline.py" in names
