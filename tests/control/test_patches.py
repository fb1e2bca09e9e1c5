"""The controller patches in patches/: every address they send exists in the live OSC namespace, they cover the core
parameters with the table's ranges, and the Pure Data patch drives a real OscServer (and takes its feedback)."""

from __future__ import annotations

import ast
import json
import math
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path
from unittest import mock

import pytest

from instrument.control.osc import OscServer
from instrument.latent.conductor import Conductor
from instrument.params import ParamStore
import waiting

PATCHES = Path(__file__).resolve().parents[2] / "patches"
PD_FILE = PATCHES / "instrument.pd"
MAX_FILE = PATCHES / "instrument.maxpat"
TD_FILE = PATCHES / "touchdesigner" / "build_instrument_network.py"

# What every patch must control: a renamed parameter or action breaks this test, not the show.
CORE_PARAMS = {"/instrument/" + a for a in (
    "spring/stiffness", "spring/damping", "wander/amount", "wander/speed", "truncation/psi",
    "mix/coarse/b", "mix/middle/b", "mix/fine/b", "fx/feedback/amount", "fx/feedback/zoom", "fx/feedback/rotate",
    "fx/pixelsort/amount", "fx/pixelsort/threshold")}
CORE_ACTIONS = {"/instrument/random", "/instrument/kick", "/instrument/journey/toggle", "/instrument/journey/next",
                "/instrument/keyframe/recall", "/instrument/keyframe/store"}
WAIT_S = 10.0


def make_server(port: int = 0) -> OscServer:
    store = ParamStore()
    return OscServer(store, Conductor(store, 16, 6, seed=0), port=port)


@pytest.fixture(scope="module")
def namespace() -> dict[str, dict]:
    return {row["address"]: row for row in make_server().namespace()}


def lo_hi(row: dict) -> tuple[float, float]:
    lo, hi = row["range"].split("..")
    return float(lo), float(hi)


def wait_for(condition, timeout_s: float = WAIT_S) -> bool:
    return waiting.wait_for(condition, timeout_s, 0.01)


# ---- Pure Data: parse the patch text ------------------------------------------------------------------------------
def pd_records(text: str) -> tuple[list[list[str]], list[tuple[int, int, int, int]]]:
    """The canvas' boxes (#X obj/msg/text/floatatom..., index = object number) and its connections."""
    boxes, conns = [], []
    for record in re.split(r"(?<!\\);\s*\n", text):
        atoms = record.split()
        if len(atoms) < 2 or atoms[0] != "#X":
            continue
        if atoms[1] == "connect":
            conns.append(tuple(int(a) for a in atoms[2:6]))
        elif atoms[1] not in ("coords", "restore", "f"):
            boxes.append(atoms[1:])
    return boxes, conns


def pd_sends(text: str) -> dict[str, list[int]]:
    """{address: [object numbers]} for every [oscformat a b c] (an address without its leading slash)."""
    boxes, _ = pd_records(text)
    out: dict[str, list[int]] = {}
    for i, b in enumerate(boxes):
        if b[0] == "obj" and len(b) > 3 and b[3] == "oscformat":
            out.setdefault("/" + "/".join(b[4:]), []).append(i)
    return out


def pd_slider_ranges(text: str) -> dict[str, tuple[float, float, bool]]:
    """{address: (lo, hi, log)} for every [hsl] connected into an [oscformat]."""
    boxes, conns = pd_records(text)
    address = {i: a for a, ids in pd_sends(text).items() for i in ids}
    out = {}
    for src, _, dst, _ in conns:
        b = boxes[src]
        if b[0] == "obj" and b[3] in ("hsl", "vsl") and dst in address:
            out[address[dst]] = (float(b[6]), float(b[7]), b[8] == "1")
    return out


# ---- Max: parse the JSON ------------------------------------------------------------------------------------------
def max_patcher() -> dict:
    return json.loads(MAX_FILE.read_text())["patcher"]


def max_sends(patcher: dict) -> set[str]:
    """Addresses of [prepend /instrument/...] objects and message boxes starting with /instrument/."""
    out = set()
    for entry in patcher["boxes"]:
        b = entry["box"]
        words = b.get("text", "").split()
        if b["maxclass"] == "newobj" and words[:1] == ["prepend"] and words[1].startswith("/instrument/"):
            out.add(words[1])
        elif b["maxclass"] == "message" and words and words[0].startswith("/instrument/"):
            out.add(words[0])
    return out


def max_ranges(patcher: dict) -> dict[str, tuple[float, float]]:
    """{address: (minimum, maximum)} of each flonum feeding a [prepend /instrument/...]."""
    boxes = {e["box"]["id"]: e["box"] for e in patcher["boxes"]}
    out = {}
    for line in patcher["lines"]:
        src, dst = boxes[line["patchline"]["source"][0]], boxes[line["patchline"]["destination"][0]]
        if src["maxclass"] == "flonum" and dst.get("text", "").startswith("prepend /instrument/"):
            out[dst["text"].split()[1]] = (src["minimum"], src["maximum"])
    return out


