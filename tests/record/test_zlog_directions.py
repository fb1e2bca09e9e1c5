"""The direction knobs in the z-log: rows and header record them, replay rebuilds the exact w and pixels, version 1
logs (no knobs) still read and render, conform blends the amounts. Real files, real EGL, a tiny generator."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest
import torch

from instrument.errors import ModelError
from instrument.latent.conductor import Conductor
from instrument.latent.directions import KnobDirections, knob_directions
from instrument.params import ParamStore
from instrument.record.conform import ConformError, blend_rows, conform, write_zlog
from instrument.record.render import BatchRenderer, render
from instrument.record.video import read_video
from instrument.record.writer import ZlogWriter
from instrument.record.zlog import (KIND_CRC, MAGIC, PREAMBLE, RECORD, ROW, ZlogReader, header_for_model,
                                    logged_directions, make_header, row_dtype)
from instrument.render.generator_thread import FrameRenderer
from test_render_helpers import FPS, one_thread, tiny_model  # noqa: F401 (fixture)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::torch.jit.TracerWarning")
CPU = torch.device("cpu")
ROWS = 30


@pytest.fixture(scope="module")
def show(tmp_path_factory):
    """A show played live with the knobs moving: the engine's directions, the conductor, the traced graph."""
    tmp = tmp_path_factory.mktemp("knobs")
    model = tiny_model(tmp / "tiny.safetensors")
    knobs = knob_directions(str(tmp / "tiny.safetensors"), model, log=lambda line: None)
    store = ParamStore()
    conductor = Conductor(store, model.generator.z_dim, model.generator.num_ws, seed=3)
    live = FrameRenderer(model.generator, CPU)
    live.set_directions(knobs.scaled)
    writer = ZlogWriter(tmp / "show.zlog", header_for_model(model, 3, FPS, directions=knobs))
    frames, images = [], []
    with torch.inference_mode():
        for i in range(ROWS):
            if i == 4:
                store.set("direction.1", 4.0)
                store.set("direction.5", -3.0)
            if i == 15:
                store.set("direction.layers", 1)  # coarse
                store.set("direction.2", 5.0)
            frames.append(conductor.step(i / FPS, 1 / FPS if i else 0.0))
            images.append(live.image(frames[-1]).numpy().copy())
            writer.write_row(frames[-1], store.values, i / FPS)
    writer.close()
    return {"tmp": tmp, "model": model, "knobs": knobs, "frames": frames, "images": images, "log": tmp / "show.zlog"}


def test_rows_record_the_amounts_and_the_header_the_exact_directions(show):
    with ZlogReader(show["log"]) as reader:
        assert reader.header["version"] == 2 and reader.header["direction_layers"] == ["all", "coarse", "middle", "fine"]
        assert np.array_equal(logged_directions(reader.header), show["knobs"].scaled.numpy())
        assert reader.header["directions"]["source"].startswith("quick estimate")
        for i, frame in enumerate(show["frames"]):
            got = reader.latent_frame(i)
            assert got.directions.tobytes() == frame.directions.tobytes()
            assert got.direction_layers == frame.direction_layers
    assert show["frames"][-1].direction_layers == "coarse" and show["frames"][-1].directions[1] > 4.9


def test_replayed_rows_give_the_live_pixels_bit_for_bit(show):
    with ZlogReader(show["log"]) as reader:
        latents = [reader.latent_frame(i) for i in range(reader.recovered)]
        replay = BatchRenderer(show["model"], CPU, 1, logged_directions(reader.header))
    again = replay.images(latents)
    assert len(again) == ROWS and all(np.array_equal(a, b) for a, b in zip(again, show["images"]))
    moved = [np.abs(a.astype(int) - show["images"][0].astype(int)).mean() for a in show["images"][10:]]
    assert min(moved) > 1.0  # the knobs did move the picture, so equality above means something


