"""Single-producer / single-consumer float32 ring buffer for the audio callback.

The ring's counters live in a small int64 array, `state` (frames ever written, frames ever read, underruns,
underrun frames), next to the sample storage `data`: the compiled PortAudio callback (callback_kernel.py) reaches
both by address and reads with `ring_read`, the same function `read_into` runs, without the interpreter.

Why no lock is needed: the producer only ever stores the write total, the consumer only the read total and the
underrun counts, each an aligned 8-byte store (atomic on every CPU numba targets). The producer copies samples into
the free region *before* publishing the new write total; the consumer copies out *before* publishing the read
total, with a fence on each side so neither the compiler nor the CPU reorders those. So each side only touches
slots the other has handed over: the consumer never reads half-written samples, the producer never overwrites
unread ones. Totals do not wrap in practice (2**63 frames), so "full" and "empty" are unambiguous.

The consumer path allocates nothing: compiled code copying between preallocated arrays.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from instrument.audio.native import fence

WRITE_TOTAL, READ_TOTAL, UNDERRUNS, UNDERRUN_FRAMES = range(4)  # the slots of RingBuffer.state
STATE_SLOTS = 4


@njit(nogil=True, cache=True)
def ring_read(state, data, out):
    """Consumer: fill out [frames, channels] from data [capacity, channels]; zero-pad and count an underrun if short.
    Returns the frames read."""
    start, wanted, capacity = state[READ_TOTAL], out.shape[0], data.shape[0]
    n = min(wanted, state[WRITE_TOTAL] - start)
    fence()  # the samples are read after the write total that covers them
    for i in range(n):  # n >= 0: the write total never falls behind the read total
        out[i, :] = data[(start + i) % capacity, :]
    for i in range(n, wanted):
        out[i, :] = 0.0
    fence()  # ... and handed back only once copied out
    if n > 0:
        state[READ_TOTAL] = start + n
    if n < wanted:
        state[UNDERRUNS] += 1
        state[UNDERRUN_FRAMES] += wanted - n
    return n


@njit(nogil=True, cache=True)
def ring_write(state, data, block):
    """Producer: append as much of block [frames, channels] as fits; returns frames written."""
    start, capacity = state[WRITE_TOTAL], data.shape[0]
    n = min(block.shape[0], capacity - (start - state[READ_TOTAL]))
    fence()  # the slots are written after the read total that freed them
    for i in range(n):  # n >= 0: never more unread frames than the capacity
        data[(start + i) % capacity, :] = block[i, :]
    fence()  # ... and published only once in place
    if n > 0:
        state[WRITE_TOTAL] = start + n
    return n


class RingBuffer:
    """Preallocated float32 ring of `capacity_frames` frames x `channels` (a frame = one sample per channel)."""

    def __init__(self, capacity_frames: int, channels: int = 1) -> None:
        if capacity_frames < 1 or channels < 1:
            raise ValueError(f"RingBuffer(capacity_frames={capacity_frames}, channels={channels}): both must be >= 1")
        self.capacity_frames = int(capacity_frames)
        self.channels = int(channels)
        self.data = np.zeros((self.capacity_frames, self.channels), dtype=np.float32)  # [capacity, channels]
        self.state = np.zeros(STATE_SLOTS, dtype=np.int64)  # [STATE_SLOTS] see the slot names above

    def available(self) -> int:
        """Frames ready to read (a snapshot; only grows until the consumer reads)."""
        return int(self.state[WRITE_TOTAL] - self.state[READ_TOTAL])

    @property
    def read_total(self) -> int:
        """Frames ever read (the stream index of the next sample the consumer plays)."""
        return int(self.state[READ_TOTAL])

    @property
    def write_total(self) -> int:
        """Frames ever written."""
        return int(self.state[WRITE_TOTAL])

    @property
    def underruns(self) -> int:
        """Reads that came up short."""
        return int(self.state[UNDERRUNS])

    @property
    def underrun_frames(self) -> int:
        """Frames zero-filled by those reads."""
        return int(self.state[UNDERRUN_FRAMES])

    def free(self) -> int:
        """Frames that can be written now (a snapshot; only grows until the producer writes)."""
        return self.capacity_frames - self.available()

    def write(self, block: np.ndarray) -> int:
        """Producer: append what fits of block [frames, channels] ([frames] if mono); returns frames written."""
        return int(ring_write(self.state, self.data, self._as_frames(block)))

    def read_into(self, out: np.ndarray) -> int:
        """Consumer: fill out [frames, channels]; returns frames read, zero-pads and counts an underrun if short."""
        return int(ring_read(self.state, self.data, out))

    def _as_frames(self, block: np.ndarray) -> np.ndarray:
        block = np.asarray(block, dtype=np.float32)
        if block.ndim == 1 and self.channels == 1:
            block = block[:, None]
        if block.ndim != 2 or block.shape[1] != self.channels:
            raise ValueError(f"block has shape {block.shape}; pass [frames, {self.channels}] float32")
        return np.ascontiguousarray(block)  # one array type for ring_write: never a fresh compile mid-show
