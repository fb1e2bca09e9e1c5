"""The audio callback's work, compiled once for both callbacks: PortAudio's own (a numba `cfunc`, no interpreter, no
GIL) and sounddevice's Python one (the fallback where the compiled one cannot run).

Why compiled: a Python callback must take its interpreter's GIL within every 5.3 ms period; whenever the thread
holding it stalls (CPU steal, an interrupt), the cycle is missed and JACK reports the client late ("PortAudio was
not finished"), 0 to 4 times in 10 minutes in docs/benchmarks.md. The compiled callback needs nothing but memory:
a stall of the synth thread then costs ring margin (10.7 ms), not a cycle.

State is two arrays the output owns: `ints` (int64 counters, the addresses of everything else, mark hand-off) and
`floats` (float64: gain, times). One `userData` pointer — the address of `ints` — reaches them all. Every slot has
one writer: the callback, except MARK_AT/MARK_SEQ (the producer, in that order) and the fixed set-up slots.
"""

from __future__ import annotations

import numpy as np
from numba import carray, cfunc, njit, types

from instrument.audio.feed import FILL_BINS, OUTPUT_PROBE
from instrument.audio.native import as_voidptr, monotonic_ns, thread_id
from instrument.audio.ring import READ_TOTAL, STATE_SLOTS, WRITE_TOTAL, ring_read

LATE_SETTLE_CALLBACKS = 1000  # entry lateness is judged after this many callbacks (start-up is not the show)
NO_TIME = -1.0  # current_s when the host gave no times (tests, a host API that leaves them out)

# ints: counters (callback-written), the mark hand-off, and set-up (addresses and sizes, written before start)
CALLBACKS, XRUNS, FILL_0 = 0, 1, 2  # FILL_0 .. FILL_0 + FILL_BINS - 1: callbacks by half blocks queued on entry
LATE_1MS, LATE_4MS, LAG_VALID = 8, 9, 10
MARK_AT, MARK_SEQ, MARK_DONE_SEQ = 11, 12, 13  # MARK_AT, MARK_SEQ: written by the producer, in that order
BLOCKSIZE, SAMPLE_RATE, CHANNELS, CAPACITY = 14, 15, 16, 17
FLOATS_ADDR, RING_STATE_ADDR, RING_DATA_ADDR, GAIN_ADDR, PROBE_ADDR = 18, 19, 20, 21, 22
THREAD_ID = 23  # the callback thread's kernel id, written once by the callback (0 until its first call)
INT_SLOTS = 24
# floats
GAIN_NOW, LAG_PREV_S, LATE_MAX_MS, MARK_DAC_S, LATENCY_S = 0, 1, 2, 3, 4
FLOAT_SLOTS = 8


@njit(nogil=True, cache=True)
def on_block(ints, floats, ring_state, ring_data, gain, probe, out, current_s, dac_s, flags, now_s):
    """One callback: count it, copy out [frames, channels] from the ring (silence on underrun), time a pending mark,
    apply the live gain. current_s/dac_s: the host's cycle time and this block's DAC time (stream clock), NO_TIME if
    unknown; now_s: time.monotonic() at entry. Allocates nothing."""
    frames = out.shape[0]
    ints[CALLBACKS] += 1
    if flags != 0:
        ints[XRUNS] += 1
    if current_s != NO_TIME:
        _entry_lateness(ints, floats, now_s - current_s)
    queued = 2 * (ring_state[WRITE_TOTAL] - ring_state[READ_TOTAL]) // ints[BLOCKSIZE]  # 0-1 underrun, 2 in time
    ints[FILL_0 + min(max(queued, 0), FILL_BINS - 1)] += 1
    if probe[0] != ints[MARK_DONE_SEQ] and probe[1] == OUTPUT_PROBE:  # seq read before kind: kind is stored first
        ints[MARK_AT], ints[MARK_SEQ] = ring_state[READ_TOTAL], probe[0]
    if ints[MARK_SEQ] != ints[MARK_DONE_SEQ] and ints[MARK_AT] < ring_state[READ_TOTAL] + frames:
        _time_mark(ints, floats, ring_state[READ_TOTAL], current_s, dac_s, now_s)
    ring_read(ring_state, ring_data, out)
    _apply_gain(floats, gain[0], out)
    return 0


