"""MIDI mappings: which control (cc / note / pitchbend / nrpn on a channel) drives which parameter or action.

A mapping is a list of `Binding`s read from a TOML file (shipped ones live in `presets/controllers/`, a learned one
in `~/.config/instrument/midi.toml`). Every binding is checked against the parameter table and the conductor's
actions on load, and each problem is one line naming the file, the binding and the fix.

    name = "Korg nanoKONTROL2"
    channel = 0                                    # default channel (0..15, or "any") of the bindings below
    feedback = true                                # optional: send values back to the controller's LEDs
    [[binding]]
    type = "cc"                                    # cc | note | pitchbend | nrpn
    number = 0
    param = "spring.stiffness"                     # or: action = "recall", args = [1]
    lo = 1.0                                       # optional sub-range of the parameter
    hi = 50.0
    curve = "exp"                                  # optional: lin | exp
    bits = 14                                      # optional: cc n with n+32, or an NRPN's data LSB
    mode = "relative-twos"                         # optional: absolute | toggle | relative-twos|signed|offset
    step = 0.01                                    # relative modes: control positions (0..1) per tick
    takeover = false                               # optional: soft takeover (pick-up), on by default
"""

from __future__ import annotations

import difflib
import importlib.resources
import inspect
import math
import os
import tempfile
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from instrument.errors import InstrumentError
from instrument.latent.conductor import Conductor
from instrument.params import CURVES, PARAMS, Param

TYPES = ("cc", "note", "pitchbend", "nrpn")
MODES = ("absolute", "toggle", "relative-twos", "relative-signed", "relative-offset")
NUMBER_MAX = {"cc": 127, "note": 127, "pitchbend": 0, "nrpn": 16383}
OMNI = -1                                          # channel = "any": the binding answers on every channel
_CHECKOUT_PRESETS = Path(__file__).resolve().parents[2] / "presets" / "controllers"
USER_MAP_PATH = Path("~/.config/instrument/midi.toml").expanduser()


def _learn_last(self) -> None:
    """Arm MIDI learn for the parameter last changed from OSC or keys (handled by the router, not the conductor)."""


ROUTER_ACTIONS = {"learn_last": inspect.signature(_learn_last)}
ACTIONS = {**{n[5:]: inspect.signature(getattr(Conductor, n)) for n in dir(Conductor) if n.startswith("_act_")},
           **ROUTER_ACTIONS}
_PARAMS = {p.name: p for p in PARAMS}


class MappingError(InstrumentError):
    """A controller mapping file that cannot be read or names something the instrument does not have."""


@dataclass(frozen=True)
class Binding:
    type: str                      # cc | note | pitchbend | nrpn
    channel: int                   # 0..15, or OMNI (-1, "any" in TOML)
    number: int = 0                # cc 0..127, note 0..127, nrpn 0..16383, pitchbend 0
    param: str = ""                # a parameter name from PARAMS ...
    action: str = ""               # ... or a conductor action name
    args: tuple = ()               # action arguments; for kick, args[0] is scaled by note velocity
    lo: float | None = None        # sub-range of the parameter (None = the parameter's own lo/hi)
    hi: float | None = None
    curve: str = ""                # "" = the parameter's curve
    bits: int = 7                  # 7 or 14
    mode: str = "absolute"
    step: float = 1.0 / 128        # relative modes: control position per tick
    takeover: bool = True

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.type, self.channel, self.number)

    @property
    def relative(self) -> bool:
        return self.mode.startswith("relative-")

    def spec(self) -> Param:
        return _PARAMS[self.param]

    def value_at(self, u: float) -> float:
        """The parameter value for control position u (0..1) along this binding's range and curve."""
        p = self.spec()
        lo, hi = _or(self.lo, p.lo), _or(self.hi, p.hi)
        u = min(max(float(u), 0.0), 1.0)
        if (self.curve or p.curve) == "exp":
            return p.clamp(lo * (hi / lo) ** u)
        return p.clamp(lo + u * (hi - lo))

    def unit_of(self, value: float) -> float:
        """Inverse of `value_at`: where the control must sit to produce `value` (clipped to 0..1)."""
        p = self.spec()
        lo, hi = _or(self.lo, p.lo), _or(self.hi, p.hi)
        if hi == lo:
            return 0.0
        if (self.curve or p.curve) == "exp":
            u = math.log(max(value, 1e-300) / lo) / math.log(hi / lo)
        else:
            u = (value - lo) / (hi - lo)
        return min(max(u, 0.0), 1.0)


