"""Regenerate the controller patches from the instrument's parameter table.

    .venv/bin/python patches/make_patches.py

writes patches/instrument.pd (Pure Data vanilla), patches/instrument.maxpat (Max) and rewrites the PARAMS block of
patches/touchdesigner/build_instrument_network.py. Ranges, defaults and curves come from `instrument.params`, so
after a parameter changes range, run this again; tests/control/test_patches.py fails until the patches match.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from instrument.params import PARAMS

HERE = Path(__file__).resolve().parent
OSC_PORT = 9000        # the instrument listens here
FEEDBACK_PORT = 9002   # the patches listen here for /instrument/<param> <float>

# The parameters every patch controls (the "core set"): dotted names from the parameter table.
CORE = ["spring.stiffness", "spring.damping", "wander.amount", "wander.speed", "truncation.psi",
        "mix.coarse.b", "mix.middle.b", "mix.fine.b",
        "fx.feedback.amount", "fx.feedback.zoom", "fx.feedback.rotate",
        "fx.pixelsort.amount", "fx.pixelsort.threshold"]
SLOTS = range(1, 9)   # keyframe slots 1..8 (the keyboard's 1..8)
# Actions without arguments: (label, address).
ACTIONS = [("random", "/instrument/random"), ("kick", "/instrument/kick"),
           ("journey_toggle", "/instrument/journey/toggle"), ("journey_next", "/instrument/journey/next")]

SPEC = {p.name: p for p in PARAMS}


def address(name: str) -> str:
    return "/instrument/" + name.replace(".", "/")


def num(x: float) -> str:
    return f"{x:g}"


# ---- Pure Data ---------------------------------------------------------------------------------------------------
class PdPatch:
    def __init__(self):
        self.lines: list[str] = []
        self.n = 0
        self.conns: list[tuple[int, int, int, int]] = []

    def add(self, kind: str, x: int, y: int, text: str) -> int:
        text = re.sub(r"(?<!\\)\$", r"\\$", text)   # a bare $1 is written \$1 in the file
        self.lines.append(f"#X {kind} {x} {y} {text};")
        self.n += 1
        return self.n - 1

    def obj(self, x, y, text):
        return self.add("obj", x, y, text)

    def msg(self, x, y, text):
        return self.add("msg", x, y, text)

    def text(self, x, y, text):
        return self.add("text", x, y, text)

    def connect(self, a, outlet, b, inlet):
        self.conns.append((a, outlet, b, inlet))

    def render(self) -> str:
        out = ["#N canvas 40 40 1500 1000 12;", *self.lines]
        out += [f"#X connect {a} {o} {b} {i};" for a, o, b, i in self.conns]
        return "\n".join(out) + "\n"


def rcv(name: str) -> str:
    """The receive name of a parameter's slider: 'spring.stiffness' -> 'inst-spring-stiffness'."""
    return "inst-" + name.replace(".", "-")


def hsl(name: str) -> str:
    p = SPEC[name]
    log = 1 if p.curve == "exp" else 0
    width = 200
    # hsl: width height bottom top log init send receive label x_off y_off font fontsize bg fg label default steady
    return (f"hsl {width} 18 {num(p.lo)} {num(p.hi)} {log} 0 empty {rcv(name)} empty 0 -9 0 10 "
            f"#fcfcfc #000000 #000000 0 1")


def bng(receive: str, label: str, size: int = 25) -> str:
    return f"bng {size} 250 50 0 empty {receive} {label} 0 -10 0 10 #fcfcfc #000000 #000000"


