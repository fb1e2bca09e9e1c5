"""Per-layer style-mixing weights."""

import numpy as np
import pytest

from instrument.latent.mixing import layer_groups, mixing_weights


def test_groups_map_to_the_right_layers():
    assert layer_groups(18) == {"coarse": slice(0, 4), "middle": slice(4, 8), "fine": slice(8, 18)}
    assert layer_groups(6) == {"coarse": slice(0, 4), "middle": slice(4, 6), "fine": slice(6, 6)}
    assert layer_groups(2) == {"coarse": slice(0, 2), "middle": slice(2, 2), "fine": slice(2, 2)}


def test_rows_sum_to_one_and_groups_land_on_their_layers():
    w = mixing_weights(18, {"coarse": (1, 0, 0), "middle": (0, 2, 2), "fine": (1, 1, 2)})
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    np.testing.assert_allclose(w[:4], [[1, 0, 0]] * 4)
    np.testing.assert_allclose(w[4:8], [[0, 0.5, 0.5]] * 4)
    np.testing.assert_allclose(w[8:], [[0.25, 0.25, 0.5]] * 10)


def test_all_zero_negative_and_nan_rows_become_a_only():
    w = mixing_weights(10, {"coarse": (0, 0, 0), "middle": (-1, -2, 0), "fine": (np.nan, 1, 0)})
    np.testing.assert_array_equal(w, [[1, 0, 0]] * 10)


def test_missing_groups_default_to_a():
    np.testing.assert_array_equal(mixing_weights(12, {}), [[1, 0, 0]] * 12)


def test_mask_overrides_groups():
    mask = np.zeros((8, 3))
    mask[:, 2] = 3.0
    mask[0] = (1, 1, 0)
    w = mixing_weights(8, {"coarse": (0, 1, 0)}, mask=mask)
    np.testing.assert_allclose(w[0], (0.5, 0.5, 0))
    np.testing.assert_allclose(w[1:], [[0, 0, 1]] * 7)
    np.testing.assert_array_equal(mask[1], (0, 0, 3))  # the caller's mask is untouched


def test_out_is_filled_and_bad_input_raises():
    out = np.empty((18, 3))
    assert mixing_weights(18, {"fine": (0, 1, 0)}, out=out) is out
    with pytest.raises(ValueError):
        mixing_weights(18, {}, out=np.empty((4, 3)))
    with pytest.raises(ValueError):
        mixing_weights(18, {"sparkly": (1, 0, 0)})
    with pytest.raises(ValueError):
        mixing_weights(18, {}, mask=np.ones((17, 3)))
