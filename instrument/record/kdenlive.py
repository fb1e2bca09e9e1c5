"""A .kdenlive project (MLT XML) read directly into an `EditTrack`: the first video track's cuts, blanks, speed and
same-track mixes (dissolves).

Kdenlive keeps clips as MLT producers and each track as a playlist of `<entry producer in out>` (in and out
inclusive, in the producer's frames) and `<blank length>`; the main tractor lists the tracks bottom to top, so the
first one that is neither the black background nor an audio track is V1. Speed comes as a `timewarp` producer
(`warp_speed`, `warp_resource`; its frame f shows source frame f × speed) or, in older projects, a `framebuffer`
producer whose resource ends `?speed`.

Since Kdenlive 20.12 each track is a tractor of two playlists. A same-track transition (a "mix") puts the incoming
clip on the other playlist, overlapping the outgoing one, with a `<transition>` inside the track's tractor: its
`in` is the mix's first frame (the incoming clip's position), and `kdenlive:mixcut` says how many frames of the
overlap lie after the original cut (the outgoing clip's tail); the rest lie before it (the incoming clip's head).
Each mix becomes a `Dissolve` around that cut, with both clips trimmed back to it (their overlap becomes the
dissolve's handles). Transitions between tracks (compositing) are not read.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from instrument.record.edit import Blank, ConformError, Dissolve, EditTrack, Shot

_CLOCK = re.compile(r"^(\d+):(\d+):(\d+(?:\.\d+)?)$")      # MLT time "hh:mm:ss.sss"
_SMPTE = re.compile(r"^(\d+):(\d+):(\d+)[:;](\d+)$")        # "hh:mm:ss:ff"
MIX_KINDS = ("luma", "dissolve", "mix")                     # plain dissolves; others (wipes, slides) are noted


@dataclass
class _Placed:
    """A shot at timeline frame `at` (its first frame); `end` is one past its last."""
    at: int
    shot: Shot

    @property
    def end(self) -> int:
        return self.at + self.shot.frames


@dataclass
class _Mix:
    at: int          # timeline frame where the overlap starts (the incoming clip's first frame)
    after: int       # kdenlive:mixcut: overlap frames after the original cut
    where: str


def read_kdenlive(path: Path) -> EditTrack:
    root = _parse(path)
    rate = _rate(root, path)
    producers = {p.get("id"): _properties(p) for p in root.iter() if p.tag in ("producer", "chain")}
    playlists = {p.get("id"): p for p in root.iter("playlist")}
    tractors = {t.get("id"): t for t in root.iter("tractor")}
    lanes, track_tractor = _first_video_track(path, playlists, tractors)
    edit = EditTrack(path, rate, "V1", [])
    placed = []
    for n, playlist in enumerate(lanes):
        placed += _placed_shots(playlist, producers, rate, f"{path.name}, track V1, " + ("playlist 2 " if n else ""))
    mixes = _mixes(track_tractor, rate, path, edit.notes) if track_tractor is not None else []
    edit.items = _lay_out(placed, mixes, path)
    return edit


def _parse(path: Path) -> ET.Element:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise ConformError(f"edit '{path}': not readable as Kdenlive XML ({e}); is the project file complete?") from e
    if root.tag != "mlt":
        raise ConformError(f"edit '{path}': root element is <{root.tag}>, expected <mlt>; not a Kdenlive project")
    return root


def _rate(root: ET.Element, path: Path) -> float:
    profile = root.find("profile")
    try:
        return float(profile.get("frame_rate_num")) / float(profile.get("frame_rate_den"))
    except (AttributeError, TypeError, ValueError, ZeroDivisionError) as e:
        raise ConformError(f"edit '{path}': no <profile frame_rate_num frame_rate_den>; cannot tell the frame "
                           "rate") from e


def _properties(element: ET.Element) -> dict:
    props = {p.get("name"): (p.text or "") for p in element.findall("property")}
    return dict(props, _id=element.get("id"), _in=element.get("in"))


def _first_video_track(path: Path, playlists: dict, tractors: dict) -> tuple[list[ET.Element], ET.Element | None]:
    """V1: the main (last) tractor's first video track, as its playlists and (newer Kdenlive) its own tractor."""
    if not tractors:
        raise ConformError(f"edit '{path}': has no <tractor>; not a Kdenlive timeline")
    main = tractors.get("maintractor") or list(tractors.values())[-1]
    for track in main.findall("track"):
        ref, inner = track.get("producer"), None
        lanes = [playlists[ref]] if ref in playlists else []
        if ref in tractors:                       # newer Kdenlive: a tractor of two playlists per track
            inner = tractors[ref]
            lanes = [playlists[t.get("producer")] for t in inner.findall("track") if t.get("producer") in playlists]
        audio = any(_is_audio(e) for e in lanes + ([inner] if inner is not None else []))
        if lanes and not audio and track.get("hide") not in ("video", "both"):
            return lanes, inner
    raise ConformError(f"edit '{path}': the main tractor has no video track; conform reads the first one")


def _is_audio(element: ET.Element) -> bool:
    return any(p.get("name") == "kdenlive:audio_track" and (p.text or "").strip() == "1"
               for p in element.findall("property"))


def _time(value: str | None, rate: float, where: str) -> int:
    """MLT frames ("120"), clock time ("00:00:04.000") or SMPTE ("00:00:04:00") as frames."""
    text = (value or "").strip()
    if text.lstrip("-").isdigit():
        return int(text)
    if m := _SMPTE.match(text):
        h, mi, s, f = map(int, m.groups())
        return int(round((h * 3600 + mi * 60 + s) * rate)) + f
    if m := _CLOCK.match(text):
        return int(round((int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])) * rate))
    raise ConformError(f"item at {where}: time '{value}' is not frames, hh:mm:ss.sss or hh:mm:ss:ff")


