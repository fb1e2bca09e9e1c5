"""OSCQuery: the JSON tree derived from the OSC routes, pure and over a real HTTP socket."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.request

import pytest

from instrument.control.osc import OscServer
from instrument.control.osc_wire import encode
from instrument.control.oscquery import OscQueryServer, answer
from instrument.latent.conductor import Conductor
from instrument.params import ParamStore


@pytest.fixture
def osc():
    store = ParamStore()
    return OscServer(store, Conductor(store, z_dim=16, num_ws=6, seed=0), port=0)


def test_float_param_node_has_type_range_value(osc):
    osc.store.set("spring.stiffness", 12.0)
    status, node = answer(osc, "/instrument/spring/stiffness")
    assert status == 200 and node["FULL_PATH"] == "/instrument/spring/stiffness"
    assert node["TYPE"] == "f" and node["RANGE"] == [{"MIN": 0.1, "MAX": 200.0}] and node["VALUE"] == [12.0]
    assert node["ACCESS"] == 3 and node["DESCRIPTION"]


def test_enum_bool_and_int_params(osc):
    _, mode = answer(osc, "/instrument/motion/mode")
    _, hud = answer(osc, "/instrument/hud/visible")
    _, cutoff = answer(osc, "/instrument/truncation/cutoff")
    assert mode["TYPE"] == "s" and mode["RANGE"] == [{"VALS": ["spring", "slerp", "lerp"]}]
    assert mode["VALUE"] == ["spring"] and hud["TYPE"] == "T" and hud["VALUE"] == [True]
    assert cutoff["TYPE"] == "i" and cutoff["VALUE"] == [32]


def test_tree_contains_containers_and_actions(osc):
    status, root = answer(osc, "/")
    instrument = root["CONTENTS"]["instrument"]
    assert status == 200 and instrument["FULL_PATH"] == "/instrument"
    assert set(instrument["CONTENTS"]["journey"]["CONTENTS"]) >= {"play", "seconds", "speed", "stop"}
    assert instrument["CONTENTS"]["kick"]["ACCESS"] == 2


def test_attribute_query_and_missing_paths(osc):
    assert answer(osc, "/instrument/spring/damping?VALUE") == (200, {"VALUE": [1.0]})
    assert answer(osc, "/instrument/nowhere")[0] == 404
    assert answer(osc, "/instrument/kick?VALUE")[0] == 204
    assert answer(osc, "/?HOST_INFO")[1]["OSC_TRANSPORT"] == "UDP"


def test_http_server_answers_root_and_host_info(osc):
    osc.start()
    query = OscQueryServer(osc, port=0)
    query.start()
    try:
        base = f"http://127.0.0.1:{query.port}"
        info = json.load(urllib.request.urlopen(base + "/?HOST_INFO", timeout=5))
        root = json.load(urllib.request.urlopen(base + "/", timeout=5))
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(base + "/nope", timeout=5)
    finally:
        query.stop()
        osc.stop()
    assert info["OSC_PORT"] == osc.port and info["NAME"] == "instrument"
    assert "fx" in root["CONTENTS"]["instrument"]["CONTENTS"]


# WebSocket LISTEN / IGNORE on the same port, with a real client.
@pytest.fixture
def served(osc):
    osc.start()
    query = OscQueryServer(osc, port=0)
    query.start()
    yield osc, query
    query.stop()
    osc.stop()


@contextlib.contextmanager
def listen(query, *commands):
    """A real WebSocket client on the OSCQuery port, after sending LISTEN/IGNORE commands."""
    from websockets.sync.client import connect
    with connect(f"ws://127.0.0.1:{query.port}/", compression=None, open_timeout=5) as ws:
        for verb, address in commands:
            ws.send(json.dumps({"COMMAND": verb, "DATA": address}))
        yield ws


def osc_of(frame: bytes):
    from instrument.control.osc_wire import decode
    message = decode(frame)[0]
    return message.address, message.args


def test_host_info_advertises_listen(osc):
    assert answer(osc, "/?HOST_INFO")[1]["EXTENSIONS"]["LISTEN"] is True


def test_listen_streams_typed_values_as_binary_osc_and_ignore_stops_them(served):
    osc, query = served
    with listen(query, ("LISTEN", "/instrument/wander/amount"), ("LISTEN", "/instrument/motion/mode")) as ws:
        first = {osc_of(ws.recv(timeout=5)), osc_of(ws.recv(timeout=5))}     # the current values come first
        assert first == {("/instrument/wander/amount", (0.0,)), ("/instrument/motion/mode", ("spring",))}
        osc.handle_datagram(encode("/instrument/wander/amount", 0.5), ("127.0.0.1", 1))   # a change over OSC
        assert osc_of(ws.recv(timeout=5)) == ("/instrument/wander/amount", (0.5,))
        ws.send(json.dumps({"COMMAND": "IGNORE", "DATA": "/instrument/wander/amount"}))
        ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": "/instrument/hud/visible"}))
        assert osc_of(ws.recv(timeout=5)) == ("/instrument/hud/visible", (True,))  # IGNORE was applied first
        osc.store.set("wander.amount", 0.25)
        osc.store.set("hud.visible", 0)
        assert osc_of(ws.recv(timeout=5)) == ("/instrument/hud/visible", (False,))
    assert query.stats()["oscquery_command_errors"] == 0


def test_bad_commands_are_counted_and_the_server_keeps_serving(served):
    osc, query = served
    with listen(query) as ws:
        for junk in ("not json", "[1, 2]", json.dumps({"COMMAND": "LISTEN", "DATA": "/nope"}),
                     json.dumps({"COMMAND": "EXPLODE"}), "x" * 10000):
            ws.send(junk)
        ws.send(b"\x00\x01binary")
        ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": "/instrument/spring/damping"}))
        assert osc_of(ws.recv(timeout=5)) == ("/instrument/spring/damping", (1.0,))
    assert query.stats()["oscquery_command_errors"] == 6
    info = json.load(urllib.request.urlopen(f"http://127.0.0.1:{query.port}/?HOST_INFO", timeout=5))
    assert info["EXTENSIONS"]["LISTEN"] is True


def test_a_fast_parameter_reaches_a_listener_at_most_every_tick(served):
    """Many changes between two ticks arrive as one message with the newest value (no timing assumed)."""
    osc, query = served
    query.hub.stop()                                     # tick by hand
    with listen(query, ("LISTEN", "/instrument/audio/gain")) as ws:
        deadline = time.monotonic() + 5
        while query.hub.commands < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        query.hub.tick()
        assert osc_of(ws.recv(timeout=5)) == ("/instrument/audio/gain", (0.5,))
        for v in range(100):
            osc.store.set("audio.gain", v / 100)
        query.hub.tick()
        query.hub.tick()
        assert osc_of(ws.recv(timeout=5)) == ("/instrument/audio/gain", (pytest.approx(0.99),))
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.2)
