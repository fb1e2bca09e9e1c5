"""The parameter table: every playable parameter, declared once.

OSC addresses, MIDI-learn targets, presets, the HUD and the z-log schema are derived from `PARAMS`. Adding a
parameter is one `Param(...)` line; the engine reads values through a `ParamStore`, which types and clamps
every value on arrival (like mido's `checks.py`) so no stage ever sees an out-of-range number.
"""

from __future__ import annotations

import difflib
import math
import threading
from dataclasses import dataclass, field

import numpy as np

from instrument.errors import InstrumentError

CURVES = ("lin", "exp")  # how a 0..1 control (a fader) maps onto [lo, hi]
KINDS = ("float", "int", "bool", "enum")


@dataclass(frozen=True)
class Param:
    name: str                     # dotted, group first: "spring.stiffness"
    lo: float                     # lowest value (for enums: 0)
    hi: float                     # highest value (for enums: len(choices) - 1)
    default: float
    unit: str = ""
    kind: str = "float"           # float | int | bool | enum
    curve: str = "lin"            # lin | exp (exp needs lo > 0)
    smoothing_s: float = 0.0      # one-pole time constant applied by the conductor; 0 = immediate
    choices: tuple[str, ...] = ()  # enum labels, index = value
    doc: str = ""

    @property
    def group(self) -> str:
        return self.name.split(".", 1)[0]

    def clamp(self, value: float) -> float:
        """Clamp (and round, for int/bool/enum kinds) a value into range."""
        v = min(max(float(value), self.lo), self.hi)
        if self.kind != "float":
            v = float(round(v))
        return v

    def from_unit(self, u: float) -> float:
        """Map a 0..1 control position onto the parameter's range along its curve."""
        u = min(max(float(u), 0.0), 1.0)
        if self.curve == "exp":
            return self.clamp(self.lo * (self.hi / self.lo) ** u)
        return self.clamp(self.lo + u * (self.hi - self.lo))

    def to_unit(self, value: float) -> float:
        """Inverse of `from_unit`: where a control must sit to produce `value`."""
        v = self.clamp(value)
        if self.hi == self.lo:
            return 0.0
        if self.curve == "exp":
            return math.log(v / self.lo) / math.log(self.hi / self.lo)
        return (v - self.lo) / (self.hi - self.lo)

    def label(self, value: float) -> str:
        if self.kind == "enum":
            return self.choices[int(self.clamp(value))]
        if self.kind == "bool":
            return "on" if value >= 0.5 else "off"
        if self.kind == "int":
            return str(int(value))
        return f"{value:.3g}{(' ' + self.unit) if self.unit else ''}"


def _enum(name: str, choices: tuple[str, ...], default: str, doc: str) -> Param:
    return Param(name, 0, len(choices) - 1, choices.index(default), kind="enum", choices=choices, doc=doc)


def _direction(k: int) -> Param:
    return Param(f"direction.{k}", -5.0, 5.0, 0.0, unit="σ", smoothing_s=0.05,
                 doc=f"Move along PCA direction {k} of w (GANSpace), in standard deviations of w along it")


def _mix(group: str, source: str, default: float) -> Param:
    return Param(f"mix.{group}.{source}", 0.0, 1.0, default, smoothing_s=0.05,
                 doc=f"Weight of latent source {source.upper()} in the {group} w-layers (normalised with the others)")


