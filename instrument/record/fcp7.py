"""FCP7 XML (xmeml, as Premiere exports it) speed changes for conform: the Time Remap filter made into OTIO time warps.

The otio fcp_xml adapter keeps a clipitem's filters only as opaque `Effect`s and its `in` as read, so a retimed
clip would play at 1x from the wrong row. `apply_time_remaps` reads each clipitem's Time Remap from the XML itself,
finds the clipitem of every OTIO clip by its `id` (the adapter keeps it in the clip's `fcp_xml` metadata; xmeml
ids name one clipitem, later elements with the same id refer to the first) and rewrites the clip the way conform
reads .otio files: source start in media frames plus a `LinearTimeWarp`, or a `FreezeFrame`.

The convention (docs/conform.md lists the sources): a Time Remap is `clipitem > filter > effect` with `effectid`
`timeremap` and parameters `speed` (percent), `reverse`, `variablespeed`, `frameblending` and `graphdict`. A
speed-changed clipitem counts `in`/`out` in its retimed frames (`out - in = end - start`), so media frame =
`in` x speed / 100. `graphdict` keyframes map retimed frames (`when`) to media frames (`value`); at speed 0 the
key flagged `speedkfin` names the held frame (else `in`, read as a media frame).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

from instrument.record.edit import ConformError

TIMEREMAP = "timeremap"


def apply_time_remaps(path: Path, track) -> None:
    """Replace the adapter's opaque Time Remap effects on `track`'s clips with LinearTimeWarp / FreezeFrame."""
    import opentimelineio as otio
    remaps = None                                  # parsed only when some clip has a Time Remap
    name = track.name or "V1"
    for n, item in enumerate(track, start=1):
        if not isinstance(item, otio.schema.Clip):
            continue
        where = f"{path.name}, track {name}, item {n}"
        opaque = [e for e in item.effects if _is_timeremap(e)]
        if not opaque:
            continue
        remaps = _clipitem_remaps(path) if remaps is None else remaps
        clip_id = (item.metadata.get("fcp_xml") or {}).get("@id")
        if clip_id not in remaps:
            raise ConformError(f"clip '{item.name}' ({where}) has a Time Remap but no clipitem id to read it by; "
                               "re-export the XML from the editor")
        clipitem, effects = remaps[clip_id]
        speed, hold = _constant_speed(clipitem, effects, item.name, where)
        for effect in opaque:
            item.effects.remove(effect)
        _retime(item, speed, hold)


def _is_timeremap(effect) -> bool:
    meta = effect.metadata.get("fcp_xml") or {}
    return str(meta.get("effectid", "")).strip().lower() == TIMEREMAP


def _clipitem_remaps(path: Path) -> dict[str, tuple[ET.Element, list[ET.Element]]]:
    """clipitem id -> (its first element, the Time Remap effects under its filters); the first with an id wins,
    as in the adapter (later elements with that id refer to it)."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as e:
        raise ConformError(f"edit '{path}': not readable as XML ({e}); is the export complete?") from e
    first: dict[str, ET.Element] = {}
    for clipitem in root.iter("clipitem"):
        if clipitem.get("id"):
            first.setdefault(clipitem.get("id"), clipitem)
    return {cid: (el, [e for e in el.findall("./filter/effect")
                       if (e.findtext("effectid") or "").strip().lower() == TIMEREMAP])
            for cid, el in first.items()}


def _constant_speed(clipitem: ET.Element, effects: list[ET.Element], name: str, where: str):
    """(source frames per timeline frame, held media frame or None) of a clipitem's Time Remaps.

    Reverse and variable speed are errors, not notes: they change which rows the edit shows, and a z-log played
    forwards at some other speed would re-render a different shot than the one that was cut.
    """
    speed, hold = 1.0, None
    for effect in effects:
        params = {(p.findtext("parameterid") or p.findtext("name") or "").strip().lower(): p
                  for p in effect.findall("parameter")}
        if _flag(params.get("variablespeed")):
            raise ConformError(f"clip '{name}' ({where}) has variable speed (Time Remap keyframes); conform reads "
                               "constant speed only: render the ramp as its own clip or set a constant speed")
        percent = _number(_value(params.get("speed")), "speed", name, where)
        if percent is None:
            raise ConformError(f"clip '{name}' ({where}) has a Time Remap without a speed; re-export the XML")
        if percent < 0 or (percent != 0 and _flag(params.get("reverse"))):
            raise ConformError(f"clip '{name}' ({where}) plays in reverse (Time Remap); conform plays z-logs "
                               "forwards only: render the reversed shot as its own clip")
        speed *= percent / 100.0
        if percent == 0:
            hold = _held_frame(params.get("graphdict"), clipitem, name, where)
    return speed, hold


def _held_frame(graph: ET.Element | None, clipitem: ET.Element, name: str, where: str) -> float:
    """A freeze's media frame: the graph's value at the clip's in point (key `speedkfin`), else `in` itself."""
    for key in (graph.findall("keyframe") if graph is not None else []):
        if (key.findtext("speedkfin") or "").strip().upper() == "TRUE":
            value = _number(key.findtext("value"), "graphdict value", name, where)
            if value is not None:
                return value
    value = _number(clipitem.findtext("in"), "in", name, where)
    if value is None:
        raise ConformError(f"clip '{name}' ({where}) is frozen (speed 0) but names no frame; re-export the XML")
    return value


def _value(param: ET.Element | None) -> str | None:
    return param.findtext("value") if param is not None else None


def _flag(param: ET.Element | None) -> bool:
    return (_value(param) or "").strip().upper() in ("TRUE", "1")


def _number(text: str | None, what: str, name: str, where: str) -> float | None:
    """`text` as a number; None when absent, a one-line error naming the clip when it is not a number."""
    if text is None or not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ConformError(f"clip '{name}' ({where}): Time Remap {what} '{text.strip()}' is not a number; "
                           "fix or re-export the XML")
    return value


def _retime(clip, speed: float, hold: float | None) -> None:
    """Source start from retimed to media frames (or the held frame), then the time warp conform understands."""
    import opentimelineio as otio
    source = clip.source_range
    origin = getattr(clip.media_reference, "available_range", None)
    zero = origin.start_time if origin is not None else otio.opentime.RationalTime(0, source.start_time.rate)
    zero = zero.rescaled_to(source.start_time.rate)
    offset = hold if hold is not None else (source.start_time - zero).value * speed
    start = otio.opentime.RationalTime(zero.value + offset, source.start_time.rate)
    clip.source_range = otio.opentime.TimeRange(start, source.duration)
    clip.effects.append(otio.schema.FreezeFrame() if speed == 0 else otio.schema.LinearTimeWarp(time_scalar=speed))
