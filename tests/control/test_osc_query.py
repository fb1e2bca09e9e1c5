"""OSCQuery: the JSON tree derived from the OSC routes, pure and over a real HTTP socket."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from instrument.control.osc import OscServer
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