PARAMS: tuple[Param, ...] = (
    # The trajectory (Akten's physical interpolation) and its alternatives.
    _enum("motion.mode", ("spring", "slerp", "lerp"), "spring", "How the latent travels to its target"),
    Param("spring.stiffness", 0.1, 200.0, 9.0, unit="1/s²", curve="exp", doc="How hard the latent is pulled to its target"),
    Param("spring.damping", 0.05, 4.0, 1.0, unit="ζ", curve="exp", doc="Damping ratio: 1 is critical (no overshoot), below 1 rings"),
    Param("spring.kick", 0.0, 10.0, 1.5, unit="radii/s", doc="Speed of the random impulse a kick gives each latent source"),
    Param("motion.seconds", 0.05, 30.0, 2.0, unit="s", curve="exp", doc="Duration of a slerp/lerp transition to a new target"),
    Param("wander.amount", 0.0, 1.0, 0.0, smoothing_s=0.1, doc="Noise wander around the target, as a fraction of the latent's radius"),
    Param("wander.speed", 0.01, 10.0, 0.3, unit="Hz", curve="exp", doc="How fast the wander noise moves"),
    Param("journey.seconds", 0.5, 60.0, 4.0, unit="s", curve="exp", doc="Time at each keyframe of a journey started without durations (key j)"),
    Param("journey.speed", 0.1, 10.0, 1.0, unit="×", curve="exp", doc="Playback speed of the current journey"),
    _enum("journey.sync", ("off", "beats"), "off", "Journey legs last their own seconds (off) or journey.beats at journey.bpm"),
    Param("journey.beats", 1, 64, 4, kind="int", unit="beats", doc="Beats per journey leg when journey.sync is beats"),
    Param("journey.bpm", 0.0, 300.0, 0.0, unit="BPM", doc="Tempo journeys sync to, from MIDI clock or OSC; 0 = none, legs keep their seconds"),
    # What the generator is given.
    Param("truncation.psi", -1.0, 2.0, 0.8, smoothing_s=0.05, doc="Truncation ψ: 1 is the full distribution, 0 the mean image"),
    Param("truncation.cutoff", 1, 32, 32, kind="int", doc="Truncate only w-layers below this index (32 = all layers)"),
    _enum("noise.mode", ("const", "random", "off"), "const", "Per-pixel noise inputs: fixed, fresh every frame, or none"),
    _mix("coarse", "a", 1.0), _mix("coarse", "b", 0.0), _mix("coarse", "c", 0.0),
    _mix("middle", "a", 1.0), _mix("middle", "b", 0.0), _mix("middle", "c", 0.0),
    _mix("fine", "a", 1.0), _mix("fine", "b", 0.0), _mix("fine", "c", 0.0),
    # GANSpace directions (instrument directions --model ...), added to w after truncation.
    *(_direction(k) for k in range(1, 9)),
    _enum("direction.layers", ("all", "coarse", "middle", "fine"), "all",
          "Which w-layers the direction.* knobs move (the same groups as mix.*)"),
    # StyleGAN3 only: the Fourier input's transform (ignored by StyleGAN2 models).
    Param("sg3.translate.x", -1.0, 1.0, 0.0, unit="widths", smoothing_s=0.05, doc="StyleGAN3: move the image content sideways"),
    Param("sg3.translate.y", -1.0, 1.0, 0.0, unit="widths", smoothing_s=0.05, doc="StyleGAN3: move the image content up or down"),
    Param("sg3.rotate", -180.0, 180.0, 0.0, unit="°", smoothing_s=0.05, doc="StyleGAN3: rotate the image content"),
    # Conditional models only (c_dim > 0): the class given to the mapping network (ignored by the others).
    Param("class.position", 0.0, 1.0, 0.0, smoothing_s=0.05, doc="Conditional models: class k of N sits at k/(N−1); in between, the two neighbours blend"),
    # The voice: the trajectory heard through the latent-timbre VAE.
    Param("audio.gain", 0.0, 2.0, 0.5, smoothing_s=0.05, doc="Output level of the timbre synth"),
    Param("timbre.amount", 0.0, 2.0, 1.0, smoothing_s=0.1, doc="How far the picture's latent moves the sound's latent (0 = the offset timbre)"),
    Param("timbre.offset", -3.0, 3.0, 0.0, unit="σ", smoothing_s=0.1, doc="Shift of the timbre latent from the corpus mean, in posterior std"),
    Param("timbre.scale", 0.1, 4.0, 1.0, unit="σ", curve="exp", smoothing_s=0.1, doc="Spread of the visually driven timbre latent, in posterior std"),
    Param("timbre.freeze", 0, 1, 0, kind="bool", doc="Hold the current timbre: ignore new visual latents"),
    Param("timbre.brightness", -2.0, 2.0, 0.0, unit="6 dB/oct", smoothing_s=0.05, doc="Spectral tilt around 1 kHz applied to decoded frames"),
    Param("timbre.keyframes", 0.0, 1.0, 1.0, doc="How much keyframes' sounds replace the picture's timbre as a journey or glide moves between them"),
    # The shader chain (shaders/*.glsl).
    Param("fx.feedback.amount", 0.0, 0.99, 0.0, smoothing_s=0.05, doc="How much of the previous output feeds back into the image"),
    Param("fx.feedback.zoom", 0.8, 1.25, 1.02, curve="exp", smoothing_s=0.05, unit="×", doc="Zoom applied to the fed-back image each frame"),
    Param("fx.feedback.rotate", -10.0, 10.0, 0.0, unit="°", smoothing_s=0.05, doc="Rotation applied to the fed-back image each frame"),
    Param("fx.pixelsort.amount", 0.0, 1.0, 0.0, doc="How far pixel runs are sorted by brightness (0 = off)"),
    Param("fx.pixelsort.threshold", 0.0, 1.0, 0.25, doc="Brightness above which pixels join a run that gets sorted"),
    _enum("fx.pixelsort.direction", ("right", "left", "down", "up"), "down", "Direction bright pixels move when sorted"),
    Param("hud.visible", 0, 1, 1, kind="bool", doc="Show the heads-up display of rates and latencies"),
)


