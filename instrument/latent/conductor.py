"""The conductor: turns parameters, performer actions and time into one LatentFrame per rendered frame.

It never reads a clock: the engine passes (t, dt) to `step`, and all randomness comes from generators seeded by the
run seed, so the same seed, the same steps and the same actions at the same steps give bit-identical frames (a show
recorded as its action log can be re-rendered offline).

What it takes and gives, `Action` and `LatentFrame`, is defined in `handoffs.py`; the controls, recorders and
renderers import both from here as well.
"""

from __future__ import annotations

import difflib
import inspect
import math

import numpy as np

from instrument.latent.directions import LAYER_RANGES, NUM_KNOBS
from instrument.latent.handoffs import QUEUE_LEN, Action, ActionQueue, LatentFrame
from instrument.latent.interp import Glide, latent_from_seed, smoothstep, to_shell
from instrument.latent.keyframes import Journey, Keyframes, leg_seconds
from instrument.latent.mixing import GROUPS, check_mask, mixing_weights
from instrument.latent.spring import SpringDamper
from instrument.latent.wander import Wander
from instrument.params import ParamStore, Smoother

SOURCES = ("a", "b", "c")
MOTION_MODES = ("spring", "slerp", "lerp")  # what param motion.mode's choices may name
_WANDER_STREAM, _NOISE_STREAM = 1, 2  # spawn keys: independent random streams derived from the one run seed
_PARAMS = {"mode": "motion.mode", "k": "spring.stiffness", "zeta": "spring.damping", "kick": "spring.kick",
           "seconds": "motion.seconds", "wander": "wander.amount", "wander_hz": "wander.speed",
           "journey": "journey.speed", "journey_s": "journey.seconds", "journey_sync": "journey.sync",
           "beats": "journey.beats", "bpm": "journey.bpm", "psi": "truncation.psi", "cutoff": "truncation.cutoff", "noise": "noise.mode",
           "direction_layers": "direction.layers", "class": "class.position"}


