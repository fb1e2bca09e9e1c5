"""VoiceFeed: what the main process hands the audio process, and what comes back, in one shared-memory block.

    main process                                   audio process ("timbre-voice")
    ParamStore.values (lives here) ───────────────> read per batch: gain, timbre.*        (latest value wins)
    voice-feed thread: conductor.last_frame ──────> read_latent: z[A] + frame index       (seqlock: never torn)
    probe (benchmarks: "a change was made now") ──> marked on the first sample reflecting it
    stats() <───────────────────────────────────── report: callbacks, xruns, underruns, probe DAC time

Layout, each region with one writer:
    header  int64 [HEADER]     seq (odd while the latent is being written), frame index, probe seq/frame, stop
    params  float64 [n_params] the ParamStore's values array itself (single float64 stores: no lock needed)
    report  float64 [REPORT]   written by the audio process only
    z       float32 [z_dim]    the newest visual latent z[A], guarded by seq
    audio   float32 [audio_dim + 1]  that frame's keyframe timbre latent and its weight (last; 0: none), same seq

Why a seqlock and not a lock: the audio process must never wait on the main process. The writer makes seq odd,
writes, makes it even again; a reader copies and keeps the copy only if seq was even and unchanged around the copy.
Stores reach the other process in program order on x86-64 (TSO); ARM would need fences numpy cannot express.
"""

from __future__ import annotations

import mmap
import os
from multiprocessing import shared_memory

import numpy as np

FILL_BINS = 6  # the callback's fill histogram: queued audio at a callback in half blocks, the last bin "that or more"
HEADER = ("seq", "frame_index", "probe_seq", "probe_frame", "stop")
REPORT = ("state", "audio_callbacks", "audio_xruns", "audio_underruns", "frames_synthesised", "ring_frames",
          "probe_done_seq", "probe_dac_s", "heartbeat_s") + tuple(f"fill_{k}" for k in range(FILL_BINS)) + (
          "entry_late_max_ms", "entry_late_over_1ms", "entry_late_over_4ms", "synth_gaps_late", "synth_gap_max_ms",
          "synth_fill_max_ms")
STATES = ("starting", "playing", "off", "stopped")  # report["state"] is an index into this
OUTPUT_PROBE, DECODE_PROBE = -1, -2  # probe kinds besides a latent's frame index
READ_TRIES = 4  # a reader that keeps meeting the writer mid-write gives up and keeps its previous latent


