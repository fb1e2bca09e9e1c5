"""Audio output: a PortAudio stream (through sounddevice) whose callback only drains a RingBuffer.

Everything that can fail (no PortAudio, no device, unsupported rate, device lost mid-run) is reported
as a one-line reason, never raised: without audio the instrument keeps running, silent.
"""

from __future__ import annotations

import threading
import time as clock

import numpy as np

from instrument.audio import callback_kernel as kernel
from instrument.audio.native import HAS_MONOTONIC
from instrument.audio.ring import RingBuffer


def _import_sounddevice():
    """(module, None) or (None, one-line reason) — PortAudio missing raises OSError at import."""
    try:
        import sounddevice
    except (ImportError, OSError) as exc:
        return None, f"audio off: sounddevice/PortAudio unavailable ({exc}); install libportaudio2"
    return sounddevice, None


class AudioOutput:
    """Plays `ring` (float32 [frames, channels]) on an output device; counts callbacks, xruns and underruns.

    The callback is compiled (callback_kernel.portaudio_callback: PortAudio calls it without the interpreter) where
    it can be, else sounddevice's Python callback running the same compiled kernel; `callback_kind` says which."""

    def __init__(self, ring: RingBuffer, sample_rate_hz: int = 48000, blocksize: int = 256, device=None,
                 gain: np.ndarray | None = None, probe: np.ndarray | None = None, compiled: bool = True) -> None:
        """gain: float64 [1], a live level read at every block (a view of shared memory); probe: int64 [2], the
        newest probe's (seq, kind) posted by a benchmark (see mark()); compiled: False forces the Python callback."""
        self.ring = ring
        self._gain = gain if gain is not None else np.ones(1, np.float64)  # [1]
        self._probe = probe if probe is not None else np.zeros(2, np.int64)  # [2]
        if self._gain.dtype != np.float64 or self._probe.dtype != np.int64:
            raise ValueError(f"gain must be float64 [1], probe int64 [2]; not {self._gain.dtype}, {self._probe.dtype}")
        self.sample_rate_hz = int(sample_rate_hz)
        self.blocksize = int(blocksize)
        self.device = device
        self.callback_kind = "compiled" if compiled and HAS_MONOTONIC else "python"
        self.reason: str | None = None  # why audio is off, or what went wrong; None while all is well
        self._stream = None
        self._ints, self._floats = self._state()
        self._finished_unexpectedly = False  # written only by the finished-callback thread
        self._stopping = False

    def _state(self) -> tuple[np.ndarray, np.ndarray]:
        """The kernel's int64 and float64 state (callback_kernel's slots), addresses filled in for the C callback."""
        ints, floats = np.zeros(kernel.INT_SLOTS, np.int64), np.zeros(kernel.FLOAT_SLOTS, np.float64)
        floats[kernel.GAIN_NOW] = self._gain[0]
        ints[[kernel.BLOCKSIZE, kernel.SAMPLE_RATE, kernel.CHANNELS, kernel.CAPACITY]] = (
            self.blocksize, self.sample_rate_hz, self.ring.channels, self.ring.capacity_frames)
        for slot, array in ((kernel.FLOATS_ADDR, floats), (kernel.RING_STATE_ADDR, self.ring.state),
                            (kernel.RING_DATA_ADDR, self.ring.data), (kernel.GAIN_ADDR, self._gain),
                            (kernel.PROBE_ADDR, self._probe)):
            if not array.flags.c_contiguous:
                raise ValueError("AudioOutput needs contiguous gain, probe and ring arrays")
            ints[slot] = array.ctypes.data
        return ints, floats

    def prepare(self) -> None:
        """Compile the callback now (or load it from numba's cache: ~0.2 s; ~4 s the first time), not in the audio
        thread's first cycle; falls back to the Python callback where the compiled one cannot be built."""
        if self.callback_kind == "compiled":
            try:
                kernel.portaudio_callback_address()
            except Exception as exc:  # numba cannot build it here: the Python callback plays
                first_line = (str(exc).splitlines() or [""])[0]
                self.callback_kind = f"python (compiled callback unavailable: {type(exc).__name__}: {first_line})"
        if self.callback_kind != "compiled":
            self._prepare_python_kernel()

    def _prepare_python_kernel(self) -> None:
        """Compile the kernel the Python callback calls, on copies of the state (nothing is counted or played)."""
        scratch = [a.copy() for a in (self._ints, self._floats, self.ring.state, self.ring.data[:1], self._gain,
                                      self._probe)]
        kernel.on_block(*scratch, np.zeros((self.blocksize, self.ring.channels), np.float32), 0.0, 0.0, 0, 0.0)

    def start(self) -> bool:
        """Open and start the stream; False (see .reason) instead of raising when audio is unavailable."""
        sd, self.reason = _import_sounddevice()
        if sd is None:
            return False
        try:
            self.prepare()
            self._stream = self._open(sd)
            self._floats[kernel.LATENCY_S] = float(self._stream.latency)
            self._stream.start()
        except Exception as exc:  # PortAudioError, ValueError (bad device/rate), ...: report, play silent
            self.reason = f"audio off: cannot open output device {self.device!r} at {self.sample_rate_hz} Hz ({exc})"
            self._close_quietly()
            return False
        return True

    def _open(self, sd):
        sd.check_output_settings(device=self.device, channels=self.ring.channels,
                                 dtype="float32", samplerate=self.sample_rate_hz)
        settings = dict(samplerate=self.sample_rate_hz, blocksize=self.blocksize, device=self.device,
                        channels=self.ring.channels, dtype="float32", finished_callback=self._finished)
        if self.callback_kind == "compiled":
            try:  # sounddevice's base stream takes a C function pointer and user data (as python-rtmixer uses it)
                callback = sd._ffi.cast("PaStreamCallback *", kernel.portaudio_callback_address())
                userdata = sd._ffi.cast("void *", self._ints.ctypes.data)
                return sd._StreamBase("output", callback=callback, userdata=userdata, **settings)
            except AttributeError as exc:  # a sounddevice without those internals: the Python callback plays
                self.callback_kind = f"python (sounddevice {getattr(sd, '__version__', '?')} has no {exc.name})"
                self._prepare_python_kernel()
        return sd.OutputStream(callback=self._callback, **settings)

    def _callback(self, outdata, frames, time, status) -> None:
        """sounddevice's Python callback (where the compiled one cannot run): the same kernel, given the host's
        times and time.monotonic(). Real-time thread: no allocation, no I/O, no locks, always fills outdata."""
        current_s, dac_s = (time.currentTime, time.outputBufferDacTime) if time is not None else (kernel.NO_TIME, 0.0)
        if self._ints[kernel.THREAD_ID] == 0:
            self._ints[kernel.THREAD_ID] = threading.get_native_id()
        kernel.on_block(self._ints, self._floats, self.ring.state, self.ring.data, self._gain, self._probe, outdata,
                        current_s, dac_s, 1 if status else 0, clock.monotonic())

    def mark(self, sample_index: int, seq: int) -> None:
        """Producer: time the sample at stream index `sample_index` (frames ever written to the ring) when played."""
        self._ints[kernel.MARK_AT] = int(sample_index)
        self._ints[kernel.MARK_SEQ] = int(seq)  # after MARK_AT: the callback acts on a new seq

    def mark_asked(self) -> tuple[int, int]:
        """(sample index, seq) of the last mark asked for."""
        return int(self._ints[kernel.MARK_AT]), int(self._ints[kernel.MARK_SEQ])

    @property
    def callback_thread_id(self) -> int:
        """The kernel id of the thread PortAudio calls the callback on; 0 until the first callback."""
        return int(self._ints[kernel.THREAD_ID])

    @property
    def mark_done_seq(self) -> int:
        """The last mark timed ..."""
        return int(self._ints[kernel.MARK_DONE_SEQ])

    @property
    def mark_dac_s(self) -> float:
        """... and when its sample reaches the DAC, on the time.monotonic() clock."""
        return float(self._floats[kernel.MARK_DAC_S])

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
        ints = self._ints
        return {"audio_callbacks": int(ints[kernel.CALLBACKS]), "audio_xruns": int(ints[kernel.XRUNS]),
                "audio_underruns": self.ring.underruns} | {
            f"fill_{k}": int(ints[kernel.FILL_0 + k]) for k in range(kernel.FILL_BINS)}

    def lateness(self) -> dict:
        """How late the callback started after its host cycle began (callback_kernel._entry_lateness), after
        start-up."""
        return {"entry_late_max_ms": float(self._floats[kernel.LATE_MAX_MS]),
                "entry_late_over_1ms": int(self._ints[kernel.LATE_1MS]),
                "entry_late_over_4ms": int(self._ints[kernel.LATE_4MS])}

    def __enter__(self) -> "AudioOutput":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