# ---- clips and mixes on the timeline -----------------------------------------------------------------------------
def _placed_shots(playlist: ET.Element, producers: dict, rate: float, prefix: str) -> list[_Placed]:
    """A playlist's entries with their timeline positions (blanks only move the position on)."""
    out, at = [], 0
    for k, element in enumerate((e for e in playlist if e.tag in ("blank", "entry")), start=1):
        where = f"{prefix}item {k}"
        if element.tag == "blank":
            at += _time(element.get("length"), rate, where)
        else:
            out.append(_Placed(at, _shot(element, producers, rate, where)))
            at += out[-1].shot.frames
    return out


def _mixes(tractor: ET.Element, rate: float, path: Path, notes: list) -> list[_Mix]:
    """The track tractor's same-track transitions: those with a `kdenlive:mixcut`."""
    mixes = []
    for t in tractor.findall("transition"):
        props = _properties(t)
        where = f"{path.name}, track V1, mix '{t.get('id') or '?'}'"
        if "kdenlive:mixcut" not in props:
            notes.append(f"transition '{t.get('id')}' inside track V1 without kdenlive:mixcut ignored")
            continue
        kind = props.get("kdenlive_id") or props.get("mlt_service", "")
        if kind not in MIX_KINDS:
            notes.append(f"mix '{t.get('id')}' ({kind}) conformed as a dissolve")
        mixes.append(_Mix(_time(t.get("in"), rate, where), _time(props["kdenlive:mixcut"], rate, where), where))
    return sorted(mixes, key=lambda m: m.at)


def _lay_out(placed: list[_Placed], mixes: list[_Mix], path: Path) -> list:
    """Trim each mix's clips back to its cut, then walk the timeline: shots, blanks between, dissolves at mixes."""
    cuts = {}                                      # id(outgoing shot) -> Dissolve after it
    for mix in mixes:
        outgoing, incoming = _mix_pair(placed, mix)
        overlap = outgoing.end - incoming.at
        if not 0 <= mix.after <= overlap:
            raise ConformError(f"{mix.where}: kdenlive:mixcut {mix.after} lies outside the clips' {overlap}-frame "
                               "overlap; re-save the project in Kdenlive")
        before = overlap - mix.after
        outgoing.shot.frames -= mix.after
        incoming.shot.start += before * incoming.shot.speed
        incoming.shot.frames -= before
        incoming.at += before
        if min(outgoing.shot.frames, incoming.shot.frames) <= 0:
            raise ConformError(f"{mix.where}: a clip lies wholly inside the mix; shorten the mix in Kdenlive")
        cuts[id(outgoing.shot)] = Dissolve(before, mix.after, mix.where)
    items, at = [], 0
    for p in sorted(placed, key=lambda p: p.at):
        if p.at < at:
            raise ConformError(f"item at {p.shot.where} starts at frame {p.at}, inside the clip before it (which "
                               f"ends at {at}), with no mix between them; conform reads one clip per frame")
        if p.at > at:
            items.append(Blank(p.at - at))
        items += [p.shot] + ([cuts[id(p.shot)]] if id(p.shot) in cuts else [])
        at = p.end
    return items


def _mix_pair(placed: list[_Placed], mix: _Mix) -> tuple[_Placed, _Placed]:
    """(outgoing, incoming): the incoming clip starts where the mix does; the outgoing one runs across that frame."""
    incoming = next((p for p in placed if p.at == mix.at), None)
    outgoing = next((p for p in placed if p is not incoming and p.at < mix.at < p.end), None)
    if incoming is None or outgoing is None:
        raise ConformError(f"{mix.where} at frame {mix.at} has no " + ("incoming clip starting there"
                           if incoming is None else "outgoing clip running across it") + "; re-save the project "
                           "in Kdenlive")
    return outgoing, incoming


def _shot(entry: ET.Element, producers: dict, rate: float, where: str) -> Shot:
    props = producers.get(entry.get("producer"))
    if props is None:
        raise ConformError(f"item at {where}: entry names producer '{entry.get('producer')}', which the project "
                           "does not define; the project is damaged")
    resource, speed = _resource_and_speed(props, where)
    first, last = _time(entry.get("in"), rate, where), _time(entry.get("out"), rate, where)
    name = props.get("kdenlive:clipname") or Path(resource).name or props["_id"]
    candidates = tuple(c for c in (props.get("instrument.zlog"), resource, name) if c)
    return Shot(name, where, candidates, first * speed, speed, last - first + 1)


def _resource_and_speed(props: dict, where: str) -> tuple[str, float]:
    service, resource = props.get("mlt_service", ""), props.get("resource", "")
    try:
        if service == "timewarp":
            speed = float(props.get("warp_speed") or resource.split(":", 1)[0])
            resource = props.get("warp_resource") or resource.split(":", 1)[1]
        elif service == "framebuffer" and "?" in resource:
            resource, speed = resource.rsplit("?", 1)[0], float(resource.rsplit("?", 1)[1])
        else:
            speed = 1.0
    except (ValueError, IndexError) as e:
        raise ConformError(f"item at {where}: cannot read the speed of producer '{props['_id']}' "
                           f"({service} '{resource}')") from e
    if speed <= 0:
        raise ConformError(f"item at {where}: speed {speed:g} (reverse or still) is not supported in Kdenlive "
                           "projects; render it as a clip or use an OTIO/EDL export")
    return resource, speed
