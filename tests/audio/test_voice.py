"""The voice in its own process, on a real JACK dummy server (the pytest process never loads PortAudio: the
audio process does)."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from instrument.audio.voice import TimbreVoice
from instrument.latent.conductor import Conductor
from instrument.params import ParamStore


@pytest.fixture
def voice(request):
    """A TimbreVoice on a stepping conductor (30 frames/s from a thread, as the generator would); stopped after."""
    store = ParamStore()
    conductor = Conductor(store, z_dim=256, num_ws=12, seed=0)
    v = TimbreVoice(store, conductor, z_dim=256)
    stop = threading.Event()

    def generator():
        t = 0.0
        while not stop.wait(1 / 30):
            conductor.step(t, 1 / 30)
            t += 1 / 30

    thread = threading.Thread(target=generator, name="test-generator", daemon=True)
    thread.start()
    yield v
    stop.set()
    thread.join()
    v.stop()


def _jack(monkeypatch, env: dict) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)  # the audio process inherits this process's environment


def _realtime_priorities(pid: int) -> list[int]:
    """SCHED_FIFO/RR priorities of a process's threads, from /proc/PID/task/*/stat (rt_priority, policy)."""
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()  # after the command name; fields[0] is field 3 (state)
        rt_priority, policy = int(fields[37]), int(fields[38])
        if policy in (os.SCHED_FIFO, os.SCHED_RR):
            out.append(rt_priority)
    return out


@pytest.mark.e2e
def test_the_audio_process_plays_and_stops_cleanly(voice, jack_server, monkeypatch):
    _jack(monkeypatch, jack_server)
    assert voice.start() is None
    assert voice.scheduling.endswith("compiled callback"), voice.scheduling  # Linux: no Python in the callback
    realtime = _realtime_priorities(voice.process.pid)  # the tests' jackd is not real-time: the callback is lifted
    assert voice.scheduling.startswith("SCHED_FIFO 20, callback raised to 21"), voice.scheduling
    assert sorted(realtime)[-1] == 21 and sorted(realtime)[-2] == 20, realtime  # one thread above all the others
    voice.store.set("audio.gain", 0.3)
    assert voice.feed.params[voice.store.slot("audio.gain")] == 0.3  # the store writes into the shared block
    t0, first = time.monotonic(), voice.stats()["audio_callbacks"]
    time.sleep(2.0)
    stats, elapsed_s = voice.stats(), time.monotonic() - t0
    print("voice process:", stats, voice.scheduling)
    assert stats["audio_callbacks"] - first >= 0.8 * elapsed_s * 48000 / 256, stats
    assert "audio_error" not in stats
    assert voice.report()["frames_synthesised"] > 0
    voice.stop()
    assert voice.process.returncode == 0  # no segfault at exit: the child leaves through os._exit(0)
    assert voice.stats()["audio_callbacks"] >= stats["audio_callbacks"]  # the last report outlives the process
    voice.store.set("audio.gain", 0.7)  # the store has its own array back
    assert voice.store.get("audio.gain") == 0.7


@pytest.mark.e2e
@pytest.mark.timeout(60)
def test_a_killed_audio_process_is_one_line_and_stop_is_bounded(voice, jack_server, monkeypatch):
    _jack(monkeypatch, jack_server)
    assert voice.start() is None
    os.kill(voice.process.pid, signal.SIGKILL)
    voice.process.wait(10)
    error = voice.stats()["audio_error"]
    assert "exited" in error and "-9" in error and "\n" not in error
    voice.stop()  # returns: nothing left to join
    assert voice.stats()["audio_error"] == error
    voice.store.set("timbre.amount", 0.5)
    assert voice.store.get("timbre.amount") == 0.5


@pytest.mark.timeout(90)
def test_no_server_is_one_line_and_the_store_is_unharmed(voice, monkeypatch):
    _jack(monkeypatch, {"JACK_DEFAULT_SERVER": "instrument-test-no-such-server", "JACK_NO_START_SERVER": "1"})
    reason = TimbreVoice(voice.store, voice.conductor, 256, device="no such device").start()
    assert reason and "\n" not in reason and "no such device" in reason
    voice.store.set("audio.gain", 0.25)
    assert voice.store.get("audio.gain") == 0.25 and isinstance(voice.store.values, np.ndarray)


@pytest.mark.e2e
def test_play_sounds_through_a_real_jack_server(jack_server):
    env = {**os.environ, **jack_server}
    run = subprocess.run([sys.executable, "-m", "instrument", "play", "--offscreen", "--seconds", "3",
                          "--osc-port", "0", "--no-oscquery", "--no-midi"],
                         capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 0, run.stderr
    stats = json.loads(run.stdout.strip().splitlines()[-1])
    assert stats["audio_callbacks"] > 0.5 * 3 * 48000 / 256, stats
    assert "audio off" not in run.stderr and "audio_error" not in stats