class Conductor:
    """Steps three latent sources (A, B, C) towards their targets and emits frames for the generator thread.

    Public state, read by other threads without a lock: keyframes, journey, mode, index, last_frame, last_error and
    the counters actions_posted / actions_dropped / actions_applied / actions_rejected / recalls_empty.
    Invariant: actions_posted == actions_applied + actions_rejected + actions_dropped + pending.
    """

    def __init__(self, store: ParamStore, z_dim: int, num_ws: int, seed: int, queue_len: int = QUEUE_LEN,
                 audio_dim: int = 0):
        self.store, self.z_dim, self.num_ws = store, int(z_dim), int(num_ws)
        self.seed = int(seed) % 2**32
        self.smoother = Smoother(store)
        self._ix = {key: store.slot(name) for key, name in _PARAMS.items()}  # fails early on a foreign table
        self._mix_ix = np.array([[store.slot(f"mix.{g}.{s}") for s in SOURCES] for g in GROUPS])
        self._noise_labels = store.spec("noise.mode")
        self._dir_ix = np.array([store.slot(f"direction.{k}") for k in range(1, NUM_KNOBS + 1)])
        self._dir_labels = _check_layer_ranges(store.spec("direction.layers").choices)
        self._modes = _check_modes(store.spec("motion.mode").choices)
        self._init_motion()
        self.keyframes = Keyframes(self.z_dim, sound_dim=audio_dim)  # audio_dim: the timbre VAE's latent size
        self.journey = Journey()
        self.layer_mask: np.ndarray | None = None
        self.on_post = None  # optional callable(Action), called on the posting thread
        self._init_counters(queue_len)

    def _init_motion(self) -> None:
        """Targets from the seeds seed, seed+1, seed+2; every source starts at rest on its target."""
        self._rng = np.random.default_rng(self.seed)
        self._targets = np.stack([latent_from_seed((self.seed + i) % 2**32, self.z_dim) for i in range(3)])
        self._pos = self._targets.copy()   # trajectory output before wander (the spring state is never projected)
        self._vel = np.zeros_like(self._pos)
        self._shown = self._pos.copy()     # last emitted latents, float64: what `store` saves
        self._mix = np.empty((self.num_ws, 3))
        self.spring = SpringDamper(self._pos)
        self.mode = self._modes[int(self.smoother.values[self._ix["mode"]])]
        self.glide = Glide(self._pos, kind="slerp" if self.mode == "spring" else self.mode)
        self.wander = Wander(self._pos.shape, np.random.SeedSequence(self.seed, spawn_key=(_WANDER_STREAM,)))
        self._sound_from = self._sound_to = (None, 0.0)  # (timbre latent or None, weight) where A left / heads
        self._sound_origin = self._pos[0].copy()          # where source A was when it left
        self._sound_slot: int | None = None               # the keyframe slot source A heads to, if any

    def _init_counters(self, queue_len: int) -> None:
        self.index = 0
        self.actions_applied = self.actions_rejected = self.recalls_empty = 0
        self.last_error = ""
        self.last_frame: LatentFrame | None = None
        self._queue = ActionQueue(queue_len)
        self._handlers = {name[5:]: getattr(self, name) for name in dir(self) if name.startswith("_act_")}
        self._signatures = {name: inspect.signature(h) for name, h in self._handlers.items()}

    # ---- read by other threads -------------------------------------------------------------------------------
    @property
    def actions_posted(self) -> int:
        return self._queue.posted

    @property
    def actions_dropped(self) -> int:
        return self._queue.dropped

    @property
    def pending(self) -> int:
        return len(self._queue)

    @property
    def action_names(self) -> tuple[str, ...]:
        return tuple(sorted(self._handlers))

    @property
    def audio_dim(self) -> int:
        """Size of the keyframes' timbre latents (0 until known): the z-log header's audio_dim."""
        return self.keyframes.sound_dim

    @property
    def targets(self) -> np.ndarray:
        """A copy of the three source targets, float64 [3, z_dim]."""
        return self._targets.copy()

    # ---- called from input threads ---------------------------------------------------------------------------
    def post(self, action: Action) -> None:
        """Queue an action for the next step; never blocks on the conductor, never raises for a bad action."""
        self._queue.put(action)
        observer = self.on_post
        if observer is not None:  # e.g. the z-log recorder; must be quick and must not raise
            observer(action)

    def act(self, name: str, *args) -> None:
        self.post(Action(name, args))

    # ---- called once per frame by the engine ---------------------------------------------------------------
    def step(self, t: float, dt: float) -> LatentFrame:
        """Advance by dt seconds (conductor time t) and return a new frame with its own arrays."""
        dt_s = float(dt) if math.isfinite(dt) and dt > 0 else 0.0
        values = self.smoother.step(dt_s)
        self._follow_mode(values)
        self._apply_actions()
        _, changed = self.journey.advance(dt_s, *self._journey_pace(values))
        if changed:
            self._target_stop()
        self._advance_trajectory(values, dt_s)
        offset = self.wander.step(dt_s, values[self._ix["wander_hz"]], values[self._ix["wander"]])
        return self._emit(t, values, offset)

    def _journey_pace(self, values: np.ndarray) -> tuple[float, float | None]:
        """(speed, leg seconds): synced legs last journey.beats at journey.bpm, unscaled so they stay on the beat;
        without a tempo they fall back to their own durations at journey.speed."""
        synced = values[self._ix["journey_sync"]] >= 1
        leg_s = leg_seconds(values[self._ix["beats"]], values[self._ix["bpm"]]) if synced else None
        return (1.0, leg_s) if leg_s is not None else (values[self._ix["journey"]], None)

    def _follow_mode(self, values: np.ndarray) -> None:
        """Switch trajectory mode, handing over position (and velocity) so the latent does not jump."""
        mode = self._modes[int(values[self._ix["mode"]])]
        if mode == self.mode:
            return
        self._sound_from, self._sound_origin = self._sound_now(), self._pos[0].copy()  # the path restarts here
        if mode == "spring":
            self.spring.reset(self._pos, self._vel)
        elif self.mode == "spring":
            self.glide.kind = mode
            self.glide.retarget(self._targets, self._pos)
        else:
            self.glide.set_kind(mode)
        self.mode = mode

    def _advance_trajectory(self, values: np.ndarray, dt_s: float) -> None:
        if self.mode == "spring":
            x = self.spring.step(self._targets, dt_s, values[self._ix["k"]], values[self._ix["zeta"]])
            self._vel[...] = self.spring.v
        else:
            self.glide.seconds = values[self._ix["seconds"]]
            x = self.glide.step(dt_s)
            if dt_s > 0:  # why: kept so a switch back to spring carries the glide's speed
                np.subtract(x, self._pos, out=self._vel)
                self._vel /= dt_s
        self._pos[...] = x

    def _emit(self, t: float, values: np.ndarray, offset: np.ndarray) -> LatentFrame:
        z = to_shell(self._pos + offset, out=self._shown)
        groups = dict(zip(GROUPS, values[self._mix_ix]))
        mix = mixing_weights(self.num_ws, groups, self.layer_mask, out=self._mix)
        seed = np.random.SeedSequence(self.seed, spawn_key=(_NOISE_STREAM, self.index)).generate_state(1)[0]
        frame = LatentFrame(index=self.index, t=float(t), z=z.astype(np.float32), mix=mix.astype(np.float32),
                            psi=float(values[self._ix["psi"]]),
                            cutoff=min(int(values[self._ix["cutoff"]]), self.num_ws),
                            noise_mode=self._noise_labels.label(values[self._ix["noise"]]), noise_seed=int(seed),
                            directions=values[self._dir_ix].astype(np.float32),
                            direction_layers=self._dir_labels[int(values[self._ix["direction_layers"]])])
        frame.class_position = float(values[self._ix["class"]])
        sound, frame.audio_weight = self._sound_now()
        frame.audio = None if sound is None else sound.astype(np.float32)
        self.index += 1
        self.last_frame = frame
        return frame

    # ---- actions ---------------------------------------------------------------------------------------------
    def _apply_actions(self) -> None:
        for action in self._queue.drain():
            try:
                self._apply(action)
                self.actions_applied += 1
            except Exception as exc:  # why: a bad message from a controller must never stop the show
                self.actions_rejected += 1
                name = getattr(action, "name", type(action).__name__)
                self.last_error = f"action {name!r}: {exc}".replace("\n", " ")

    def _apply(self, action: Action) -> None:
        if not isinstance(action, Action):
            raise TypeError(f"not an Action: {action!r:.80}")
        handler = self._handlers.get(action.name)
        if handler is None:
            near = difflib.get_close_matches(str(action.name), self._handlers, n=1)
            hint = f"; did you mean '{near[0]}'?" if near else f"; known: {', '.join(self.action_names)}"
            raise ValueError(f"unknown action{hint}")
        if not isinstance(action.args, tuple):
            raise TypeError(f"args must be a tuple, got {type(action.args).__name__}")
        try:
            self._signatures[action.name].bind(*action.args)
        except TypeError:
            raise TypeError(f"takes {self._signatures[action.name]}, got {len(action.args)} argument(s)") from None
        handler(*action.args)

    def _retarget(self, source: int, z: np.ndarray, slot: int | None = None) -> None:
        if source == 0:
            self._aim_sound(slot)
        self._targets[source] = to_shell(z)
        if self.mode != "spring":
            self.glide.retarget(self._targets[source], self._pos[source], source)

    def _target_stop(self) -> None:
        """Send source A towards the journey's current stop; an empty slot or unusable latent is counted, skipped."""
        key = self.journey.current.key
        if not isinstance(key, np.ndarray):
            self._act_set_source_keyframe(0, key)
        elif key.shape != (self.z_dim,):
            self.recalls_empty += 1
        else:
            self._retarget(0, key)

    def _act_random_target(self, source=0) -> None:
        self._retarget(_source(source), self._rng.standard_normal(self.z_dim))

    def _act_store(self, slot, source=0) -> None:
        self.keyframes.store(slot, self._shown[_source(source)])

    def _act_recall(self, slot) -> None:
        self._act_set_source_keyframe(0, slot)

    def _act_set_source_keyframe(self, source, slot) -> None:
        source, z = _source(source), self.keyframes.recall(slot)
        if z is None:
            self.recalls_empty += 1
        else:
            self._retarget(source, z, self.keyframes.check_slot(slot))

    def _act_keyframe_sound(self, slot, latent, name="") -> None:
        """Let keyframe `slot` carry a sound's timbre latent (None: none); `name` is for the log's reader only.
        If source A is heading there, the new sound is its destination from now on."""
        self.keyframes.attach_sound(slot, latent)
        if self.keyframes.check_slot(slot) == self._sound_slot:
            sound = self.keyframes.sound(slot)
            self._sound_to = (sound, 0.0 if sound is None else 1.0)

    # ---- sound keyframes: source A's timbre follows the picture between keyframes ------------------------------
    def _aim_sound(self, slot: int | None) -> None:
        """Source A leaves for `slot` (None: a latent without a sound): the timbre starts from where it is now."""
        self._sound_from, self._sound_origin = self._sound_now(), self._pos[0].copy()
        sound = None if slot is None else self.keyframes.sound(slot)
        self._sound_to, self._sound_slot = (sound, 0.0 if sound is None else 1.0), slot

    def _sound_fraction(self) -> float:
        """How far the picture's source A has come from where it left (0) to its target (1): the glide's own
        eased fraction, or for the spring the projection of its position onto the way (clipped: overshoot is 1)."""
        if self.mode != "spring":
            return float(smoothstep(min(float(self.glide.u[0]), 1.0)))
        way = self._targets[0] - self._sound_origin
        length2 = float(way @ way)
        if length2 < 1e-12:
            return 1.0
        return min(max(float((self._pos[0] - self._sound_origin) @ way) / length2, 0.0), 1.0)

    def _sound_now(self) -> tuple[np.ndarray | None, float]:
        """(timbre latent, weight) at the current fraction t. With ends (s_a, w_a), (s_b, w_b) the voice hears
        c + k·w·(s − c) for coupled timbre c and k = timbre.keyframes, which is the lerp of the two ends' sounds
        when w = lerp(w_a, w_b, t) and s = ((1 − t)·w_a·s_a + t·w_b·s_b) / w: a soundless end is the coupling."""
        t = self._sound_fraction()
        (s_a, w_a), (s_b, w_b) = self._sound_from, self._sound_to
        w = (1.0 - t) * w_a + t * w_b
        if w <= 0.0:
            return None, 0.0
        s = sum(p * x for p, x in (((1.0 - t) * w_a, s_a), (t * w_b, s_b)) if p > 0.0) / w
        return s, float(w)

    def _act_kick(self, strength=1.0) -> None:
        """Random-direction velocity impulse per source, |Δv| = strength · spring.kick · radius (per second)."""
        if self.mode != "spring":
            raise ValueError(f"ignored: motion.mode is {self.mode}, kicks move the spring only")
        speed = _finite(strength, "strength") * self.smoother.values[self._ix["kick"]] * math.sqrt(self.z_dim)
        direction = self._rng.standard_normal(self._pos.shape)
        direction /= np.maximum(np.linalg.norm(direction, axis=-1, keepdims=True), 1e-300)
        self.spring.kick(direction * speed)

    def _act_set_target(self, source, z) -> None:
        self._retarget(_source(source), self._latent(z))

    def _act_set_source_seed(self, source, seed) -> None:
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an integer, got {seed!r}")
        self._retarget(_source(source), latent_from_seed(seed, self.z_dim))

    def _act_journey_play(self, slots, durations_s) -> None:
        slots = tuple(slots)
        durations = tuple(durations_s) if np.ndim(durations_s) else (durations_s,) * len(slots)
        if len(durations) != len(slots):
            raise ValueError(f"{len(slots)} slots but {len(durations)} durations")
        for slot in slots:
            self.keyframes.check_slot(slot)
        self.journey.play(list(zip(slots, durations)))
        self._target_stop()

    def _act_journey_toggle(self) -> None:
        """Stop a playing journey, or play one through every stored keyframe in slot order."""
        if self.journey.playing:
            self.journey.stop()
            return
        slots = self.keyframes.occupied()
        if len(slots) < 2:
            raise ValueError(f"a journey needs two stored keyframes, {len(slots)} stored (shift+1..9 stores)")
        self._act_journey_play(slots, float(self.smoother.values[self._ix["journey_s"]]))

    def _act_journey_stop(self) -> None:
        self.journey.stop()

    def _act_journey_next(self) -> None:
        self.journey.next()
        self._target_stop()

    def _act_layer_mask(self, mask) -> None:
        self.layer_mask = None if mask is None else check_mask(mask, self.num_ws).copy()

    def _latent(self, z) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)
        if z.shape != (self.z_dim,) or not np.all(np.isfinite(z)):
            raise ValueError(f"latent must be finite with shape ({self.z_dim},), got shape {z.shape}")
        return z


def _source(value) -> int:
    """A source given as 0/1/2 or 'a'/'b'/'c' (any case) as its index."""
    if isinstance(value, str) and value.lower() in SOURCES:
        return SOURCES.index(value.lower())
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) and 0 <= value < 3:
        return int(value)
    raise ValueError(f"source must be 0, 1, 2 or 'a', 'b', 'c', got {value!r}")


def _check_modes(choices: tuple[str, ...]) -> tuple[str, ...]:
    unknown = set(choices) - set(MOTION_MODES)
    if unknown:
        raise ValueError(f"param motion.mode offers {sorted(unknown)}; the conductor knows {MOTION_MODES}")
    return choices


def _check_layer_ranges(choices: tuple[str, ...]) -> tuple[str, ...]:
    unknown = set(choices) - set(LAYER_RANGES)
    if unknown:
        raise ValueError(f"param direction.layers offers {sorted(unknown)}; directions know {LAYER_RANGES}")
    return choices


def _finite(value, what: str) -> float:
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return v