class VoiceFeed:
    """The shared block; `create` in the main process, `attach` (by name) in the audio process."""

    def __init__(self, buf, name: str, n_params: int, z_dim: int, shm: shared_memory.SharedMemory | None,
                 audio_dim: int = 0) -> None:
        self.name, self.n_params, self.z_dim, self.shm = name, int(n_params), int(z_dim), shm  # shm: the owner's
        self.audio_dim = int(audio_dim)
        self._buf = buf
        sizes = (8 * len(HEADER), 8 * self.n_params, 8 * len(REPORT), 4 * self.z_dim,
                 4 * (self.audio_dim + 1))  # 8-byte fields first: aligned
        offsets = np.cumsum((0,) + sizes)
        if len(buf) < offsets[-1]:
            raise ValueError(f"shared block '{name}' has {len(buf)} bytes; {offsets[-1]} needed for {n_params} "
                             f"parameters and z_dim {z_dim}: main and audio process disagree")
        self.header = np.ndarray((len(HEADER),), np.int64, buf, offsets[0])
        self.params = np.ndarray((self.n_params,), np.float64, buf, offsets[1])
        self.report = np.ndarray((len(REPORT),), np.float64, buf, offsets[2])
        self.z = np.ndarray((self.z_dim,), np.float32, buf, offsets[3])
        self.audio = np.ndarray((self.audio_dim + 1,), np.float32, buf, offsets[4])

    @staticmethod
    def nbytes(n_params: int, z_dim: int, audio_dim: int = 0) -> int:
        return 8 * (len(HEADER) + n_params + len(REPORT)) + 4 * (z_dim + audio_dim + 1)

    @classmethod
    def create(cls, n_params: int, z_dim: int, audio_dim: int = 0) -> "VoiceFeed":
        shm = shared_memory.SharedMemory(create=True, size=cls.nbytes(n_params, z_dim, audio_dim))
        feed = cls(shm.buf, shm.name, n_params, z_dim, shm, audio_dim)
        feed.audio[:] = 0.0
        feed.header[:] = 0
        feed.header[1] = -1  # no latent yet
        feed.report[:] = 0.0
        return feed

    @classmethod
    def attach(cls, name: str, n_params: int, z_dim: int, audio_dim: int = 0) -> "VoiceFeed":
        return cls(_attach(name), name, n_params, z_dim, None, audio_dim)

    # The latent (main process writes, audio process reads)
    def write_latent(self, index: int, z: np.ndarray, audio: np.ndarray | None = None, weight: float = 0.0) -> None:
        """Publish visual latent z [z_dim] of frame `index`, with the frame's keyframe timbre latent [audio_dim]
        and its weight when it has one (one writer only)."""
        h = self.header
        h[0] += 1  # odd: writing
        self.z[:] = z
        has_audio = audio is not None and self.audio_dim and len(audio) == self.audio_dim
        if has_audio:
            self.audio[:-1] = audio
        self.audio[-1] = weight if has_audio else 0.0
        h[1] = index
        h[0] += 1  # even: done

    def read_latent(self, out: np.ndarray, audio_out: np.ndarray | None = None) -> int | None:
        """Copy the newest latent into out [z_dim] (and its keyframe timbre + weight into audio_out [audio_dim + 1]);
        its frame index, or None (none yet, or the writer kept interfering)."""
        h = self.header
        for _ in range(READ_TRIES):
            before = int(h[0])
            if before & 1:
                continue
            index = int(h[1])
            out[:] = self.z
            if audio_out is not None:
                audio_out[:] = self.audio
            if int(h[0]) == before:
                return index if index >= 0 else None
        return None

    # Probes (benchmarks) and stop
    def post_probe(self, frame: int = -1) -> int:
        """Ask the audio process to time the first sample reflecting a change made now. frame >= 0: a latent change,
        reflected once a latent of at least that frame index is decoded; DECODE_PROBE: a parameter read at decode
        (timbre.*); OUTPUT_PROBE: one the callback applies (audio.gain). Returns its seq."""
        self.header[3] = frame
        self.header[2] += 1
        return int(self.header[2])

    def probe(self) -> tuple[int, int]:
        return int(self.header[2]), int(self.header[3])

    def request_stop(self) -> None:
        self.header[4] = 1

    @property
    def stop_requested(self) -> bool:
        return bool(self.header[4])

    # Report (audio process writes, main process reads)
    def publish(self, **values: float) -> None:
        for key, value in values.items():
            self.report[REPORT.index(key)] = value

    def snapshot(self) -> dict[str, float]:
        return dict(zip(REPORT, self.report.tolist()))

    def close(self) -> None:
        """Drop the views and unmap; the owner also unlinks the name. A view still held elsewhere (BufferError)
        keeps the mapping alive until it goes."""
        self.header = self.params = self.z = self.audio = self.report = None
        if self.shm is not None:
            try:
                self.shm.unlink()
            except FileNotFoundError:  # already unlinked
                pass
        try:
            (self.shm or self._buf).close()
        except BufferError:
            pass


def _attach(name: str) -> mmap.mmap:
    """Map the block by name without the resource tracker (Python < 3.13 would register it and unlink it when this
    process exits, under the creator's feet): the creator alone unlinks."""
    import _posixshmem  # what multiprocessing.shared_memory uses on POSIX

    fd = _posixshmem.shm_open("/" + name.lstrip("/"), os.O_RDWR, mode=0o600)
    try:
        return mmap.mmap(fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)