def build_pd() -> str:
    pd = PdPatch()
    pd.text(20, 10, "instrument.pd - Pure Data controller for the StyleGAN instrument. "
                    f"Sends OSC to 127.0.0.1:{OSC_PORT} and listens for feedback on UDP {FEEDBACK_PORT}.")
    pd.text(20, 40, "Sliders are scaled to each parameter's range (log sliders for exponential ones). "
                    "Feedback sets them without output so nothing loops.")
    # Shared sender: every [oscformat] ends in [s inst-out].
    out = "s inst-out"

    # ---- parameters ----
    y0 = 90
    pd.text(20, y0 - 20, "---- parameters ----")
    for i, name in enumerate(CORE):
        p = SPEC[name]
        y = y0 + i * 40
        s = pd.obj(20, y + 10, hsl(name))
        pd.text(230, y + 8, f"{name} {num(p.lo)}..{num(p.hi)}{' log' if p.curve == 'exp' else ''}")
        f = pd.obj(480, y + 8, "oscformat " + " ".join(address(name).strip("/").split("/")))
        o = pd.obj(780, y + 8, out)
        pd.connect(s, 0, f, 0)
        pd.connect(f, 0, o, 0)

    # ---- actions ----
    ya = y0 + len(CORE) * 40 + 20
    pd.text(20, ya, "---- actions ----")
    for j, (label, addr) in enumerate(ACTIONS):
        x = 20 + j * 130
        b = pd.obj(x, ya + 40, bng("inst-" + label.replace("_", "-"), label))
        f = pd.obj(x, ya + 80, "oscformat " + " ".join(addr.strip("/").split("/")))
        o = pd.obj(x, ya + 110, out)
        pd.connect(b, 0, f, 0)   # a bang: the address with no arguments
        pd.connect(f, 0, o, 0)

    for k, verb in enumerate(["recall", "store"]):
        yk = ya + 160 + k * 130
        pd.text(20, yk, f"keyframe {verb} 1..8 (/instrument/keyframe/{verb} <slot>)")
        f = pd.obj(20, yk + 90, f"oscformat instrument keyframe {verb}")
        o = pd.obj(300, yk + 90, out)
        pd.connect(f, 0, o, 0)
        for slot in SLOTS:
            x = 20 + (slot - 1) * 45
            b = pd.obj(x, yk + 30, bng(f"inst-{verb}-{slot}", str(slot), 20))
            m = pd.msg(x, yk + 60, str(slot))
            pd.connect(b, 0, m, 0)
            pd.connect(m, 0, f, 0)

    # ---- network (right column) ----
    xn, yn = 900, 70
    pd.text(xn, yn, "---- network ----")
    pd.text(xn, yn + 25, f"on load: listen for feedback on {FEEDBACK_PORT} then connect to 127.0.0.1:{OSC_PORT} "
                         "and send /instrument/subscribe. Other ports: send 'inst-fb-port <n>' then "
                         "'inst-port <n>' (e.g. pd -send).")
    lb = pd.obj(xn, yn + 90, "loadbang")
    tlb = pd.obj(xn, yn + 120, "t b b")
    m_port = pd.msg(xn, yn + 150, str(OSC_PORT))
    s_port = pd.obj(xn, yn + 180, "s inst-port")
    m_fb = pd.msg(xn + 120, yn + 150, str(FEEDBACK_PORT))
    s_fb = pd.obj(xn + 120, yn + 180, "s inst-fb-port")
    pd.connect(lb, 0, tlb, 0)
    pd.connect(tlb, 0, m_port, 0)      # right to left: feedback port first, then connect + subscribe
    pd.connect(tlb, 1, m_fb, 0)
    pd.connect(m_port, 0, s_port, 0)
    pd.connect(m_fb, 0, s_fb, 0)

    pd.text(xn, yn + 230, "send: disconnect / connect / subscribe <feedback port>")
    r_port = pd.obj(xn, yn + 260, "r inst-port")
    t_port = pd.obj(xn, yn + 290, "t b f b")
    m_disc = pd.msg(xn + 200, yn + 330, "disconnect")
    m_conn = pd.msg(xn + 60, yn + 330, "connect 127.0.0.1 $1")
    pd.connect(r_port, 0, t_port, 0)
    pd.connect(t_port, 2, m_disc, 0)
    pd.connect(t_port, 1, m_conn, 0)
    f_fbport = pd.obj(xn, yn + 380, "f " + str(FEEDBACK_PORT))
    sub = pd.obj(xn, yn + 410, "oscformat instrument subscribe")
    s_sub = pd.obj(xn, yn + 440, out)
    pd.connect(t_port, 0, f_fbport, 0)
    pd.connect(f_fbport, 0, sub, 0)
    pd.connect(sub, 0, s_sub, 0)

    r_out = pd.obj(xn + 300, yn + 380, "r inst-out")
    lp = pd.obj(xn + 300, yn + 410, "list prepend send")
    lt = pd.obj(xn + 300, yn + 440, "list trim")
    ns = pd.obj(xn + 200, yn + 480, "netsend -u -b")
    ns_state = pd.obj(xn + 200, yn + 510, "print instrument-connected")
    pd.connect(r_out, 0, lp, 0)
    pd.connect(lp, 0, lt, 0)
    pd.connect(lt, 0, ns, 0)
    pd.connect(m_disc, 0, ns, 0)
    pd.connect(m_conn, 0, ns, 0)
    pd.connect(ns, 0, ns_state, 0)

    # ---- feedback ----
    yf = yn + 570
    pd.text(xn, yf, "---- feedback: /instrument/<param> <float> -> 'set' the slider (no output) ----")
    r_fb = pd.obj(xn, yf + 30, "r inst-fb-port")
    t_fb = pd.obj(xn, yf + 60, "t f f")
    m_listen = pd.msg(xn, yf + 90, "listen $1")
    pd.connect(r_fb, 0, t_fb, 0)
    pd.connect(t_fb, 1, f_fbport, 1)   # remembered for /instrument/subscribe
    pd.connect(t_fb, 0, m_listen, 0)
    nr = pd.obj(xn, yf + 120, "netreceive -u -b")
    op = pd.obj(xn, yf + 150, "oscparse")
    lt2 = pd.obj(xn, yf + 180, "list trim")
    r_inst = pd.obj(xn, yf + 210, "route instrument")
    pd.connect(m_listen, 0, nr, 0)
    pd.connect(nr, 0, op, 0)
    pd.connect(op, 0, lt2, 0)
    pd.connect(lt2, 0, r_inst, 0)
    _route_level(pd, r_inst, 0, [], xn, yf + 250, [0])
    return pd.render()


