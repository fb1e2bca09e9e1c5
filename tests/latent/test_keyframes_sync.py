"""Journeys synced to a tempo: legs of journey.beats at journey.bpm, the tempo given as a parameter value."""

import numpy as np
import pytest

from instrument.latent.conductor import Action, Conductor
from instrument.latent.interp import latent_from_seed
from instrument.latent.keyframes import Journey, leg_seconds, sync_status
from instrument.params import ParamStore

Z, WS, DT = 16, 6, 1 / 64  # a binary fraction: leg boundaries fall exactly on frames


def test_leg_seconds_and_the_no_tempo_fallback():
    assert leg_seconds(4, 120.0) == 2.0 and leg_seconds(1, 60.0) == 1.0
    assert leg_seconds(4, 0.0) is None and leg_seconds(4, float("nan")) is None
    assert sync_status(False, 4, 120.0) == ""
    assert "2.00 s a leg" in sync_status(True, 4, 120.0)
    assert "no tempo" in sync_status(True, 4, 0.0) and "free durations" in sync_status(True, 4, 0.0)


def test_a_synced_leg_replaces_every_stop_duration():
    j = Journey()
    j.play([(0, 10.0), (1, 0.1), (2, 3.0)])
    assert j.advance(0.5, leg_s=1.0) == (0, False)
    assert j.advance(0.5, leg_s=1.0) == (1, True)
    assert j.advance(1.0, leg_s=1.0) == (2, True)
    assert j.advance(3.5, leg_s=1.0) == (2, False)                 # a long pause wraps by whole loops of 3 s
    assert j.advance(2.0) == (2, False)                            # free again: stop 2 holds its own 3 s ...
    assert j.advance(0.5) == (0, True)                             # ... 0.5 + 2.0 + 0.5 s


def _conductor(**params) -> Conductor:
    store = ParamStore()
    for name, value in params.items():
        store.set(name, value)
    c = Conductor(store, Z, WS, seed=3)
    for slot in (0, 1):
        c.keyframes.store(slot, latent_from_seed(20 + slot, Z))
    return c


def _legs(c: Conductor, frames: int) -> list[int]:
    """Frames at which source A's target changed keyframe."""
    seen = []
    for i in range(frames):
        c.step(i * DT, DT)
        seen.append(0 if np.allclose(c.targets[0], latent_from_seed(20, Z)) else 1)
    return list(np.flatnonzero(np.diff(seen)) + 1)


def test_conductor_legs_follow_the_tempo_param_and_ignore_speed():
    c = _conductor(**{"journey.sync": 1, "journey.beats": 2, "journey.bpm": 120.0, "journey.speed": 3.0})
    c.post(Action("journey_play", ((0, 1), 5.0)))                  # free durations 5 s, synced legs 1 s
    assert _legs(c, 64 * 3) == [63, 127, 191]                      # the step that completes each second
    c.store.set("journey.bpm", 240.0)                              # the clock doubles: 0.5 s legs from now
    assert list(np.diff(_legs(c, 64 * 2))) == [32, 32, 32]


def test_without_a_tempo_the_journey_runs_free():
    c = _conductor(**{"journey.sync": 1, "journey.beats": 2, "journey.bpm": 0.0})
    c.post(Action("journey_play", ((0, 1), 0.5)))
    assert _legs(c, 64 + 1) == [31, 63]
    assert c.journey.leg_s is None


def test_a_synced_show_replays_identically_from_its_parameter_values():
    """The tempo reaches the conductor only as journey.bpm: the same values at the same steps, the same frames."""
    runs = []
    for _ in range(2):
        c = _conductor(**{"journey.sync": 1, "journey.beats": 1})
        c.post(Action("journey_play", ((0, 1), 1.0)))
        zs = []
        for i in range(200):
            if i % 50 == 0:
                c.store.set("journey.bpm", 100.0 + i)
            zs.append(c.step(i * DT, DT).z)
        runs.append(np.stack(zs))
    np.testing.assert_array_equal(runs[0], runs[1])


@pytest.mark.parametrize("bpm", [60.0, 133.3])
def test_leg_seconds_is_beats_times_sixty_over_bpm(bpm):
    assert leg_seconds(3, bpm) == pytest.approx(3 * 60.0 / bpm)
