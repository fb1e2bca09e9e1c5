"""OSC flood benchmark (not a test): does the instrument keep playing under 10 k messages a second?

    python -m instrument.control.osc_flood [--seconds 60] [--rate 10000] [--json PATH]

Two runs of the whole engine offscreen in one process, quiet then flooded, for the same time each. The flood
comes from a separate process (so its sending costs the engine's process nothing but CPU, as a real peer would),
cycling through every parameter address with random in-range values plus some actions. Reported: display and
generator fps of both runs and their ratio, the process's resident memory at the start and end of the flood,
messages sent, received and rejected, and afterwards how long one ordinary message takes to apply.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import socket
import threading
import time

import numpy as np

from instrument.control.osc_wire import encode
from instrument.params import PARAMS

BATCH_PERIOD_S = 0.01  # the sender paces itself in 10 ms batches


def _datagrams(seed: int = 0, count: int = 4096) -> list[bytes]:
    """Ready-made messages: every parameter with random in-range values, and a few actions."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        p = PARAMS[i % len(PARAMS)]
        if p.name == "hud.visible":
            continue
        out.append(encode("/instrument/" + p.name.replace(".", "/"), float(rng.uniform(p.lo, p.hi))))
    out += [encode("/instrument/random"), encode("/instrument/kick")] * 8
    return out


def _flood(port: int, rate_per_s: float, seconds: float, sent) -> None:
    """Child process: send `rate_per_s` datagrams a second to 127.0.0.1:port for `seconds`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    packets = _datagrams()
    per_batch = max(1, int(rate_per_s * BATCH_PERIOD_S))
    start = next_at = time.perf_counter()
    n = 0
    while time.perf_counter() - start < seconds:
        for _ in range(per_batch):
            sock.sendto(packets[n % len(packets)], ("127.0.0.1", port))
            n += 1
        next_at += BATCH_PERIOD_S
        time.sleep(max(0.0, next_at - time.perf_counter()))
    sent.value = n


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


class _RssSampler(threading.Thread):
    """Resident memory every `period_s` while the flood runs, to tell a plateau from a leak."""

    def __init__(self, period_s: float):
        super().__init__(name="rss-sampler", daemon=True)
        self.period_s, self.samples_mb, self._done = period_s, [], threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.period_s):
            self.samples_mb.append(round(_rss_mb(), 1))

    def stop(self) -> list[float]:
        self._done.set()
        self.join()
        return self.samples_mb


def _reaction_ms(engine) -> float:
    """After the flood: time from sending one message to the value landing in the store."""
    name, target = "fx.feedback.zoom", 1.125  # exact in float32, as it travels
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    start = time.perf_counter()
    sock.sendto(encode("/instrument/fx/feedback/zoom", target), ("127.0.0.1", engine.osc.port))
    while abs(engine.store.get(name) - target) > 1e-6 and time.perf_counter() - start < 2.0:
        time.sleep(0.0002)
    return (time.perf_counter() - start) * 1e3


def run(seconds: float = 60.0, rate_per_s: float = 10_000.0) -> dict:
    from instrument.engine import Engine, PlayOptions
    engine = Engine(PlayOptions(offscreen=True, osc_port=0, oscquery_port=None), log=lambda line: None)
    try:
        engine.run(seconds)
        quiet = engine.stats()
        spawn = mp.get_context("spawn")  # not fork: the parent holds GL and torch threads
        sent = spawn.Value("q", 0)
        child = spawn.Process(target=_flood, args=(engine.osc.port, rate_per_s, seconds, sent))
        rss_start, messages_start = _rss_mb(), engine.osc.messages
        shown_start, generated_start, t0 = engine.displayed, engine.generator.frames, time.perf_counter()
        sampler = _RssSampler(max(1.0, seconds / 20))
        child.start()
        sampler.start()
        engine.run(seconds)
        child.join()
        samples = sampler.stop()
        elapsed = time.perf_counter() - t0
        flood = {"display_fps": (engine.displayed - shown_start) / elapsed,
                 "generator_fps": (engine.generator.frames - generated_start) / elapsed,
                 "rss_mb_start": rss_start, "rss_mb_end": _rss_mb(), "rss_mb_samples": samples,
                 "rss_mb_second_half_growth": _second_half_growth(samples), "sent": int(sent.value),
                 "received": engine.osc.messages - messages_start, "osc_errors": engine.osc.errors,
                 "last_error": engine.osc.last_error, "actions_dropped": engine.conductor.actions_dropped,
                 "reaction_ms_after": _reaction_ms(engine)}
    finally:
        engine.close()
    return _report(quiet, flood, seconds, rate_per_s)


def _second_half_growth(samples: list[float]) -> float:
    """RSS change over the second half of the flood (MB): ~0 for a plateau, > 0 for a leak."""
    if len(samples) < 2:
        return 0.0
    return round(samples[-1] - samples[len(samples) // 2], 1)


def _report(quiet: dict, flood: dict, seconds: float, rate_per_s: float) -> dict:
    result = {"seconds": seconds, "rate_per_s": rate_per_s, "quiet": {k: quiet[k] for k in (
        "display_fps", "generator_fps")}, "flood": flood,
        "display_ratio": flood["display_fps"] / quiet["display_fps"],
        "generator_ratio": flood["generator_fps"] / max(quiet["generator_fps"], 1e-9)}
    print(f"OSC flood: {rate_per_s:.0f} messages/s for {seconds:g} s, engine offscreen")
    print(f"{'':16} {'quiet':>10} {'flood':>10} {'ratio':>8}")
    for key in ("display_fps", "generator_fps"):
        print(f"{key:16} {quiet[key]:10.2f} {flood[key]:10.2f} {flood[key] / max(quiet[key], 1e-9):8.3f}")
    print(f"messages sent {flood['sent']}, received {flood['received']}, rejected {flood['osc_errors']} "
          f"(last: {flood['last_error'] or '-'}), actions dropped by the full queue {flood['actions_dropped']}")
    print(f"resident memory {flood['rss_mb_start']:.1f} MB -> {flood['rss_mb_end']:.1f} MB "
          f"(second half of the flood: {flood['rss_mb_second_half_growth']:+.1f} MB); "
          f"one message applied {flood['reaction_ms_after']:.2f} ms after the flood")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m instrument.control.osc_flood")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=10_000.0, help="messages per second")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    result = run(args.seconds, args.rate)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
