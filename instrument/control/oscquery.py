"""OSCQuery (Vidvox proposal): the OSC namespace as JSON over HTTP, so controllers can discover and label it.

    GET /                      the whole tree: FULL_PATH, CONTENTS, TYPE, RANGE, VALUE, DESCRIPTION, ACCESS
    GET /instrument/spring     a subtree;   GET /instrument/spring/stiffness?VALUE   one attribute
    GET /?HOST_INFO            NAME, OSC_IP, OSC_PORT, OSC_TRANSPORT "UDP", EXTENSIONS

Values are read from the store at request time. No WebSocket LISTEN: subscribe over OSC instead.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import unquote, urlsplit

from instrument.control.osc import OscServer
from instrument.control.osc_routes import Route
from instrument.params import Param

DEFAULT_PORT = 9001
POLL_S = 0.05               # serve_forever's shutdown poll: how fast stop() returns
ACCESS_READ_WRITE, ACCESS_WRITE = 3, 2
EXTENSIONS = ("ACCESS", "VALUE", "RANGE", "DESCRIPTION", "TYPE", "FULL_PATH", "CONTENTS", "HOST_INFO")


# The JSON tree.
def tree(osc: OscServer) -> dict:
    root = {"FULL_PATH": "/", "CONTENTS": {}, "DESCRIPTION": "instrument: live StyleGAN performance instrument"}
    for route in osc.routes.values():
        node = root
        parts = route.address.strip("/").split("/")
        for depth, part in enumerate(parts):
            node = node.setdefault("CONTENTS", {}).setdefault(part, {"FULL_PATH": "/" + "/".join(parts[:depth + 1])})
        node.update(_leaf(route, osc))
    return root


def _leaf(route: Route, osc: OscServer) -> dict:
    if route.param is None:
        return {"ACCESS": ACCESS_WRITE, "DESCRIPTION": f"{route.doc} (arguments: {route.typetags or 'none'})"}
    p, value = route.param, osc.store.get(route.param.name)
    return {"ACCESS": ACCESS_READ_WRITE, "DESCRIPTION": route.doc, **_typed(p, value)}


def _typed(p: Param, value: float) -> dict:
    """TYPE, RANGE and VALUE of a parameter: enums as string menus, bools as T, ints as i, the rest as f."""
    if p.kind == "enum":
        return {"TYPE": "s", "RANGE": [{"VALS": list(p.choices)}], "VALUE": [p.choices[int(value)]]}
    if p.kind == "bool":
        return {"TYPE": "T", "VALUE": [value >= 0.5]}
    if p.kind == "int":
        return {"TYPE": "i", "RANGE": [{"MIN": int(p.lo), "MAX": int(p.hi)}], "VALUE": [int(value)]}
    return {"TYPE": "f", "RANGE": [{"MIN": p.lo, "MAX": p.hi}], "VALUE": [value]}


def host_info(osc: OscServer) -> dict:
    return {"NAME": "instrument", "OSC_IP": osc.host, "OSC_PORT": osc.port, "OSC_TRANSPORT": "UDP",
            "EXTENSIONS": {**{name: True for name in EXTENSIONS}, "LISTEN": False, "PATH_CHANGED": False}}


def answer(osc: OscServer, target: str) -> tuple[int, dict | None]:
    """(HTTP status, JSON body) for a request target such as '/instrument?VALUE'; pure, for tests."""
    url = urlsplit(target)
    if url.query == "HOST_INFO":
        return 200, host_info(osc)
    node = tree(osc)
    for part in [p for p in unquote(url.path).split("/") if p]:
        node = node.get("CONTENTS", {}).get(part)
        if node is None:
            return 404, None
    if not url.query:
        return 200, node
    if url.query in node:
        return 200, {url.query: node[url.query]}
    return (204, None) if url.query in EXTENSIONS else (400, None)


# The HTTP thread.
class OscQueryServer:
    """HTTP on the OSC server's host, in its own thread ("oscquery"); `start()` and `stop()` like OscServer."""

    def __init__(self, osc: OscServer, port: int = DEFAULT_PORT):
        self.osc, self.requested_port = osc, int(port)
        self._http: HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        try:
            self._http = HTTPServer((self.osc.host, self.requested_port), _handler_for(self.osc))
        except OSError as e:
            raise OSError(f"cannot serve OSCQuery on {self.osc.host}:{self.requested_port}: {e.strerror}; "
                          f"pick another port with --oscquery-port") from e
        self._thread = threading.Thread(target=self._http.serve_forever, args=(POLL_S,), name="oscquery",
                                        daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self._http.server_address[1] if self._http is not None else self.requested_port

    def stop(self) -> None:
        if self._http is None:
            return
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=2.0)


def _handler_for(osc: OscServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            status, body = answer(osc, self.path)
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args) -> None:  # why: a request per second must not flood the log
            pass

    return Handler
