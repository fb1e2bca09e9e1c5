"""The OSC address space, derived from the parameter table plus the performer actions.

Each `Route` turns the arguments of one address into one quick effect: `store.set` (latest value wins) or
`conductor.post(Action(...))`. Converters raise `OscArgError` with a one-line reason; the server answers it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from instrument.errors import InstrumentError
from instrument.latent.conductor import SOURCES, Action, Conductor
from instrument.latent.keyframes import SLOTS
from instrument.params import Param, ParamStore

PREFIX = "/instrument"
RESERVED = {  # actions the engine will register through the `actions` hook; answered "not available" until then
    "record/start": ("", "Start writing the z-log (not available until the engine registers it)"),
    "record/stop": ("", "Stop writing the z-log (not available until the engine registers it)"),
    "preset/load": ("s", "Load a preset by name (not available until the engine registers it)"),
    "midi/learn": ("s", "Arm MIDI-learn for a parameter name (not available until the engine registers it)"),
    "midi/learn_last": ("", "Arm MIDI-learn for the parameter last changed from OSC or keys (not available until "
                            "the engine registers it)"),
    "keyframe/sound": ("is", "Let keyframe <slot> carry the timbre of sound <name> (a WAV in the sounds folder) "
                             "(not available until the engine registers it)"),
}


class OscArgError(InstrumentError):
    """Arguments an address cannot use; the text is sent back to the sender as-is."""


@dataclass(frozen=True)
class Route:
    address: str
    typetags: str                      # documented accepted typetags, e.g. "f", "s|f", "[s|i]"
    apply: Callable[[tuple], None]     # called on the OSC thread with the decoded arguments
    doc: str
    range: str = ""
    default: str = ""
    unit: str = ""
    param: Param | None = None


def address_of(name: str) -> str:
    """'fx.feedback.amount' -> '/instrument/fx/feedback/amount'."""
    return f"{PREFIX}/{name.replace('.', '/')}"


# Parameters.
def param_routes(store: ParamStore) -> list[Route]:
    return [_param_route(store, p) for p in store.params]


def _param_route(store: ParamStore, p: Param) -> Route:
    def apply(args: tuple) -> None:
        store.set(p.name, param_value(p, _one(args, "a value")))

    span = "|".join(p.choices) if p.kind == "enum" else f"{p.lo:g}..{p.hi:g}"
    tags = "s|f|i" if p.kind == "enum" else "f|i|T|F"
    return Route(address_of(p.name), tags, apply, p.doc, span, p.label(p.default).removesuffix(" " + p.unit),
                 p.unit, p)


def param_value(p: Param, value) -> float:
    """A decoded OSC argument as a number for `store.set`: numbers and T/F for every kind, labels for enums."""
    if isinstance(value, str) and p.kind == "enum":
        if value in p.choices:
            return float(p.choices.index(value))
        raise OscArgError(f"'{value[:40]}' is not a choice of {p.name}; choose one of {', '.join(p.choices)}")
    return _finite(value, p.name)


# Performer actions.
def action_routes(store: ParamStore, conductor: Conductor) -> list[Route]:
    post = conductor.post
    return [
        Route(f"{PREFIX}/random", "[s|i]", lambda a: post(Action("random_target", (_source(_opt(a, 0)),))),
              "New random target for a source (a, b, c or 0..2; default a)", "a|b|c", "a"),
        Route(f"{PREFIX}/kick", "[f]", lambda a: post(Action("kick", (_finite(_opt(a, 1.0), "strength"),))),
              "Random velocity impulse to the spring, scaled by spring.kick", "", "1"),
        Route(f"{PREFIX}/keyframe/store", "i[s|i]",
              lambda a: post(Action("store", (_slot(a[0] if a else None), _source(_opt(a[1:], 0))))),
              "Store the current latent of a source (default a) in a keyframe slot", f"0..{SLOTS - 1}"),
        Route(f"{PREFIX}/keyframe/recall", "i", lambda a: post(Action("recall", (_slot(_one(a, "a slot")),))),
              "Send source A towards a stored keyframe", f"0..{SLOTS - 1}"),
        Route(f"{PREFIX}/journey/play", "i...", lambda a: _journey_play(store, post, a),
              "Play a looping journey through keyframe slots, journey.seconds at each", f"0..{SLOTS - 1}"),
        Route(f"{PREFIX}/journey/toggle", "", _no_args(post, "journey_toggle"),
              "Stop a playing journey, or play one through every stored keyframe"),
        Route(f"{PREFIX}/journey/stop", "", _no_args(post, "journey_stop"), "Stop the journey"),
        Route(f"{PREFIX}/journey/next", "", _no_args(post, "journey_next"), "Jump to the journey's next keyframe"),
        Route(f"{PREFIX}/source/seed", "s|i i", lambda a: post(Action("set_source_seed", _source_and(a, _seed))),
              "Target a source at the latent of a seed: <a|b|c|0..2> <seed>", "seed 0..2^32-1"),
        Route(f"{PREFIX}/source/keyframe", "s|i i", lambda a: post(Action("set_source_keyframe", _source_and(a, _slot))),
              "Send a source towards a stored keyframe: <a|b|c|0..2> <slot>", f"0..{SLOTS - 1}"),
    ]


def hook_route(name: str, fn: Callable, typetags: str = "", doc: str = "") -> Route:
    """An engine-registered action (`record/start`, `preset/load`...) at /instrument/<name>; fn gets the args."""
    reserved_tags, reserved_doc = RESERVED.get(name.strip("/"), ("", ""))
    return Route(f"{PREFIX}/{name.strip('/')}", typetags or reserved_tags, lambda args: fn(*args),
                 doc or reserved_doc.split(" (not available")[0])


def reserved_routes(taken: set[str]) -> list[Route]:
    def unavailable(address: str) -> Callable[[tuple], None]:
        def apply(args: tuple) -> None:
            raise OscArgError(f"{address} is not available yet in this build; the engine has not registered it")
        return apply
    return [Route(a, tags, unavailable(a), doc) for name, (tags, doc) in RESERVED.items()
            if (a := f"{PREFIX}/{name}") not in taken]


def _journey_play(store: ParamStore, post, args: tuple) -> None:
    if not args:
        raise OscArgError("expects one or more keyframe slots, got none; e.g. /instrument/journey/play 1 2 3")
    post(Action("journey_play", (tuple(_slot(a) for a in args), store.get("journey.seconds"))))


def _no_args(post, name: str) -> Callable[[tuple], None]:
    def apply(args: tuple) -> None:
        if args:
            raise OscArgError(f"expects no arguments, got {len(args)}")
        post(Action(name, ()))
    return apply


# Argument converters: each names what it got and what it wants.
def _one(args: tuple, what: str):
    if len(args) != 1:
        raise OscArgError(f"expects exactly one argument ({what}), got {len(args)}")
    return args[0]


def _opt(args: tuple, default):
    if len(args) > 1:
        raise OscArgError(f"expects at most one argument, got {len(args)}")
    return args[0] if args else default


def _source_and(args: tuple, convert) -> tuple:
    if len(args) != 2:
        raise OscArgError(f"expects two arguments <source> <number>, got {len(args)}")
    return _source(args[0]), convert(args[1])


def _finite(value, what: str) -> float:
    if not isinstance(value, (bool, int, float)):
        raise OscArgError(f"{what} must be a number (i h f d T F), got {type(value).__name__} {value!r:.40}")
    v = float(value)
    if not math.isfinite(v):
        raise OscArgError(f"{what} must be a finite number, got {v}")
    return v


def _integer(value, what: str) -> int:
    """An int, or a float holding a whole number (Pd and Max send every number as a float)."""
    v = _finite(value, what)
    if isinstance(value, bool) or v != math.floor(v):
        raise OscArgError(f"{what} must be a whole number, got {value!r}")
    return int(v)


def _slot(value) -> int:
    slot = _integer(value, "keyframe slot")
    if not 0 <= slot < SLOTS:
        raise OscArgError(f"keyframe slot {slot} out of range 0..{SLOTS - 1}")
    return slot


def _seed(value) -> int:
    return _integer(value, "seed") % 2**32


def _source(value) -> int:
    if isinstance(value, str) and value.lower() in SOURCES:
        return SOURCES.index(value.lower())
    if not isinstance(value, str) and value is not None and not isinstance(value, bytes):
        i = _integer(value, "source")
        if 0 <= i < len(SOURCES):
            return i
    raise OscArgError(f"source must be a, b, c or 0..2, got {value!r:.40}")
