"""Conform: edits built with the OTIO API (and a hand-written Kdenlive project) map back to the right source rows.

Source row i of log `a` has psi = i/1000, params[0] = i and z[0, 0] = i; log `b` adds 1000. So psi * 1000 of an
output row says which source row (or which blend of rows) it came from.
"""

from __future__ import annotations

import numpy as np
import pytest

from instrument.latent.interp import slerp
from instrument.record.conform import BLACK_PARAM, ConformError, black_mask, conform, write_zlog
from instrument.record.zlog import ZlogReader, make_header, row_dtype

otio = pytest.importorskip("opentimelineio")   # with otio-cmx3600-adapter and otio-fcp-adapter

RATE = 30
Z_DIM, NUM_WS, ROWS = 8, 4, 200


def make_log(path, offset: int, n: int = ROWS) -> None:
    header = make_header("tiny", "0" * 64, {"z_dim": Z_DIM}, Z_DIM, NUM_WS, seed=7, fps_hint=RATE)
    rows = np.zeros(n, row_dtype(header["row_fields"]))
    v = np.arange(n, dtype=np.float64) + offset
    rows["index"], rows["t"], rows["psi"] = np.arange(n), np.arange(n) / RATE, v / 1000
    rows["params"][:, 0] = v
    rows["z"] = np.arange(1, 3 * Z_DIM + 1, dtype=np.float32).reshape(3, Z_DIM)   # fixed directions...
    rows["z"][:, 0, 0] = v                                                          # ...plus the row number
    rows["mix"] = (v / 100)[:, None, None]
    rows["noise_seed"] = v
    write_zlog(path, header, rows, [], RATE)


@pytest.fixture
def logs(tmp_path):
    make_log(tmp_path / "a.zlog", 0)
    make_log(tmp_path / "b.zlog", 1000)
    return tmp_path


def rt(frames):
    return otio.opentime.RationalTime(frames, RATE)


def clip(proxy: str, start: int, frames: int, speed: float | None = None, name: str | None = None):
    ref = otio.schema.ExternalReference(target_url=proxy, available_range=otio.opentime.TimeRange(rt(0), rt(ROWS)))
    c = otio.schema.Clip(name=name or proxy.rsplit("/", 1)[-1], media_reference=ref,
                         source_range=otio.opentime.TimeRange(rt(start), rt(frames)))
    if speed == 0:
        c.effects.append(otio.schema.FreezeFrame())
    elif speed is not None:
        c.effects.append(otio.schema.LinearTimeWarp(time_scalar=speed))
    return c


def gap(frames):
    return otio.schema.Gap(source_range=otio.opentime.TimeRange(rt(0), rt(frames)))


def dissolve(before, after):
    return otio.schema.Transition(in_offset=rt(before), out_offset=rt(after),
                                  transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve)


def timeline(items):
    tl = otio.schema.Timeline(name="edit")
    track = otio.schema.Track(name="V1")
    tl.tracks.append(track)
    for item in items:
        track.append(item)
    return tl


def everything(d):
    """Cut, 2x, gap, 0.5x, freeze, cut, dissolve (2 + 2 frames around the cut), cut."""
    return timeline([clip(f"{d}/a.mp4", 10, 10), clip(f"{d}/b.mp4", 0, 10, 2.0), gap(5),
                     clip(f"{d}/a.mp4", 5, 10, 0.5), clip(f"{d}/a.mp4", 40, 6, 0.0), clip(f"{d}/a.mp4", 50, 10),
                     dissolve(2, 2), clip(f"{d}/b.mp4", 80, 10)])


W = (np.arange(4) + 0.5) / 4                          # dissolve weights of the incoming clip
DISSOLVE = [(50 + 8 + k) * (1 - w) + (1078 + k) * w for k, w in enumerate(W)]
EXPECTED_ALL = ([*range(10, 20)] + [*range(1000, 1020, 2)] + [1018] * 5 + [5 + k / 2 for k in range(10)]
                + [40] * 6 + [*range(50, 58)] + DISSOLVE + [*range(1082, 1090)])
BLACK_ALL = [0.0] * 20 + [1.0] * 5 + [0.0] * (len(EXPECTED_ALL) - 25)


def conformed(edit_path, out):
    summary = conform(edit_path, out)
    with ZlogReader(out) as reader:
        return summary, reader.header, reader.rows(), black_mask(reader), reader.events()


def check(rows, mask, expected, black):
    assert rows["index"].tolist() == list(range(len(expected)))
    np.testing.assert_allclose(rows["psi"] * 1000, expected, atol=1e-9)
    np.testing.assert_allclose(rows["params"][:, 0], expected, atol=1e-9)
    np.testing.assert_allclose(mask, black)


