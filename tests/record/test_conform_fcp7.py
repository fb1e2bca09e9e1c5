"""Conform of FCP7 XML with speed changes: edits written by OTIO's fcp_xml adapter, Time Remap added as Premiere does.

The adapter writes no speed, so each retimed clip is written with its source range in retimed frames (what a
speed-changed clipitem's in/out count: media frame = in x speed) and then given Premiere's Time Remap filter:
`variablespeed`, `speed` (percent), `reverse`, `frameblending` and a `graphdict` of virtual keyframes (retimed
frame -> media frame). Logs as in test_conform: row i of `a` encodes i, of `b` 1000 + i.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from test_conform import (BLACK_ALL, EXPECTED_ALL, ROWS, W, check, clip, conformed, dissolve, gap,  # noqa: F401
                          logs, one_line_error, timeline)

otio = pytest.importorskip("opentimelineio")


def remap_filter(speed: float, in_: int, out: int, media: int = ROWS, hold: float | None = None,
                 reverse: bool = False, variable: bool = False, graph: bool = True) -> ET.Element:
    """Premiere's Time Remap: the speed in percent; graph keys at media start, in, out and media end."""
    s = speed / 100
    value = (lambda when: hold) if hold is not None else (lambda when: when * s)
    end = round(media / s) if s else out
    keys = [(0, 0, "speedkfstart")] * (in_ > 0) + [(in_, value(in_), "speedkfin"), (out, value(out), "speedkfout")]
    keys += [(end, media, "speedkfend")] * (out < end and hold is None)
    params = [("variablespeed", "1" if variable else "0"), ("speed", f"{speed:g}"),
              ("reverse", "TRUE" if reverse else "FALSE"), ("frameblending", "FALSE")]
    f = ET.Element("filter")
    effect = ET.SubElement(f, "effect")
    for tag, text in (("name", "Time Remap"), ("effectid", "timeremap"), ("effectcategory", "motion"),
                      ("effecttype", "motion"), ("mediatype", "video")):
        ET.SubElement(effect, tag).text = text
    for pid, text in params:
        p = ET.SubElement(effect, "parameter", authoringApp="PremierePro")
        ET.SubElement(p, "parameterid").text = ET.SubElement(p, "name").text = pid
        ET.SubElement(p, "value").text = text
    if graph:
        p = ET.SubElement(effect, "parameter", authoringApp="PremierePro")
        ET.SubElement(p, "parameterid").text = ET.SubElement(p, "name").text = "graphdict"
        ET.SubElement(p, "valuemin").text, ET.SubElement(p, "valuemax").text = "0", str(media)
        for when, v, flag in keys:
            k = ET.SubElement(p, "keyframe")
            ET.SubElement(k, "when").text, ET.SubElement(k, "value").text = str(when), f"{v:g}"
            ET.SubElement(k, "speedvirtualkf").text = ET.SubElement(k, flag).text = "TRUE"
        ET.SubElement(ET.SubElement(p, "interpolation"), "name").text = "FCPCurve"
    return f


def write_xml(tl, path, remaps: dict[str, dict]) -> None:
    """The edit through the fcp_xml adapter, then a Time Remap on the clipitem named after each key of `remaps`.

    Clips get names of their own: the adapter writes a clip equal to an earlier one as a reference to its id.
    """
    otio.adapters.write_to_file(tl, str(path), adapter_name="fcp_xml")
    tree = ET.parse(path)
    items = {c.findtext("name"): c for c in tree.iter("clipitem") if len(c)}
    for name, spec in remaps.items():
        item = items[name]
        in_, out = int(item.findtext("in")), int(item.findtext("out"))
        if spec["speed"]:                           # a retimed clipitem's duration is the media's, retimed
            item.find("duration").text = str(round(ROWS * 100 / spec["speed"]))
        item.append(remap_filter(in_=in_, out=out, **spec))
    tree.write(path)


def everything(d):
    """test_conform's edit (cut, 2x, gap, 0.5x, freeze, cut, dissolve, cut) with sources in retimed frames."""
    return timeline([clip(f"{d}/a.mp4", 10, 10, name="cut"), clip(f"{d}/b.mp4", 0, 10, name="fast"), gap(5),
                     clip(f"{d}/a.mp4", 10, 10, name="slow"), clip(f"{d}/a.mp4", 40, 6, name="still"),
                     clip(f"{d}/a.mp4", 50, 10, name="out"), dissolve(2, 2), clip(f"{d}/b.mp4", 80, 10, name="in")])