def _or(value: float | None, default: float) -> float:
    return default if value is None else float(value)


@dataclass
class Mapping:
    """An ordered set of bindings, at most one per control, looked up by (type, channel, number)."""

    name: str = "untitled"
    bindings: dict[tuple[str, int, int], Binding] = field(default_factory=dict)
    feedback: bool = False         # send parameter values back to the controller (LED rings, motor faders)

    def add(self, binding: Binding) -> None:
        """Add a binding, replacing any binding of the same control."""
        self.bindings[binding.key] = binding

    def lookup(self, type_: str, channel: int, number: int) -> Binding | None:
        """The binding of this control on this channel, else an omni binding of it."""
        return self.bindings.get((type_, channel, number)) or self.bindings.get((type_, OMNI, number))

    def wide_ccs(self) -> frozenset[tuple[int, int]]:
        """(channel, cc) of every 14-bit CC binding (all 16 channels for an omni one): cc+32 carries the LSB."""
        wide = [b for b in self.bindings.values() if b.type == "cc" and b.bits == 14]
        return frozenset((c, b.number) for b in wide for c in (range(16) if b.channel == OMNI else (b.channel,)))

    def __eq__(self, other) -> bool:
        return (isinstance(other, Mapping) and self.name == other.name and self.bindings == other.bindings
                and self.feedback == other.feedback)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Mapping":
        path = Path(path)
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise MappingError(f"{path}: cannot read the mapping ({exc}); fix the file or pass another --midi-map") from exc
        return cls.from_dict(doc, str(path))

    @classmethod
    def from_dict(cls, doc: dict, where: str = "<mapping>") -> "Mapping":
        channel = doc.get("channel", 0)
        rows = doc.get("binding", [])
        if not isinstance(rows, list):
            raise MappingError(f"{where}: 'binding' must be an array of tables ([[binding]]); fix the file")
        feedback = doc.get("feedback", False)
        if not isinstance(feedback, bool):
            raise MappingError(f"{where}: feedback must be true or false, got {feedback!r:.40}")
        mapping = cls(name=str(doc.get("name", Path(where).stem)), feedback=feedback)
        for i, row in enumerate(rows, start=1):
            mapping.add(parse_binding(row, channel, f"{where}: binding {i}"))
        return mapping

    def save(self, path: str | os.PathLike) -> None:
        """Write the mapping as TOML atomically: a temp file in the same folder, then os.replace."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(self.to_toml())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def to_toml(self) -> str:
        lines = [f"name = {_toml(self.name)}", *(["feedback = true"] if self.feedback else []), ""]
        defaults = Binding("cc", 0)
        for b in self.bindings.values():
            lines.append("[[binding]]")
            for f in fields(Binding):
                value = getattr(b, f.name)
                if f.name == "channel" and value == OMNI:
                    lines.append('channel = "any"')
                elif f.name in ("type", "channel") or value != getattr(defaults, f.name):
                    lines.append(f"{f.name} = {_toml(value)}")
            lines.append("")
        return "\n".join(lines)


def _toml(value) -> str:
    """A TOML literal for the scalars and flat arrays a binding holds."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


# ---- validation ---------------------------------------------------------------------------------------------
_KNOWN = {f.name for f in fields(Binding)}


def parse_binding(row: dict, channel: int, where: str) -> Binding:
    """A checked Binding from one [[binding]] table; raises MappingError naming `where` and the fix."""
    if not isinstance(row, dict):
        raise MappingError(f"{where}: expected a table, got {row!r:.40}")
    unknown = sorted(set(row) - _KNOWN)
    if unknown:
        raise MappingError(f"{where}: unknown key '{unknown[0]}'{_hint(unknown[0], _KNOWN)}")
    row = {"channel": channel, **row}
    if row["channel"] == "any":
        row["channel"] = OMNI
    if "args" in row:
        row["args"] = tuple(row["args"]) if isinstance(row["args"], list) else row["args"]
    try:
        b = Binding(**row)
    except TypeError as exc:
        raise MappingError(f"{where}: {exc}; each binding needs at least type and one of param/action") from None
    _check_control(b, where)
    if b.param:
        _check_param(b, where)
    else:
        _check_action(b, where)
    return b


