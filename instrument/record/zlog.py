"""The z-log file format: a JSON header, then append-only, length-prefixed, checksummed records.

    preamble  magic b"\\x89ZLOG\\r\\n\\x1a" (8) | version u16 | flags u16 | header_len u32 | header_crc32 u32
    header    header_len bytes of UTF-8 JSON (model, seed, parameter table, row layout...)
    records   payload_len u32 | crc32 u32 | kind u8 | payload      (crc32 covers kind + payload)

A ROW payload is one fixed-size numpy structured record whose fields the header lists (`row_fields`); an EVENT
payload is `wall_time f64 | t f64 | frame i64 | source u8` then the event as UTF-8 JSON. All little-endian.
Why this shape: a crash leaves at most one partial record at the end, and a reader that stops at the first
record whose length or checksum is wrong keeps every record before it. docs/zlog.md reads it with numpy only.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import mmap
import struct
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from instrument import __version__
from instrument.errors import InstrumentError
from instrument.latent.conductor import LatentFrame
from instrument.latent.directions import LAYER_RANGES, NUM_KNOBS
from instrument.params import PARAMS, Param

MAGIC = b"\x89ZLOG\r\n\x1a"     # PNG-style: the high byte and CR LF / ^Z catch text-mode and 7-bit damage
VERSION = 2                      # 2 added the direction knobs (rows: directions, direction_layers; header)
READABLE = (1, 2)                # version 1 logs read with the knobs at zero
PREAMBLE = struct.Struct("<8sHHII")  # magic, version, flags, header_len, header_crc32
RECORD = struct.Struct("<IIB")       # payload_len, crc32(kind + payload), kind
EVENT = struct.Struct("<ddqB")       # wall_time, t (NaN: unknown), frame (-1: unknown), source
ROW, EVENT_KIND = 1, 2
NOISE_MODES = ("const", "random", "none", "off")     # noise_mode u8 indexes this list (also in the header)
EVENT_SOURCES = ("osc", "midi", "key", "engine")     # source u8 indexes this list (also in the header)
KIND_CRC = {kind: zlib.crc32(bytes([kind])) for kind in (ROW, EVENT_KIND)}  # crc32(payload, KIND_CRC[k]) = crc of both


def row_fields(z_dim: int, num_ws: int, n_params: int, audio_dim: int = 0, c_dim: int = 0) -> list[list]:
    """The ROW layout as [name, numpy type string, shape] triples; the header carries it, readers obey it."""
    fields = [["index", "<u8", []],            # conductor frame index
              ["t", "<f8", []],                # conductor time (s) passed to step
              ["wall_time", "<f8", []],        # monotonic clock (s) when the latent was sampled
              ["psi", "<f8", []],              # truncation psi, exactly as in the LatentFrame
              ["params", "<f8", [n_params]],   # the full parameter vector, in header `params` order
              ["z", "<f4", [3, z_dim]],        # sources A, B, C
              ["mix", "<f4", [num_ws, 3]],     # per-layer weights of A, B, C
              ["directions", "<f4", [NUM_KNOBS]]]  # direction.1..8 amounts (σ) as the renderer used them
    if audio_dim:
        fields.append(["audio", "<f4", [audio_dim]])  # keyframes' timbre latent (LatentFrame.audio); has_audio == 1
        fields.append(["audio_weight", "<f4", []])    # LatentFrame.audio_weight: how much of it the voice hears
    if c_dim:  # conditional models only; a row without it replays class 0
        fields.append(["class_position", "<f8", []])  # class.position as the renderer used it (smoothed)
    fields += [["noise_seed", "<u4", []], ["cutoff", "<u2", []], ["noise_mode", "u1", []], ["has_audio", "u1", []],
               ["direction_layers", "u1", []]]  # index into header `direction_layers`
    return fields


def row_dtype(fields: list[list]) -> np.dtype:
    return np.dtype([(name, kind, tuple(shape)) for name, kind, shape in fields])


def _param_row(p: Param) -> dict:
    return {"name": p.name, "lo": p.lo, "hi": p.hi, "default": p.default, "kind": p.kind, "unit": p.unit,
            "choices": list(p.choices)}


def make_header(model_name: str, model_sha256: str, generator_config: dict, z_dim: int, num_ws: int, seed: int,
                fps_hint: float, params: tuple[Param, ...] = PARAMS, audio_dim: int = 0,
                program_version: str = __version__, directions=None, c_dim: int = 0) -> dict:
    """Everything a replay needs besides the records: which model, which seed, what each column means.

    directions: the directions.KnobDirections the renderer plays (None: no knobs, all zero)."""
    fields = row_fields(z_dim, num_ws, len(params), audio_dim, c_dim)
    return {"format": "instrument z-log", "version": VERSION,
            "program": {"name": "instrument", "version": program_version},
            "created_unix": time.time(), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "model": {"name": model_name, "sha256": model_sha256, "config": generator_config},
            "seed": int(seed), "fps_hint": float(fps_hint),
            "z_dim": int(z_dim), "num_ws": int(num_ws), "audio_dim": int(audio_dim),
            "params": [_param_row(p) for p in params],
            "noise_modes": list(NOISE_MODES), "event_sources": list(EVENT_SOURCES),
            "direction_layers": list(LAYER_RANGES),
            "directions": None if directions is None else directions_entry(directions.scaled, directions.source),
            "row_fields": fields, "row_bytes": row_dtype(fields).itemsize}


def directions_entry(scaled, source: str) -> dict:
    """The header's record of the knobs' directions: σ_k·d_k [NUM_KNOBS, w_dim] as base64 little-endian float32
    (bit-exact, unlike decimal text), its sha256 and where it came from."""
    data = np.ascontiguousarray(np.asarray(scaled, dtype="<f4")).tobytes()
    return {"shape": list(np.shape(scaled)), "dtype": "<f4", "scaled": base64.b64encode(data).decode("ascii"),
            "sha256": hashlib.sha256(data).hexdigest(), "source": source}


def logged_directions(header: dict) -> np.ndarray | None:
    """The knobs' directions a z-log was played with, float32 [NUM_KNOBS, w_dim]; None when it has none."""
    entry = header.get("directions")
    if not entry:
        return None
    data = base64.b64decode(entry["scaled"])
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise InstrumentError("z-log header: the directions do not match their sha256; the header is damaged")
    return np.frombuffer(data, entry["dtype"]).reshape(entry["shape"]).astype(np.float32)


