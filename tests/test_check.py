"""core/check.py: the finite differences and the agreement criterion every gradient check shares."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core import check
from core.limits import ConfigError


def test_both_stencils_differentiate_a_polynomial_to_their_order():
    f = lambda s: (1.0 + s) ** 5  # noqa: E731  f'(0) = 5
    two, four = check.central(f, 1e-3, 2), check.central(f, 1e-3, 4)
    assert abs(two - 5) < 1e-4 and abs(four - 5) < 1e-9 and abs(four - 5) < abs(two - 5) / 1e3


@pytest.mark.parametrize("h", [0.0, -0.0, -1e-3, math.nan, math.inf, 1e400, 0.5, "1e-3"])
def test_a_step_that_is_no_derivative_is_refused(h):
    with pytest.raises(ConfigError, match="finite-difference step"):
        check.central(lambda s: s, h)


def test_an_unknown_stencil_is_refused():
    with pytest.raises(ConfigError, match="stencil"):
        check.central(lambda s: s, 1e-3, 3)


def test_entrywise_moves_one_entry_at_a_time_and_samples_when_asked():
    arrays = {"a": np.arange(6.0).reshape(2, 3), "b": np.array([2.0])}
    loss = lambda d: float(np.sum(d["a"] ** 2) + 3 * d["b"][0])  # noqa: E731
    out = check.entrywise(loss, arrays, h=1e-5)
    idxs, values = out["a"]
    assert idxs == list(np.ndindex(2, 3))
    np.testing.assert_allclose(values, 2 * arrays["a"].ravel(), atol=1e-8)
    np.testing.assert_allclose(out["b"][1], [3.0], atol=1e-8)
    sampled = check.entrywise(loss, arrays, h=1e-5, limit=2, rng=np.random.default_rng(0))
    assert len(sampled["a"][0]) == 2 and len(sampled["b"][0]) == 1


@pytest.mark.parametrize("stencil", check.STENCILS)
def test_entrywise_in_one_batch_is_the_same_check(stencil):
    """A batch evaluator (a model running many moved copies at once) gets every move of every
    sampled entry in one list; here it evaluates them one by one, so the results are the same
    bits, entries, order and formulas included."""
    rng = np.random.default_rng(5)
    arrays = {"a": rng.standard_normal((3, 4)), "b": rng.standard_normal(5)}
    loss = lambda d: float(np.sum(np.sin(d["a"])) * np.sum(d["b"] ** 3))  # noqa: E731
    seen = []

    def batch(host, moves):
        seen.extend(moves)
        out = []
        for name, idx, s in moves:
            v = host[name].copy()
            v[idx] += s
            out.append(loss({**host, name: v}))
        return np.array(out)

    one = check.entrywise(loss, arrays, h=1e-4, stencil=stencil, limit=3, rng=np.random.default_rng(1))
    many = check.entrywise(loss, arrays, h=1e-4, stencil=stencil, limit=3, rng=np.random.default_rng(1), batch=batch)
    assert len(seen) == 2 * 3 * len(check.POINTS[stencil])
    for name in arrays:
        assert many[name][0] == one[name][0]
        np.testing.assert_array_equal(many[name][1], one[name][1])


def test_the_direction_check_and_along():
    x = {"u": np.array([1.0, 2.0]), "v": np.array([[3.0]])}
    t = check.random_direction(x, np.random.default_rng(1))
    assert check.inner(t, t) == pytest.approx(1.0)
    loss = lambda d: float(d["u"] @ d["u"] + 5 * d["v"].sum())  # noqa: E731
    grad = {"u": 2 * x["u"], "v": np.array([[5.0]])}
    agree = check.direction_agreement(check.inner(grad, t), check.along(loss, x, t, h=1e-5))
    assert agree.rel_error < 1e-9
    assert check.relative_difference(1.0, 1.1) == pytest.approx(0.1 / 1.1)
    assert check.relative_difference(0.0, 0.0) == 0.0 and check.relative_difference(1.0, math.nan) == math.inf


def test_judge_passes_noise_on_vanished_entries_and_fails_real_errors():
    """The mixed criterion: a tiny gradient whose finite difference is noise is 'vanished', not
    failed; an error as large as the noise bound on a normal entry fails; so does a NaN."""
    atol = 1e-12
    analytic = np.array([1.0, 1e-9, 0.5])
    numeric = np.array([1.0 + 1e-9, 1e-9 + 5e-13, 0.5])
    ok = check.judge(analytic, numeric, atol=atol)
    assert ok.ok and ok.vanished == 1 and ok.max_rel_error <= 1e-7 and ok.max_rel_error_any > 1e-4
    bad = check.judge(analytic, np.array([1.0 + 1e-6, 1e-9, 0.5]), atol=atol)
    assert not bad.ok and bad.failed == 1 and bad.worst == (0,)
    nan = check.judge(analytic, np.array([math.nan, 1e-9, 0.5]), atol=atol)
    assert not nan.ok and nan.failed == 1


def test_rounding_noise_grows_with_the_loss_and_shrinks_with_the_step():
    assert check.rounding_noise(10.0, 1e-3, 4) == pytest.approx(10 * check.rounding_noise(1.0, 1e-3, 4))
    assert check.rounding_noise(1.0, 1e-5, 2) > check.rounding_noise(1.0, 1e-3, 4)


def test_gradient_error_has_teeth():
    x = {"a": np.array([0.3, -0.7, 1.1])}
    loss = lambda d: float(np.sum(np.sin(d["a"])))  # noqa: E731
    assert check.gradient_error(loss, x, {"a": np.cos(x["a"])}) < 1e-9
    assert check.gradient_error(loss, x, {"a": np.cos(x["a"]) * 1.001}) > 1e-4