def markdown_table(params: tuple[Param, ...] = PARAMS) -> str:
    """The README's parameter table, generated so it can never drift from the code."""
    rows = ["| parameter | range | default | unit | what it does |", "|---|---|---|---|---|"]
    for p in params:
        span = " / ".join(p.choices) if p.kind == "enum" else "off / on" if p.kind == "bool" else f"{p.lo:g} … {p.hi:g}"
        default = p.label(p.default).removesuffix(" " + p.unit) if p.unit else p.label(p.default)
        rows.append(f"| `{p.name}` | {span} | {default} | {p.unit} | {p.doc} |")
    return "\n".join(rows)


class UnknownParam(InstrumentError):
    pass


class ParamStore:
    """Current values of every parameter; latest value wins.

    Writers (OSC, MIDI, keys) call `set` from their own threads; readers (the conductor, the display) read
    `values` without a lock: a float64 store into a numpy array is a single assignment, and readers only need
    the newest value, not a consistent snapshot of all of them. `version` grows on every change so a reader can
    tell cheaply whether anything moved.
    """

    def __init__(self, params: tuple[Param, ...] = PARAMS):
        self.params = params
        self.index = {p.name: i for i, p in enumerate(params)}
        self.values = np.array([p.default for p in params], dtype=np.float64)
        self.version = 0
        self.clamped = 0
        self._write_lock = threading.Lock()  # writers only: keeps version/clamped counts exact

    def spec(self, name: str) -> Param:
        return self.params[self.slot(name)]

    def slot(self, name: str) -> int:
        try:
            return self.index[name]
        except KeyError:
            near = difflib.get_close_matches(name, self.index, n=1)
            hint = f"; did you mean '{near[0]}'?" if near else "; run 'instrument params' for the list"
            raise UnknownParam(f"unknown parameter '{name}'{hint}") from None

    def set(self, name: str, value: float) -> float:
        """Set a parameter, clamping into range. Returns the value stored."""
        i = self.slot(name)
        p = self.params[i]
        v = p.clamp(value)
        with self._write_lock:
            if v != float(value):
                self.clamped += 1
            self.values[i] = v
            self.version += 1
        return v

    def set_unit(self, name: str, u: float) -> float:
        return self.set(name, self.spec(name).from_unit(u))

    def get(self, name: str) -> float:
        return float(self.values[self.slot(name)])

    def as_dict(self) -> dict[str, float]:
        return {p.name: float(v) for p, v in zip(self.params, self.values)}

    def reset(self) -> None:
        with self._write_lock:
            self.values[:] = [p.default for p in self.params]
            self.version += 1

    def share_values(self, array: np.ndarray) -> None:
        """Keep the values in `array` from now on (float64 [len(params)], e.g. a view of shared memory the audio
        process reads), copying the current ones over. Holders of the old array (a recording) keep a stale copy."""
        with self._write_lock:
            array[:] = self.values
            self.values = array
            self.version += 1


@dataclass
class Smoother:
    """One-pole smoothing of every parameter with a `smoothing_s`, stepped with the caller's dt."""

    store: ParamStore
    values: np.ndarray = field(init=False)

    def __post_init__(self):
        self.values = self.store.values.copy()
        tau = np.array([p.smoothing_s for p in self.store.params])
        self._immediate = np.flatnonzero(tau <= 0)
        self._neg_rate = -1.0 / np.maximum(tau, 1e-9)
        self._alpha = np.empty_like(tau)
        self._delta = np.empty_like(tau)

    def step(self, dt: float) -> np.ndarray:
        """Advance by dt seconds; returns the smoothed values (the same array every call, updated in place)."""
        alpha, delta = self._alpha, self._delta
        np.multiply(self._neg_rate, dt, out=alpha)
        np.exp(alpha, out=alpha)
        np.subtract(1.0, alpha, out=alpha)   # 1 - exp(-dt / tau)
        alpha[self._immediate] = 1.0
        np.subtract(self.store.values, self.values, out=delta)
        delta *= alpha
        self.values += delta
        return self.values
