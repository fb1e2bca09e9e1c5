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

This module holds the whole step and the writing: `conform`, the conformed z-log (`write_zlog`) and its black level
(`black_events`, `black_mask`). Reading the edit is in edit.py, laying out and sampling frames in frame_plan.py.
"""

from __future__ import annotations

import hashlib
import json
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from instrument.record.edit import ConformError, EditTrack, Shot, read_edit, resolve_logs
from instrument.record.frame_plan import FramePlan, check_ranges, plan_frames, render_rows
from instrument.record.frame_plan import blend_rows  # noqa: F401  (re-exported: tests/record import it from here)
from instrument.record.zlog import EVENT, EVENT_KIND, KIND_CRC, RECORD, ROW, ZlogReader, encode_header

BLACK_PARAM = "conform.black"     # EVENT {"param": BLACK_PARAM, "value": 0..1} applies from its frame on


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
