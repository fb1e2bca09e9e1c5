"""Conductor: replay determinism, actions, counting of bad input, threading, mode switches without jumps."""

import threading

import numpy as np
import pytest

from instrument.latent.conductor import Action
from instrument.latent.conductor import Conductor
from instrument.latent.interp import latent_from_seed, to_shell
from instrument.params import ParamStore

Z, WS, DT = 64, 10, 1 / 60
RADIUS = np.sqrt(Z)


def _conductor(seed=5, **params):
    store = ParamStore()
    for name, value in params.items():
        store.set(name.replace("__", "."), value)
    return Conductor(store, Z, WS, seed)


def _run(c, steps, t0=0.0):
    return [c.step(t0 + i * DT, DT) for i in range(steps)]


def _show(c, script):
    """Step c for len(script) frames, posting script[i]'s actions before frame i (the replay contract)."""
    frames = []
    for i, actions in enumerate(script):
        for a in actions:
            c.post(a)
        if i == 40:
            c.store.set("wander.amount", 0.3)
        if i == 80:
            c.store.set("motion.mode", 1)
        frames.append(c.step(i * DT, DT))
    return frames


SCRIPT = [[] for _ in range(120)]
SCRIPT[2] = [Action("random_target"), Action("store", (0,))]
SCRIPT[10] = [Action("kick", (0.5,)), Action("random_target", (2,))]
SCRIPT[30] = [Action("set_source_seed", (1, 1234)), Action("store", (1,)), Action("bogus")]
SCRIPT[50] = [Action("journey_play", ((0, 1), 0.3))]
SCRIPT[90] = [Action("layer_mask", (np.full((WS, 3), 1.0),)), Action("journey_next")]


def test_same_seed_steps_and_actions_give_identical_frames():
    a, b = _show(_conductor(), SCRIPT), _show(_conductor(), SCRIPT)
    for fa, fb in zip(a, b):
        assert fa.z.tobytes() == fb.z.tobytes() and fa.mix.tobytes() == fb.mix.tobytes()
        assert (fa.index, fa.t, fa.psi, fa.cutoff, fa.noise_mode, fa.noise_seed) == \
               (fb.index, fb.t, fb.psi, fb.cutoff, fb.noise_mode, fb.noise_seed)
    other = _show(_conductor(seed=6), SCRIPT)
    assert not np.array_equal(a[-1].z, other[-1].z)
    assert a[-1].noise_seed != other[-1].noise_seed


def test_frames_are_well_formed_and_own_their_arrays():
    c = _conductor(truncation__psi=0.5, truncation__cutoff=6, noise__mode=1)
    f0, f1 = _run(c, 2)
    assert (f0.index, f1.index, f1.t) == (0, 1, pytest.approx(DT))
    assert f0.z.shape == (3, Z) and f0.z.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(f0.z, axis=1), RADIUS, rtol=1e-6)
    assert f0.mix.shape == (WS, 3) and f0.mix.dtype == np.float32
    np.testing.assert_allclose(f0.mix.sum(axis=1), 1.0, rtol=1e-6)
    assert (f0.psi, f0.cutoff, f0.noise_mode) == (0.5, 6, "random")
    assert f0.noise_seed != f1.noise_seed
    assert f0.z is not f1.z and not np.shares_memory(f0.z, f1.z) and not np.shares_memory(f0.mix, f1.mix)
    assert c.last_frame is f1


def test_sources_start_at_their_seeds_and_cutoff_clips_to_num_ws():
    c = _conductor(seed=100)
    for i in range(3):
        np.testing.assert_allclose(c.targets[i], latent_from_seed(100 + i, Z))
    f = c.step(0.0, DT)
    np.testing.assert_allclose(f.z, c.targets, rtol=1e-6)
    assert f.cutoff == WS  # the default 32 means "all layers"


def test_random_target_moves_a_towards_a_new_target():
    c = _conductor()
    start = c.step(0.0, DT).z.copy()
    c.post(Action("random_target"))
    frames = _run(c, 240)
    new = c.targets[0]
    assert np.linalg.norm(new - start[0]) > 0.5 * RADIUS
    dist = [np.linalg.norm(f.z[0] - new) for f in frames]
    assert dist[-1] < 1e-2 * dist[0] and np.all(np.diff(dist) <= 1e-6)  # critically damped by default
    np.testing.assert_array_equal(frames[-1].z[1:], start[1:])  # B and C untouched