SPEEDS = {"fast": {"speed": 200}, "slow": {"speed": 50}, "still": {"speed": 0, "hold": 40}}


def test_fcp_xml_speed_freeze_gap_dissolve_row_by_row(logs):
    write_xml(everything(logs), logs / "edit.xml", SPEEDS)
    summary, header, rows, mask, _ = conformed(logs / "edit.xml", logs / "out.zlog")
    check(rows, mask, EXPECTED_ALL, BLACK_ALL)
    assert [c["speed"] for c in header["conform"]["clips"]] == [1.0, 2.0, 0.5, 0.0, 1.0, 1.0]
    assert header["conform"]["notes"] == [] and summary.notes == []     # Time Remap read, not "ignored"


def test_freeze_without_graph_holds_the_in_frame(logs):
    write_xml(everything(logs), logs / "edit.xml", {**SPEEDS, "still": {"speed": 0, "hold": 40, "graph": False}})
    _, _, rows, mask, _ = conformed(logs / "edit.xml", logs / "out.zlog")
    check(rows, mask, EXPECTED_ALL, BLACK_ALL)


def test_freeze_takes_the_graph_frame(logs):
    write_xml(everything(logs), logs / "edit.xml", {**SPEEDS, "still": {"speed": 0, "hold": 33}})
    _, _, rows, _, _ = conformed(logs / "edit.xml", logs / "out.zlog")
    assert (rows["psi"][35:41] * 1000).round().tolist() == [33] * 6


def test_dissolves_into_and_out_of_a_2x_clip_use_its_handles_at_speed(logs):
    """b at 2x from media row 40 (retimed 20): its handles before and after are taken at 2x too."""
    tl = timeline([clip(f"{logs}/a.mp4", 10, 10), dissolve(2, 2), clip(f"{logs}/b.mp4", 20, 10, name="fast"),
                   dissolve(2, 2), clip(f"{logs}/a.mp4", 100, 10)])
    write_xml(tl, logs / "edit.xml", {"fast": {"speed": 200}})
    _, _, rows, mask, _ = conformed(logs / "edit.xml", logs / "out.zlog")
    b = [1036 + 2 * k for k in range(14)]              # b's positions over timeline frames 8..21
    into = [(18 + k) * (1 - w) + b[k] * w for k, w in enumerate(W)]
    out_of = [b[10 + k] * (1 - w) + (98 + k) * w for k, w in enumerate(W)]
    expected = [*range(10, 18)] + into + b[4:10] + out_of + [*range(102, 110)]
    check(rows, mask, expected, [0.0] * 30)


# ---- errors: one line, naming the file and the clip -------------------------------------------------------------
def test_non_numeric_speed(logs):
    write_xml(everything(logs), logs / "edit.xml", SPEEDS)
    text = (logs / "edit.xml").read_text().replace("<value>200</value>", "<value>quick</value>")
    (logs / "edit.xml").write_text(text)
    one_line_error(logs / "edit.xml", logs / "out.zlog",
                   r"clip 'fast' \(edit.xml, track V1, item 2\): Time Remap speed 'quick' is not a number")


@pytest.mark.parametrize("spec, match", [({"speed": -100}, "plays in reverse"),
                                         ({"speed": 100, "reverse": True}, "plays in reverse"),
                                         ({"speed": 150, "variable": True}, "has variable speed")])
def test_reverse_and_variable_speed_are_refused(logs, spec, match):
    write_xml(everything(logs), logs / "edit.xml", {"fast": spec})
    one_line_error(logs / "edit.xml", logs / "out.zlog", rf"clip 'fast' \(edit.xml, track V1, item 2\) {match}")


def test_other_filters_are_still_noted(logs):
    write_xml(timeline([clip(f"{logs}/a.mp4", 5, 4)]), logs / "edit.xml", {})
    tree = ET.parse(logs / "edit.xml")
    item = next(tree.iter("clipitem"))
    effect = ET.SubElement(ET.SubElement(item, "filter"), "effect")
    ET.SubElement(effect, "name").text, ET.SubElement(effect, "effectid").text = "Basic Motion", "basic"
    tree.write(logs / "edit.xml")
    summary, _, rows, _, _ = conformed(logs / "edit.xml", logs / "out.zlog")
    assert (rows["psi"] * 1000).round().tolist() == [5, 6, 7, 8]
    assert summary.notes == ["effect 'Basic Motion' on clip 'a.mp4' ignored"]