def test_the_rendered_video_shows_the_moved_frames(show):
    """`instrument render` end to end (EGL, H.264): close to the live frames, far from the knobs-at-zero frames."""
    result = render(show["log"], show["tmp"] / "show.mp4", size="32x32", fx=False, code=False, progress=False,
                    model=show["tmp"] / "tiny.safetensors")
    video, _ = read_video(result.paths[0])
    with torch.inference_mode():
        plain = BatchRenderer(show["model"], CPU, 1).images([show["frames"][i] for i in range(ROWS)])
    for i in (12, 20, 29):
        to_live = np.abs(video[i].astype(int) - show["images"][i].astype(int)).mean()
        to_plain = np.abs(video[i].astype(int) - plain[i].astype(int)).mean()
        assert to_live < 0.5 * to_plain, (i, to_live, to_plain)


def write_version_1(path, model, frames) -> None:
    """A z-log as version 1 wrote it: no direction fields in the rows, no directions in the header."""
    header = header_for_model(model, 3, FPS)
    header["row_fields"] = [f for f in header["row_fields"] if not f[0].startswith("direction")]
    header["row_bytes"] = row_dtype(header["row_fields"]).itemsize
    for key in ("directions", "direction_layers"):
        del header[key]
    header["version"] = 1
    rows = np.zeros(len(frames), row_dtype(header["row_fields"]))
    for i, f in enumerate(frames):
        rows[i]["index"], rows[i]["t"], rows[i]["psi"], rows[i]["z"], rows[i]["mix"] = f.index, f.t, f.psi, f.z, f.mix
        rows[i]["cutoff"], rows[i]["noise_seed"] = f.cutoff, f.noise_seed
        rows[i]["noise_mode"] = header["noise_modes"].index(f.noise_mode)
    text = json.dumps(header).encode()
    with open(path, "wb") as out:
        out.write(PREAMBLE.pack(MAGIC, 1, 0, len(text), zlib.crc32(text)) + text)
        for raw in rows.view(np.uint8).reshape(len(rows), -1):
            payload = raw.tobytes()
            out.write(RECORD.pack(len(payload), zlib.crc32(payload, KIND_CRC[ROW]), ROW) + payload)


def test_a_version_1_log_reads_with_the_knobs_at_zero_and_renders_as_before(show):
    path = show["tmp"] / "old.zlog"
    write_version_1(path, show["model"], show["frames"][:6])
    with ZlogReader(path) as reader:
        assert reader.recovered == 6 and logged_directions(reader.header) is None
        old = [reader.latent_frame(i) for i in range(6)]
    assert all(not f.directions.any() and f.direction_layers == "all" for f in old)
    images = BatchRenderer(show["model"], CPU, 1, None).images(old)
    assert all(np.array_equal(a, b) for a, b in zip(images, show["images"][:4]))  # rows 0-3: knobs still at zero
    result = render(path, show["tmp"] / "old.mp4", size="32x32", code=False, progress=False,
                    model=show["tmp"] / "tiny.safetensors")
    assert result.frames == 6


def test_directions_for_another_w_width_are_refused_in_one_line(show):
    wide = np.zeros((8, 64), np.float32)
    with pytest.raises(ModelError, match=r"the z-log's directions are \[8, 64\] \(knobs, w_dim\) but model .* has "
                                        r"w_dim 32; render with a snapshot of the logged network"):
        BatchRenderer(show["model"], CPU, 1, wide)


# ---- conform ----------------------------------------------------------------------------------------------------------
Z_DIM, NUM_WS, RATE = 8, 4, 30


def knob_log(path, offset: float, layers: int, scaled=None, turned: bool = True) -> None:
    """Row i turns direction.1 to offset + i/100 on layer range `layers` (or leaves the knobs at zero)."""
    knobs = KnobDirections(torch.full((8, 16), 0.25) if scaled is None else scaled, "test")
    header = make_header("tiny", "0" * 64, {"z_dim": Z_DIM}, Z_DIM, NUM_WS, 7, RATE, directions=knobs)
    rows = np.zeros(40, row_dtype(header["row_fields"]))
    rows["index"], rows["t"] = np.arange(40), np.arange(40) / RATE
    rows["z"] = 1.0
    rows["directions"][:, 0] = (offset + np.arange(40) / 100) if turned else 0.0
    rows["direction_layers"] = layers
    write_zlog(path, header, rows, [], RATE)


