"""Sound keyframes in the conductor: a keyframe carries a timbre latent, and source A's timbre follows the picture."""

import numpy as np
import pytest

from instrument.latent.conductor import Action, Conductor
from instrument.latent.interp import latent_from_seed, to_shell
from instrument.latent.keyframes import KeyframeError, Keyframes
from instrument.params import ParamStore

Z_DIM, AUDIO_DIM, DT = 16, 4, 0.05
SOUND_1, SOUND_2 = np.array([1.0, 0.0, 0.0, 2.0]), np.array([0.0, 1.0, -1.0, 2.0])


def test_a_slot_carries_a_sound_apart_from_its_latent():
    k = Keyframes(8)
    assert k.sound(3) is None and k.sound_dim == 0
    k.attach_sound(3, [1.0, 2.0])
    assert k.sound_dim == 2 and k.sound(3).tolist() == [1.0, 2.0] and k.recall(3) is None
    with pytest.raises(KeyframeError, match=r"shape \(2,\), got shape \(3,\)"):
        k.attach_sound(4, [1.0, 2.0, 3.0])
    with pytest.raises(KeyframeError, match="finite"):
        k.attach_sound(4, [np.nan, 1.0])
    k.attach_sound(3, None)
    assert k.sound(3) is None


def conductor(mode: str = "lerp") -> Conductor:
    store = ParamStore()
    store.set("motion.mode", ("spring", "slerp", "lerp").index(mode))
    store.set("motion.seconds", 0.5)
    store.set("wander.amount", 0.0)
    c = Conductor(store, Z_DIM, num_ws=4, seed=1, audio_dim=AUDIO_DIM)
    for slot, seed in ((1, 11), (2, 22), (3, 33)):
        c.keyframes.store(slot, latent_from_seed(seed, Z_DIM))
    c.post(Action("keyframe_sound", (1, SOUND_1, "one")))
    c.post(Action("keyframe_sound", (2, SOUND_2.tolist(), "two")))  # a list, as a z-log event replays it
    return c


def run(c: Conductor, seconds: float, t0: float = 0.0) -> list:
    return [c.step(t0 + i * DT, DT) for i in range(int(round(seconds / DT)))]


def test_a_glide_between_two_sound_keyframes_moves_the_timbre_by_the_pictures_fraction():
    c = conductor("lerp")
    c.post(Action("recall", (1,)))
    arrived = run(c, 1.0)[-1]
    np.testing.assert_allclose(arrived.audio, SOUND_1, atol=1e-6)
    assert arrived.audio_weight == 1.0
    k1, k2 = to_shell(latent_from_seed(11, Z_DIM)), to_shell(latent_from_seed(22, Z_DIM))
    c.post(Action("recall", (2,)))
    fractions = []
    for frame in run(c, 0.75, 1.0):
        t = float(frame.audio[1])  # SOUND_1 -> SOUND_2 moves dim 1 from 0 to 1
        np.testing.assert_allclose(frame.audio, SOUND_1 + t * (SOUND_2 - SOUND_1), atol=1e-6)
        np.testing.assert_allclose(frame.z[0], to_shell(k1 + t * (k2 - k1)), atol=1e-5)  # the picture's fraction
        fractions.append(t)
    assert fractions[0] > 0.0 and fractions[-1] == 1.0 and np.all(np.diff(fractions) >= 0)
    assert 0.2 < fractions[len(fractions) // 3] < 0.8


def test_a_journey_between_sound_keyframes_interpolates_their_timbres():
    c = conductor("spring")
    c.store.set("spring.stiffness", 40.0)
    c.post(Action("journey_play", ((1, 2), 1.5)))
    frames = run(c, 6.0)
    sounding = [f for f in frames if f.audio is not None and f.audio_weight > 0.999]
    on_the_way = [f for f in sounding if 0.05 < f.audio[1] < 0.95]
    assert on_the_way, "the timbre never passed between the two sounds"
    for f in sounding:  # always on the line between the two timbres
        t = float(f.audio[1])
        np.testing.assert_allclose(f.audio, SOUND_1 + t * (SOUND_2 - SOUND_1), atol=1e-6)
    at_stops = [float(f.audio[1]) for f in sounding]
    assert min(at_stops) < 0.02 and max(at_stops) > 0.98  # both stops were reached


def test_leaving_for_a_slot_without_a_sound_fades_back_to_the_coupling_without_a_jump():
    c = conductor("slerp")
    c.post(Action("recall", (1,)))
    run(c, 1.0)
    c.post(Action("recall", (3,)))  # slot 3 has a picture, no sound
    frames = run(c, 1.0, 1.0)
    weights = [f.audio_weight for f in frames]
    assert weights[0] < 1.0 and weights[-1] == 0.0 and frames[-1].audio is None
    assert np.all(np.diff(weights) <= 0) and max(-np.diff(weights)) < 0.25
    for f in frames[:-1]:
        if f.audio is not None:
            np.testing.assert_allclose(f.audio, SOUND_1, atol=1e-6)  # the coupling takes over; no third timbre


def test_switching_mode_mid_glide_keeps_the_timbre_continuous():
    c = conductor("lerp")
    c.post(Action("recall", (1,)))
    run(c, 1.0)
    c.post(Action("recall", (2,)))
    frames = run(c, 0.2, 1.0)
    c.store.set("motion.mode", 0)  # spring
    frames += run(c, 3.0, 1.2)
    steps = np.abs(np.diff([f.audio[1] for f in frames]))
    assert steps.max() < 0.2 and frames[-1].audio[1] == pytest.approx(1.0, abs=0.02)


def test_the_same_actions_give_the_same_timbres():
    def show():
        c = conductor("spring")
        c.post(Action("journey_play", ((1, 2, 3), 0.7)))
        return run(c, 4.0)
    a, b = show(), show()
    for fa, fb in zip(a, b):
        assert fa.audio_weight == fb.audio_weight
        assert (fa.audio is None) == (fb.audio is None)
        if fa.audio is not None:
            assert np.array_equal(fa.audio, fb.audio)


def test_a_bad_sound_action_is_rejected_in_one_line():
    c = conductor()
    c.post(Action("keyframe_sound", (1, [1.0, 2.0], "short")))
    c.post(Action("keyframe_sound", (99, SOUND_1, "x")))
    run(c, DT)
    assert c.actions_rejected == 2 and "\n" not in c.last_error and "out of range" in c.last_error
