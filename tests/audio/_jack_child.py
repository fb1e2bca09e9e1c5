"""Run in a subprocess (fresh PortAudio, env picks the JACK server): prints one JSON line of results."""

import json
import os
import sys
import threading
import time

import numpy as np

from instrument.audio.ring import RingBuffer
from instrument.audio.stream import AudioOutput


def jack_output_device():
    import sounddevice as sd
    for api in sd.query_hostapis():
        if "JACK" in api["name"] and api["default_output_device"] >= 0:
            return api["default_output_device"]
    return None


def flow(duration_s: float, stall_after_s: float, kind: str = "compiled") -> dict:
    ring = RingBuffer(48000, 2)
    out = AudioOutput(ring, 48000, 256, device=jack_output_device(), compiled=kind == "compiled")
    ok = out.start()
    t0, block = time.monotonic(), np.full((256, 2), 0.01, np.float32)
    while time.monotonic() - t0 < duration_s:
        if time.monotonic() - t0 < stall_after_s:
            while ring.free() >= 256 and ring.available() < 1024:
                ring.write(block)
        time.sleep(0.002)
    lost = out.device_lost()
    threads = sorted(int(t) for t in os.listdir("/proc/self/task"))  # while the stream's threads are alive
    out.stop()
    return {"started": ok, "reason": out.reason, "lost": lost, "kind": out.callback_kind,
            "read_total": ring.read_total, "underrun_frames": ring.underrun_frames, **out.stats(),
            "callback_thread": out.callback_thread_id, "threads": threads, "main_thread": threading.get_native_id()}


def gil(kind: str, hold_s: float) -> dict:
    """Hold this interpreter's GIL for about hold_s (one C-level loop, no bytecode boundary to hand it over) with
    0.5 s of audio queued: how many callbacks ran meanwhile. The compiled callback needs no GIL; the Python one does."""
    ring = RingBuffer(48000, 1)
    out = AudioOutput(ring, 48000, 256, device=jack_output_device(), compiled=kind == "compiled")
    ring.write(np.full(24000, 0.01, np.float32))
    ok = out.start()
    time.sleep(0.3)  # settle
    t0 = time.monotonic()
    n = int(8e7 * hold_s)  # ~80M additions a second on the 2-core VM; the result reports the time it really took
    before = out.stats()["audio_callbacks"]
    sum(range(n))  # builtin sum over a range: a C loop holding the GIL throughout
    during = out.stats()["audio_callbacks"] - before
    held_s = time.monotonic() - t0
    out.stop()
    return {"started": ok, "reason": out.reason, "kind": out.callback_kind, "held_s": held_s,
            "callbacks_during": during, "callbacks_expected": held_s * 48000 / 256}


def no_device() -> dict:
    out = AudioOutput(RingBuffer(1024, 2), 48000, 256)
    return {"started": out.start(), "reason": out.reason}


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "flow":
        result = flow(float(sys.argv[2]), float(sys.argv[3]), *sys.argv[4:])
    elif mode == "gil":
        result = gil(sys.argv[2], float(sys.argv[3]))
    else:
        result = no_device()
    print(json.dumps(result))
