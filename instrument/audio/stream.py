"""Audio output: a sounddevice OutputStream whose callback only drains a RingBuffer.

Everything that can fail (no PortAudio, no device, unsupported rate, device lost mid-run) is reported
as a one-line reason, never raised: without audio the instrument keeps running, silent.
"""

from __future__ import annotations

from instrument.audio.ring import RingBuffer


def _import_sounddevice():
    """(module, None) or (None, one-line reason) — PortAudio missing raises OSError at import."""
    try:
        import sounddevice
    except (ImportError, OSError) as exc:
        return None, f"audio off: sounddevice/PortAudio unavailable ({exc}); install libportaudio2"
    return sounddevice, None


class AudioOutput:
    """Plays `ring` (float32 [frames, channels]) on an output device; counts callbacks, xruns and underruns."""

    def __init__(self, ring: RingBuffer, sample_rate_hz: int = 48000, blocksize: int = 256, device=None) -> None:
        self.ring = ring
        self.sample_rate_hz = int(sample_rate_hz)
        self.blocksize = int(blocksize)
        self.device = device
        self.reason: str | None = None  # why audio is off, or what went wrong; None while all is well
        self._stream = None
        self._callbacks = 0  # written only by the callback thread
        self._xruns = 0  # written only by the callback thread
        self._finished_unexpectedly = False  # written only by the finished-callback thread
        self._stopping = False

    def start(self) -> bool:
        """Open and start the stream; False (see .reason) instead of raising when audio is unavailable."""
        sd, self.reason = _import_sounddevice()
        if sd is None:
            return False
        try:
            self._stream = self._open(sd)
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
        bumps the counters; status flags (output_underflow etc.) count as xruns.
        """
        self._callbacks += 1
        if status:
            self._xruns += 1
        self.ring.read_into(outdata)

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
        """{audio_callbacks, audio_xruns, audio_underruns} since construction."""
        return {"audio_callbacks": self._callbacks, "audio_xruns": self._xruns,
                "audio_underruns": self.ring.underruns}

    def __enter__(self) -> "AudioOutput":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
