"""Audio output: a sounddevice OutputStream whose callback only drains a RingBuffer.

Everything that can fail (no PortAudio, no device, unsupported rate, device lost mid-run) is reported
as a one-line reason, never raised: without audio the instrument keeps running, silent.
"""

from __future__ import annotations

import time as clock

import numpy as np

from instrument.audio.ring import RingBuffer

OUTPUT_PROBE = -1  # probe[1] of a change the callback itself applies (the gain): timed by the next block
FILL_BINS = 6  # the fill histogram's bins: queued audio at a callback in half blocks, the last bin "that or more"
LATE_SETTLE_CALLBACKS = 1000  # entry lateness is judged after this many callbacks (start-up is not the show)


def _import_sounddevice():
    """(module, None) or (None, one-line reason) — PortAudio missing raises OSError at import."""
    try:
        import sounddevice
    except (ImportError, OSError) as exc:
        return None, f"audio off: sounddevice/PortAudio unavailable ({exc}); install libportaudio2"
    return sounddevice, None


class AudioOutput:
    """Plays `ring` (float32 [frames, channels]) on an output device; counts callbacks, xruns and underruns."""

    def __init__(self, ring: RingBuffer, sample_rate_hz: int = 48000, blocksize: int = 256, device=None,
                 gain: np.ndarray | None = None, probe: np.ndarray | None = None) -> None:
        """gain: float64 [1], a live level read at every block (a view of shared memory); probe: int64 [2], the
        newest probe's (seq, kind) posted by a benchmark (see mark())."""
        self.ring = ring
        self._gain, self._probe = gain, probe
        self._gain_now = float(gain[0]) if gain is not None else 1.0
        self._ramp_unit = (np.arange(1, blocksize + 1) / blocksize).astype(np.float32)  # [blocksize] 1/n .. 1
        self._ramp = np.empty(blocksize, np.float32)  # [blocksize] scratch: the gain across one block
        self.sample_rate_hz = int(sample_rate_hz)
        self.blocksize = int(blocksize)
        self.device = device
        self.reason: str | None = None  # why audio is off, or what went wrong; None while all is well
        self._stream = None
        self._latency_s = 0.0  # the stream's reported output latency
        self._callbacks = 0  # written only by the callback thread
        self._xruns = 0  # written only by the callback thread
        self._fill = [0] * FILL_BINS  # written only by the callback thread: callbacks by half blocks queued on entry
        # How much later the Python callback started, relative to its host cycle (PortAudio's currentTime), than
        # the callback before it: the wait for this interpreter's GIL, mostly. Consecutive differences, so neither
        # the clocks' offset nor a jump of the stream clock (it re-bases after an xrun) counts for more than once.
        self._lag_prev_s: float | None = None
        self.entry_late_max_ms = 0.0  # written only by the callback thread
        self.entry_late_over_1ms = 0
        self.entry_late_over_4ms = 0
        self._finished_unexpectedly = False  # written only by the finished-callback thread
        self._stopping = False
        self._mark_at = 0  # stream sample index whose DAC time is wanted (see mark())
        self._mark_seq = 0  # written by the producer after _mark_at
        self.mark_done_seq = 0  # written only by the callback thread: the last mark timed ...
        self.mark_dac_s = 0.0  # ... and when its sample reaches the DAC, on the time.monotonic() clock

    def start(self) -> bool:
        """Open and start the stream; False (see .reason) instead of raising when audio is unavailable."""
        sd, self.reason = _import_sounddevice()
        if sd is None:
            return False
        try:
            self._stream = self._open(sd)
            self._latency_s = float(self._stream.latency)
            self._stream.start()
        except Exception as exc:  # PortAudioError, ValueError (bad device/rate), ...: report, play silent
            self.reason = f"audio off: cannot open output device {self.device!r} at {self.sample_rate_hz} Hz ({exc})"
            self._close_quietly()
            return False
        return True

    def _open(self, sd):
        sd.check_output_settings(device=self.device, channels=self.ring.channels,
                                 dtype="float32", samplerate=self.sample_rate_hz)
        return sd.OutputStream(samplerate=self.sample_rate_hz, blocksize=self.blocksize, device=self.device,
                               channels=self.ring.channels, dtype="float32",
                               callback=self._callback, finished_callback=self._finished)

    def _callback(self, outdata, frames, time, status) -> None:
        """Real-time audio thread. Rules: no allocation, no I/O, no locks, always fill outdata.

        Copies `frames` frames from the ring into outdata (silence on underrun, counted by the ring) and
        bumps the counters; status flags (output_underflow etc.) count as xruns. A pending mark that falls in
        this block gets its DAC time (a few float operations; Python boxes floats, no buffer is allocated).
        The live gain is applied in place, ramped across the block when it changed (no zipper noise).
        """
        self._callbacks += 1
        if status:
            self._xruns += 1
        if time is not None:
            self._entry_lateness(clock.monotonic() - time.currentTime)
        queued = 2 * self.ring.available() // self.blocksize  # half blocks: 0-1 = underrun, 2 = just in time
        self._fill[queued if queued < FILL_BINS else FILL_BINS - 1] += 1
        probe = self._probe
        if probe is not None and probe[0] != self.mark_done_seq and probe[1] == OUTPUT_PROBE:
            self.mark(self.ring.read_total, probe[0])  # seq read before kind: the writer stores kind first
        if self._mark_seq != self.mark_done_seq and self._mark_at < self.ring.read_total + frames:
            self._time_mark(time)
        self.ring.read_into(outdata)
        if self._gain is not None:
            self._apply_gain(outdata, frames)

    def _entry_lateness(self, lag_s: float) -> None:
        """Count callbacks that started > 1 ms and > 4 ms later (against their cycle) than the one before, and keep
        the worst. lag_s: monotonic time at entry minus the host's currentTime."""
        previous, self._lag_prev_s = self._lag_prev_s, lag_s
        if previous is not None and self._callbacks > LATE_SETTLE_CALLBACKS:
            late_ms = 1e3 * (lag_s - previous)
            if late_ms > 1.0:
                self.entry_late_over_1ms += 1
                if late_ms > 4.0:
                    self.entry_late_over_4ms += 1
                if late_ms > self.entry_late_max_ms:
                    self.entry_late_max_ms = late_ms

    def _apply_gain(self, outdata, frames: int) -> None:
        """outdata *= gain, in place; a ramp from the last block's gain to this one's when it moved."""
        g0, g1 = self._gain_now, float(self._gain[0])
        if g1 != g0 and frames == len(self._ramp):
            np.multiply(self._ramp_unit, g1 - g0, out=self._ramp)
            self._ramp += g0
            outdata *= self._ramp[:, None]
        elif g1 != 1.0:
            outdata *= g1
        self._gain_now = g1

    def mark(self, sample_index: int, seq: int) -> None:
        """Producer: time the sample at stream index `sample_index` (frames ever written to the ring) when played."""
        self._mark_at = int(sample_index)
        self._mark_seq = int(seq)

    def _time_mark(self, time) -> None:
        """DAC time of the marked sample on the monotonic clock: PortAudio's stream clock gives how far ahead of
        now this block plays (outputBufferDacTime - currentTime); the sample's offset in the block adds to it."""
        ahead_s = time.outputBufferDacTime - time.currentTime if time is not None else 0.0
        if not 0.0 <= ahead_s < 1.0:  # a host API that leaves the times at 0 (or garbage): the stream's latency
            ahead_s = self._latency_s
        offset_s = (self._mark_at - self.ring.read_total) / self.sample_rate_hz
        self.mark_dac_s = clock.monotonic() + ahead_s + offset_s
        self.mark_done_seq = self._mark_seq

    def _finished(self) -> None:
        """Stream thread: the stream ended; if we did not ask for it, the device was lost."""
        if not self._stopping:
            self._finished_unexpectedly = True

    @property
    def active(self) -> bool:
        """True while the stream runs; False after stop(), a failed start, or a lost device."""
        try:
            return bool(self._stream is not None and self._stream.active)
        except Exception:  # a dead PortAudio handle may raise on query
            return False

    def device_lost(self) -> bool:
        """True if the stream stopped without stop() being called (sets .reason once)."""
        lost = self._finished_unexpectedly or (self._stream is not None and not self._stopping and not self.active)
        if lost and self.reason is None:
            self.reason = "audio lost: the output stream stopped unexpectedly (device unplugged or server gone)"
        return lost

    def stop(self) -> None:
        """Stop and close the stream; safe to call twice or after a failed start."""
        self._stopping = True
        self._close_quietly()

    def _close_quietly(self) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            return
        try:
            stream.stop()
            stream.close()
        except Exception as exc:  # the device may already be gone
            self.reason = self.reason or f"audio: error while closing the stream ({exc})"

    def stats(self) -> dict:
        """{audio_callbacks, audio_xruns, audio_underruns, fill_0 .. fill_5} since construction; fill_k counts the
        callbacks that found k half blocks queued (fill_5: 5 or more): how close the synth ran to an underrun."""
        return {"audio_callbacks": self._callbacks, "audio_xruns": self._xruns,
                "audio_underruns": self.ring.underruns} | {f"fill_{k}": n for k, n in enumerate(self._fill)}

    def lateness(self) -> dict:
        """How late the callback started after its host cycle began (see _entry_lateness), after start-up."""
        return {"entry_late_max_ms": self.entry_late_max_ms, "entry_late_over_1ms": self.entry_late_over_1ms,
                "entry_late_over_4ms": self.entry_late_over_4ms}

    def __enter__(self) -> "AudioOutput":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