# ---- TouchDesigner: read PARAMS / ACTIONS without TouchDesigner -----------------------------------------------------
def td_literal(name: str):
    tree = ast.parse(TD_FILE.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{TD_FILE.name} has no literal {name} = [...]")


def td_sends() -> set[str]:
    text = TD_FILE.read_text()
    body = text.split("# END GENERATED PARAMS", 1)[1]
    actions = set(re.findall(r"""sendOSC\(\s*["'](/instrument/[a-z/]+)["']""", body))           # direct sends
    actions |= set(re.findall(r"""\(\s*f?["'][^"']+["'],\s*["'](/instrument/[a-z/]+)["']""", body))  # ACTIONS rows
    return {a for a, *_ in td_literal("PARAMS")} | actions


# ---- the addresses exist, the core set is covered, ranges match ---------------------------------------------------
def all_sends() -> dict[str, set[str]]:
    return {"pd": set(pd_sends(PD_FILE.read_text())), "max": max_sends(max_patcher()), "td": td_sends()}


@pytest.mark.parametrize("patch", ["pd", "max", "td"])
def test_every_address_a_patch_sends_exists(patch, namespace):
    sent = all_sends()[patch]
    unknown = sorted(sent - set(namespace))
    assert not unknown, f"{patch} patch sends addresses the instrument does not know: {unknown}; " \
                        f"run '.venv/bin/python patches/make_patches.py' after renaming a parameter"


@pytest.mark.parametrize("patch", ["pd", "max", "td"])
def test_every_patch_covers_the_core_set(patch, namespace):
    sent = all_sends()[patch]
    missing = sorted((CORE_PARAMS | CORE_ACTIONS | {"/instrument/subscribe"}) - sent)
    assert not missing, f"{patch} patch does not send {missing}"
    assert CORE_PARAMS <= set(namespace), sorted(CORE_PARAMS - set(namespace))


def test_pd_sliders_span_each_parameter_range(namespace):
    ranges = pd_slider_ranges(PD_FILE.read_text())
    assert set(ranges) == CORE_PARAMS
    for address, (lo, hi, log) in ranges.items():
        row = namespace[address]
        assert (lo, hi) == pytest.approx(lo_hi(row)), address
        assert log == (_curve(address) == "exp"), f"{address}: a log slider iff the parameter's curve is exp"


def _curve(address: str) -> str:
    store = ParamStore()
    return store.spec(address.removeprefix("/instrument/").replace("/", ".")).curve


def test_max_number_boxes_and_scalers_match_the_table(namespace):
    patcher = max_patcher()
    ranges = max_ranges(patcher)
    assert set(ranges) == CORE_PARAMS
    for address, (lo, hi) in ranges.items():
        assert (lo, hi) == pytest.approx(lo_hi(namespace[address])), address
    # Each slider's scaler maps 0..1 onto the same range: [scale 0. 1. lo hi] or [expr lo*exp($f1*ln(hi/lo))].
    for entry in patcher["boxes"]:
        words = entry["box"].get("text", "").split()
        if words[:3] == ["scale", "0.", "1."]:
            assert (float(words[3]), float(words[4])) in {r for r in ranges.values()}
        elif words[:1] == ["expr"]:
            lo, k = re.fullmatch(r"([-\d.e]+)\*exp\(\$f1\*([-\d.e]+)\)", words[1]).groups()
            assert (pytest.approx(float(lo)), pytest.approx(float(lo) * math.exp(float(k)), rel=1e-5)) in \
                list(ranges.values())


def test_td_params_match_the_table(namespace):
    params = td_literal("PARAMS")
    assert {a for a, *_ in params} == CORE_PARAMS
    for address, lo, hi, default in params:
        assert (lo, hi) == pytest.approx(lo_hi(namespace[address])), address
        assert lo <= default <= hi
        assert float(namespace[address]["default"]) == pytest.approx(default), address


def test_td_script_builds_with_a_stand_in_td_module():
    """No TouchDesigner here: run the script against mocks to catch name and syntax errors in its build()."""
    names = ["parent", "op", "baseCOMP", "constantCHOP", "oscoutCHOP", "oscoutDAT", "parameterexecuteDAT",
             "textDAT", "oscinDAT"]
    env = {n: mock.MagicMock(name=n) for n in names}
    exec(compile(TD_FILE.read_text(), str(TD_FILE), "exec"), env)
    comp = env["parent"]().create.return_value
    comp.create.return_value.sendOSC.assert_any_call("/instrument/subscribe", [9002])
    assert env["par_name"]("/instrument/fx/feedback/amount") == "Fxfeedbackamount"


def test_maxpat_is_json_max_would_open():
    patcher = max_patcher()
    assert patcher["fileversion"] == 1 and isinstance(patcher["rect"], list)
    ids = set()
    for entry in patcher["boxes"]:
        b = entry["box"]
        for key in ("id", "maxclass", "numinlets", "numoutlets", "patching_rect"):
            assert key in b, f"box {b} has no {key}"
        assert len(b["patching_rect"]) == 4 and b["id"] not in ids
        ids.add(b["id"])
        if b["maxclass"] in ("newobj", "message", "comment"):
            assert isinstance(b.get("text"), str) and b["text"], b
        if b["numoutlets"]:
            assert len(b["outlettype"]) == b["numoutlets"], b
    for line in patcher["lines"]:
        (src, outlet), (dst, inlet) = line["patchline"]["source"], line["patchline"]["destination"]
        boxes = {e["box"]["id"]: e["box"] for e in patcher["boxes"]}
        assert src in boxes and dst in boxes, line
        assert outlet < boxes[src]["numoutlets"] and inlet < boxes[dst]["numinlets"], line
    texts = [e["box"].get("text", "") for e in patcher["boxes"]]
    assert "udpsend 127.0.0.1 9000" in texts and "udpreceive 9002" in texts and "loadbang" in texts
    assert "/instrument/subscribe 9002" in texts


def test_patches_are_up_to_date_with_the_generator():
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_patches", PATCHES / "make_patches.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert PD_FILE.read_text() == gen.build_pd(), "run .venv/bin/python patches/make_patches.py"
    assert MAX_FILE.read_text() == gen.build_max(), "run .venv/bin/python patches/make_patches.py"
    assert TD_FILE.read_text() == gen.update_td(TD_FILE.read_text()), "run .venv/bin/python patches/make_patches.py"


# ---- a real peer: Pure Data, headless, against a real OscServer ---------------------------------------------------
def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# A wrapper patch: prints what feedback sends to one slider's receive name (a 'set <value>' message).
PD_PROBE = """#N canvas 0 0 300 200 12;
#X obj 20 20 r inst-wander-speed;
#X obj 20 50 print probe;
#X connect 0 0 1 0;
"""


@pytest.mark.skipif(shutil.which("pd") is None, reason="Pure Data is missing (Debian: apt-get install puredata-core)")
def test_pure_data_patch_drives_a_real_server_and_takes_feedback(tmp_path):
    server = make_server(9000)
    try:
        server.start()                       # the patch's own default: 127.0.0.1:9000
    except OSError:
        server = make_server(0)              # 9000 is busy: any port; the patch is pointed there with -send
        server.start()
    fb_port = free_udp_port()
    probe = tmp_path / "probe.pd"
    probe.write_text(PD_PROBE)
    sends = [f"inst-fb-port {fb_port}", f"inst-port {server.port}",   # re-listen, reconnect, resubscribe
             "inst-wander-amount 0.5", "inst-spring-stiffness 20", "inst-fx-feedback-rotate -5",
             "inst-store-3 bang", "inst-random bang", "inst-kick bang", "inst-journey-next bang"]
    cmd = ["pd", "-nogui", "-noaudio", "-nomidi", "-stderr", "-open", str(probe), "-open", str(PD_FILE)]
    for s in sends:
        cmd += ["-send", s]
    store, conductor = server.store, server.conductor
    targets_before = conductor.targets.copy()
    pd = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        ok = wait_for(lambda: store.get("wander.amount") == 0.5 and store.get("spring.stiffness") == 20.0
                      and store.get("fx.feedback.rotate") == -5.0 and conductor.pending >= 4)
        subscribed = wait_for(lambda: ("127.0.0.1", fb_port) in server.subscribers)
        messages = server.messages
        store.set("wander.speed", 2.5)       # feedback: Pd must 'set' the slider (printed by the probe)
        time.sleep(0.5)
        settled = server.messages == messages  # a slider that echoed its feedback would send again
    finally:
        pd.terminate()
        out = pd.communicate(timeout=10)[0].decode(errors="replace")
        server.stop()
    assert ok, f"the Pd patch did not set the parameters; errors={server.last_error!r}; pd said: {out[-600:]}"
    assert subscribed, f"the Pd patch did not subscribe on {fb_port}; pd said: {out[-600:]}"
    assert server.stats()["osc_errors"] == 0, server.last_error
    assert "probe: set 2.5" in out, f"feedback did not reach the slider; pd said: {out[-600:]}"
    assert settled, "feedback looped: the Pd patch sent messages back after its sliders were set"
    conductor.step(0.0, 0.01)                # store 3, random, kick, journey next
    assert conductor.keyframes.occupied() == [3]
    assert not (conductor.targets == targets_before).all()
