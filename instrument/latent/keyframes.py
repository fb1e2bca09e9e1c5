"""Keyframe slots (stored latents) and journeys (looping sequences of keyframes with durations).

A journey synced to a tempo gives every leg `beats · 60 / bpm` seconds instead of its own duration; the tempo
arrives as a parameter value (journey.bpm, written by the MIDI clock or OSC), never from a clock read here, so a
z-log replays it exactly. Without a tempo (bpm 0) the legs keep their free durations.

Both are plain state stepped by the conductor's thread; other threads (the HUD) may read them without a lock since
they only need a recent view, not a consistent snapshot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from instrument.errors import InstrumentError

SLOTS = 16


class KeyframeError(InstrumentError):
    pass


class Keyframes:
    """`slots` numbered slots, each empty or holding a private copy of a [dim] latent, and each optionally carrying
    a sound: a timbre latent [sound_dim] (instrument/audio/sounds.py), kept apart from the picture's latent so a
    sound can be attached before or after the picture is stored. sound_dim 0: set by the first sound attached."""

    def __init__(self, dim: int, slots: int = SLOTS, sound_dim: int = 0):
        self.dim, self.sound_dim = int(dim), int(sound_dim)
        self._slots: list[np.ndarray | None] = [None] * int(slots)
        self._sounds: list[np.ndarray | None] = [None] * int(slots)

    def __len__(self) -> int:
        return len(self._slots)

    def check_slot(self, slot) -> int:
        """The slot as an int, or a KeyframeError naming the valid range."""
        if isinstance(slot, (bool, np.bool_)) or not isinstance(slot, (int, np.integer)):
            raise KeyframeError(f"keyframe slot must be an integer 0..{len(self) - 1}, got {slot!r}")
        if not 0 <= int(slot) < len(self):
            raise KeyframeError(f"keyframe slot {int(slot)} out of range 0..{len(self) - 1}")
        return int(slot)

    def store(self, slot, z: np.ndarray) -> None:
        z = np.array(z, dtype=np.float64)  # a copy: later changes to the caller's array must not leak in
        if z.shape != (self.dim,) or not np.all(np.isfinite(z)):
            raise KeyframeError(f"keyframe latent must be finite with shape ({self.dim},), got shape {z.shape}")
        self._slots[self.check_slot(slot)] = z

    def recall(self, slot) -> np.ndarray | None:
        """A copy of the slot's latent, or None when the slot is empty."""
        z = self._slots[self.check_slot(slot)]
        return None if z is None else z.copy()

    def clear(self, slot) -> None:
        self._slots[self.check_slot(slot)] = None

    def occupied(self) -> list[int]:
        return [i for i, z in enumerate(self._slots) if z is not None]

    def attach_sound(self, slot, latent) -> None:
        """Let the slot carry this timbre latent [sound_dim] (None: no sound)."""
        slot = self.check_slot(slot)
        if latent is None:
            self._sounds[slot] = None
            return
        latent = np.array(latent, dtype=np.float64)  # a copy, as `store`
        dim = self.sound_dim or latent.size
        if latent.shape != (dim,) or not np.all(np.isfinite(latent)):
            raise KeyframeError(f"keyframe sound latent must be finite with shape ({dim},), got shape {latent.shape}")
        self.sound_dim, self._sounds[slot] = dim, latent

    def sound(self, slot) -> np.ndarray | None:
        """The slot's timbre latent (not a copy: never write to it), or None when it carries no sound."""
        return self._sounds[self.check_slot(slot)]


@dataclass(frozen=True, eq=False)  # eq=False: a latent key is an array, which has no truth value
class Stop:
    """One journey stop: a keyframe slot (resolved when reached) or an explicit latent, held for duration_s."""

    key: int | np.ndarray
    duration_s: float


class Journey:
    """A looping sequence of stops; `advance` moves through it at a speed multiplier."""

    def __init__(self):
        self.stops: tuple[Stop, ...] = ()
        self.index = 0
        self.elapsed_s = 0.0  # time spent at the current stop, in journey time (speed-scaled)
        self.playing = False
        self.leg_s: float | None = None  # the synced leg duration last used; None: each stop's own duration

    @property
    def current(self) -> Stop | None:
        return self.stops[self.index] if self.stops else None

    @property
    def loop_s(self) -> float:
        return sum(s.duration_s for s in self.stops)

    def load(self, stops) -> None:
        """Replace the stops (pairs (slot or latent, duration_s)) and rewind; does not start playing."""
        checked = tuple(_stop(key, duration) for key, duration in stops)
        if not checked:
            raise KeyframeError("a journey needs at least one stop")
        self.stops, self.index, self.elapsed_s = checked, 0, 0.0

    def play(self, stops=None) -> None:
        if stops is not None:
            self.load(stops)
        if not self.stops:
            raise KeyframeError("no journey loaded: give it stops (slot, duration_s) first")
        self.playing = True

    def stop(self) -> None:
        self.playing = False

    def next(self) -> int:
        """Jump to the next stop (wrapping) and restart its clock; returns the new index."""
        if not self.stops:
            raise KeyframeError("no journey loaded: give it stops (slot, duration_s) first")
        self.index = (self.index + 1) % len(self.stops)
        self.elapsed_s = 0.0
        return self.index

    def advance(self, dt_s: float, speed: float = 1.0, leg_s: float | None = None) -> tuple[int, bool]:
        """Move on by dt_s · speed of journey time; returns (current index, whether the index changed).

        leg_s, when given, is every stop's duration (a tempo-synced journey) in place of its own."""
        self.leg_s = leg_s
        if not self.playing or not self.stops:
            return self.index, False
        before = self.index
        self.elapsed_s += max(float(dt_s), 0.0) * max(float(speed), 0.0)
        loop_s = self.loop_s if leg_s is None else leg_s * len(self.stops)
        if self.elapsed_s >= loop_s:  # why: a long pause must not loop through thousands of stops one by one
            self.elapsed_s %= loop_s
        while self.elapsed_s >= self._duration_s(self.index):
            self.elapsed_s -= self._duration_s(self.index)
            self.index = (self.index + 1) % len(self.stops)
        return self.index, self.index != before

    def _duration_s(self, index: int) -> float:
        return self.stops[index].duration_s if self.leg_s is None else self.leg_s


def leg_seconds(beats: float, bpm: float) -> float | None:
    """Seconds of a journey leg of `beats` beats at `bpm`; None without a usable tempo (free durations then)."""
    if not (math.isfinite(bpm) and bpm > 0 and math.isfinite(beats) and beats > 0):
        return None
    return float(beats) * 60.0 / float(bpm)


def sync_status(synced: bool, beats: float, bpm: float) -> str:
    """One HUD/stats line on a journey's tempo sync; empty when sync is off."""
    if not synced:
        return ""
    leg_s = leg_seconds(beats, bpm)
    if leg_s is None:
        return "journey sync: no tempo (MIDI clock or /instrument/journey/bpm); free durations"
    return f"journey sync: {beats:g} beats at {bpm:.1f} BPM = {leg_s:.2f} s a leg"


def _stop(key, duration_s) -> Stop:
    duration_s = float(duration_s)
    if not (math.isfinite(duration_s) and duration_s > 0):
        raise KeyframeError(f"journey stop duration must be a positive number of seconds, got {duration_s!r}")
    if isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_)):
        return Stop(int(key), duration_s)
    z = np.array(key, dtype=np.float64)
    if z.ndim != 1 or not np.all(np.isfinite(z)):
        raise KeyframeError(f"journey stop must be a slot number or a finite 1-D latent, got {key!r:.60}")
    return Stop(z, duration_s)
