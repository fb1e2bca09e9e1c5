"""OSCQuery (Vidvox proposal): the OSC namespace as JSON over HTTP, so controllers can discover and label it.

    GET /                      the whole tree: FULL_PATH, CONTENTS, TYPE, RANGE, VALUE, DESCRIPTION, ACCESS
    GET /instrument/spring     a subtree;   GET /instrument/spring/stiffness?VALUE   one attribute
    GET /?HOST_INFO            NAME, OSC_IP, OSC_PORT, OSC_TRANSPORT "UDP", EXTENSIONS (LISTEN: true)
    WebSocket on the same port LISTEN / IGNORE value streams (oscquery_listen)

Values are read from the store at request time. HTTP and WebSocket share one port through `websockets`' threaded
server: its `process_request` answers plain GETs with JSON and lets upgrade requests through. Why `websockets`:
maintained, no dependencies, and its sync server runs on threads like the rest of the control layer (no asyncio
loop to own); the stdlib has no WebSocket server.
"""

from __future__ import annotations

import http
import json
import logging
import threading
from urllib.parse import unquote, urlsplit

from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from instrument.control.osc import OscServer
from instrument.control.osc_routes import Route
from instrument.control.oscquery_listen import MAX_LISTENERS, ListenHub
from instrument.params import Param

DEFAULT_PORT = 9001
ACCESS_READ_WRITE, ACCESS_WRITE = 3, 2
EXTENSIONS = ("ACCESS", "VALUE", "RANGE", "DESCRIPTION", "TYPE", "FULL_PATH", "CONTENTS", "HOST_INFO", "LISTEN")


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
            "EXTENSIONS": {**{name: True for name in EXTENSIONS}, "PATH_CHANGED": False}}


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


# The HTTP and WebSocket threads.
class OscQueryServer:
    """HTTP and WebSocket on the OSC server's host: a thread "oscquery" accepts, one thread per connection, and
    "oscquery-listen" streams values. `start()`, `stop()` and `stats()` like OscServer."""

    def __init__(self, osc: OscServer, port: int = DEFAULT_PORT):
        self.osc, self.requested_port = osc, int(port)
        self.hub = ListenHub(osc.store)
        self.http_requests = 0
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        try:
            self._server = serve(self.hub.serve, self.osc.host, self.requested_port, process_request=self._request,
                                 compression=None, logger=_QUIET)
        except OSError as e:
            raise OSError(f"cannot serve OSCQuery on {self.osc.host}:{self.requested_port}: {e.strerror}; "
                          f"pick another port with --oscquery-port") from e
        self._thread = threading.Thread(target=self._server.serve_forever, name="oscquery", daemon=True)
        self._thread.start()
        self.hub.start()

    @property
    def port(self) -> int:
        return self._server.socket.getsockname()[1] if self._server is not None else self.requested_port

    def stop(self) -> None:
        if self._server is None:
            return
        self.hub.stop()
        self._server.shutdown()  # closes the WebSockets (1001 going away) and joins their threads
        self._thread.join(timeout=2.0)
        self._server = None

    def stats(self) -> dict:
        return {"oscquery_http_requests": self.http_requests, **self.hub.stats()}

    def _request(self, connection: ServerConnection, request: Request) -> Response | None:
        """A plain GET gets its JSON here; an upgrade goes on to the WebSocket handshake (None) unless full."""
        if request.headers.get("Upgrade", "").lower() == "websocket":
            if self.hub.count >= MAX_LISTENERS:
                return connection.respond(http.HTTPStatus.SERVICE_UNAVAILABLE, f"at most {MAX_LISTENERS} listeners\n")
            return None
        self.http_requests += 1
        status, body = answer(self.osc, request.path)
        data = json.dumps(body).encode() if body is not None else b""
        headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(data))),
                           ("Connection", "close")])
        return Response(status, http.HTTPStatus(status).phrase, headers, data)


_QUIET = logging.getLogger("instrument.oscquery")  # why: a bad request must not print a traceback on stage
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False
