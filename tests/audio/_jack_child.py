"""Run in a subprocess (fresh PortAudio, env picks the JACK server): prints one JSON line of results."""

import json
import sys
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


def flow(duration_s: float, stall_after_s: float) -> dict:
    ring = RingBuffer(48000, 2)
    out = AudioOutput(ring, 48000, 256, device=jack_output_device())
    ok = out.start()
    t0, block = time.monotonic(), np.full((256, 2), 0.01, np.float32)
    while time.monotonic() - t0 < duration_s:
        if time.monotonic() - t0 < stall_after_s:
            while ring.free() >= 256 and ring.available() < 1024:
                ring.write(block)
        time.sleep(0.002)
    lost = out.device_lost()
    out.stop()
    return {"started": ok, "reason": out.reason, "lost": lost, **out.stats()}


def no_device() -> dict:
    out = AudioOutput(RingBuffer(1024, 2), 48000, 256)
    return {"started": out.start(), "reason": out.reason}


if __name__ == "__main__":
    mode = sys.argv[1]
    result = flow(float(sys.argv[2]), float(sys.argv[3])) if mode == "flow" else no_device()
    print(json.dumps(result))