def header_for_model(model, seed: int, fps_hint: float, params: tuple[Param, ...] = PARAMS,
                     audio_dim: int = 0, directions=None) -> dict:
    """`make_header` from a loader.LoadedModel (name, sha256, config, generator)."""
    G = model.generator
    return make_header(model.name, model.sha256, dataclasses.asdict(model.config), G.z_dim, G.num_ws, seed,
                       fps_hint, params, audio_dim, directions=directions, c_dim=int(getattr(G, "c_dim", 0) or 0))


def encode_header(header: dict) -> bytes:
    text = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    return PREAMBLE.pack(MAGIC, VERSION, 0, len(text), zlib.crc32(text)) + text


@dataclass(frozen=True)
class ZlogEvent:
    wall_time: float   # monotonic clock (s) when the event arrived
    t: float           # conductor time (s), NaN when the sender did not know it
    frame: int         # frame index it applies before, -1 when unknown
    source: str        # osc | midi | key | engine
    data: dict         # {"action": name, "args": [...]} or {"param": name, "value": v} or anything JSON


class ZlogReader:
    """Reads a z-log, complete or cut short: stops at the first truncated or corrupt record.

    `recovered` rows and `events` survived; `truncated_bytes` were after the last good record (0 for a file
    closed cleanly). A bad preamble or header raises a one-line InstrumentError naming the file.
    """

    def __init__(self, path):
        self.path = Path(path)
        data = self._read_bytes()
        self.header, start = _parse_header(self.path, data)
        self.dtype = row_dtype(self.header["row_fields"])
        if self.dtype.itemsize != self.header["row_bytes"]:
            raise self._error(f"row layout is {self.dtype.itemsize} bytes but the header says "
                              f"{self.header['row_bytes']}; the header is damaged")
        self._data = data
        self._row_offsets, self._events, end = _scan(data, start, self.dtype.itemsize)
        self.truncated_bytes = len(data) - end
        self.params = tuple(p["name"] for p in self.header["params"])
        self._rows: np.ndarray | None = None

    def _read_bytes(self):
        try:
            with open(self.path, "rb") as f:
                size = f.seek(0, 2)
                return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        except OSError as e:
            raise self._error(f"cannot read it ({e.strerror}); check the path") from e

    def _error(self, what: str) -> InstrumentError:
        return InstrumentError(f"z-log '{self.path}': {what}")

    @property
    def recovered(self) -> int:
        return len(self._row_offsets)

    def rows(self) -> np.ndarray:
        """Every recovered row as one structured array [recovered] (fields: header `row_fields`)."""
        if self._rows is None:
            out = np.empty(self.recovered, self.dtype)
            raw = out.view(np.uint8).reshape(self.recovered, self.dtype.itemsize)
            with memoryview(self._data) as view:
                for i, off in enumerate(self._row_offsets):
                    raw[i] = np.frombuffer(view[off:off + self.dtype.itemsize], np.uint8)
            self._rows = out
        return self._rows

    def events(self) -> list[ZlogEvent]:
        sources = self.header["event_sources"]
        return [ZlogEvent(w, t, f, sources[s] if s < len(sources) else f"source{s}", d)
                for w, t, f, s, d in self._events]

    def latent_frame(self, i: int) -> LatentFrame:
        """The i-th recovered row as the LatentFrame the generator was given (bit-identical fields; a version 1
        row, which has no direction knobs, gets them at zero)."""
        row = self.rows()[i]
        frame = LatentFrame(index=int(row["index"]), t=float(row["t"]),
                            z=np.array(row["z"], dtype=np.float32), mix=np.array(row["mix"], dtype=np.float32),
                            psi=float(row["psi"]), cutoff=int(row["cutoff"]),
                            noise_mode=self.header["noise_modes"][int(row["noise_mode"])],
                            noise_seed=int(row["noise_seed"]))
        if "directions" in self.dtype.names:
            frame.directions = np.array(row["directions"], dtype=np.float32)
            frame.direction_layers = self.header["direction_layers"][int(row["direction_layers"])]
        if "class_position" in self.dtype.names:
            frame.class_position = float(row["class_position"])
        if "audio_weight" in self.dtype.names and row["has_audio"]:  # sound keyframes (instrument/audio/sounds.py)
            frame.audio = np.array(row["audio"], dtype=np.float32)
            frame.audio_weight = float(row["audio_weight"])
        return frame

    def duration_s(self) -> float:
        """Conductor time from the first to the last recovered row (0 with fewer than two)."""
        if self.recovered < 2:
            return 0.0
        rows = self.rows()
        return float(rows["t"][-1] - rows["t"][0])

    def close(self) -> None:
        if isinstance(self._data, mmap.mmap):  # rows() are copies: they outlive the map
            self._data.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _parse_header(path: Path, data) -> tuple[dict, int]:
    def error(what):
        return InstrumentError(f"z-log '{path}': {what}")
    if len(data) < PREAMBLE.size:
        raise error(f"too short to be a z-log ({len(data)} bytes); was the recording started?")
    magic, version, _flags, n, crc = PREAMBLE.unpack_from(data, 0)
    if magic != MAGIC:
        raise error(f"not a z-log (starts {bytes(magic)!r}, expected {MAGIC!r}); pass a file written by --record")
    if version not in READABLE:
        raise error(f"format version {version}, this program reads versions {', '.join(map(str, READABLE))}; "
                    "use a matching instrument")
    text = bytes(data[PREAMBLE.size:PREAMBLE.size + n])
    if len(text) < n or zlib.crc32(text) != crc:
        raise error("header is corrupt (checksum mismatch); the file cannot be replayed")
    try:
        header = json.loads(text)
        row_dtype(header["row_fields"])
    except (ValueError, KeyError, TypeError) as e:
        raise error(f"header is corrupt ({type(e).__name__}: {e}); the file cannot be replayed") from e
    return header, PREAMBLE.size + n


