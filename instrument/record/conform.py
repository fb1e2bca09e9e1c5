"""Conform: an edit of proxy videos back into a z-log of latents that re-renders at full quality.

A proxy rendered from a z-log shows row N as frame N, so a clip's source range names rows of its log. The edit is
read through OpenTimelineIO (.otio natively, CMX3600 .edl and FCP7 .xml through the adapter plug-ins, with FCP7
speed changes read by `fcp7.apply_time_remaps`) or, for a .kdenlive project, by `kdenlive.read_kdenlive`; either
gives an `EditTrack` of `Shot`, `Blank` and `Dissolve` items. `plan_frames` lays them out one output frame at a
time (which source rows, which blend weight, how black), and `conform` samples the logs and writes the result.
docs/conform.md has the semantics.

Black: a gap is never z = 0 (that renders the mean image). Gap rows hold the nearest shown latent and the
EVENT stream carries `{"param": "conform.black", "value": v}` whenever the black level changes (v = 1 black,
0 picture, between = a fade); `black_mask(reader)` turns it back into one value per row for the renderer.
"""

from __future__ import annotations

import hashlib
import json
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np

from instrument.errors import InstrumentError
from instrument.latent.interp import slerp
from instrument.record.zlog import EVENT, EVENT_KIND, KIND_CRC, RECORD, ROW, ZlogReader, encode_header

BLACK_PARAM = "conform.black"     # EVENT {"param": BLACK_PARAM, "value": 0..1} applies from its frame on
ADAPTERS = {".otio": "otio_json", ".edl": "cmx_3600", ".xml": "fcp_xml"}
EDIT_TYPES = (".otio", ".edl", ".xml", ".kdenlive")
EDL_RATE = 30.0                   # a CMX3600 EDL does not say its frame rate
_LERPED = ("t", "wall_time", "psi", "params", "mix", "audio", "audio_weight", "directions")  # continuous fields blend linearly
_PICKED = ("noise_seed", "cutoff", "noise_mode", "has_audio", "direction_layers")  # discrete: from the nearer side


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


@dataclass
class FramePlan:
    """Per output frame: side a (and b while dissolving) as (item index, source row position), b's weight, black."""
    item_a: np.ndarray             # [frames] int, -1 = nothing shown
    pos_a: np.ndarray              # [frames] float source row
    item_b: np.ndarray             # [frames] int, -1 = no second side
    pos_b: np.ndarray
    weight_b: np.ndarray           # [frames] 0 = all a, 1 = all b
    black: np.ndarray              # [frames] 0 = picture, 1 = black

    @classmethod
    def empty(cls, n: int) -> "FramePlan":
        return cls(np.full(n, -1), np.zeros(n), np.full(n, -1), np.zeros(n), np.zeros(n), np.zeros(n))


@dataclass
class ConformSummary:
    out_path: Path
    frames: int
    black_frames: int
    rate: float
    clips: list[dict]
    notes: list[str]

    def __str__(self) -> str:
        text = (f"conformed {len(self.clips)} clips into '{self.out_path}': {self.frames} frames at "
                f"{self.rate:g} fps, {self.black_frames} black")
        return text + "".join(f"; {n}" for n in self.notes)


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


# ---- laying out frames -------------------------------------------------------------------------------------------
def plan_frames(items: list) -> FramePlan:
    """One entry per output frame; dissolves overwrite the frames around their cut; gaps hold the nearest latent."""
    starts, total = [], 0
    for item in items:
        starts.append(total)
        total += 0 if isinstance(item, Dissolve) else item.frames
    plan = FramePlan.empty(total)
    for i, item in enumerate(items):
        span = slice(starts[i], starts[i] + getattr(item, "frames", 0))
        if isinstance(item, Shot):
            plan.item_a[span], plan.pos_a[span] = i, item.position(np.arange(item.frames))
        elif isinstance(item, Blank):
            plan.black[span] = 1.0
    for i, item in enumerate(items):
        if isinstance(item, Dissolve):
            _lay_dissolve(plan, items, starts, i)
    _hold_through_black(plan)
    return plan


def _lay_dissolve(plan: FramePlan, items: list, starts: list[int], i: int) -> None:
    """Blend outgoing into incoming over [cut - before, cut + after); a gap or the track's end side is black."""
    d, cut = items[i], starts[i]
    n = d.before + d.after
    frames = np.arange(cut - d.before, cut + d.after)
    if n == 0:
        return
    if frames[0] < 0 or frames[-1] >= len(plan.black):
        raise ConformError(f"dissolve ({d.where}) spans frames {frames[0]}..{frames[-1]} but the timeline has "
                           f"0..{len(plan.black) - 1}; shorten it")
    w_in = (np.arange(n) + 0.5) / n                   # incoming weight ramps up across the transition
    out = _neighbour(items, starts, i - 1, frames)
    inc = _neighbour(items, starts, i + 1, frames)
    if out and inc:
        plan.item_a[frames], plan.pos_a[frames] = out
        plan.item_b[frames], plan.pos_b[frames] = inc
        plan.weight_b[frames], plan.black[frames] = w_in, 0.0
    elif out or inc:
        plan.item_a[frames], plan.pos_a[frames] = out or inc
        plan.item_b[frames], plan.weight_b[frames] = -1, 0.0
        plan.black[frames] = w_in if out else 1.0 - w_in
    else:
        plan.black[frames] = 1.0