@njit(nogil=True, cache=True)
def _entry_lateness(ints, floats, lag_s):
    """Count callbacks that started > 1 ms and > 4 ms later (against their cycle) than the one before, and keep the
    worst: the wait for the GIL, mostly, in the Python callback. Consecutive differences, so neither the clocks'
    offset nor a jump of the stream clock (it re-bases after an xrun) counts more than once."""
    previous, valid = floats[LAG_PREV_S], ints[LAG_VALID]
    floats[LAG_PREV_S], ints[LAG_VALID] = lag_s, 1
    if valid and ints[CALLBACKS] > LATE_SETTLE_CALLBACKS:
        late_ms = 1e3 * (lag_s - previous)
        if late_ms > 1.0:
            ints[LATE_1MS] += 1
            if late_ms > 4.0:
                ints[LATE_4MS] += 1
            floats[LATE_MAX_MS] = max(floats[LATE_MAX_MS], late_ms)


@njit(nogil=True, cache=True)
def _time_mark(ints, floats, read_total, current_s, dac_s, now_s):
    """DAC time of the marked sample on the monotonic clock: the stream clock gives how far ahead of now this block
    plays (dac_s - current_s; the stream's latency where the host gave no usable times); the sample's offset in
    the block adds to it."""
    ahead_s = dac_s - current_s
    if current_s == NO_TIME or not 0.0 <= ahead_s < 1.0:
        ahead_s = floats[LATENCY_S]
    floats[MARK_DAC_S] = now_s + ahead_s + (ints[MARK_AT] - read_total) / ints[SAMPLE_RATE]
    ints[MARK_DONE_SEQ] = ints[MARK_SEQ]


@njit(nogil=True, cache=True)
def _apply_gain(floats, target, out):
    """out *= gain in place, ramped from the last block's gain to this one's when it moved (no zipper noise)."""
    start, frames = floats[GAIN_NOW], out.shape[0]
    if target != start or target != 1.0:
        for i in range(frames):
            g = np.float32(start + (target - start) * (i + 1) / frames)  # == target throughout when it did not move
            for c in range(out.shape[1]):
                out[i, c] *= g
    floats[GAIN_NOW] = target


CALLBACK_SIGNATURE = types.int32(types.voidptr, types.voidptr, types.uint64, types.voidptr, types.uint64,
                                 types.voidptr)  # PaStreamCallback: input, output, frames, timeInfo, flags, userData
_compiled = []  # the cfunc, once made


def portaudio_callback_address() -> int:
    """The compiled PortAudio callback's address (compiled, or loaded from numba's cache, on first use). Raises
    what numba raises where it cannot be built."""
    if not _compiled:
        _compiled.append(cfunc(CALLBACK_SIGNATURE, nopython=True, cache=True)(portaudio_callback))
    return _compiled[0].address


def portaudio_callback(input_, output, frame_count, time_info, status_flags, user_data):
    """PortAudio's stream callback, no interpreter involved; user_data: the address of `ints`. Returns paContinue."""
    ints = carray(user_data, (INT_SLOTS,), np.int64)
    if ints[THREAD_ID] == 0:
        ints[THREAD_ID] = thread_id()
    channels, frames = ints[CHANNELS], np.int64(frame_count)
    times = carray(time_info, (3,), np.float64)  # PaStreamCallbackTimeInfo: ADC time, current time, DAC time
    on_block(ints, carray(as_voidptr(ints[FLOATS_ADDR]), (FLOAT_SLOTS,), np.float64),
             carray(as_voidptr(ints[RING_STATE_ADDR]), (STATE_SLOTS,), np.int64),
             carray(as_voidptr(ints[RING_DATA_ADDR]), (ints[CAPACITY], channels), np.float32),
             carray(as_voidptr(ints[GAIN_ADDR]), (1,), np.float64),
             carray(as_voidptr(ints[PROBE_ADDR]), (2,), np.int64),
             carray(output, (frames, channels), np.float32),
             times[1], times[2], np.int64(status_flags), monotonic_ns() * 1e-9)
    return 0
