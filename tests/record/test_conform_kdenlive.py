"""Conform of Kdenlive ≥ 20.12 projects: each track a tractor of two playlists, same-track mixes as dissolves.

The projects are written here the way Kdenlive lays them out: the incoming clip of a mix sits on the track's
second playlist, overlapping the outgoing one, and a `<transition>` with `kdenlive:mixcut` (overlap frames after
the original cut) lives inside the track's tractor. Logs as in test_conform: row i of `a` encodes i, of `b` 1000 + i.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_conform import DISSOLVE, W, check, conformed, logs, one_line_error  # noqa: F401 (fixture)

pytest.importorskip("opentimelineio")

PROJECT = """<?xml version='1.0' encoding='utf-8'?>
<mlt LC_NUMERIC="C" version="7.22.0" producer="main_bin">
 <profile frame_rate_num="30" frame_rate_den="1" width="1024" height="1024"/>
 <producer id="black_track" in="0" out="500"><property name="resource">black</property></producer>
 <chain id="chain0" out="199"><property name="resource">{d}/a.mp4</property>
  <property name="mlt_service">avformat-novalidate</property><property name="kdenlive:id">2</property></chain>
 <chain id="chain1" out="199"><property name="resource">{d}/b.mp4</property>
  <property name="mlt_service">avformat-novalidate</property><property name="kdenlive:id">3</property></chain>
 <playlist id="playlist0"><entry producer="chain0" in="0" out="40"/></playlist>
 <playlist id="playlist1"><blank length="20"/><entry producer="chain1" in="0" out="20"/></playlist>
 <tractor id="tractor0" in="0" out="40"><property name="kdenlive:audio_track">1</property>
  <track producer="playlist0" hide="video"/><track producer="playlist1" hide="video"/>
  <transition id="mix9" in="20" out="30"><property name="mlt_service">mix</property>
   <property name="kdenlive:mixcut">5</property><property name="a_track">0</property>
   <property name="b_track">1</property></transition>
 </tractor>
 <playlist id="playlist2">{lane0}</playlist>
 <playlist id="playlist3">{lane1}</playlist>
 <tractor id="tractor1" in="0" out="40">
  <track producer="playlist2"/><track producer="playlist3"/>
  {mixes}
 </tractor>
 <tractor id="{{5f1c0c43-8a5e-4e58-9f0b-3d1c2a3b4c5d}}" in="0" out="40">
  <track producer="black_track"/><track producer="tractor0"/><track producer="tractor1"/>
  <transition id="transition0"><property name="a_track">0</property><property name="b_track">2</property>
   <property name="mlt_service">qtblend</property><property name="internal_added">237</property></transition>
 </tractor>
</mlt>
"""


def mix(ident: str, at: int, end: int, after: int, reverse: int = 0, service: str = "luma") -> str:
    return (f'<transition id="{ident}" in="{at}" out="{end}"><property name="a_track">0</property>'
            f'<property name="b_track">1</property><property name="mlt_service">{service}</property>'
            f'<property name="kdenlive_id">{service}</property><property name="kdenlive:mixcut">{after}</property>'
            f'<property name="reverse">{reverse}</property></transition>')


def project(d, lane0: str, lane1: str, mixes: str = "") -> str:
    return PROJECT.format(d=d, lane0=lane0, lane1=lane1, mixes=mixes)


def test_mix_is_a_dissolve_around_its_cut(logs):
    """Cut, gap, then a 4-frame mix with 2 frames on each side of the cut: the OTIO dissolve(2, 2) of test_conform."""
    lane0 = ('<entry producer="chain0" in="10" out="19"/><blank length="5"/>'
             '<entry producer="chain0" in="50" out="61"/>')                     # frames 0..9, 15..26
    lane1 = '<blank length="23"/><entry producer="chain1" in="78" out="89"/>'    # frames 23..34
    (logs / "mix.kdenlive").write_text(project(logs, lane0, lane1, mix("mix0", 23, 27, 2)))
    _, header, rows, mask, _ = conformed(logs / "mix.kdenlive", logs / "out.zlog")
    check(rows, mask, [*range(10, 20)] + [19] * 5 + [*range(50, 58)] + DISSOLVE + [*range(1082, 1090)],
          [0.0] * 10 + [1.0] * 5 + [0.0] * 20)
    assert [c["rows"] for c in header["conform"]["clips"]] == [[10, 19], [50, 61], [78, 89]]


def test_chained_mixes_off_centre_and_reversed(logs):
    """a → b with the cut 3 frames into a 4-frame mix, then b → a with the whole mix before the cut (mixcut 4);
    the second incoming clip is on the first playlist (Kdenlive marks it `reverse`)."""
    lane0 = ('<entry producer="chain0" in="50" out="61"/><blank length="11"/>'
             '<entry producer="chain0" in="100" out="109"/>')
    lane1 = '<blank length="8"/><entry producer="chain1" in="77" out="95"/>'   # a: 0..11, b: 8..26, a: 23..32
    (logs / "chain.kdenlive").write_text(project(logs, lane0, lane1, mix("mix0", 8, 12, 1) +
                                                 mix("mix1", 23, 27, 4, reverse=1)))
    _, _, rows, mask, _ = conformed(logs / "chain.kdenlive", logs / "out.zlog")
    first = [(58 + k) * (1 - w) + (1077 + k) * w for k, w in enumerate(W)]
    second = [(1092 + k) * (1 - w) + (100 + k) * w for k, w in enumerate(W)]
    expected = [*range(50, 58)] + first + [*range(1081, 1092)] + second + [*range(104, 110)]
    check(rows, mask, expected, [0.0] * len(expected))


def test_wipe_mix_is_conformed_as_a_dissolve_with_a_note(logs):
    lane0 = '<entry producer="chain0" in="50" out="61"/>'
    lane1 = '<blank length="8"/><entry producer="chain1" in="78" out="89"/>'
    (logs / "wipe.kdenlive").write_text(project(logs, lane0, lane1, mix("mix0", 8, 12, 2, service="wipe")))
    summary, _, rows, _, _ = conformed(logs / "wipe.kdenlive", logs / "out.zlog")
    np.testing.assert_allclose(rows["psi"][8:12] * 1000, DISSOLVE)
    assert any("mix0" in note and "dissolve" in note for note in summary.notes)


@pytest.mark.parametrize("lane1, mixes, match", [
    ('<blank length="8"/><entry producer="chain1" in="78" out="89"/>', "",
     r"item at mix.kdenlive, track V1, playlist 2 item 2 starts at frame 8, inside the clip before it"),
    ('<blank length="9"/><entry producer="chain1" in="78" out="89"/>', mix("mix0", 8, 12, 2),
     r"mix.kdenlive, track V1, mix 'mix0' at frame 8 has no incoming clip starting there"),
    ('<blank length="8"/><entry producer="chain1" in="78" out="89"/>', mix("mix0", 8, 12, 7),
     r"mix 'mix0'\: kdenlive:mixcut 7 lies outside the clips' 4-frame overlap"),
])
def test_broken_mixes_are_one_line_errors(logs, lane1, mixes, match):
    lane0 = '<entry producer="chain0" in="50" out="61"/>'
    (logs / "mix.kdenlive").write_text(project(logs, lane0, lane1, mixes))
    one_line_error(logs / "mix.kdenlive", logs / "out.zlog", match)
