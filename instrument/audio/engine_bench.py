"""Sound under full load (not a test): the whole instrument playing on a private JACK dummy server.

    python -m instrument.audio.engine_bench [--seconds 600] [--json PATH] [--hops 2] [--target-blocks 2]

Starts `jackd -d dummy -r 48000 -p 256` under a private name (realtime scheduling when permitted, as jackd runs by
default; --no-rt-jack for `--no-realtime`), runs the engine offscreen in this process with the default model and
its generator at full load, and the voice in its own process. Reports, over the measured window:
- audio callbacks against the expected count, xruns (PortAudio status flags: missed JACK cycles) and underruns
  (the ring ran dry and silence was played), with the display and generator rates beside them;
- control -> sound latency, p50/p99: from the moment a parameter is set in this process (time.monotonic) to the DAC
  time of the first sample that reflects it, as PortAudio reports it in the audio process (outputBufferDacTime on
  the same monotonic clock). "gain": audio.gain, applied by the callback; "timbre": timbre.brightness, applied at
  decode (so it also waits for the queued samples); "latent": a new seed for latent A posted to the conductor,
  which also waits for the next generator frame (the conductor steps once per generated frame);
- where cyclictest is installed (Debian rt-tests), how late the machine itself woke a SCHED_FIFO 95 thread over the
  same window (host_probe.py): lateness no thread of ours or jackd's could have escaped.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid

from instrument.audio.feed import FILL_BINS
from instrument.audio.host_probe import HostProbe

RATE_HZ, PERIOD = 48000, 256
PROBE_PERIOD_S = 0.25    # one probe per period, in turn: gain, timbre, latent
PROBE_TIMEOUT_S = 2.0


def _start_jack(name: str, realtime: bool) -> subprocess.Popen:
    if shutil.which("jackd") is None:
        raise SystemExit("jackd is not installed: apt-get install jackd2")
    rt = ["-R"] if realtime else ["--no-realtime"]
    log = tempfile.TemporaryFile("w+")  # the server's own messages: its xrun reports are counted at the end
    proc = subprocess.Popen(["jackd", "-n", name, *rt, "-d", "dummy", "-r", str(RATE_HZ), "-p", str(PERIOD)],
                            stdout=log, stderr=subprocess.STDOUT)
    proc.log = log
    deadline = time.monotonic() + 10
    while subprocess.run(["jack_lsp"], capture_output=True).returncode != 0:
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise SystemExit(f"jackd ({' '.join(rt)}) did not start within 10 s")
        time.sleep(0.1)
    return proc


class Prober(threading.Thread):
    """Every PROBE_PERIOD_S: change gain or latent A, and collect how long until the DAC plays it."""

    def __init__(self, engine) -> None:
        super().__init__(name="latency-prober", daemon=True)
        self.engine, self.voice = engine, engine.voice
        self.latency_ms = {"gain": [], "timbre": [], "latent": []}
        self.lost = 0  # probes the audio process never timed (stopped, or a change that was not heard)
        self.done = threading.Event()

    def run(self) -> None:
        from instrument.latent.conductor import Action

        k = 0
        while not self.done.wait(PROBE_PERIOD_S):
            k += 1
            kind = ("gain", "timbre", "latent")[k % 3]
            if kind == "gain":
                self.engine.store.set("audio.gain", 0.5 if k % 2 else 0.4)
            elif kind == "timbre":
                self.engine.store.set("timbre.brightness", 0.2 if k % 2 else 0.0)
            else:
                self.engine.conductor.post(Action("set_source_seed", (0, 1000 + k)))
            t0 = time.monotonic()
            self._collect(kind, t0, self.voice.post_probe(kind))

    def _collect(self, kind: str, t0: float, seq: int) -> None:
        deadline = time.monotonic() + PROBE_TIMEOUT_S
        while time.monotonic() < deadline and not self.done.is_set():
            report = self.voice.report()
            if report.get("probe_done_seq", 0) >= seq:
                self.latency_ms[kind].append((report["probe_dac_s"] - t0) * 1e3)
                return
            time.sleep(0.001)
        self.lost += 1


def run(seconds: float, hops: int, target_blocks: float, realtime_jack: bool, lookahead: int | None = None,
        just_in_time: bool | None = None, fifo_priority: int | None = None, callback: str | None = None) -> dict:
    name = f"instrument-bench-{uuid.uuid4().hex[:6]}"
    os.environ.update(JACK_DEFAULT_SERVER=name, JACK_NO_START_SERVER="1")  # this process and the audio process
    jack = _start_jack(name, realtime_jack)
    try:
        return _play(seconds, hops, target_blocks, lookahead, just_in_time, fifo_priority, callback, jack.log) | {
            "jackd_realtime": realtime_jack}
    finally:
        jack.terminate()
        jack.wait(timeout=10)


def _steal_s() -> float:
    """CPU time the hypervisor took from this VM so far, all CPUs (/proc/stat "steal"); 0 where unknown."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _server_xruns(log) -> list[str]:
    """What jackd itself has reported so far: lines that mention an xrun or a late cycle ("Delay of ...")."""
    log.flush()
    log.seek(0)
    return [line.strip() for line in log if "xrun" in line.lower() or "delay of" in line.lower()]


