"""A tiny training run end to end: outputs, resume equals an uninterrupted run, export loads, bad inputs."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from instrument.errors import InstrumentError
from instrument.models.weights import load_generator
from instrument.train import checkpoint as ckpt
from instrument.train.image import main, train
from instrument.train.quality import spread

TINY = dict(batch=4, channel_base=128, channel_max=16, z_dim=16, w_dim=16, mapping_layers=2, grid=2,
            r1_interval=2, log_every=1, snapshot_kimg=1.0)
STEPS_KIMG = 0.004  # one step of batch 4


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    """12 PNGs of different sizes (non-square, one with alpha) in a nested folder."""
    root = tmp_path_factory.mktemp("images")
    (root / "sub").mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        a = np.full((40, 48 + i, 4), 255, np.uint8)
        a[..., :3] = rng.integers(0, 255, 3)
        a[8:28, 8 + i:28 + i, :3] = rng.integers(0, 255, 3)
        Image.fromarray(a if i % 5 else a[..., :3]).save(root / ("sub" if i % 2 else ".") / f"{i}.png")
    return root


def _params(path) -> dict[str, torch.Tensor]:
    return ckpt.read_checkpoint(path)[1]


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_tiny_run_writes_outputs_and_resume_is_bit_identical(image_folder, tmp_path):
    whole = tmp_path / "whole"
    train(str(image_folder), 16, 6 * STEPS_KIMG, whole, seed=3, **TINY)
    assert (whole / "samples-000000kimg.png").is_file() and (whole / "reals.png").is_file()
    kept, _ = load_generator(whole / "generator-000000kimg.safetensors")  # each snapshot's G_ema is kept
    latest, _ = load_generator(whole / "generator.safetensors")
    assert _same_weights(kept, latest)
    state, tensors = ckpt.read_checkpoint(whole)
    assert state["step"] == 6 and all(torch.isfinite(t.float()).all() for t in tensors.values())

    part = tmp_path / "part"
    train(str(image_folder), 16, 3 * STEPS_KIMG, part, seed=3, **TINY)
    train(str(image_folder), 16, 6 * STEPS_KIMG, part, resume=part, seed=3, **TINY)
    a, b = _params(whole / ckpt.CHECKPOINT_NAME), _params(part / ckpt.CHECKPOINT_NAME)
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"resumed run differs in {different[:5]}"


def test_export_loads_and_renders(image_folder, tmp_path):
    path = train(str(image_folder), 16, 2 * STEPS_KIMG, tmp_path, seed=0, **TINY)
    G, meta = load_generator(path)
    assert meta["training"]["data"] == str(image_folder) and meta["training"]["seed"] == 0
    img = G.synthesis(G.mapping(torch.randn(2, G.z_dim)), noise_mode="const")
    assert img.shape == (2, 3, 16, 16) and torch.isfinite(img).all()


def test_cli_runs_and_reports_bad_arguments(image_folder, tmp_path, capsys):
    assert main(["--data", str(image_folder), "--resolution", "16", "--kimg", "0.004", "--batch", "4",
                 "--channel-base", "128", "--channel-max", "16", "--mapping-layers", "2",
                 "--out", str(tmp_path / "cli")]) == 0
    G, meta = load_generator(tmp_path / "cli" / "generator.safetensors")
    assert G.config.mapping_layers == 2 and G.config.channel_base == 128
    assert meta["training"]["command"].startswith("instrument train image --data")
    capsys.readouterr()
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (["--data", str(empty)], "has no images"),
        (["--data", str(tmp_path / "missing")], "does not exist"),
        (["--data", str(image_folder), "--resolution", "48"], "power of two"),
        (["--data", str(image_folder), "--batch", "6"], "multiple of 4"),
        (["--data", str(image_folder), "--kimg", "abc"], "invalid float value"),
        (["--data", str(image_folder), "--kimg", "-1"], "kimg must be 0 or more"),
        (["--data", str(image_folder), "--snapshot-kimg", "0"], "snapshot_kimg must be positive"),
        (["--data", str(image_folder), "--device", "tpu"], "device"),
        (["--data", str(image_folder), "--augment", "zoom"], "unknown augmentation"),
        (["--data", str(image_folder), "--resume", str(tmp_path / "nope")], "does not exist"),
        (["--resolution", "16"], "required"),
    ]
    for argv, expected in cases:
        assert main(argv + ["--out", str(tmp_path / "bad")]) == 2, argv
        err = capsys.readouterr().err.strip()
        assert expected in err and "\n" not in err, (argv, err)


def test_unreadable_image_is_one_line_error(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(InstrumentError, match="could not be read") as e:
        train(str(tmp_path), 16, STEPS_KIMG, tmp_path / "out", **TINY)
    assert "\n" not in str(e.value)


def test_resume_accepts_checkpoints_written_before_newer_config_keys(image_folder, tmp_path):
    """A checkpoint from before c_dim/embed_features existed resumes (the keys take their defaults); a real
    mismatch names the key that differs."""
    run = tmp_path / "old"
    train(str(image_folder), 16, STEPS_KIMG, run, seed=1, **TINY)
    path = run / ckpt.CHECKPOINT_NAME
    state, tensors = ckpt.read_checkpoint(path)
    for key in ("c_dim", "embed_features"):
        del state["config"][key]
    ckpt.write_safetensors(tensors, path, {"format": ckpt.FORMAT, "state": json.dumps(state)})

    train(str(image_folder), 16, 2 * STEPS_KIMG, run, resume=run, seed=1, **TINY)
    assert ckpt.read_checkpoint(path)[0]["step"] == 2

    with pytest.raises(InstrumentError, match=r"img_resolution: 16 there, 32 here"):
        train(str(image_folder), 32, 3 * STEPS_KIMG, tmp_path / "other", resume=run, seed=1, **TINY)


def test_the_last_snapshot_does_not_overwrite_a_kept_one_of_the_same_name(image_folder, tmp_path):
    opts = {**TINY, "snapshot_kimg": 2 * STEPS_KIMG}  # a kept snapshot after step 2, the run ends after step 3
    train(str(image_folder), 16, 3 * STEPS_KIMG, tmp_path / "three", seed=3, **opts)
    train(str(image_folder), 16, 2 * STEPS_KIMG, tmp_path / "two", seed=3, **opts)
    kept, _ = load_generator(tmp_path / "three" / "generator-000000kimg.safetensors")
    at_two, _ = load_generator(tmp_path / "two" / "generator.safetensors")
    latest, _ = load_generator(tmp_path / "three" / "generator.safetensors")
    assert _same_weights(kept, at_two)
    assert not _same_weights(kept, latest)
    assert (tmp_path / "three" / "samples.png").is_file()  # the last grid, beside the kept samples-000000kimg.png
    assert ckpt.read_checkpoint(tmp_path / "three")[0]["step"] == 3


def test_spread_is_the_mean_pixel_distance_between_images():
    same = torch.zeros(4, 3, 8, 8)
    assert spread(same) == 0.0
    two = torch.stack([torch.zeros(3, 8, 8), torch.ones(3, 8, 8)])  # every pixel 1 apart
    assert abs(spread(two) - 1.0) < 1e-6


def test_snapshots_report_how_varied_the_samples_are(image_folder, tmp_path, capsys):
    train(str(image_folder), 16, STEPS_KIMG, tmp_path, seed=0, **TINY)
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("snapshot at kimg")]
    fake, real = re.search(r"samples spread ([\d.]+), training images ([\d.]+)", lines[-1]).groups()
    assert float(fake) > 0 and float(real) > 0.1, lines  # 12 distinct coloured images are well spread


@pytest.mark.timeout(120)
def test_first_interrupt_saves_a_checkpoint_and_exits_130(image_folder, tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "instrument", "train", "image", "--data", str(image_folder), "--resolution", "16",
           "--kimg", "100", "--batch", "4", "--channel-base", "128", "--channel-max", "16", "--out", str(out)]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    for line in proc.stderr:  # wait until it is training
        if line.startswith("kimg"):
            break
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    assert proc.wait(60) == 130, rest
    assert "interrupt: saving a checkpoint" in rest and f"continue with --resume '{out}'" in rest.splitlines()[-1]
    state, _ = ckpt.read_checkpoint(out)
    assert state["step"] >= 10  # the first progress line comes after 10 steps
