"""The parameter table: every row is well formed, and the store types and clamps what arrives."""

import math
import threading

import pytest

from instrument.params import CURVES, KINDS, PARAMS, ParamStore, Smoother, UnknownParam


@pytest.mark.parametrize("p", PARAMS, ids=lambda p: p.name)
def test_every_row_is_well_formed(p):
    assert p.lo <= p.default <= p.hi, "default must lie inside the range"
    assert p.kind in KINDS and p.curve in CURVES
    assert p.doc, "every parameter documents itself in one line"
    assert p.curve != "exp" or p.lo > 0
    if p.kind == "enum":
        assert len(p.choices) == p.hi + 1 and p.lo == 0
    assert p.clamp(p.default) == p.default
    assert math.isclose(p.from_unit(p.to_unit(p.default)), p.default, rel_tol=1e-9, abs_tol=1e-12)


def test_names_are_unique_and_dotted():
    names = [p.name for p in PARAMS]
    assert len(names) == len(set(names))
    assert all("." in n and n == n.lower() and " " not in n for n in names)


def test_set_clamps_rounds_and_counts():
    store = ParamStore()
    assert store.set("spring.damping", 99) == 4.0
    assert store.set("truncation.cutoff", 3.7) == 4.0
    assert store.set("noise.mode", -5) == 0.0
    assert store.clamped == 3
    store.set("spring.damping", 1.5)
    assert store.clamped == 3 and store.get("spring.damping") == 1.5


def test_unknown_name_suggests_the_closest():
    with pytest.raises(UnknownParam, match="did you mean 'spring.stiffness'"):
        ParamStore().set("sprng.stiffness", 1.0)


def test_exp_curve_maps_unit_range_geometrically():
    p = ParamStore().spec("spring.stiffness")
    assert p.from_unit(0) == p.lo and p.from_unit(1) == p.hi
    assert math.isclose(p.from_unit(0.5), math.sqrt(p.lo * p.hi))


def test_smoother_approaches_target_with_time_constant_and_immediate_params_jump():
    store = ParamStore()
    smooth = Smoother(store)
    i_psi, i_mode = store.slot("truncation.psi"), store.slot("noise.mode")
    store.set("truncation.psi", 0.0)
    store.set("noise.mode", 2)
    tau = store.spec("truncation.psi").smoothing_s
    start = smooth.values[i_psi]
    for _ in range(10):
        values = smooth.step(tau / 10)
    assert math.isclose(values[i_psi], start * math.exp(-1), rel_tol=1e-6)
    assert values[i_mode] == 2


def test_concurrent_writers_keep_counts_exact():
    store = ParamStore()
    def write():
        for i in range(2000):
            store.set("fx.feedback.amount", 2.0 if i % 2 else 0.5)
    threads = [threading.Thread(target=write) for _ in range(4)]
    for t in threads: t.start()
    for t in threads: t.join()
    assert store.version == 8000 and store.clamped == 4000
    assert store.get("fx.feedback.amount") in (0.99, 0.5)