def _neighbour(items: list, starts: list[int], j: int, frames: np.ndarray):
    """(item index, source positions) of shot j over timeline `frames` (its handles included), or None."""
    if not 0 <= j < len(items) or not isinstance(items[j], Shot):
        return None
    return j, items[j].position(frames - starts[j])


def _hold_through_black(plan: FramePlan) -> None:
    """Frames showing nothing take the last shown frame's latent (or the first one's before any picture)."""
    shown = plan.item_a >= 0
    if not shown.any():
        raise ConformError("the edit's first video track shows no clip; nothing to conform")
    last = np.maximum.accumulate(np.where(shown, np.arange(len(shown)), -1))
    source = np.where(last >= 0, last, np.argmax(shown))
    for name in ("item_a", "pos_a", "item_b", "pos_b", "weight_b"):
        column = getattr(plan, name)
        column[:] = column[source]


def check_ranges(plan: FramePlan, edit: EditTrack, rows: dict[int, np.ndarray]) -> list[dict]:
    """Every shot's rows (handles included) must exist in its log; returns the clips for the header."""
    clips = []
    for i, shot in enumerate(edit.items):
        if not isinstance(shot, Shot):
            continue
        pos = np.concatenate([plan.pos_a[plan.item_a == i], plan.pos_b[plan.item_b == i]])
        lo, hi = (int(np.floor(pos.min())), int(np.ceil(pos.max()))) if len(pos) else (0, -1)
        if lo < 0 or hi >= len(rows[i]):
            raise ConformError(f"clip '{shot.name}' ({shot.where}) wants rows {lo}..{hi} but '{shot.log.name}' "
                               f"has {len(rows[i])}")
        clips.append({"name": shot.name, "log": str(shot.log), "rows": [lo, hi], "speed": shot.speed,
                      "frames": shot.frames})
    return clips


# ---- sampling the logs -------------------------------------------------------------------------------------------
def blend_rows(a: np.ndarray, b: np.ndarray, w) -> np.ndarray:
    """Rows a→b at weight w [n]: z by slerp per source, continuous fields by lerp, discrete from the nearer."""
    w = np.asarray(w, dtype=np.float64)
    out = a.copy()
    out["z"] = slerp(a["z"], b["z"], w[:, None])
    for name in (f for f in _LERPED if f in a.dtype.names):
        wide = w.reshape((-1,) + (1,) * (a[name].ndim - 1))
        out[name] = a[name] + wide * (b[name].astype(np.float64) - a[name])
    near_b = w >= 0.5
    for name in (f for f in _PICKED if f in a.dtype.names):
        out[name] = np.where(near_b, b[name], a[name])
    return out


def sample(rows: dict[int, np.ndarray], item: np.ndarray, pos: np.ndarray, dtype) -> np.ndarray:
    """Rows at fractional positions: floor and ceil blended by the fraction (exact rows where it is 0)."""
    out = np.zeros(len(item), dtype)
    for i in np.unique(item[item >= 0]):
        mask = item == i
        lo = np.floor(pos[mask]).astype(np.int64)
        hi = np.minimum(lo + 1, len(rows[i]) - 1)
        out[mask] = blend_rows(rows[i][lo], rows[i][hi], pos[mask] - lo)
    return out


def render_rows(plan: FramePlan, rows: dict[int, np.ndarray], dtype, rate: float) -> np.ndarray:
    a = sample(rows, plan.item_a, plan.pos_a, dtype)
    b_item = np.where(plan.item_b >= 0, plan.item_b, plan.item_a)
    b_pos = np.where(plan.item_b >= 0, plan.pos_b, plan.pos_a)
    out = blend_rows(a, sample(rows, b_item, b_pos, dtype), plan.weight_b)
    out["index"] = np.arange(len(out))
    out["t"] = np.arange(len(out)) / rate             # timeline time; the source's t is meaningless after a cut
    return out


# ---- writing -----------------------------------------------------------------------------------------------------
def black_events(black: np.ndarray) -> list[tuple[int, float]]:
    """(frame, level) wherever the black level changes; the level before frame 0 is 0."""
    previous = np.concatenate([[0.0], black[:-1]])
    return [(int(i), float(black[i])) for i in np.flatnonzero(black != previous)]


