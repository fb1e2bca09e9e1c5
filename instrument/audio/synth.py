"""SpectralSynth: a producer thread turning log-magnitude frames into samples in a RingBuffer.

frame_source() -> float [frames, bins] log-magnitudes (later: the VAE decoder on the latent trajectory;
for now any callable). Each frame goes through RTPGHI (`lookahead` frames of latency: none by default) and
overlap-add (`hop` samples out per frame) into the ring, which the audio callback drains. The thread keeps the ring filled
to `target_blocks` audio blocks ahead and sleeps in between, so latency stays bounded.

Just in time (`just_in_time=True`, the live voice): the callback takes a whole block at once, and refilling it
at once would decode every hop of the block together, right after the callback, so a control change could wait a
whole block for its next decode. Instead the fill to keep starts one block less one hop below the target when the
callback has read, and rises by a hop every hop's duration: hops are decoded evenly, each as late as the margin
allows, and a change waits at most one hop (2.7 ms) for its decode. The callback still finds the full target.

Threads: torch.set_num_threads(1) is called inside the thread when torch is already imported (torch's
setting is per process but cheap to set). numpy's BLAS thread pool can only be limited process-wide
through env vars set before numpy is imported (OMP_NUM_THREADS / OPENBLAS_NUM_THREADS=1); the RTPGHI +
OLA path itself uses no BLAS (FFT and elementwise only), so it runs on one core regardless.
"""

from __future__ import annotations

import sys
import threading
import time

import numpy as np

from instrument.audio.ring import RingBuffer
from instrument.audio.rtpghi import DEFAULT_LOOKAHEAD, RTPGHI
from instrument.audio.spectral import OverlapAdd, SpectralConfig

GAP_LATE_S = 0.004  # a turn of the synth loop this long after the last (it polls every 1 ms) is counted as late
SETTLE_FRAMES = 1000  # the loop's timing is judged after this many frames (2.7 s at 375 a second): not start-up


class SpectralSynth:
    """Producer thread: frame_source -> RTPGHI -> OLA -> ring, keeping `target_blocks` x `blocksize` frames queued."""

    def __init__(self, frame_source, ring: RingBuffer, config: SpectralConfig = SpectralConfig(),
                 blocksize: int = 256, target_blocks: float = 3, gain: float = 1.0, poll_s: float | None = None,
                 lookahead: int = DEFAULT_LOOKAHEAD, just_in_time: bool = False) -> None:
        self.frame_source = frame_source
        self.ring = ring
        self.config = config
        self.target_frames = int(blocksize * target_blocks)  # ring fill level to maintain, in sample frames
        if self.target_frames > ring.capacity_frames:
            raise ValueError(f"target_blocks*blocksize={self.target_frames} exceeds ring capacity "
                             f"{ring.capacity_frames}; enlarge the ring or lower target_blocks")
        self.gain = float(gain)
        self.just_in_time = bool(just_in_time)
        self._base_frames = max(config.hop, self.target_frames - (int(blocksize) - config.hop))  # right after a read
        self._read_seen, self._read_seen_s = -1, 0.0  # the ring's read_total when last seen to change, and when
        self.poll_s = poll_s  # fixed wait between fill checks; None: half the queued audio (fewer wake-ups)
        self.rtpghi = RTPGHI(config, lookahead=lookahead)
        self.ola = OverlapAdd(config)
        self.frames_synthesised = 0
        self.error: str | None = None  # one-line reason if the thread died
        self.gaps_late, self.gap_max_ms = 0, 0.0  # turns of the loop more than GAP_LATE_S apart, and the longest
        self.fill_max_ms = 0.0  # the longest fill_once that synthesised (decode + phase + overlap-add + write)
        self._pending = np.zeros((0, ring.channels), dtype=np.float32)  # samples that did not fit yet
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="spectral-synth", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Signal the thread and join it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _run(self) -> None:
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(1)
        try:
            last_s = time.monotonic()
            while not self._stop.is_set():
                last_s = self._turn(last_s)
        except Exception as exc:  # report, never crash the host: the callback plays silence meanwhile
            self.error = f"spectral synth stopped: {type(exc).__name__}: {exc}"

    def _turn(self, last_s: float) -> float:
        """One turn of the loop: synthesise a batch, or sleep if none was needed; after start-up, note how long after
        the last turn it came and how long the batch took. Returns when it began."""
        now_s = time.monotonic()
        settled = self.frames_synthesised > SETTLE_FRAMES
        if settled:
            self._note_gap(now_s - last_s)
        if not self.fill_once():
            self._stop.wait(self._sleep_s())
        elif settled:
            self.fill_max_ms = max(self.fill_max_ms, 1e3 * (time.monotonic() - now_s))
        return now_s

    def _note_gap(self, gap_s: float) -> None:
        """Count the loop's turns that came more than GAP_LATE_S after the one before: the thread was held up (not
        scheduled, a GIL wait, a slow decode) long enough to eat half a block of the ring's margin."""
        if gap_s > GAP_LATE_S:
            self.gaps_late += 1
            self.gap_max_ms = max(self.gap_max_ms, 1e3 * gap_s)

    def _sleep_s(self) -> float:
        """poll_s, else about half of the queued audio's duration, at least 1 ms."""
        if self.poll_s is not None:
            return self.poll_s
        return max(0.001, 0.5 * self.ring.available() / self.config.sample_rate_hz)

    def target_now(self, now_s: float | None = None) -> int:
        """The fill to keep now: target_frames, or just in time (module doc) a hop more per hop since the last read."""
        if not self.just_in_time:
            return self.target_frames
        now_s = time.monotonic() if now_s is None else now_s
        read = self.ring.read_total
        if read != self._read_seen:
            self._read_seen, self._read_seen_s = read, now_s
        hops = int((now_s - self._read_seen_s) / self.config.hop_s)
        return min(self.target_frames, self._base_frames + hops * self.config.hop)

    def fill_once(self, target: int | None = None) -> bool:
        """Synthesise one batch if the ring is below `target` (default: target_now()); False if nothing was needed
        (or fitted)."""
        target = self.target_now() if target is None else target
        if not self._flush_pending() or self.ring.available() >= target:
            return False
        frames = np.asarray(self.frame_source(), dtype=np.float64)  # [frames, bins]
        if frames.ndim != 2 or frames.shape[1] != self.config.bins:
            raise ValueError(f"frame_source returned shape {frames.shape}; return [frames, {self.config.bins}]")
        self._pending = self.synthesise(frames)
        self._flush_pending()
        return True

    def synthesise(self, logmag_frames: np.ndarray) -> np.ndarray:
        """Log-magnitude [frames, bins] -> float32 samples [frames*hop (minus one on the very first), channels]."""
        out = []
        for s in logmag_frames:
            spec = self.rtpghi.push(s)
            if spec is not None:
                out.append(self.ola.push(spec))
        self.frames_synthesised += len(logmag_frames)
        mono = np.concatenate(out) * self.gain if out else np.zeros(0, dtype=np.float32)
        return np.repeat(mono[:, None], self.ring.channels, axis=1).astype(np.float32)

    def _flush_pending(self) -> bool:
        """Write leftover samples; True when nothing is left pending."""
        if len(self._pending):
            n = self.ring.write(self._pending)
            self._pending = self._pending[n:]
        return len(self._pending) == 0
