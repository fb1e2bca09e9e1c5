"""Sound under full load (not a test): the whole instrument playing on a private JACK dummy server.

    python -m instrument.audio.engine_bench [--seconds 600] [--json PATH]

Starts `jackd -d dummy -r 48000 -p 256` under a private name, runs `instrument play --offscreen` against it in a
subprocess (so PortAudio starts after the server and the server outlives it), and reports the run's statistics:
audio callbacks against the expected count, xruns (PortAudio status flags: missed JACK cycles), underruns
(the ring ran dry and silence was played), with the display and generator rates beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import uuid

RATE_HZ, PERIOD = 48000, 256


def _start_jack(name: str, env: dict) -> subprocess.Popen:
    if shutil.which("jackd") is None:
        raise SystemExit("jackd is not installed: apt-get install jackd2")
    proc = subprocess.Popen(["jackd", "-n", name, "--no-realtime", "-d", "dummy", "-r", str(RATE_HZ), "-p",
                             str(PERIOD)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while subprocess.run(["jack_lsp"], env=env, capture_output=True).returncode != 0:
        if time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("jackd did not start within 10 s")
        time.sleep(0.1)
    return proc


def run(seconds: float) -> dict:
    name = f"instrument-bench-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "JACK_DEFAULT_SERVER": name, "JACK_NO_START_SERVER": "1"}
    jack = _start_jack(name, env)
    try:
        play = subprocess.run([sys.executable, "-m", "instrument", "play", "--offscreen", "--seconds", str(seconds),
                               "--osc-port", "0", "--no-oscquery", "--no-midi"], env=env, capture_output=True,
                              text=True, timeout=seconds + 120)
    finally:
        jack.terminate()
        jack.wait(timeout=10)
    if play.returncode != 0:
        raise SystemExit(f"instrument play failed: {play.stderr.strip().splitlines()[-1:]}")
    stats = json.loads(play.stdout.strip().splitlines()[-1])
    return _report(stats, seconds)


def _report(stats: dict, seconds: float) -> dict:
    expected = stats["seconds"] * RATE_HZ / PERIOD
    keys = ("audio_callbacks", "audio_xruns", "audio_underruns", "display_fps", "generator_fps")
    result = {"seconds": seconds, "expected_callbacks": expected, **{k: stats[k] for k in keys}}
    print(f"instrument playing with sound on JACK dummy ({RATE_HZ} Hz, {PERIOD}-frame periods), {seconds:g} s")
    for k in keys:
        print(f"  {k:18} {stats[k]:10.1f}")
    print(f"  {'expected callbacks':18} {expected:10.1f}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m instrument.audio.engine_bench")
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    result = run(args.seconds)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
