"""Keyframe slots and looping journeys."""

import numpy as np
import pytest

from instrument.latent.keyframes import Journey, KeyframeError, Keyframes


def test_at_least_sixteen_slots_store_and_recall_copies():
    k = Keyframes(8)
    assert len(k) >= 16
    z = np.arange(8.0)
    k.store(15, z)
    z[0] = 99.0  # the caller's array changing must not reach the slot
    got = k.recall(15)
    np.testing.assert_array_equal(got, np.arange(8.0))
    got[1] = 42.0  # nor a recalled copy changing
    np.testing.assert_array_equal(k.recall(15), np.arange(8.0))
    assert k.occupied() == [15]


def test_empty_recall_is_none_and_clear_empties():
    k = Keyframes(4)
    assert k.recall(0) is None
    k.store(0, np.ones(4))
    k.clear(0)
    assert k.recall(0) is None


@pytest.mark.parametrize("slot", [-1, 16, 2.0, "3", True, None])
def test_bad_slots_raise_keyframe_error(slot):
    with pytest.raises(KeyframeError):
        Keyframes(4).recall(slot)


def test_bad_latents_raise():
    k = Keyframes(4)
    with pytest.raises(KeyframeError):
        k.store(0, np.ones(5))
    with pytest.raises(KeyframeError):
        k.store(0, np.array([1.0, np.nan, 0.0, 0.0]))


def _journey(durations=(1.0, 2.0, 0.5)):
    j = Journey()
    j.play([(i, d) for i, d in enumerate(durations)])
    return j


def test_journey_advances_and_loops():
    j = _journey()
    seen = [j.advance(0.25)[0] for _ in range(14)]  # 3.5 s of stops = one loop, then on again
    assert seen == [0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 0]
    assert j.advance(0.25) == (0, False)
    j = _journey()
    assert j.advance(1.0) == (1, True)


def test_journey_speed_scales_time():
    j = _journey()
    assert j.advance(0.5, speed=2.0) == (1, True)
    assert j.advance(0.5, speed=4.0) == (2, True)
    assert j.elapsed_s == pytest.approx(0.0)


def test_long_pause_wraps_without_iterating_every_loop():
    j = _journey()
    index, _ = j.advance(3.5 * 1_000_000 + 1.25)
    assert index == 1 and j.elapsed_s == pytest.approx(0.25, abs=1e-6)


def test_next_wraps_and_stop_holds():
    j = _journey()
    assert [j.next() for _ in range(3)] == [1, 2, 0]
    j.stop()
    assert j.advance(10.0) == (0, False)
    j.play()
    assert j.playing


def test_bad_journeys_raise():
    j = Journey()
    with pytest.raises(KeyframeError):
        j.play()
    with pytest.raises(KeyframeError):
        j.next()
    with pytest.raises(KeyframeError):
        j.load([])
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(KeyframeError):
            j.load([(0, bad)])


def test_stops_can_be_latents():
    j = Journey()
    j.play([(np.ones(4), 1.0), (3, 1.0)])
    assert isinstance(j.current.key, np.ndarray) and j.advance(1.0)[0] == 1 and j.current.key == 3