def _scan(data, start: int, row_bytes: int) -> tuple[list[int], list[tuple], int]:
    """Walk records from `start`; returns (row payload offsets, raw events, end of the last good record)."""
    rows, events, pos, size = [], [], start, len(data)
    with memoryview(data) as view:
        while pos + RECORD.size <= size:
            n, crc, kind = RECORD.unpack_from(data, pos)
            end = pos + RECORD.size + n
            if end > size or zlib.crc32(view[pos + 8:end]) != crc or (kind == ROW and n != row_bytes):
                break
            if kind == ROW:
                rows.append(pos + RECORD.size)
            elif kind == EVENT_KIND:
                events.append(_decode_event(view[pos + RECORD.size:end]))
            pos = end  # unknown kinds are skipped: a newer writer may add some
    return rows, events, pos


def _decode_event(payload) -> tuple:
    wall, t, frame, source = EVENT.unpack_from(payload, 0)
    try:
        data = json.loads(bytes(payload[EVENT.size:]))
    except ValueError:
        data = {"unreadable": bytes(payload[EVENT.size:]).decode(errors="replace")}
    return wall, t, frame, source, data


def event_json(data) -> bytes:
    """An action or parameter change as JSON: Actions become {"action", "args"}; arrays become lists."""
    if hasattr(data, "name") and hasattr(data, "args"):
        data = {"action": data.name, "args": list(data.args)}
    return json.dumps(data, separators=(",", ":"), default=_jsonable).encode()


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)