def _play(seconds: float, hops: int, target_blocks: float, lookahead: int | None, just_in_time: bool | None,
          fifo_priority: int | None, callback: str | None, server_log) -> dict:
    from instrument.audio.rtpghi import DEFAULT_LOOKAHEAD
    from instrument.audio.voice_process import FIFO_PRIORITY, JUST_IN_TIME
    from instrument.engine import Engine, PlayOptions

    lookahead = DEFAULT_LOOKAHEAD if lookahead is None else lookahead
    just_in_time = JUST_IN_TIME if just_in_time is None else just_in_time
    fifo_priority = FIFO_PRIORITY if fifo_priority is None else fifo_priority

    engine = Engine(PlayOptions(offscreen=True, osc=False, oscquery_port=None, midi=False, audio=True),
                    log=lambda line: print(f"engine: {line}"))
    if engine.voice is not None:
        engine.voice.spec.update(hops_per_batch=hops, target_blocks=target_blocks, lookahead=lookahead,
                                 just_in_time=just_in_time, fifo_priority=fifo_priority,
                                 **({"callback": callback} if callback else {}))
    engine.start()
    if engine.voice is None:
        engine.close()
        raise SystemExit("the voice did not start (see the engine's line above)")
    prober = Prober(engine)
    before, t_before = engine.voice.report(), time.monotonic()
    server_before, steal_before = len(_server_xruns(server_log)), _steal_s()
    host = HostProbe(seconds)  # the machine's own wake-up lateness over the same window
    prober.start()
    try:
        engine.run(seconds)
    finally:
        prober.done.set()
        after, t_after = engine.voice.report(), time.monotonic()
        server = _server_xruns(server_log)[server_before:]  # the server's own reports within the window
        steal = _steal_s() - steal_before
        stats = engine.stats()
        scheduling = engine.voice.scheduling
        engine.close()
    window_s = t_after - t_before
    host_lateness = host.result()
    counts = {k: int(after[k] - before[k]) for k in ("audio_callbacks", "audio_xruns", "audio_underruns")}
    fill = [int(after[f"fill_{k}"] - before[f"fill_{k}"]) for k in range(FILL_BINS)]
    counts["callbacks_by_queued_half_blocks"] = fill  # [0-1: underrun, 2: just in time, ..., 5: 5 or more]
    counts |= {"jackd_xrun_lines": len(server), "jackd_xrun_report": server[:5], "cpu_steal_s": round(steal, 2)}
    counts |= {"callback_entry_late_max_ms": round(after["entry_late_max_ms"], 2),  # since start-up, not windowed
               **{k: int(after[k] - before[k]) for k in ("entry_late_over_1ms", "entry_late_over_4ms")}}
    counts |= {"synth_turns_over_4ms_apart": int(after["synth_gaps_late"] - before["synth_gaps_late"]),
               "synth_gap_max_ms": round(after["synth_gap_max_ms"], 2),  # these two since start-up, not windowed
               "synth_fill_max_ms": round(after["synth_fill_max_ms"], 2)} | host_lateness
    return {"seconds": round(window_s, 2), "expected_callbacks": round(window_s * RATE_HZ / PERIOD, 1), **counts,
            "hops_per_batch": hops, "target_blocks": target_blocks, "rtpghi_lookahead": lookahead,
            "just_in_time": just_in_time, "audio_scheduling": scheduling,
            "display_fps": round(stats["display_fps"], 1), "generator_fps": round(stats["generator_fps"], 1),
            "device": stats["device"], "model": stats["model"], "probes_lost": prober.lost,
            **_latency(prober.latency_ms)}


def _latency(samples: dict[str, list[float]]) -> dict:
    import numpy as np

    out = {}
    for kind, values in samples.items():
        a = np.array(values) if values else np.array([np.nan])
        out |= {f"{kind}_latency_ms_p50": round(float(np.percentile(a, 50)), 1),
                f"{kind}_latency_ms_p99": round(float(np.percentile(a, 99)), 1), f"{kind}_probes": len(values)}
    return out


def _print(result: dict) -> None:
    print(f"instrument playing with sound on JACK dummy ({RATE_HZ} Hz, {PERIOD}-frame periods, jackd "
          f"{'realtime' if result['jackd_realtime'] else 'no-realtime'}), {result['seconds']:g} s measured")
    for key, value in result.items():
        if key not in ("jackd_realtime",):
            print(f"  {key:26} {value}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m instrument.audio.engine_bench")
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--hops", type=int, default=None, help="hops decoded per batch (default: the voice's)")
    parser.add_argument("--target-blocks", type=float, default=None, help="ring fill target in 256-sample blocks")
    parser.add_argument("--lookahead", type=int, choices=(0, 1), default=None,
                        help="RTPGHI look-ahead in frames (default: the voice's)")
    parser.add_argument("--just-in-time", choices=("on", "off"), default=None,
                        help="decode hops evenly through the block (default: the voice's)")
    parser.add_argument("--fifo-priority", type=int, default=None,
                        help="SCHED_FIFO priority of the audio process (default: the voice's)")
    parser.add_argument("--callback", choices=("compiled", "python"), default=None,
                        help="the audio callback: compiled (no GIL, the default) or sounddevice's Python one")
    parser.add_argument("--no-rt-jack", action="store_true", help="run jackd with --no-realtime")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    from instrument.audio.voice_process import HOPS_PER_BATCH, TARGET_BLOCKS

    result = run(args.seconds, args.hops or HOPS_PER_BATCH, args.target_blocks or TARGET_BLOCKS, not args.no_rt_jack,
                 args.lookahead, None if args.just_in_time is None else args.just_in_time == "on", args.fifo_priority,
                 args.callback)
    _print(result)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
