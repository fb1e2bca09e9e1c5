"""The edit, format-free, and reading one: an edit file's first video track as an `EditTrack` of `Shot`, `Blank`
and `Dissolve` items, with each shot resolved to the z-log its proxy was rendered from.

.otio is read natively, CMX3600 .edl and FCP7 .xml through the OpenTimelineIO adapter plug-ins (FCP7 speed changes
by `fcp7.apply_time_remaps`), .kdenlive by `kdenlive.read_kdenlive`. The readers of every format meet here, apart
from laying the items out in frames (frame_plan.py) and writing the conformed z-log (conform.py); `ConformError`
lives here, at the bottom of that chain, so fcp7.py and kdenlive.py can raise it without importing the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np

from instrument.errors import InstrumentError

ADAPTERS = {".otio": "otio_json", ".edl": "cmx_3600", ".xml": "fcp_xml"}
EDIT_TYPES = (".otio", ".edl", ".xml", ".kdenlive")
EDL_RATE = 30.0                   # a CMX3600 EDL does not say its frame rate


class ConformError(InstrumentError):
    """An edit that cannot be conformed: unreadable, unsupported, or naming rows no z-log has."""


# ---- the edit, format-free ---------------------------------------------------------------------------------------
@dataclass
class Shot:
    """A clip on the timeline: timeline frame k (0 = its first) shows source row start + speed * k."""
    name: str                      # the clip's name in the edit
    where: str                     # "edit.otio, track V1, item 4", for messages
    candidates: tuple[str, ...]    # z-log or proxy paths and names to resolve, best first
    start: float                   # source row at the clip's first frame
    speed: float                   # source rows per timeline frame: 1 plain, 2 double speed, 0 freeze
    frames: int                    # timeline frames
    log: Path | None = None        # filled by `resolve_logs`

    def position(self, k) -> np.ndarray:
        return self.start + self.speed * np.asarray(k, dtype=np.float64)


@dataclass
class Blank:
    frames: int


@dataclass
class Dissolve:
    """OTIO Transition semantics: takes no time, spans `before` frames before the cut and `after` after it."""
    before: int
    after: int
    where: str


@dataclass
class EditTrack:
    path: Path
    rate: float                    # timeline frames per second
    track: str                     # the track's name, "V1" when unnamed
    items: list                    # Shot | Blank | Dissolve in timeline order
    notes: list[str] = field(default_factory=list)   # things read but not conformed (unknown effects...)


# ---- reading edits -----------------------------------------------------------------------------------------------
def read_edit(edit_path, rate: float | None = None) -> EditTrack:
    """The first video track of an edit, by file type; `rate` is the frame rate of an EDL (default 30)."""
    path = Path(edit_path)
    suffix = path.suffix.lower()
    if suffix not in EDIT_TYPES:
        raise ConformError(f"edit '{path}': unknown edit type '{path.suffix}'; expected one of "
                           f"{', '.join(EDIT_TYPES)}")
    if not path.is_file():
        raise ConformError(f"edit '{path}': no such file; check the path")
    if suffix == ".kdenlive":
        from instrument.record.kdenlive import read_kdenlive
        return read_kdenlive(path)
    return read_otio(path, ADAPTERS[suffix], rate or EDL_RATE)


def read_otio(path: Path, adapter: str, edl_rate: float) -> EditTrack:
    import opentimelineio as otio
    kwargs = {"rate": edl_rate} if adapter == "cmx_3600" else {}
    try:
        timeline = otio.adapters.read_from_file(str(path), adapter_name=adapter, **kwargs)
    except Exception as e:  # adapters raise anything from ValueError to their own parse errors
        first = (str(e).splitlines() or [""])[0][:200]
        raise ConformError(f"edit '{path}': cannot be read as {adapter} ({type(e).__name__}: {first}); "
                           "is it a complete, uncorrupted export?") from e
    if isinstance(timeline, otio.schema.SerializableCollection):
        timeline = next((t for t in timeline.find_children(descended_from_type=otio.schema.Timeline)), None)
    tracks = timeline.video_tracks() if isinstance(timeline, otio.schema.Timeline) else []
    if not tracks:
        raise ConformError(f"edit '{path}': has no video track; conform reads the first video track")
    if adapter == "fcp_xml":   # the adapter keeps Time Remap only as an opaque effect, with in/out still retimed
        from instrument.record.fcp7 import apply_time_remaps
        apply_time_remaps(path, tracks[0])
    return _otio_track(path, tracks[0], adapter)


def _otio_track(path: Path, track, adapter: str) -> EditTrack:
    import opentimelineio as otio
    name = track.name or "V1"
    rate = _otio_rate(track)
    edit = EditTrack(path, rate, name, [])
    for n, item in enumerate(track, start=1):
        where = f"{path.name}, track {name}, item {n}"
        if isinstance(item, otio.schema.Transition):
            edit.items.append(Dissolve(_frames(item.in_offset, rate), _frames(item.out_offset, rate), where))
        elif isinstance(item, otio.schema.Gap):
            edit.items.append(Blank(_frames(item.duration(), rate)))
        elif isinstance(item, otio.schema.Clip):
            edit.items.append(_otio_shot(item, where, rate, adapter, edit.notes))
        else:
            raise ConformError(f"item '{item.name}' ({where}) is a {type(item).__name__}; conform handles clips, "
                               "gaps and transitions on one track: flatten nested sequences first")
    return edit


def _otio_rate(track) -> float:
    for item in track:
        if hasattr(item, "duration") and not hasattr(item, "in_offset"):
            return float(item.duration().rate)
    return EDL_RATE


def _frames(time, rate: float) -> int:
    return int(round(time.to_seconds() * rate))


def _otio_shot(clip, where: str, rate: float, adapter: str, notes: list) -> Shot:
    import opentimelineio as otio
    source = clip.trimmed_range()
    origin = getattr(clip.media_reference, "available_range", None)
    start = source.start_time - origin.start_time if origin is not None else source.start_time
    speed = 1.0
    for effect in clip.effects:
        if isinstance(effect, otio.schema.LinearTimeWarp):   # FreezeFrame is one with time_scalar 0
            speed *= float(effect.time_scalar)
        else:
            label = effect.effect_name or effect.name or type(effect).__name__   # fcp_xml sets only the name
            notes.append(f"effect '{label}' on clip '{clip.name}' ignored")
    return Shot(clip.name, where, _otio_candidates(clip, adapter), float(start.value), speed,
                _frames(source.duration, rate))


def _otio_candidates(clip, adapter: str) -> tuple[str, ...]:
    """Metadata first, then the proxy's file, the clip's name and the EDL reel.

    In an EDL the clip name goes before the media: the cmx_3600 adapter does not read `* TO CLIP:`, so the
    incoming clip of a dissolve carries the outgoing clip's file, while NLEs write the proxy's name as clip name.
    """
    meta = [_zlog_key(clip.metadata), _zlog_key(clip.media_reference.metadata)]
    target = getattr(clip.media_reference, "target_url", None)
    media = [unquote(urlparse(target).path) if target and target.startswith("file:") else target]
    names = [clip.name]
    reel = [clip.metadata.get("cmx_3600", {}).get("reel")]
    ordered = meta + (names + media if adapter == "cmx_3600" else media + names) + reel
    return tuple(dict.fromkeys(c for c in ordered if c))


def _zlog_key(metadata) -> str | None:
    value = metadata.get("instrument.zlog") or metadata.get("instrument", {}).get("zlog")
    return str(value) if value else None


# ---- resolving clips to z-logs -----------------------------------------------------------------------------------
def resolve_logs(edit: EditTrack, search_dirs=None) -> None:
    """Fill each shot's `log`: <name>.zlog as given, beside the proxy, beside the edit, or in a search dir."""
    dirs = [edit.path.parent] + [Path(d) for d in (search_dirs or [])]
    for shot in (i for i in edit.items if isinstance(i, Shot)):
        tried = []
        for candidate in shot.candidates:
            tried += _log_paths(Path(candidate), edit.path.parent, dirs)
        shot.log = next((p for p in dict.fromkeys(tried) if p.is_file()), None)
        if shot.log is None:
            wanted = ", ".join(f"'{p}'" for p in list(dict.fromkeys(tried))[:4]) or "nothing (no name, no media)"
            raise ConformError(f"clip '{shot.name}' ({shot.where}) has no z-log: tried {wanted}; put the proxy's "
                               ".zlog beside it, set metadata 'instrument.zlog' or pass a search dir")


def _log_paths(candidate: Path, edit_dir: Path, dirs: list[Path]) -> list[Path]:
    stem = candidate.stem if candidate.suffix.lower() in (".zlog", ".mp4", ".mov", ".mkv", ".avi", ".webm") \
        else candidate.name
    beside = candidate.with_name(stem + ".zlog")
    first = beside if beside.is_absolute() else edit_dir / beside
    return [first] + [d / (stem + ".zlog") for d in dirs]
