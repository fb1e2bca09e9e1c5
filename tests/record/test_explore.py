"""Proxy videos with their z-logs: random samples, neighbourhoods, journeys."""

from __future__ import annotations

import numpy as np
import pytest

from instrument.latent.interp import to_shell
from instrument.record.explore import around, explore, journeys, main_journeys
from instrument.record.video import read_row_index, read_video
from instrument.record.zlog import ZlogReader
from test_render_helpers import one_thread, record_log, tiny_model  # noqa: F401 (fixture)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("explore")
    model = tiny_model(tmp / "tiny.safetensors")
    record_log(tmp / "show.zlog", model, rows=12)
    return tmp


def test_explore_writes_a_video_and_a_zlog_of_its_samples(tiny):
    proxy = explore(6, tiny / "samples", model=tiny / "tiny.safetensors", seed=3, size="64x64")
    frames, info = read_video(proxy.video)
    assert info["frames"] == 6 and [read_row_index(f) for f in frames] == list(range(6))
    rng = np.random.default_rng(3)
    with ZlogReader(proxy.log) as reader:
        assert reader.recovered == 6
        for i in range(6):
            want = to_shell(rng.standard_normal(32)).astype(np.float32)
            assert np.array_equal(reader.latent_frame(i).z[0], want)


def test_around_starts_each_neighbourhood_at_the_row(tiny):
    proxy = around(tiny / "show.zlog", [2, 7], 0.2, 3, tiny / "around", model=tiny / "tiny.safetensors",
                   size="64x64")
    with ZlogReader(proxy.log) as out, ZlogReader(tiny / "show.zlog") as src:
        assert out.recovered == 6 and out.header["derived_from"]["around"]["rows"] == [2, 7]
        np.testing.assert_allclose(out.latent_frame(3).z, src.latent_frame(7).z, atol=1e-6)
        assert not np.allclose(out.latent_frame(4).z, src.latent_frame(7).z)


def test_journeys_end_on_their_keys(tiny):
    proxies = journeys(tiny / "show.zlog", [1, 10], 1, keys=2, seconds=0.5, out_dir=tiny / "j",
                       model=tiny / "tiny.safetensors", size="64x64")
    (proxy,) = proxies
    with ZlogReader(proxy.log) as out, ZlogReader(tiny / "show.zlog") as src:
        first, last = proxy_keys = out.header["derived_from"]["journey"]["rows"]
        assert sorted(proxy_keys) == [1, 10]
        np.testing.assert_allclose(out.latent_frame(0).z, src.latent_frame(first).z, atol=1e-6)
        np.testing.assert_allclose(out.latent_frame(out.recovered - 1).z, src.latent_frame(last).z, atol=1e-6)
    assert read_video(proxy.video)[1]["frames"] == out.recovered


def test_rows_beyond_the_end_are_a_one_line_error(tiny, capsys):
    assert main_journeys([str(tiny / "show.zlog"), "--rows", "3", "99", "--model", str(tiny / "tiny.safetensors"),
                          "-o", str(tiny / "j2"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "row 99 is beyond the end" in err and "\n" not in err


def test_the_issue_spellings_work_from_the_command_line(tiny, capsys):
    """`explore --samples N`, `--around LOG:ROWS --noise S` and `journeys --from LOG --rows a,b` as documented."""
    from instrument.record.explore import main_explore
    model = ["--model", str(tiny / "tiny.safetensors"), "--size", "64x64", "--quiet"]
    assert main_explore(["--samples", "2", "-o", str(tiny / "cli-samples"), *model]) == 0
    assert main_explore(["2", "--around", f"{tiny / 'show.zlog'}:2,7", "--noise", "0.2", "-o",
                         str(tiny / "cli-around"), *model]) == 0
    with ZlogReader(next((tiny / "cli-around").glob("*.zlog"))) as out:
        assert out.header["derived_from"]["around"]["rows"] == [2, 7] and out.recovered == 4
    assert main_journeys(["--from", str(tiny / "show.zlog"), "--rows", "1,10", "--count", "1", "--seconds", "0.2",
                          "-o", str(tiny / "cli-j"), *model]) == 0
    assert main_explore(["-o", str(tiny / "none"), *model]) == 2
    assert "give the number of samples" in capsys.readouterr().err