def _check_control(b: Binding, where: str) -> None:
    if b.type not in TYPES:
        raise MappingError(f"{where}: type '{b.type}' is not one of {', '.join(TYPES)}{_hint(b.type, TYPES)}")
    if not _is_int(b.channel) or not (0 <= b.channel <= 15 or b.channel == OMNI):
        raise MappingError(f"{where}: channel must be in range 0..15 (MIDI channel 1 is 0) or \"any\", "
                           f"got {b.channel!r}")
    top = NUMBER_MAX[b.type]
    if not _is_int(b.number) or not 0 <= b.number <= top:
        raise MappingError(f"{where}: {b.type} number must be in range 0..{top}, got {b.number!r}")
    if b.bits not in (7, 14):
        raise MappingError(f"{where}: bits must be 7 or 14, got {b.bits!r}")
    if b.bits == 14 and b.type == "cc" and b.number > 31:
        raise MappingError(f"{where}: a 14-bit cc needs its MSB number in 0..31 (LSB is number+32), got {b.number}")
    if b.mode not in MODES:
        raise MappingError(f"{where}: mode '{b.mode}' is not one of {', '.join(MODES)}{_hint(b.mode, MODES)}")
    if b.relative and b.type != "cc":
        raise MappingError(f"{where}: relative modes need a cc control, got {b.type}; use mode = \"absolute\"")
    if not isinstance(b.step, (int, float)) or not 0 < b.step <= 1:
        raise MappingError(f"{where}: step must be a control position per tick in (0, 1], got {b.step!r}")


def _check_param(b: Binding, where: str) -> None:
    if b.action:
        raise MappingError(f"{where}: give either param or action, not both")
    if b.param not in _PARAMS:
        raise MappingError(f"{where}: unknown parameter '{b.param}'{_hint(b.param, _PARAMS)}")
    p = b.spec()
    for end in ("lo", "hi"):
        v = getattr(b, end)
        if v is not None and (not isinstance(v, (int, float)) or not p.lo <= v <= p.hi):
            raise MappingError(f"{where}: {end} = {v!r} is outside {b.param}'s range {p.lo:g}..{p.hi:g}")
    curve = b.curve or p.curve
    if curve not in CURVES:
        raise MappingError(f"{where}: curve '{b.curve}' is not one of {', '.join(CURVES)}")
    if curve == "exp" and min(_or(b.lo, p.lo), _or(b.hi, p.hi)) <= 0:
        raise MappingError(f"{where}: an exp curve needs lo and hi above 0 for {b.param}; use curve = \"lin\"")


def _check_action(b: Binding, where: str) -> None:
    if not b.action:
        raise MappingError(f"{where}: give param = \"<parameter>\" or action = \"<action>\"")
    if b.action not in ACTIONS:
        raise MappingError(f"{where}: unknown action '{b.action}'{_hint(b.action, ACTIONS)}")
    if b.relative:
        raise MappingError(f"{where}: action '{b.action}' cannot take a relative mode; remove mode")
    try:
        ACTIONS[b.action].bind(None, *b.args)
    except TypeError:
        raise MappingError(f"{where}: action '{b.action}' takes {_sig(b.action)}, got args = {list(b.args)}") from None


def _sig(action: str) -> str:
    return str(ACTIONS[action]).replace("(self, ", "(").replace("(self)", "()")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _hint(name: str, choices) -> str:
    near = difflib.get_close_matches(str(name), list(choices), n=1)
    return f"; did you mean '{near[0]}'?" if near else f"; choose one of: {', '.join(sorted(choices))}"


def presets_dir() -> Path:
    """The shipped controller presets: the installed package `instrument.presets`, else the checkout's folder."""
    try:
        installed = Path(str(importlib.resources.files("instrument.presets") / "controllers"))
    except (ModuleNotFoundError, TypeError):
        return _CHECKOUT_PRESETS
    return installed if installed.is_dir() else _CHECKOUT_PRESETS


def preset_paths() -> list[Path]:
    return sorted(presets_dir().glob("*.toml"))


def load_preset(name_or_path: str) -> Mapping:
    """A shipped preset by stem ('nanokontrol2') or any mapping file by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = presets_dir() / f"{name_or_path}.toml"
    if not path.exists():
        stems = [p.stem for p in preset_paths()]
        raise MappingError(f"no MIDI mapping '{name_or_path}'{_hint(path.stem, stems)}")
    return Mapping.load(path)


