"""The command line as a person uses it: real subprocesses, real stdout/stderr, exit codes."""

import json
import os
import subprocess
from pathlib import Path
import sys

import pytest

REQUIRED = {"osc_messages", "osc_errors", "osc_clamped", "frames_displayed", "frames_generated", "display_fps", "generator_fps", "generator_ms_p50",
            "generator_ms_p99", "latency_ms_p50", "dropped_frames", "errors", "device", "model", "resolution"}


def instrument(*args, env=None, timeout=120):
    if args and args[0] == "play":  # any free OSC port, no OSCQuery: tests never collide on 9000
        args = (*args, "--osc-port", "0", "--no-oscquery")
    return subprocess.run([sys.executable, "-m", "instrument", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.mark.e2e
def test_play_offscreen_prints_stats_json_last():
    run = instrument("play", "--seconds", "3", "--offscreen")
    assert run.returncode == 0, run.stderr
    stats = json.loads(run.stdout.strip().splitlines()[-1])
    assert REQUIRED <= stats.keys()
    assert stats["frames_displayed"] > 0 and stats["frames_generated"] > 0 and stats["errors"] == 0


@pytest.mark.e2e
def test_play_without_display_says_so_and_runs_offscreen():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    run = instrument("play", "--seconds", "1", env=env)
    assert run.returncode == 0, run.stderr
    assert "offscreen" in run.stderr and "Traceback" not in run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1])["display"] == "offscreen"


@pytest.mark.parametrize("args, names", [
    (("play", "--size", "huge"), "huge"),
    (("play", "--seconds", "-1"), "-1"),
    (("play", "--seed", "x"), "'x'"),
    (("play", "--model", "no/such/model.safetensors", "--offscreen"), "no/such/model.safetensors"),
    (("play", "--device", "tpu", "--offscreen"), "tpu"),
    (("play", "--scene", "../x", "--offscreen"), "../x"),
    (("play", "--midi-map", "nonesuch", "--offscreen"), "nonesuch"),
    (("conform", "no/such/edit.otio", "-o", "out.zlog"), "no/such/edit.otio"),
    (("zlog", "info", "no/such.zlog"), "no/such.zlog"),
    (("models", "no/such.pkl"), "no/such.pkl"),
])
def test_bad_input_is_one_line_naming_it(args, names, tmp_path):
    run = instrument(*args)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    error_lines = [line for line in run.stderr.splitlines() if "error" in line]
    assert len(error_lines) == 1 and names in error_lines[0], run.stderr


def test_corrupt_model_file_is_one_line(tmp_path):
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x00" * 100)
    run = instrument("play", "--model", str(bad), "--offscreen", "--seconds", "1")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "broken.safetensors" in run.stderr.strip().splitlines()[-1]


def test_doctor_reports_every_section():
    run = instrument("doctor")
    assert run.returncode == 0, run.stderr
    for section in ("torch:", "opengl (offscreen EGL):", "audio:", "midi:"):
        assert section in run.stdout
    assert "llvmpipe" in run.stdout or "NVIDIA" in run.stdout or "failed" not in run.stdout


@pytest.mark.e2e
def test_play_models_and_convert_an_nvidia_pickle_without_running_its_code(tmp_path):
    sys.path.insert(0, str(Path(__file__).parent / "models"))
    from fixtures import Global, Reduce, network_pickle, write_pickle
    from instrument.models.stylegan2 import GeneratorConfig, make_generator
    marker = tmp_path / "module_src-ran"
    G = make_generator(GeneratorConfig(z_dim=32, w_dim=32, img_resolution=32, channel_base=256, channel_max=32), 1)
    pkl = network_pickle(G, tmp_path / "network-snapshot-000100.pkl", marker)
    described = instrument("models", str(pkl))
    assert described.returncode == 0 and "32" in described.stdout, described.stderr
    converted = instrument("convert", str(pkl), "-o", str(tmp_path / "g.safetensors"))
    assert converted.returncode == 0 and (tmp_path / "g.safetensors").is_file(), converted.stderr
    run = instrument("play", "--model", str(pkl), "--offscreen", "--seconds", "1.5")
    assert run.returncode == 0, run.stderr
    stats = json.loads(run.stdout.strip().splitlines()[-1])
    assert stats["resolution"] == "32x32" and stats["trained"] and stats["errors"] == 0
    evil = write_pickle(tmp_path / "evil.pkl", {"G_ema": Reduce(Global("os", "system"), (f"touch {marker}",))})
    refused = instrument("play", "--model", str(evil), "--offscreen", "--seconds", "1")
    assert refused.returncode == 2 and "os.system" in refused.stderr and "Traceback" not in refused.stderr
    assert not marker.exists()
