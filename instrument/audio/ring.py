"""Single-producer / single-consumer float32 ring buffer for the audio callback.

Why no lock is needed (CPython): the producer only ever writes `_write_total`, the consumer only ever
writes `_read_total`, and `underruns`/`underrun_frames` are written by the consumer alone. Each index
is a monotonically increasing Python int rebound by one thread with a single STORE_ATTR, which is
atomic under the GIL (and under free-threaded builds attribute stores are still atomic per object).
The producer copies samples into the free region *before* publishing the new `_write_total`; the
consumer copies out *before* publishing `_read_total`. So each side only touches slots the other has
handed over: the consumer never reads half-written samples, the producer never overwrites unread ones.
Totals never wrap (Python ints), so "full" and "empty" are unambiguous.

The consumer path (`read_into`) allocates no numpy arrays: it copies with np.copyto into views of
preallocated storage and of `out`; the views are cheap slice objects, no sample buffers.
"""

from __future__ import annotations

import numpy as np


class RingBuffer:
    """Preallocated float32 ring of `capacity_frames` frames x `channels` (a frame = one sample per channel)."""

    def __init__(self, capacity_frames: int, channels: int = 1) -> None:
        if capacity_frames < 1 or channels < 1:
            raise ValueError(f"RingBuffer(capacity_frames={capacity_frames}, channels={channels}): both must be >= 1")
        self.capacity_frames = int(capacity_frames)
        self.channels = int(channels)
        self._data = np.zeros((self.capacity_frames, self.channels), dtype=np.float32)  # [capacity, channels]
        self._write_total = 0  # frames ever written; producer-owned
        self._read_total = 0  # frames ever read; consumer-owned
        self.underruns = 0  # read_into calls that came up short; consumer-owned
        self.underrun_frames = 0  # frames zero-filled by those calls; consumer-owned

    def available(self) -> int:
        """Frames ready to read (a snapshot; only grows until the consumer reads)."""
        return self._write_total - self._read_total

    @property
    def read_total(self) -> int:
        """Frames ever read (the stream index of the next sample the consumer plays)."""
        return self._read_total

    @property
    def write_total(self) -> int:
        """Frames ever written."""
        return self._write_total

    def free(self) -> int:
        """Frames that can be written now (a snapshot; only grows until the producer writes)."""
        return self.capacity_frames - self.available()

    def write(self, block: np.ndarray) -> int:
        """Producer: append as much of block [frames, channels] (or [frames] if mono) as fits; returns frames written."""
        block = self._as_frames(block)
        start = self._write_total
        n = min(len(block), self.capacity_frames - (start - self._read_total))
        if n <= 0:
            return 0
        self._copy_in(block[:n], start % self.capacity_frames)
        self._write_total = start + n  # publish only after the samples are in place
        return n

    def read_into(self, out: np.ndarray) -> int:
        """Consumer: fill out [frames, channels] completely; returns frames read, zero-pads and counts an underrun if short."""
        start = self._read_total
        wanted = out.shape[0]
        n = min(wanted, self._write_total - start)
        if n > 0:
            self._copy_out(out, n, start % self.capacity_frames)
            self._read_total = start + n  # hand the slots back only after copying out
        if n < wanted:
            out[n:] = 0.0
            self.underruns += 1
            self.underrun_frames += wanted - n
        return n

    def _as_frames(self, block: np.ndarray) -> np.ndarray:
        block = np.asarray(block, dtype=np.float32)
        if block.ndim == 1 and self.channels == 1:
            block = block[:, None]
        if block.ndim != 2 or block.shape[1] != self.channels:
            raise ValueError(f"block has shape {block.shape}; pass [frames, {self.channels}] float32")
        return block

    def _copy_in(self, block: np.ndarray, pos: int) -> None:
        first = min(len(block), self.capacity_frames - pos)
        self._data[pos : pos + first] = block[:first]
        if first < len(block):
            self._data[: len(block) - first] = block[first:]

    def _copy_out(self, out: np.ndarray, n: int, pos: int) -> None:
        first = min(n, self.capacity_frames - pos)
        np.copyto(out[:first], self._data[pos : pos + first])
        if first < n:
            np.copyto(out[first:n], self._data[: n - first])