def _route_level(pd: PdPatch, parent: int, outlet: int, prefix: list[str], x: int, y: int, row: list[int]) -> None:
    """One [route] per level of the dotted names; each leaf is a [; inst-<name> set $1( message, one per row."""
    names = [n.split(".") for n in CORE if n.split(".")[:len(prefix)] == prefix]
    heads: list[str] = []
    for n in names:
        if n[len(prefix)] not in heads:
            heads.append(n[len(prefix)])
    extra = ["error", "pong"] if not prefix else []
    r = pd.obj(x, y + row[0] * 45, "route " + " ".join(heads + extra))
    pd.connect(parent, outlet, r, 0)
    if extra:
        pr = pd.obj(x + 330, y - 40, "print instrument")
        pd.connect(r, len(heads), pr, 0)
        pd.connect(r, len(heads) + 1, pr, 0)
    for k, head in enumerate(heads):
        path = prefix + [head]
        if ".".join(path) in SPEC:
            leaf = pd.msg(x + 130, y + row[0] * 45 + 20, f"\\; {rcv('.'.join(path))} set \\$1")
            pd.connect(r, k, leaf, 0)
            row[0] += 1
        else:
            _route_level(pd, r, k, path, x + 130, y + 20, row)


# ---- Max ---------------------------------------------------------------------------------------------------------
class MaxPatch:
    def __init__(self):
        self.boxes: list[dict] = []
        self.lines: list[dict] = []

    def box(self, maxclass: str, x: float, y: float, w: float, h: float, text: str | None = None,
            ins: int = 1, outs: int = 0, outlettype: list[str] | None = None, **attrs) -> str:
        bid = f"obj-{len(self.boxes) + 1}"
        b = {"id": bid, "maxclass": maxclass, "numinlets": ins, "numoutlets": outs,
             "patching_rect": [float(x), float(y), float(w), float(h)]}
        if outs:
            b["outlettype"] = outlettype or [""] * outs
        if text is not None:
            b["text"] = text
        b.update(attrs)
        self.boxes.append({"box": b})
        return bid

    def newobj(self, x, y, text, ins, outs, w=None, outlettype=None):
        return self.box("newobj", x, y, w or max(60, 7 * len(text) + 10), 22, text, ins, outs, outlettype)

    def message(self, x, y, text, w=None):
        return self.box("message", x, y, w or max(40, 7 * len(text) + 10), 22, text, 2, 1)

    def comment(self, x, y, text, w=300):
        return self.box("comment", x, y, w, 20, text, 1, 0)

    def connect(self, a: str, outlet: int, b: str, inlet: int):
        self.lines.append({"patchline": {"destination": [b, inlet], "source": [a, outlet]}})

    def render(self) -> str:
        patcher = {"patcher": {
            "fileversion": 1,
            "appversion": {"major": 8, "minor": 5, "revision": 0, "architecture": "x64", "modernui": 1},
            "classnamespace": "box",
            "rect": [40.0, 80.0, 1240.0, 900.0],
            "bglocked": 0, "openinpresentation": 0, "default_fontsize": 12.0, "default_fontface": 0,
            "default_fontname": "Arial", "gridonopen": 1, "gridsize": [15.0, 15.0], "gridsnaponopen": 1,
            "description": "Controller for the StyleGAN instrument: OSC to 127.0.0.1:9000, feedback on 9002",
            "boxes": self.boxes, "lines": self.lines}}
        return json.dumps(patcher, indent=2, ensure_ascii=False) + "\n"


