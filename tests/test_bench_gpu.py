"""`instrument bench gpu` runs end to end on CPU at tiny sizes and writes the JSON the docs read."""

from __future__ import annotations

import json

import pytest

from instrument import cli
from instrument.bench_gpu import CPU_NOTE, PIPELINE_PATHS, run_gpu_bench

TINY = dict(frames=2, seconds=0.3, device="cpu", channel_base=64, channel_max=16)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "gpu.json"
    lines = []
    run_gpu_bench([16], [16], str(path), log=lines.append, **TINY)
    return json.loads(path.read_text()), lines


def test_json_has_every_case_path_and_the_versions(results):
    data, _ = results
    assert set(data["machine"]) >= {"device", "device_name", "driver", "torch", "cuda", "cudnn"}
    assert data["settings"]["frames"] == 2 and "CUDA" in data["graph_unavailable"]
    assert [(c["model"], c["resolution"]) for c in data["cases"]] == [("sg2", 16), ("sg3-t", 16)]
    for case in data["cases"]:
        for path in ("eager", "fast"):
            assert set(case[path]) >= {"ms_p50", "ms_p90", "fps", "frames"} and case[path]["frames"] == 2
        assert case["fast"]["graph"] is False and "CUDA" in case["fast"]["reason"]
        assert case["fp16_resolutions"] == [] and case["parameters"] > 0  # float16 is CUDA-only
        assert case["equality"]["rel_err"] == 0.0 and case["equality"]["max_abs_levels"] == 0  # CPU: exact
        assert [row["path"] for row in case["pipeline"]] == list(PIPELINE_PATHS)


def test_pipeline_rows_measure_or_say_why(results):
    data, _ = results
    for case in data["cases"]:
        rows = {row["path"]: row for row in case["pipeline"]}
        assert "needs a CUDA device" in rows["fast+interop"]["skipped"]
        for path in ("today", "fast"):
            row = rows[path]
            assert "skipped" in row or (row["fps"] > 0 and row["latency_ms_p50"] > 0 and row["errors"] == 0)


def test_cpu_run_says_cuda_figures_need_a_gpu_and_prints_a_table(results):
    _, lines = results
    assert lines[0] == CPU_NOTE
    assert any(line.lstrip().startswith("sg2    16") for line in lines)
    assert lines[-1].startswith("wrote ")


def test_cli_bench_gpu(tmp_path, capsys):
    path = tmp_path / "cli.json"
    code = cli.main(["bench", "gpu", "--device", "cpu", "--sizes", "8", "--sg3-sizes", "", "--frames", "1",
                     "--seconds", "0.2", "--channel-base", "32", "--channel-max", "8", "--json", str(path)])
    assert code == 0
    assert [c["resolution"] for c in json.loads(path.read_text())["cases"]] == [8]
    assert "CUDA figures need a GPU" in capsys.readouterr().out


def test_cli_bench_gpu_bad_sizes_is_one_line(capsys):
    assert cli.main(["bench", "gpu", "--sizes", "256,big"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "instrument: error: invalid sizes '256,big': expected resolutions like 256,512,1024"