def write_zlog(path: Path, header: dict, rows: np.ndarray, events: list[tuple[int, float]], rate: float,
               overwrite: bool = False) -> None:
    """Header, then each frame's black-level event (if any) before its row; written whole, then fsynced."""
    by_frame = dict(events)
    source = header["event_sources"].index("engine")
    try:
        with open(path, "wb" if overwrite else "xb") as f:
            f.write(encode_header(header))
            raw = rows.view(np.uint8).reshape(len(rows), -1)
            for i in range(len(rows)):
                if i in by_frame:
                    data = json.dumps({"param": BLACK_PARAM, "value": by_frame[i]}).encode()
                    _append(f, EVENT_KIND, EVENT.pack(i / rate, i / rate, i, source) + data)
                _append(f, ROW, raw[i].tobytes())
    except FileExistsError as e:
        raise ConformError(f"output '{path}' already exists; choose another name or delete it") from e
    except OSError as e:
        raise ConformError(f"cannot write output '{path}': {e.strerror}; check the folder and free space") from e


def _append(f, kind: int, payload: bytes) -> None:
    f.write(RECORD.pack(len(payload), zlib.crc32(payload, KIND_CRC[kind]), kind) + payload)


def black_mask(reader: ZlogReader) -> np.ndarray:
    """Black level per recovered row (0 picture, 1 black) from the `conform.black` events; zeros if there are none.

    The renderer must honour it: draw the frame, then scale it by (1 - level); level 1 is a black frame.
    """
    mask = np.zeros(reader.recovered, dtype=np.float32)
    changes = sorted((e.frame, e.data["value"]) for e in reader.events()
                     if e.data.get("param") == BLACK_PARAM and e.frame >= 0)
    for frame, level in changes:
        mask[frame:] = level
    return mask


# ---- the whole step ----------------------------------------------------------------------------------------------
def _load_rows(edit: EditTrack) -> tuple[dict, dict[int, np.ndarray]]:
    """Each shot's log rows (each log read once); all logs must share the first one's model and row layout."""
    readers, rows, first = {}, {}, None
    for i, shot in enumerate(edit.items):
        if not isinstance(shot, Shot):
            continue
        if shot.log not in readers:
            with ZlogReader(shot.log) as reader:
                readers[shot.log] = (reader.header, reader.rows())
        header, rows[i] = readers[shot.log]
        first = first or header
        if header["row_fields"] != first["row_fields"] or header["model"]["sha256"] != first["model"]["sha256"]:
            raise ConformError(f"clip '{shot.name}' ({shot.where}): '{shot.log.name}' was recorded with another "
                               f"model or row layout than '{next(iter(readers)).name}'; conform one model at a time")
    return dict(first, directions=_shared_directions(edit, readers)), rows


def _shared_directions(edit: EditTrack, readers: dict):
    """The one set of knob directions the conformed log can name: every log that turns a direction knob must have
    played the same ones (logs that never turn one may differ); None when no log turns one."""
    used = {}
    for log, (header, rows) in readers.items():
        if "directions" in rows.dtype.names and np.any(rows["directions"] != 0):
            used.setdefault((header.get("directions") or {}).get("sha256"), (log, header.get("directions")))
    if len(used) > 1:
        (a, _), (b, _) = list(used.values())[:2]
        raise ConformError(f"'{a.name}' and '{b.name}' turn the direction knobs with different directions "
                           f"(recomputed between the recordings?); conform them separately ({edit.path.name})")
    return next(iter(used.values()))[1] if used else next(iter(readers.values()))[0].get("directions")


def conform(edit_path, out_path, search_dirs=None, rate: float | None = None,
            overwrite: bool = False) -> ConformSummary:
    """Read an edit (first video track), resolve its clips to z-logs and write the conformed z-log to `out_path`.

    `rate` is the frame rate of a CMX3600 EDL (default 30); other formats carry theirs.
    """
    edit = read_edit(edit_path, rate)
    resolve_logs(edit, search_dirs)
    header, rows = _load_rows(edit)
    plan = plan_frames(edit.items)
    clips = check_ranges(plan, edit, rows)
    out = render_rows(plan, rows, np.dtype([(n, k, tuple(s)) for n, k, s in header["row_fields"]]), edit.rate)
    events = black_events(plan.black)
    header = _conform_header(header, edit, clips, plan)
    write_zlog(Path(out_path), header, out, events, edit.rate, overwrite)
    return ConformSummary(Path(out_path), len(out), int(np.sum(plan.black >= 1.0)), edit.rate, clips, edit.notes)


def _conform_header(source: dict, edit: EditTrack, clips: list[dict], plan: FramePlan) -> dict:
    header = dict(source, created_unix=time.time(), created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                  fps_hint=float(edit.rate))
    header["conform"] = {"edit": str(edit.path), "edit_sha256": hashlib.sha256(edit.path.read_bytes()).hexdigest(),
                         "track": edit.track, "rate": float(edit.rate), "frames": len(plan.black),
                         "black_frames": int(np.sum(plan.black >= 1.0)),
                         "black": f"EVENT {{'param': '{BLACK_PARAM}', 'value': level}} from its frame on; "
                                  "1 = black, 0 = picture",
                         "clips": clips, "notes": list(edit.notes)}
    return header