def build_max() -> str:
    mx = MaxPatch()
    mx.comment(20, 10, f"instrument.maxpat - sliders scaled to each parameter's range -> [prepend /instrument/...] "
                       f"-> [udpsend 127.0.0.1 {OSC_PORT}]. Feedback: [udpreceive {FEEDBACK_PORT}] -> [route] -> "
                       f"set the number boxes (no output, no loop).", 1100)
    send = mx.newobj(900, 820, f"udpsend 127.0.0.1 {OSC_PORT}", 1, 0)
    mx.comment(900, 845, "everything goes out here", 200)

    # loadbang -> subscribe.
    lb = mx.newobj(900, 60, "loadbang", 1, 1, outlettype=["bang"])
    sub = mx.message(900, 90, f"/instrument/subscribe {FEEDBACK_PORT}")
    mx.comment(1080, 90, "sent on load; click to resubscribe", 220)
    mx.connect(lb, 0, sub, 0)
    mx.connect(sub, 0, send, 0)

    # Parameters: slider (0..1 float) -> scale / expr -> flonum (lo..hi) -> prepend /instrument/... -> udpsend.
    mx.comment(20, 40, "---- parameters: slider 0..1 -> range (lin: scale, log: expr) -> number -> OSC ----", 800)
    flonums: dict[str, str] = {}
    for i, name in enumerate(CORE):
        p = SPEC[name]
        y = 70 + i * 40
        mx.comment(20, y, f"{name} {num(p.lo)}..{num(p.hi)}{' (log)' if p.curve == 'exp' else ''}", 200)
        sl = mx.box("slider", 220, y, 160, 20, None, 1, 1, ["" ], floatoutput=1, size=1.0, orientation=1)
        if p.curve == "exp":
            k = math.log(p.hi / p.lo)
            sc = mx.newobj(390, y, f"expr {num(p.lo)}*exp($f1*{k:.6f})", 1, 1, w=170)
        else:
            sc = mx.newobj(390, y, f"scale 0. 1. {num(p.lo)} {num(p.hi)}", 6, 1, w=170)
        fl = mx.box("flonum", 570, y, 70, 22, None, 1, 2, ["", "bang"], format=6, minimum=float(p.lo),
                    maximum=float(p.hi), parameter_enable=0)
        pre = mx.newobj(650, y, f"prepend {address(name)}", 2, 1, w=230)
        mx.connect(sl, 0, sc, 0)
        mx.connect(sc, 0, fl, 0)
        mx.connect(fl, 0, pre, 0)
        mx.connect(pre, 0, send, 0)
        flonums[name] = fl

    # Actions: button -> message -> udpsend.
    ya = 70 + len(CORE) * 40 + 20
    mx.comment(20, ya, "---- actions ----", 300)
    for j, (label, addr) in enumerate(ACTIONS):
        x = 20 + j * 190
        mx.comment(x, ya + 25, label.replace("_", " "), 120)
        b = mx.box("button", x, ya + 50, 24, 24, None, 1, 1, ["bang"])
        m = mx.message(x, ya + 85, addr, w=180)
        mx.connect(b, 0, m, 0)
        mx.connect(m, 0, send, 0)
    for k, verb in enumerate(["recall", "store"]):
        yk = ya + 130 + k * 110
        mx.comment(20, yk, f"keyframe {verb} 1..8", 300)
        for slot in SLOTS:
            x = 20 + (slot - 1) * 100
            b = mx.box("button", x, yk + 25, 24, 24, None, 1, 1, ["bang"])
            m = mx.message(x, yk + 55, f"/instrument/keyframe/{verb} {slot}", w=95)
            mx.connect(b, 0, m, 0)
            mx.connect(m, 0, send, 0)

    # Feedback: udpreceive -> route <addresses> -> prepend set -> flonum.
    mx.comment(900, 140, f"---- feedback on {FEEDBACK_PORT} ----", 300)
    rcv_ = mx.newobj(900, 170, f"udpreceive {FEEDBACK_PORT}", 1, 1)
    addrs = [address(n) for n in CORE]
    route = mx.newobj(900, 200, "route " + " ".join(addrs), 2, len(addrs) + 1, w=320)
    mx.connect(rcv_, 0, route, 0)
    for i, name in enumerate(CORE):
        ps = mx.newobj(900 + (i % 2) * 90, 240 + i * 30, "prepend set", 2, 1, w=80)
        mx.connect(route, i, ps, 0)
        mx.connect(ps, 0, flonums[name], 0)
    err = mx.newobj(1100, 240, "route /instrument/error /instrument/pong", 2, 3, w=250)
    pr = mx.newobj(1100, 275, "print instrument", 1, 0)
    mx.connect(route, len(addrs), err, 0)
    mx.connect(err, 0, pr, 0)
    mx.connect(err, 1, pr, 0)
    return mx.render()


