"""MIDI senders for the JACK tests, each in a process of its own, as a real controller is.

Why a process: libjack crashes when one client of a process closes while another client of the same process
lists ports, so an in-process sender vanishing mid-test could take pytest down with it.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

_CHILD = """
import sys, rtmidi
out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, sys.argv[1])
out.open_virtual_port(sys.argv[2])
print("ready", flush=True)
for line in sys.stdin:
    out.send_message(list(bytes.fromhex(line)))
out.delete()
"""


class SenderProcess:
    """A virtual JACK MIDI output '<client>:<port>' in a child process; `delete()` makes it vanish."""

    def __init__(self, client: str, port: str, env: dict):
        self.proc = subprocess.Popen([sys.executable, "-c", _CHILD, client, port], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env)
        if self.proc.stdout.readline().strip() != "ready":
            self.delete()
            pytest.fail(f"the MIDI sender {client}:{port} did not start")

    def send_message(self, message: list[int]) -> None:
        self.proc.stdin.write(bytes(message).hex() + "\n")
        self.proc.stdin.flush()

    def delete(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def midi_sender(jack_server):
    """A factory: midi_sender(client, port) -> SenderProcess on the test's JACK server; all stopped after."""
    import os
    senders = []

    def make(client: str, port: str) -> SenderProcess:
        senders.append(SenderProcess(client, port, {**os.environ, **jack_server}))
        return senders[-1]

    yield make
    for sender in senders:
        sender.delete()
