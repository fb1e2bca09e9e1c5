"""The audio process: `python -m instrument.audio.voice_process SPEC_JSON`, started by TimbreVoice.

Why a process: the synth thread needs its interpreter's GIL for every hop (2.7 ms); in the main process the display
loop, the generator, OSC and MIDI hold it (with the callback in Python there: 120 xruns in 10 s, measured). Here the
only other thread is this loop, and the synth spends its time in numba (nogil) and numpy. The callback itself is
compiled and takes no GIL (callback_kernel.py); where it falls back to Python, it takes this process's.

The main process starts it with the math libraries pinned to one thread in its environment (two BLAS threads on
2 cores turned a 0.1 ms decode into 6 ms, measured) and SIGINT left to the main process, which decides when to stop.

Protocol: messages are JSON lines [kind, line] on the original stdout (fd 1 is pointed at stderr, so nothing a
library prints can garble them): ["playing", how it is scheduled] or ["off", reason] once, later ["error", line]
for a device lost or a synth that stopped. It stops when the feed's stop flag is set or the main process is gone,
closes its stream, and leaves with os._exit(0): the interpreter's own exit would run PortAudio's atexit teardown,
which crashes on Debian's JACK backend (rc 139).
"""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import time

from instrument.audio.scheduling import WAIT_S, rank_below_callback, wait_for_callback_thread

HOPS_PER_BATCH = 1       # decoded per call: 128 samples = 2.7 ms of sound, so timbre.* is read every hop (latency)
BLOCKSIZE = 256          # audio callback block (5.3 ms at 48 kHz)
TARGET_BLOCKS = 2        # ring fill kept ahead of the callback (10.7 ms); 1.5 is 2.7 ms quicker but underran
                         # 6 times in 10 minutes (benchmarks.md)
JUST_IN_TIME = True      # decode hops evenly through the block, each as late as the ring allows (synth.py)
POLL_S = 0.001           # the synth checks the ring this often: a decode starts within 1 ms of the fill dropping
PARAM_KEYS = ("audio.gain", "timbre.amount", "timbre.offset", "timbre.scale", "timbre.freeze", "timbre.brightness",
              "timbre.keyframes")
MATH_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
FIFO_PRIORITY = 20      # above everything timeshared; once the callback runs, scheduling.rank_below_callback moves
                        # the process's threads just below the callback's (JACK's client thread: FIFO 5 with jackd2 -R)
NICE_FALLBACK = -10
LOOP_S = 0.005          # how often the report is refreshed and the stop flag looked at
SWITCH_INTERVAL_S = 0.001  # a thread waits at most this long for the other to hand over the GIL (the synth, or a
                           # Python fallback callback)


def raise_priority(priority: int = FIFO_PRIORITY) -> str:
    """SCHED_FIFO if permitted, else a lower nice value, else as is; says which. Threads made later inherit it."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
        return f"SCHED_FIFO {priority}"
    except (AttributeError, PermissionError, OSError):
        pass
    try:
        os.nice(NICE_FALLBACK)
        return f"nice {NICE_FALLBACK}"
    except (AttributeError, PermissionError, OSError):
        return "default scheduling (no permission for more)"


def freeze_heap() -> None:
    """Collect once, then move every object alive now out of the collector's sight (gc.freeze).

    After the imports (numpy, numba, PortAudio) the process holds ~100k tracked objects and a full collection
    takes ~40 ms (measured on the 2-core VM): eight audio periods, in whichever thread happens to allocate, the
    callback's included. Frozen, a full collection only walks what was made since, well under a millisecond."""
    gc.collect()
    gc.freeze()


def main(spec: dict) -> None:
    """Entry of the audio process; never returns (os._exit)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = _Messages()
    sched = raise_priority(int(spec.get("fifo_priority", FIFO_PRIORITY)))
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    voice = None
    try:
        voice = _build(spec)
        voice.prefill()
        freeze_heap()
        reason = voice.start()
        if reason is not None:
            out.send("off", reason)
        else:
            out.send("playing", f"{_rank(voice.output, sched)}, {voice.output.callback_kind} callback")
            _run(voice, out, os.getppid())
    except Exception as e:  # anything at all: one line to the main process, which plays on silent
        out.send("off", f"audio off: the audio process failed ({type(e).__name__}: {e})".splitlines()[0])
    finally:
        if voice is not None:
            voice.stop()
            voice.publish("stopped", time.monotonic())
        os._exit(0)


def _rank(output, sched: str) -> str:
    """Once the callback has run, rank this process's real-time threads below its thread; says how they run."""
    if not sched.startswith("SCHED_FIFO"):
        return sched
    tid = wait_for_callback_thread(output)
    if not tid:
        return f"{sched} (the callback did not run within {WAIT_S:g} s: threads not ranked)"
    return rank_below_callback(tid)


class _Messages:
    """JSON lines to the main process on the original stdout; fd 1 itself then goes to stderr."""

    def __init__(self) -> None:
        self.fd = os.dup(1)
        os.dup2(2, 1)

    def send(self, kind: str, line: str) -> None:
        try:
            os.write(self.fd, (json.dumps([kind, line]) + "\n").encode())
        except OSError:  # the main process is gone or closed its end: nobody to tell
            pass


def _build(spec: dict):
    from instrument.audio.decoder import load_decoder
    from instrument.audio.feed import VoiceFeed
    from instrument.audio.rtpghi import DEFAULT_LOOKAHEAD
    from instrument.audio.voice_synth import VoiceSynth

    feed = VoiceFeed.attach(spec["feed"], spec["n_params"], spec["z_dim"], spec.get("audio_dim", 0))
    return VoiceSynth(feed, load_decoder(spec["model_path"]), spec["slots"], spec.get("device"),
                      spec["hops_per_batch"], spec["target_blocks"], spec.get("lookahead", DEFAULT_LOOKAHEAD),
                      spec.get("just_in_time", JUST_IN_TIME), spec.get("callback", "compiled") == "compiled")


def _run(voice, out: _Messages, parent_pid: int) -> None:
    """Publish counters until asked to stop (or orphaned); report a lost device or a dead synth once each."""
    told = set()
    while not voice.feed.stop_requested and os.getppid() == parent_pid:
        voice.publish("playing", time.monotonic())
        for line in (voice.synth.error, voice.output.reason if voice.output.device_lost() else None):
            if line and line not in told:
                told.add(line)
                out.send("error", line)
        time.sleep(LOOP_S)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