# ---- TouchDesigner ----------------------------------------------------------------------------------------------
TD_SCRIPT = HERE / "touchdesigner" / "build_instrument_network.py"
TD_BEGIN, TD_END = "# BEGIN GENERATED PARAMS", "# END GENERATED PARAMS"


def td_block() -> str:
    rows = [f"    ({address(n)!r}, {SPEC[n].lo!r}, {SPEC[n].hi!r}, {SPEC[n].default!r})," for n in CORE]
    return "\n".join([TD_BEGIN + " (patches/make_patches.py: address, min, max, default)", "PARAMS = [", *rows,
                      "]", TD_END])


def update_td(text: str) -> str:
    pattern = re.compile(re.escape(TD_BEGIN) + r".*?" + re.escape(TD_END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{TD_SCRIPT}: no '{TD_BEGIN}' ... '{TD_END}' block")
    return pattern.sub(lambda m: td_block(), text)


def main() -> None:
    (HERE / "instrument.pd").write_text(build_pd())
    (HERE / "instrument.maxpat").write_text(build_max())
    TD_SCRIPT.write_text(update_td(TD_SCRIPT.read_text()))
    print("wrote", HERE / "instrument.pd", HERE / "instrument.maxpat", TD_SCRIPT)


if __name__ == "__main__":
    main()