def test_store_and_recall_return_to_the_stored_latent():
    c = _conductor()
    c.step(0.0, DT)
    c.post(Action("store", (3,)))
    stored_frame = c.step(DT, DT)  # store saves the latent shown in the previous frame
    c.post(Action("random_target"))
    _run(c, 200)
    c.post(Action("recall", (3,)))
    last = _run(c, 300)[-1]
    np.testing.assert_allclose(c.keyframes.recall(3), stored_frame.z[0], rtol=1e-6)
    np.testing.assert_allclose(last.z[0], c.keyframes.recall(3), atol=1e-4)
    assert c.actions_applied == 3 and c.actions_rejected == 0


def test_recalling_an_empty_slot_is_counted_not_an_error():
    c = _conductor()
    c.post(Action("recall", (7,)))
    c.post(Action("set_source_keyframe", (2, 7)))
    c.step(0.0, DT)
    assert c.recalls_empty == 2 and c.actions_rejected == 0 and c.last_error == ""


BAD = [Action("nope"), Action("recall", (99,)), Action("recall", ()), Action("store", (1, 2, 3)),
       Action("set_target", (0, np.full(Z, np.nan))), Action("set_target", (5, np.ones(Z))),
       Action("set_target", (0, np.ones(Z + 1))), Action("layer_mask", (np.ones((3, 3)),)),
       Action("set_source_seed", (0, -4)), Action("set_source_seed", (0, 1.5)), Action("kick", ("hard",)),
       Action("journey_play", ((0, 1), (1.0,))), Action("journey_play", ((), 1.0)), Action("journey_next"),
       Action("random_target", 1), "not an action", Action("journey_play", ((0, 40), 1.0))]


@pytest.mark.parametrize("action", BAD, ids=lambda a: getattr(a, "name", "raw"))
def test_bad_actions_are_counted_never_raised(action):
    c = _conductor()
    c.post(action)
    frame = c.step(0.0, DT)
    assert c.actions_rejected == 1 and c.actions_applied == 0
    assert c.last_error.startswith("action ") and "\n" not in c.last_error
    assert frame.index == 0 and np.all(np.isfinite(frame.z))


def test_list_args_are_accepted_as_a_tuple():
    c = _conductor()
    c.post(Action("set_source_seed", [1, 9]))
    c.step(0.0, DT)
    assert c.actions_applied == 1
    np.testing.assert_allclose(c.targets[1], latent_from_seed(9, Z))


def test_unknown_action_suggests_a_near_name():
    c = _conductor()
    c.post(Action("random_targt"))
    c.step(0.0, DT)
    assert "random_target" in c.last_error and "random_targt" in c.last_error


def test_kick_moves_the_spring_and_it_returns():
    c = _conductor()
    rest = c.step(0.0, DT).z.copy()
    c.post(Action("kick", (2.0,)))
    frames = _run(c, 400)
    peak = max(np.linalg.norm(f.z[0] - rest[0]) for f in frames)
    assert peak > 0.1 * RADIUS
    np.testing.assert_allclose(frames[-1].z, rest, atol=1e-3)


def test_kick_outside_spring_mode_is_rejected_with_a_reason():
    c = _conductor(motion__mode=1)
    c.post(Action("kick"))
    c.step(0.0, DT)
    assert c.actions_rejected == 1 and "slerp" in c.last_error


def test_set_target_and_set_source_seed_and_keyframe():
    c = _conductor()
    z = np.arange(Z, dtype=np.float64) - 10
    c.post(Action("set_target", ("b", z)))
    c.post(Action("set_source_seed", (2, 77)))
    c.step(0.0, DT)
    np.testing.assert_allclose(c.targets[1], to_shell(z))
    np.testing.assert_allclose(c.targets[2], latent_from_seed(77, Z))
    c.keyframes.store(4, latent_from_seed(9, Z))
    c.post(Action("set_source_keyframe", (0, 4)))
    c.step(DT, DT)
    np.testing.assert_allclose(c.targets[0], latent_from_seed(9, Z))


def test_journey_walks_source_a_through_keyframes_and_loops():
    c = _conductor(journey__speed=2.0)
    for slot, seed in ((0, 10), (1, 11)):
        c.keyframes.store(slot, latent_from_seed(seed, Z))
    c.post(Action("journey_play", ((0, 1), (1.0, 1.0))))
    seen = []
    for i in range(150):  # 2.5 s at speed 2 = 5 s of journey time: 0, 1, 0, 1, 0
        c.step(i * DT, DT)
        seen.append(0 if np.allclose(c.targets[0], latent_from_seed(10, Z)) else 1)
    changes = np.flatnonzero(np.diff(seen)) + 1
    assert seen[0] == 0 and list(changes) == pytest.approx([30, 60, 90, 120], abs=1)
    c.post(Action("journey_stop"))
    c.step(0, DT)
    target = c.targets[0]
    _run(c, 100)
    np.testing.assert_array_equal(c.targets[0], target)


