"""ZlogWriter: realtime threads hand rows and events over; one thread, "zlog-writer", owns the file.

Hand-off: rows are copied into a preallocated ring of row buffers (`RowRing`) and only the slot number is queued;
events queue as small tuples and become JSON on the writer thread. The producer side never waits: a full ring or
event budget counts a drop and returns. The writer thread flushes after every batch (a kill -9 then loses nothing
flushed) and fsyncs at most every `fsync_interval_s` (a power cut loses at most that much).
"""

from __future__ import annotations

import os
import queue
import struct
import threading
import time
import zlib

import numpy as np

from instrument.errors import InstrumentError
from instrument.record.zlog import (EVENT, EVENT_KIND, KIND_CRC, RECORD, ROW, encode_header, event_json,
                                    row_dtype)

RING_ROWS = 256          # rows in flight: about 4 s at 60 fps before a stalled disk costs drops
MAX_EVENTS = 4096        # events in flight
BATCH = 64               # records per write + flush
FSYNC_INTERVAL_S = 1.0
FILE_BUFFER_BYTES = 1 << 20


class ZlogWriter(threading.Thread):
    """Appends rows and events to a new z-log at `path` under `header` (zlog.make_header).

    `write_row` is for one producer thread (the generator thread); `write_event` for any number.
    Neither raises nor waits. Counters (read without a lock): rows_written, rows_dropped (ring full or closed),
    rows_bad (malformed), rows_lost (queued when the disk failed), events_written, events_dropped, errors;
    `last_error` is one line; `summary()` says it all in one line.
    Invariant once closed: rows offered == rows_written + rows_dropped + rows_bad + rows_lost.
    """

    def __init__(self, path, header: dict, ring_rows: int = RING_ROWS, max_events: int = MAX_EVENTS,
                 fsync_interval_s: float = FSYNC_INTERVAL_S, overwrite: bool = False):
        super().__init__(name="zlog-writer", daemon=True)
        self.path, self.header = str(path), header
        self.fsync_interval_s = fsync_interval_s
        self._init_ring(header, ring_rows)
        self._init_counters(max_events)
        self._file = self._create(overwrite)
        self.start()

    def _init_ring(self, header: dict, ring_rows: int) -> None:
        self._ring = np.zeros(ring_rows, row_dtype(header["row_fields"]))   # [ring_rows] rows, allocated once
        self._raw = self._ring.view(np.uint8).reshape(ring_rows, -1)        # the same memory as bytes
        self._field = {name: self._ring[name] for name in self._ring.dtype.names}  # views: one setitem per field
        self._noise_ix = {name: i for i, name in enumerate(header["noise_modes"])}
        self._source_ix = {name: i for i, name in enumerate(header["event_sources"])}
        self._layers_ix = {name: i for i, name in enumerate(header.get("direction_layers", ()))}
        self._head = 0  # slots filled, written by the producer only
        self._tail = 0  # slots written out, written by the writer thread only

    def _init_counters(self, max_events: int) -> None:
        self._queue: queue.SimpleQueue = queue.SimpleQueue()  # slot numbers, event tuples, flush marks, None
        self._event_lock = threading.Lock()  # covers one compare and one put, so event producers never wait long
        self._events_pending, self._max_events = 0, max_events
        self.rows_written = self.rows_dropped = self.rows_bad = self.rows_lost = 0
        self.events_written = self.events_dropped = 0
        self.errors, self.last_error = 0, ""
        self._failed = self._closed = False
        self._last_fsync = time.monotonic()
        self._dirty = False

    def _create(self, overwrite: bool):
        try:
            f = open(self.path, "wb" if overwrite else "xb", buffering=FILE_BUFFER_BYTES)
            f.write(encode_header(self.header))
            f.flush()
            os.fsync(f.fileno())
            return f
        except FileExistsError as e:
            raise InstrumentError(f"z-log '{self.path}' already exists; choose another name or delete it") from e
        except OSError as e:
            raise InstrumentError(f"cannot create z-log '{self.path}': {e.strerror}; check the folder and "
                                  "free space") from e
        except ValueError as e:
            raise InstrumentError(f"z-log header cannot be written as JSON ({e}); use zlog.make_header") from e

    # ---- called from realtime threads: copy, enqueue, never wait ---------------------------------------------
    def write_row(self, latent, params_values: np.ndarray, wall_time: float, audio_latent=None) -> bool:
        """Copy one rendered frame into the ring; False (and a counted drop) when full, closed or failed."""
        head = self._head
        if head - self._tail >= len(self._ring) or self._closed or self._failed:
            self.rows_dropped += 1
            return False
        try:
            self._fill(head % len(self._ring), latent, params_values, wall_time, audio_latent)
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            self.rows_bad += 1
            self.last_error = f"z-log: frame {getattr(latent, 'index', '?')} not recorded: {type(e).__name__}: {e}"
            return False
        self._head = head + 1
        self._queue.put(head % len(self._ring))
        return True

    def _fill(self, slot: int, latent, params_values, wall_time, audio_latent) -> None:
        f = self._field
        f["index"][slot] = latent.index
        f["t"][slot] = latent.t
        f["wall_time"][slot] = wall_time
        f["psi"][slot] = latent.psi
        f["params"][slot] = params_values
        f["z"][slot] = latent.z
        f["mix"][slot] = latent.mix
        f["noise_seed"][slot] = latent.noise_seed
        f["cutoff"][slot] = latent.cutoff
        f["noise_mode"][slot] = self._noise_ix[latent.noise_mode]
        weight = 1.0
        if audio_latent is None and "audio_weight" in f:  # the frame's own sound-keyframe timbre, when it has one
            audio_latent, weight = getattr(latent, "audio", None), getattr(latent, "audio_weight", 0.0)
        if "audio_weight" in f:
            f["audio_weight"][slot] = weight if audio_latent is not None else 0.0
        f["has_audio"][slot] = audio_latent is not None
        if "directions" in f:  # a version 2 layout
            f["directions"][slot] = latent.directions
            f["direction_layers"][slot] = self._layers_ix[latent.direction_layers]
        if "class_position" in f:  # conditional models
            f["class_position"][slot] = latent.class_position
        if audio_latent is not None:
            f["audio"][slot] = audio_latent  # a KeyError when the header has audio_dim 0

    def write_event(self, source: str, data, wall_time: float, t: float = float("nan"), frame: int = -1) -> bool:
        """Queue a control event (an Action, or a dict like {"param": name, "value": v}); False when dropped."""
        with self._event_lock:
            if self._events_pending >= self._max_events or self._closed or self._failed:
                self.events_dropped += 1
                return False
            self._events_pending += 1
            self._queue.put((wall_time, t, frame, self._source_ix.get(source, 255), data))
        return True

    # ---- the writer thread ---------------------------------------------------------------------------------
    def run(self) -> None:
        running = True
        while running:
            try:
                batch = [self._queue.get(timeout=self.fsync_interval_s)]
            except queue.Empty:
                self._fsync_due()
                continue
            while len(batch) < BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            running = self._write_batch(batch)
            self._fsync_due()

    def _write_batch(self, batch: list) -> bool:
        marks, running = [], True
        for item in batch:
            if item is None:
                running = False
            elif isinstance(item, threading.Event):
                marks.append(item)
            elif isinstance(item, int):
                self._write_row_slot(item)
            else:
                self._write_event_item(item)
        self._guard(self._file.flush)
        for mark in marks:  # set only after the flush: a waiting `flush()` may trust everything before it
            mark.set()
        return running

    def _write_row_slot(self, slot: int) -> None:
        payload = self._raw[slot]
        if self._guard(self._append, ROW, payload):
            self.rows_written += 1
        else:
            self.rows_lost += 1
        self._tail += 1  # after the append: the producer may now reuse the slot

    def _write_event_item(self, item: tuple) -> None:
        wall, t, frame, source, data = item
        try:
            payload = EVENT.pack(wall, t, frame, source) + event_json(data)
        except (ValueError, TypeError, OverflowError, struct.error) as e:
            self.errors += 1
            self.last_error = f"z-log: event not recorded: {type(e).__name__}: {e}"
            payload = None
        if payload is not None and self._guard(self._append, EVENT_KIND, payload):
            self.events_written += 1
        with self._event_lock:
            self._events_pending -= 1

    def _append(self, kind: int, payload) -> None:
        self._file.write(RECORD.pack(len(payload), zlib.crc32(payload, KIND_CRC[kind]), kind))
        self._file.write(payload)
        self._dirty = True

    def _guard(self, fn, *args) -> bool:
        """Run a file operation; the first OSError stops all writing (a half-written record ends the file)."""
        if self._failed:
            return False
        try:
            fn(*args)
            return True
        except OSError as e:
            self._failed = True
            self.errors += 1
            self.last_error = (f"z-log '{self.path}': write failed ({e.strerror or e}); recording stopped, "
                               f"{self.rows_written} rows kept; free space or record elsewhere")
            return False

    def _fsync_due(self) -> None:
        if self._dirty and time.monotonic() - self._last_fsync >= self.fsync_interval_s:
            self._dirty = False
            self._last_fsync = time.monotonic()
            self._guard(os.fsync, self._file.fileno())

    # ---- control (not realtime) ----------------------------------------------------------------------------
    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until everything queued before this call is in the OS (it survives a kill -9 of this process)."""
        mark = threading.Event()
        self._queue.put(mark)
        return mark.wait(timeout_s) and not self._failed

    def close(self, timeout_s: float = 10.0) -> str:
        """Drain, flush, fsync and close; returns `summary()`. Safe to call twice.

        Stop the producers first (the generator thread, or unset `on_frame`): a row offered after close is dropped.
        """
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self.join(timeout_s)
            if not self.is_alive():
                self._guard(self._file.flush)
                self._guard(os.fsync, self._file.fileno())
                self._file.close()
        return self.summary()

    def summary(self) -> str:
        text = (f"z-log '{self.path}': {self.rows_written} rows, {self.events_written} events written; "
                f"{self.rows_dropped} rows dropped (writer behind), {self.rows_bad} bad, {self.rows_lost} lost, "
                f"{self.events_dropped} events dropped, {self.errors} errors")
        return text + (f"; last: {self.last_error}" if self.last_error else "")