def cut_and_dissolve(d, out):
    otio = pytest.importorskip("opentimelineio")
    from test_conform import clip, dissolve, timeline
    otio.adapters.write_to_file(timeline([clip(f"{d}/a.mp4", 10, 10), dissolve(2, 2), clip(f"{d}/b.mp4", 10, 10)]),
                                str(d / "edit.otio"))
    return conform(d / "edit.otio", out)


def test_conform_carries_the_amounts_and_blends_them_in_a_dissolve(tmp_path):
    knob_log(tmp_path / "a.zlog", 0.0, 1)
    knob_log(tmp_path / "b.zlog", 1.0, 3)
    cut_and_dissolve(tmp_path, tmp_path / "out.zlog")
    with ZlogReader(tmp_path / "out.zlog") as reader, ZlogReader(tmp_path / "a.zlog") as a:
        rows, header = reader.rows(), reader.header
        assert header["directions"] == a.header["directions"]
    amount = rows["directions"][:, 0]
    np.testing.assert_allclose(amount[:8], 0.10 + np.arange(8) / 100, atol=1e-6)       # clip a, rows 10..17
    np.testing.assert_allclose(amount[12:], 1.12 + np.arange(8) / 100, atol=1e-6)      # clip b, rows 12..19
    w = (np.arange(4) + 0.5) / 4
    np.testing.assert_allclose(amount[8:12], (1 - w) * (0.18 + np.arange(4) / 100) + w * (1.08 + np.arange(4) / 100),
                               atol=1e-6)
    assert rows["direction_layers"].tolist() == [1] * 10 + [3] * 10                      # the nearer side's


def test_conform_refuses_logs_that_turned_the_knobs_with_different_directions(tmp_path):
    knob_log(tmp_path / "a.zlog", 0.5, 0)
    knob_log(tmp_path / "b.zlog", 0.5, 0, scaled=torch.full((8, 16), 0.5))
    with pytest.raises(ConformError, match="'a.zlog' and 'b.zlog' turn the direction knobs with different directions"):
        cut_and_dissolve(tmp_path, tmp_path / "out.zlog")


def test_conform_takes_the_directions_of_the_log_that_turned_the_knobs(tmp_path):
    knob_log(tmp_path / "a.zlog", 0.0, 0, scaled=torch.full((8, 16), 0.5), turned=False)
    knob_log(tmp_path / "b.zlog", 0.5, 0)
    cut_and_dissolve(tmp_path, tmp_path / "out.zlog")
    with ZlogReader(tmp_path / "out.zlog") as reader:
        assert np.array_equal(logged_directions(reader.header), np.full((8, 16), 0.25, np.float32))


def test_version_1_rows_blend_without_knob_fields():
    fields = [f for f in make_header("t", "0", {}, Z_DIM, NUM_WS, 0, 30.0)["row_fields"]
              if not f[0].startswith("direction")]
    a, b = np.zeros(2, row_dtype(fields)), np.ones(2, row_dtype(fields))
    assert blend_rows(a, b, [0.25, 0.75])["noise_seed"].tolist() == [0, 1]


def test_zlog_info_names_the_directions_and_the_rows_that_turned_a_knob(show):
    from instrument.record.cli import info_lines
    with ZlogReader(show["log"]) as reader:
        line = next(x for x in info_lines(reader) if x.startswith("directions"))
    assert "quick estimate (4096 samples, seed 0)" in line and f"a knob turned in {ROWS - 4} rows" in line


def test_events_mode_re_simulates_the_knob_moves_from_the_logged_parameters(show):
    from instrument.record.render import event_shots
    with ZlogReader(show["log"]) as reader:
        shots = list(event_shots(reader, FPS))
    assert len(shots) == ROWS
    np.testing.assert_allclose([s.latent.directions[0] for s in shots], [f.directions[0] for f in show["frames"]],
                               atol=1e-4)
    assert [s.latent.direction_layers for s in shots] == [f.direction_layers for f in show["frames"]]
