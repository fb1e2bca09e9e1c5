"""The instrument's voice: the visual trajectory, heard through the latent-timbre VAE, played by its own process.

    main process                                        audio process "timbre-voice" (voice_process.py)
    ParamStore.values ── live in the VoiceFeed ──────>  VoiceSynth: coupling -> interpolation -> numpy decode
    conductor.last_frame ── "voice-feed" thread ─────>    -> RTPGHI -> ring -> sounddevice callback
    stats() <─────────────── feed report, pipe ───────

Why a process: the audio callback never waits for the main process's GIL. Why a fresh interpreter
(`python -m instrument.audio.voice_process`, not a fork): a fork would copy the CUDA/GL/threaded state of the main
process. Why subprocess and not multiprocessing's 'spawn': spawn re-imports the main script in the child (a script
without a __main__ guard would start a second show) and inherits the environment as it is, while here the child's
environment pins BLAS/OpenMP to one thread before numpy loads, without touching the main process's os.environ.
What crosses: the parameter values (the ParamStore keeps its array in shared memory, so a change is visible to the
synth at once), the newest z[A] with its frame index (seqlock, feed.py), back the counters (feed report) and
one-line messages (JSON lines on a pipe). The child needs neither torch nor the conductor.

Failure is one line and silence, never a hang: start() waits a bounded time for the child's first message; stop()
joins for a bounded time, then terminates, then kills; a child that dies mid-show shows up in stats()["audio_error"].
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from instrument.audio.decoder import default_model_path
from instrument.audio.feed import DECODE_PROBE, OUTPUT_PROBE, STATES, VoiceFeed
from instrument.audio.voice_process import HOPS_PER_BATCH, MATH_THREAD_VARS, PARAM_KEYS, TARGET_BLOCKS
from instrument.errors import ModelError

PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding instrument/, for the child's sys.path
START_TIMEOUT_S = 60.0   # imports, numba's first compile (cached after) and the stream opening, on a loaded 2-core box
STOP_JOIN_S = 3.0        # each of: polite stop, terminate, kill
FEED_PERIOD_S = 0.002    # how often the voice-feed thread looks for a new conductor frame


class TimbreVoice:
    def __init__(self, store, conductor, z_dim: int, device=None, model_path=None,
                 hops_per_batch: int = HOPS_PER_BATCH, target_blocks: float = TARGET_BLOCKS):
        self.store, self.conductor, self.z_dim = store, conductor, int(z_dim)
        self.model_path = Path(model_path or default_model_path())
        if not self.model_path.is_file():
            raise ModelError(f"timbre model '{self.model_path}' does not exist; train one with "
                             "'instrument train timbre'")
        self.spec = {"n_params": len(store.values), "z_dim": self.z_dim, "model_path": str(self.model_path),
                     "audio_dim": int(getattr(conductor, "audio_dim", 0)),  # sound keyframes' timbre latent size
                     "slots": {k: store.slot(k) for k in PARAM_KEYS}, "device": device,
                     "hops_per_batch": int(hops_per_batch), "target_blocks": float(target_blocks)}
        self.feed: VoiceFeed | None = None
        self.process: subprocess.Popen | None = None
        self.scheduling = ""       # how the audio process got scheduled (SCHED_FIFO, nice, default)
        self.error: str | None = None
        self._pending = b""        # a partial message line from the audio process
        self._feeder: threading.Thread | None = None
        self._stopping = threading.Event()
        self._last_report: dict = {}

    def start(self) -> str | None:
        """Start the audio process and wait (bounded) until it plays; returns None, or the one-line reason it is off."""
        self.feed = VoiceFeed.create(self.spec["n_params"], self.z_dim, self.spec["audio_dim"])
        self.store.share_values(self.feed.params)  # from now on every set() lands in shared memory
        try:
            self.process = subprocess.Popen([sys.executable, "-m", "instrument.audio.voice_process",
                                             json.dumps({**self.spec, "feed": self.feed.name})],
                                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=self._child_env())
        except OSError as e:
            self.stop()
            return f"audio off: cannot start the audio process ({e})"
        os.set_blocking(self.process.stdout.fileno(), False)
        reason = self._await_playing()
        if reason is not None:
            self.stop()
            return reason
        self._feeder = threading.Thread(target=self._feed_latents, name="voice-feed", daemon=True)
        self._feeder.start()
        return None

    @staticmethod
    def _child_env() -> dict:
        """This environment, plus one math thread and a sys.path that finds this package."""
        path = os.pathsep.join(p for p in (str(PACKAGE_ROOT), os.environ.get("PYTHONPATH", "")) if p)
        return {**os.environ, **{var: "1" for var in MATH_THREAD_VARS}, "PYTHONPATH": path}

    def _await_playing(self) -> str | None:
        """The child's first message, waited for at most START_TIMEOUT_S."""
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            for kind, line in self._messages():
                if kind != "playing":
                    return line
                self.scheduling = line
                return None
            if self.process.poll() is not None:
                return f"audio off: the audio process exited at start (exit code {self.process.returncode})"
        return f"audio off: the audio process did not start within {START_TIMEOUT_S:.0f} s"

    def _messages(self) -> list[tuple[str, str]]:
        """Whole message lines waiting on the pipe (never blocks)."""
        try:
            chunk = os.read(self.process.stdout.fileno(), 65536)
        except (BlockingIOError, ValueError, OSError):
            chunk = b""
        lines = (self._pending + chunk).split(b"\n")
        self._pending = lines.pop()
        out = []
        for raw in lines:
            try:
                kind, line = json.loads(raw)
                out.append((str(kind), str(line)))
            except (ValueError, TypeError):  # not one of ours: ignore
                continue
        return out

    def _feed_latents(self) -> None:
        """Thread "voice-feed": publish each new conductor frame's z[A] and keyframe timbre (one writer of the
        seqlock)."""
        last = None
        while not self._stopping.wait(FEED_PERIOD_S):
            frame = self.conductor.last_frame
            if frame is not None and frame is not last:
                last = frame
                self.feed.write_latent(frame.index, frame.z[0], frame.audio, frame.audio_weight)

    def post_probe(self, kind: str = "gain") -> int:
        """Benchmarks: time the first sample reflecting a change made just now: "gain" (audio.gain, applied by the
        callback), "timbre" (a timbre.* parameter, read at decode) or "latent" (an action just posted to the
        conductor: heard once a frame of the current index or later is decoded). Returns the probe's seq."""
        frame = {"gain": OUTPUT_PROBE, "timbre": DECODE_PROBE}.get(kind, self.conductor.index)
        return self.feed.post_probe(frame)

    def stop(self) -> None:
        """Stop the feed thread and the audio process (bounded), give the ParamStore its own array back."""
        self.error = self.error or self._died()
        self._stopping.set()
        if self._feeder is not None:
            self._feeder.join(STOP_JOIN_S)
        if self.feed is not None:
            self.feed.request_stop()
        self._end_process()
        if self.feed is not None:
            self.store.share_values(np.array(self.feed.params))
            self._last_report = self.feed.snapshot()
            self.feed.close()
            self.feed = None

    def _end_process(self) -> None:
        """Wait for the polite stop, then terminate, then kill: each at most STOP_JOIN_S."""
        proc = self.process
        if proc is None:
            return
        for end in (None, proc.terminate, proc.kill):
            if proc.poll() is not None:
                break
            if end is not None:
                end()
            try:
                proc.wait(STOP_JOIN_S)
            except subprocess.TimeoutExpired:
                continue
        self._read_messages()
        proc.stdout.close()

    def _read_messages(self) -> None:
        """Errors the audio process sent since the last look (a lost device, a dead synth); the first one sticks."""
        if self.process is None or self.process.stdout.closed:
            return
        for _kind, line in self._messages():
            self.error = self.error or line

    def stats(self) -> dict:
        """{audio_callbacks, audio_xruns, audio_underruns} from the audio process, audio_error when it went wrong."""
        report = self.feed.snapshot() if self.feed is not None else self._last_report
        out = {k: int(report[k]) if report else 0 for k in ("audio_callbacks", "audio_xruns", "audio_underruns")}
        self._read_messages()
        died = self._died()
        if self.error or died:
            out["audio_error"] = self.error or died
        return out

    def _died(self) -> str | None:
        """One line when the audio process ended without being asked to."""
        proc = self.process
        if proc is None or self._stopping.is_set() or proc.poll() is None:
            return None
        return f"audio lost: the audio process exited (code {proc.returncode}); playing silent"

    def report(self) -> dict:
        """The audio process's whole report (benchmarks): counters, ring fill, probe DAC time, state."""
        report = self.feed.snapshot() if self.feed is not None else dict(self._last_report)
        if "state" in report:
            report["state"] = STATES[int(report["state"])]
        return report
