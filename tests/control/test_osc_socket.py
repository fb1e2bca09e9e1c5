"""The OSC server end to end over real loopback UDP: python-osc, liblo's oscsend and Pure Data as senders."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time

import numpy as np
import pytest
from pythonosc.osc_bundle_builder import OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.udp_client import SimpleUDPClient

from instrument.control.osc import OscServer
from instrument.control.osc_wire import decode, encode
from instrument.latent.conductor import Conductor
from instrument.params import PARAMS, ParamStore
import waiting

WAIT_S = 3.0


@pytest.fixture
def server():
    store = ParamStore()
    osc = OscServer(store, Conductor(store, z_dim=16, num_ws=6, seed=0), port=0)
    osc.start()
    yield osc
    osc.stop()


@pytest.fixture
def client(server):
    return SimpleUDPClient("127.0.0.1", server.port)


@pytest.fixture
def listener():
    """A UDP socket of our own on loopback, to send from and receive replies on."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(WAIT_S)
    yield sock
    sock.close()


def wait_for(condition, timeout_s: float = WAIT_S) -> bool:
    return waiting.wait_for(condition, timeout_s, 0.002)


def receive(sock: socket.socket, address: str):
    """The first message at `address` arriving on sock (others are skipped)."""
    while True:
        for message in decode(sock.recvfrom(65536)[0]):
            if message.address == address:
                return message


def test_server_runs_on_one_thread_named_osc_and_picks_a_free_port(server):
    names = [t.name for t in threading.enumerate()]
    assert names.count("osc") == 1 and server.port != 0 and server.alive


def test_stop_returns_promptly():
    store = ParamStore()
    osc = OscServer(store, Conductor(store, 16, 6, 0), port=0)
    osc.start()
    started = time.perf_counter()
    osc.stop()
    assert time.perf_counter() - started < 0.5 and not osc.alive


def test_python_osc_client_sets_a_parameter(server, client):
    client.send_message("/instrument/spring/stiffness", 20.0)
    client.send_message("/instrument/motion/mode", "lerp")
    assert wait_for(lambda: server.store.get("motion.mode") == 2)
    assert server.store.get("spring.stiffness") == 20.0 and server.stats()["osc_messages"] == 2


def test_action_reaches_the_conductor(server, client):
    client.send_message("/instrument/keyframe/store", 3)
    client.send_message("/instrument/source/seed", ["b", 1234])
    conductor = server.conductor
    before = conductor.targets
    assert wait_for(lambda: conductor.pending == 2)
    conductor.step(0.0, 0.01)
    assert conductor.keyframes.occupied() == [3] and conductor.actions_applied == 2
    assert not np.allclose(conductor.targets[1], before[1]) and np.allclose(conductor.targets[0], before[0])


def test_error_is_answered_to_the_sender(server, listener):
    listener.sendto(encode("/instrument/spring/stifness", 1.0), ("127.0.0.1", server.port))
    message = receive(listener, "/instrument/error")
    assert message.args[0] == "/instrument/spring/stifness" and "did you mean" in message.args[1]
    assert server.stats()["osc_errors"] == 1


def test_ping_pong(server, listener):
    listener.sendto(encode("/instrument/ping", "hello"), ("127.0.0.1", server.port))
    assert receive(listener, "/instrument/pong").args == ("hello",)


def test_feedback_reaches_a_subscriber_for_a_change_from_another_source(server, listener):
    listener.sendto(encode("/instrument/subscribe"), ("127.0.0.1", server.port))
    dump = [receive(listener, "/instrument/" + p.name.replace(".", "/")) for p in PARAMS[:3]]
    assert len(dump) == 3 and wait_for(lambda: server.stats()["osc_subscribers"] == 1)
    server.store.set("truncation.psi", 0.25)  # as MIDI or a key would: straight into the store
    message = receive(listener, "/instrument/truncation/psi")
    if message.args[0] == pytest.approx(0.8):  # the rest of the full dump was still in flight
        message = receive(listener, "/instrument/truncation/psi")
    assert message.typetags == "f" and message.args[0] == pytest.approx(0.25)


def test_future_timetag_bundle_is_applied_at_once(server, client):
    bundle = OscBundleBuilder(time.time() + 10.0)
    message = OscMessageBuilder("/instrument/fx/feedback/rotate")
    message.add_arg(5.0, "f")
    bundle.add_content(message.build())
    sent = time.monotonic()
    client.send(bundle.build())
    assert wait_for(lambda: server.store.get("fx.feedback.rotate") == 5.0, timeout_s=1.0)
    assert time.monotonic() - sent < 1.0


# liblo's command-line sender.
@pytest.mark.skipif(shutil.which("oscsend") is None, reason="liblo's oscsend is missing: apt-get install liblo-tools")
@pytest.mark.parametrize("types, values, name, expected", [
    ("f", ["20"], "spring.stiffness", 20.0), ("h", ["7"], "truncation.cutoff", 7.0),
    ("d", ["0.125"], "wander.amount", 0.125), ("s", ["up"], "fx.pixelsort.direction", 3.0),
    ("F", [], "hud.visible", 0.0)])
def test_oscsend_sets_a_parameter(server, types, values, name, expected):
    address = "/instrument/" + name.replace(".", "/")
    subprocess.run(["oscsend", "127.0.0.1", str(server.port), address, types, *values], check=True, timeout=10)
    assert wait_for(lambda: server.store.get(name) == expected), server.last_error


# Pure Data: [oscformat] -> [netsend -u -b], fired by [loadbang].
PD_PATCH = """#N canvas 0 0 450 300 12;
#X obj 20 20 loadbang;
#X obj 20 50 t b b;
#X msg 120 80 connect 127.0.0.1 {port};
#X msg 20 80 0.5;
#X obj 20 110 oscformat instrument fx feedback amount;
#X obj 20 140 list prepend send;
#X obj 20 170 list trim;
#X obj 20 200 netsend -u -b;
#X connect 0 0 1 0;
#X connect 1 0 3 0;
#X connect 1 1 2 0;
#X connect 2 0 7 0;
#X connect 3 0 4 0;
#X connect 4 0 5 0;
#X connect 5 0 6 0;
#X connect 6 0 7 0;
"""


@pytest.mark.skipif(shutil.which("pd") is None, reason="Pure Data is missing: apt-get install puredata-core")
def test_pure_data_patch_sets_a_parameter(server, tmp_path):
    patch = tmp_path / "send.pd"
    patch.write_text(PD_PATCH.format(port=server.port))
    pd = subprocess.Popen(["pd", "-nogui", "-noaudio", "-nomidi", "-open", str(patch)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        applied = wait_for(lambda: server.store.get("fx.feedback.amount") == 0.5, timeout_s=10.0)
    finally:
        pd.terminate()
        _, stderr = pd.communicate(timeout=10)
    assert applied, f"Pd did not set the value; errors={server.last_error!r}; pd said: {stderr.decode()[-400:]}"
    assert server.stats()["osc_errors"] == 0
