"""Warps (core/warp.py): bilinear sampling, shear, rotation, elastic distortion."""

from __future__ import annotations

import numpy as np
import pytest

from core.grid import warp
from core.limits import ConfigError


def _digits(n=3, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, size=(n, 8, 8))


def test_strength_zero_is_the_identity():
    x = _digits()
    for kind in warp.WARP_KINDS:
        np.testing.assert_array_equal(warp.warp(x, kind, 0.0), x)


def test_bilinear_sampling_at_integer_points_is_exact_and_zero_outside():
    x = _digits(1)
    r, c = np.meshgrid(np.arange(8.0), np.arange(8.0), indexing="ij")
    np.testing.assert_array_equal(warp.bilinear_sample(x, r[None], c[None]), x)
    shifted = warp.bilinear_sample(x, r[None], c[None] - 1)  # read one column to the left
    np.testing.assert_array_equal(shifted[0, :, 1:], x[0, :, :-1])
    np.testing.assert_array_equal(shifted[0, :, 0], 0.0)
    half = warp.bilinear_sample(x, r[None], c[None] + 0.5)
    np.testing.assert_allclose(half[0, :, :-1], 0.5 * (x[0, :, :-1] + x[0, :, 1:]))


def test_rotation_by_quarter_turns():
    im = np.zeros((1, 5, 5))
    im[0, 0, 4] = 1.0  # top right
    ccw = warp.rotate(im, 90.0)
    assert ccw[0, 0, 0] == pytest.approx(1.0) and ccw.sum() == pytest.approx(1.0)  # top left
    np.testing.assert_allclose(warp.rotate(warp.rotate(im, 90.0), -90.0), im, atol=1e-12)
    x = _digits(2)
    np.testing.assert_allclose(warp.rotate(x, 180.0), x[:, ::-1, ::-1], atol=1e-12)


def test_shear_moves_rows_by_their_distance_from_the_centre():
    im = np.zeros((1, 9, 9))
    im[0, :, 4] = 1.0  # a vertical line through the centre
    out = warp.shear(im, 1.0)  # row r reads column c + (r - 4): the line moves to column 8 - r
    for r in range(9):
        assert out[0, r, 8 - r] == pytest.approx(1.0)
        assert out[0, r].sum() == pytest.approx(1.0)


def test_elastic_displacement_has_the_requested_size_and_is_seeded():
    dr, dc = warp.elastic_field(4, 8, 8, rms=1.5, seed=3)
    np.testing.assert_allclose(np.sqrt(np.mean(dr**2 + dc**2, axis=(1, 2))), 1.5)
    again = warp.elastic_field(4, 8, 8, rms=0.5, seed=3)
    np.testing.assert_allclose(again[0] * 3, dr)  # same pattern, scaled
    x = _digits()
    np.testing.assert_array_equal(warp.elastic(x, 1.0, seed=7), warp.elastic(x, 1.0, seed=7))
    assert not np.array_equal(warp.elastic(x, 1.0, seed=7), warp.elastic(x, 1.0, seed=8))


def test_gaussian_smoothing_keeps_the_mean_of_a_constant_interior():
    field = np.ones((1, 20, 20))
    out = warp.gaussian_smooth(field, 1.0)
    assert out[0, 10, 10] == pytest.approx(1.0)
    assert out[0, 0, 0] < 1.0  # zero padding outside


def test_warps_grow_with_strength():
    x = _digits(5)
    for kind in warp.WARP_KINDS:
        diffs = [np.abs(warp.warp(x, kind, s, seed=1) - x).mean() for s in (0.25, 0.5, 1.0)]
        assert diffs[0] < diffs[1] < diffs[2], kind


def test_bad_input_is_refused():
    with pytest.raises(ConfigError, match="unknown warp"):
        warp.warp(_digits(), "twist", 0.5)
    with pytest.raises(ConfigError, match="out of range"):
        warp.warp(_digits(), "shear", 1.5)
    with pytest.raises(ConfigError, match="N, rows, cols"):
        warp.warp(np.zeros((8, 8)), "shear", 0.5)
