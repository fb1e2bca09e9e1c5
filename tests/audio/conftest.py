"""Fixtures for the audio tests: a private JACK dummy server (48 kHz, 256-frame periods)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

JACK_RATE_HZ = 48000
JACK_PERIOD = 256


def _jack_ready(name: str, env: dict) -> bool:
    if not shutil.which("jack_lsp"):
        return False
    probe = subprocess.run(["jack_lsp", "-s", name], env=env, capture_output=True, timeout=5)
    return probe.returncode == 0 and b"system:playback" in probe.stdout


@pytest.fixture(scope="session")
def jack_server():
    """A private `jackd -n NAME -d dummy` for the session; yields env vars that point clients at it.

    The server has a unique name so it never meets another jackd on the machine; JACK_NO_START_SERVER
    keeps libjack from auto-starting one. Skips if jackd is not installed."""
    if not shutil.which("jackd"):
        pytest.skip("jackd not installed: apt-get install -y jackd2 libportaudio2 to run the JACK tests")
    name = f"instrument-test-{os.getpid()}"
    env = dict(os.environ, JACK_DEFAULT_SERVER=name, JACK_NO_START_SERVER="1", JACK_NO_AUDIO_RESERVATION="1")
    proc = subprocess.Popen(["jackd", "-n", name, "-d", "dummy", "-r", str(JACK_RATE_HZ), "-p", str(JACK_PERIOD)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10.0
    while not _jack_ready(name, env):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            err = proc.communicate()[1].decode(errors="replace").strip().splitlines()
            pytest.skip(f"jackd dummy server did not come up: {err[-1] if err else 'no output'}")
        time.sleep(0.1)
    yield {"JACK_DEFAULT_SERVER": name, "JACK_NO_START_SERVER": "1"}
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
