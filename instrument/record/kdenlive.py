"""A .kdenlive project (MLT XML) read directly into an `EditTrack`: the first video track's cuts, blanks, speed.

Kdenlive keeps clips as MLT producers and each track as a playlist of `<entry producer in out>` (in and out
inclusive, in the producer's frames) and `<blank length>`; the main tractor lists the tracks bottom to top, so the
first one that is neither the black background nor an audio track is V1. Newer projects nest a tractor per track
(two playlists each): the first playlist of it is read. Speed comes as a `timewarp` producer (`warp_speed`,
`warp_resource`; its frame f shows source frame f × speed) or, in older projects, a `framebuffer` producer whose
resource ends `?speed`. Transitions between tracks (compositing, mixes) are not read.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from instrument.record.conform import Blank, ConformError, EditTrack, Shot

_CLOCK = re.compile(r"^(\d+):(\d+):(\d+(?:\.\d+)?)$")      # MLT time "hh:mm:ss.sss"
_SMPTE = re.compile(r"^(\d+):(\d+):(\d+)[:;](\d+)$")        # "hh:mm:ss:ff"


def read_kdenlive(path: Path) -> EditTrack:
    root = _parse(path)
    rate = _rate(root, path)
    producers = {p.get("id"): _properties(p) for p in root.iter() if p.tag in ("producer", "chain")}
    playlists = {p.get("id"): p for p in root.iter("playlist")}
    tractors = {t.get("id"): t for t in root.iter("tractor")}
    playlist = _first_video_playlist(path, playlists, tractors)
    name = "V1"
    edit = EditTrack(path, rate, name, [])
    for k, element in enumerate(playlist, start=1):
        where = f"{path.name}, track {name}, item {k}"
        if element.tag == "blank":
            edit.items.append(Blank(_time(element.get("length"), rate, where)))
        elif element.tag == "entry":
            edit.items.append(_shot(element, producers, rate, where))
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


def _first_video_playlist(path: Path, playlists: dict, tractors: dict) -> ET.Element:
    """The playlist of the main (last) tractor's first video track: V1."""
    if not tractors:
        raise ConformError(f"edit '{path}': has no <tractor>; not a Kdenlive timeline")
    main = tractors.get("maintractor") or list(tractors.values())[-1]
    for track in main.findall("track"):
        ref = track.get("producer")
        playlist = playlists.get(ref)
        if ref in tractors:                       # newer Kdenlive: a tractor per track
            inner = tractors[ref].find("track")
            playlist = playlists.get(inner.get("producer")) if inner is not None else None
        if playlist is None or track.get("hide") in ("video", "both") or _is_audio(playlist):
            continue
        return playlist
    raise ConformError(f"edit '{path}': the main tractor has no video track; conform reads the first one")


def _is_audio(playlist: ET.Element) -> bool:
    return any(p.get("name") == "kdenlive:audio_track" and (p.text or "").strip() == "1"
               for p in playlist.findall("property"))


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