def test_otio_everything_row_by_row(logs):
    tl = everything(logs)
    otio.adapters.write_to_file(tl, str(logs / "edit.otio"))
    summary, header, rows, mask, events = conformed(logs / "edit.otio", logs / "out.zlog")
    check(rows, mask, EXPECTED_ALL, BLACK_ALL)
    assert rows["z"][:10, 0, 0].tolist() == list(range(10, 20))        # cuts and 2x copy rows exactly
    assert rows["t"][1] == 1 / RATE


def test_half_speed_rows_are_slerped(logs):
    otio.adapters.write_to_file(everything(logs), str(logs / "edit.otio"))
    _, _, rows, _, _ = conformed(logs / "edit.otio", logs / "out.zlog")
    with ZlogReader(logs / "a.zlog") as a:
        src = a.rows()
    half = rows[25:35]                                 # 0.5x from row 5: 5, 5.5, 6, ...
    for k in range(10):
        lo = 5 + k // 2
        want = slerp(src["z"][lo], src["z"][lo + 1], 0.5 * (k % 2)).astype(np.float32)
        np.testing.assert_allclose(half["z"][k], want, rtol=1e-6)
    assert half["noise_seed"].tolist() == [5 + (k + 1) // 2 for k in range(10)]   # discrete: the nearer row


def test_dissolve_blends_by_slerp_with_ramping_weights(logs):
    otio.adapters.write_to_file(everything(logs), str(logs / "edit.otio"))
    _, _, rows, _, _ = conformed(logs / "edit.otio", logs / "out.zlog")
    with ZlogReader(logs / "a.zlog") as a, ZlogReader(logs / "b.zlog") as b:
        za, zb = a.rows()["z"], b.rows()["z"]
    start = 41 + 8                                     # 10 + 10 + 5 + 10 + 6 frames before clip e, 8 of e
    for k, w in enumerate(W):
        want = slerp(za[58 + k], zb[78 + k], w).astype(np.float32)
        np.testing.assert_allclose(rows["z"][start + k], want, rtol=1e-6)


def test_gap_is_black_mask_not_zero_latent(logs):
    otio.adapters.write_to_file(everything(logs), str(logs / "edit.otio"))
    summary, header, rows, mask, events = conformed(logs / "edit.otio", logs / "out.zlog")
    assert summary.black_frames == 5 and header["conform"]["black_frames"] == 5
    assert np.all(np.linalg.norm(rows["z"][20:25].reshape(5, -1), axis=1) > 1)  # held latent, not the mean image
    black = [(e.frame, e.data["value"]) for e in events if e.data.get("param") == BLACK_PARAM]
    assert black == [(20, 1.0), (25, 0.0)]
    assert header["conform"]["track"] == "V1" and len(header["conform"]["edit_sha256"]) == 64
    assert header["fps_hint"] == RATE and len(header["conform"]["clips"]) == 6


def test_fade_from_gap_ramps_black(logs):
    tl = timeline([gap(4), dissolve(0, 4), clip(f"{logs}/a.mp4", 10, 8)])
    otio.adapters.write_to_file(tl, str(logs / "fade.otio"))
    _, _, rows, mask, _ = conformed(logs / "fade.otio", logs / "out.zlog")
    np.testing.assert_allclose(mask, [1, 1, 1, 1] + list(1 - W) + [0] * 4)
    np.testing.assert_allclose(rows["psi"][4:] * 1000, range(10, 18))


def test_edl_everything(logs):
    otio.adapters.write_to_file(everything(logs), str(logs / "edit.edl"), adapter_name="cmx_3600")
    _, _, rows, mask, _ = conformed(logs / "edit.edl", logs / "out.zlog")
    check(rows, mask, EXPECTED_ALL, BLACK_ALL)         # M2 speeds, freeze, gap and dissolve all survive


def test_fcp_xml_cuts_gap_dissolve(logs):
    """The fcp_xml adapter drops speed effects (on write and read), so this edit has none."""
    tl = timeline([clip(f"{logs}/a.mp4", 10, 10), gap(5), clip(f"{logs}/a.mp4", 50, 10), dissolve(2, 2),
                   clip(f"{logs}/b.mp4", 80, 10)])
    otio.adapters.write_to_file(tl, str(logs / "edit.xml"), adapter_name="fcp_xml")
    _, _, rows, mask, _ = conformed(logs / "edit.xml", logs / "out.zlog")
    check(rows, mask, [*range(10, 20)] + [19] * 5 + [*range(50, 58)] + DISSOLVE + [*range(1082, 1090)],
          [0.0] * 10 + [1.0] * 5 + [0.0] * 20)


def test_metadata_names_the_log(logs):
    c = clip("renamed_proxy.mp4", 3, 4, name="shot1")
    c.metadata["instrument.zlog"] = "b.zlog"
    otio.adapters.write_to_file(timeline([c]), str(logs / "meta.otio"))
    _, _, rows, _, _ = conformed(logs / "meta.otio", logs / "out.zlog")
    assert (rows["psi"] * 1000).round().tolist() == [1003, 1004, 1005, 1006]


KDENLIVE = """<?xml version='1.0' encoding='utf-8'?>
<mlt LC_NUMERIC="C" version="6.16.0" producer="main_bin">
 <profile frame_rate_num="30" frame_rate_den="1" width="1024" height="1024"/>
 <producer id="black_track"><property name="resource">black</property></producer>
 <producer id="producer0" in="0" out="199"><property name="resource">{d}/a.mp4</property>
  <property name="mlt_service">avformat</property></producer>
 <producer id="producer1:2" in="0" out="99"><property name="resource">2:{d}/b.mp4</property>
  <property name="mlt_service">timewarp</property><property name="warp_speed">2</property>
  <property name="warp_resource">{d}/b.mp4</property></producer>
 <playlist id="playlist0"><property name="kdenlive:audio_track">1</property>
  <entry producer="producer0" in="0" out="49"/></playlist>
 <playlist id="playlist1"><entry producer="producer0" in="10" out="19"/><blank length="5"/>
  <entry producer="producer1:2" in="5" out="9"/><entry producer="producer0" in="00:00:01.000" out="31"/></playlist>
 <tractor id="maintractor" in="0" out="30">
  <track producer="black_track"/><track producer="playlist0" hide="video"/><track producer="playlist1"/>
 </tractor>
</mlt>
"""


def test_kdenlive_cuts_gap_speed(logs):
    (logs / "edit.kdenlive").write_text(KDENLIVE.format(d=logs))
    _, header, rows, mask, _ = conformed(logs / "edit.kdenlive", logs / "out.zlog")
    check(rows, mask, [*range(10, 20)] + [19] * 5 + [*range(1010, 1020, 2)] + [30, 31],
          [0.0] * 10 + [1.0] * 5 + [0.0] * 7)


# ---- errors: one line, naming the clip or file ----------------------------------------------------------------
def one_line_error(edit, out, match):
    with pytest.raises(ConformError, match=match) as e:
        conform(edit, out)
    assert "\n" not in str(e.value)
    return str(e.value)


def test_missing_log(logs):
    otio.adapters.write_to_file(timeline([clip(f"{logs}/a.mp4", 0, 5), clip(f"{logs}/nope.mp4", 0, 5)]),
                                str(logs / "e.otio"))
    one_line_error(logs / "e.otio", logs / "out.zlog", r"clip 'nope.mp4' \(e.otio, track V1, item 2\) has no z-log")


def test_frames_beyond_the_end(logs):
    otio.adapters.write_to_file(timeline([clip(f"{logs}/a.mp4", 190, 20, name="shot3")]), str(logs / "e.otio"))
    one_line_error(logs / "e.otio", logs / "out.zlog",
                   r"clip 'shot3' \(e.otio, track V1, item 1\) wants rows 190..209 but 'a.zlog' has 200")


def test_speed_beyond_the_end(logs):
    otio.adapters.write_to_file(timeline([clip(f"{logs}/a.mp4", 150, 30, 2.0, name="fast")]), str(logs / "e.otio"))
    one_line_error(logs / "e.otio", logs / "out.zlog", r"clip 'fast' .* wants rows 150..208 but 'a.zlog' has 200")


def test_unknown_type_and_corrupt_edits(logs):
    (logs / "e.mov").write_bytes(b"\0")
    one_line_error(logs / "e.mov", logs / "out.zlog", r"edit '.*e.mov': unknown edit type '.mov'")
    (logs / "bad.otio").write_text('{"OTIO_SCHEMA": "Timeline.1", "tracks": ')
    one_line_error(logs / "bad.otio", logs / "out.zlog", r"edit '.*bad.otio': cannot be read as otio_json")
    (logs / "bad.kdenlive").write_text("<mlt><producer id=")
    one_line_error(logs / "bad.kdenlive", logs / "out.zlog", r"edit '.*bad.kdenlive': not readable as Kdenlive XML")
    (logs / "bad.xml").write_text("<xmeml><sequence>")
    one_line_error(logs / "bad.xml", logs / "out.zlog", r"edit '.*bad.xml': cannot be read as fcp_xml")


def test_existing_output_is_not_overwritten(logs):
    otio.adapters.write_to_file(timeline([clip(f"{logs}/a.mp4", 0, 5)]), str(logs / "e.otio"))
    conform(logs / "e.otio", logs / "out.zlog")
    one_line_error(logs / "e.otio", logs / "out.zlog", r"output '.*out.zlog' already exists")