def test_mix_params_and_layer_mask():
    c = _conductor()
    c.store.set("mix.fine.b", 1.0)
    f = _run(c, 60)[-1]  # let the 50 ms smoothing settle
    np.testing.assert_allclose(f.mix[:8], [[1, 0, 0]] * 8)
    np.testing.assert_allclose(f.mix[8:], [[0.5, 0.5, 0]] * 2, atol=1e-6)
    mask = np.zeros((WS, 3))
    mask[:, 2] = 1.0
    c.post(Action("layer_mask", (mask,)))
    np.testing.assert_allclose(c.step(1.0, DT).mix, [[0, 0, 1]] * WS)
    c.post(Action("layer_mask", (None,)))
    np.testing.assert_allclose(c.step(1.0, DT).mix[8:], [[0.5, 0.5, 0]] * 2, atol=1e-6)


def test_wander_offsets_around_the_target_and_zero_amount_is_exact():
    c = _conductor()
    np.testing.assert_array_equal(_run(c, 5)[-1].z, c.targets.astype(np.float32))
    c.store.set("wander.amount", 0.2)
    frames = _run(c, 120)
    off = np.linalg.norm(frames[-1].z - c.targets, axis=1) / RADIUS
    assert np.all(off > 0.02) and np.all(off < 0.5)
    np.testing.assert_allclose(np.linalg.norm(frames[-1].z, axis=1), RADIUS, rtol=1e-6)


def test_degenerate_dt_does_not_move_or_crash():
    c = _conductor()
    c.post(Action("random_target"))
    first = c.step(0.0, DT).z
    for dt in (0.0, -1.0, float("nan"), float("inf")):
        np.testing.assert_array_equal(c.step(0.0, dt).z, first)


def _max_step(frames, lo, hi):
    return max(np.abs(frames[i].z - frames[i - 1].z).max() for i in range(lo, hi))


@pytest.mark.parametrize("switch", [(0, 1), (0, 2), (1, 0), (1, 2), (2, 0)])
def test_mode_switch_mid_flight_does_not_jump(switch):
    c = _conductor(motion__mode=switch[0], motion__seconds=1.5)
    c.post(Action("random_target"))
    frames = _run(c, 30)  # well inside the move: neither spring nor glide has arrived
    assert np.linalg.norm(frames[-1].z[0] - c.targets[0]) > 0.2 * RADIUS
    c.store.set("motion.mode", switch[1])
    frames += [c.step((30 + i) * DT, DT) for i in range(120)]
    before = _max_step(frames, 10, 30)
    assert _max_step(frames, 30, 40) <= 1.5 * before  # no jump at the switch
    np.testing.assert_allclose(frames[-1].z[0], c.targets[0], atol=0.05 * RADIUS)  # and it still arrives


def test_posting_from_another_thread_while_stepping_counts_add_up():
    c = Conductor(ParamStore(), Z, WS, 1, queue_len=64)
    names = ["random_target", "kick", "bogus", "store", "recall", "journey_next"]
    args = [(), (0.1,), (), (0,), (0,), ()]
    done = threading.Event()

    def writer():
        for i in range(10_000):
            c.post(Action(names[i % 6], args[i % 6]))
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    frames = 0
    while not done.is_set() or frames < 5:
        c.step(frames * DT, DT)
        frames += 1
    thread.join()
    c.step(frames * DT, DT)
    assert c.actions_posted == 10_000 and c.pending == 0
    assert c.actions_applied + c.actions_rejected + c.actions_dropped == 10_000
    assert c.actions_rejected >= 1 and c.actions_applied >= 1
    assert np.all(np.isfinite(c.last_frame.z))


def test_journey_toggle_plays_stored_keyframes_and_stops():
    store = ParamStore()
    store.set("journey.seconds", 0.5)
    c = Conductor(store, 8, 4, seed=1)
    c.post(Action("journey_toggle"))
    c.step(0.0, 0.01)
    assert "two stored keyframes" in c.last_error and not c.journey.playing
    for slot, seed in ((1, 11), (2, 22)):
        c.post(Action("set_source_seed", (0, seed)))
        c.step(0.0, 5.0)
        c.post(Action("store", (slot,)))
    c.post(Action("journey_toggle"))
    c.step(0.0, 0.01)
    assert c.journey.playing and [s.key for s in c.journey.stops] == [1, 2]
    c.post(Action("journey_toggle"))
    c.step(0.0, 0.01)
    assert not c.journey.playing
