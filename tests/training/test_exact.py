"""core.exact: the reversible multiplication by beta = n / 2^s and its information buffer."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.backend import select_backend, to_numpy
from core.limits import ConfigError
from core.training import buffer, exact


def _ints(backend, values):
    return backend.asarray(np.asarray(values, dtype=np.int64))


def _state(buf):
    return (to_numpy(buf.head).copy(), to_numpy(buf.depth).copy(),
            [to_numpy(layer).copy() for layer in buf.layers])


def test_beta_fraction_rounds_to_a_power_of_two_denominator():
    assert exact.beta_fraction(0.9, 16) == (58982, 65536)
    assert exact.beta_fraction(1.0, 8) == (256, 256)
    assert exact.beta_fraction(0.5, 4) == (8, 16)
    with pytest.raises(ConfigError, match="rounds to 0/16"):
        exact.beta_fraction(0.01, 4)
    with pytest.raises(ConfigError, match="beta bits"):
        exact.beta_fraction(0.9, 17)


def test_bits_bound_is_sum_of_log2_one_over_beta():
    assert exact.bits_bound([8, 8, 4], 4, 10) == pytest.approx(10 * (1 + 1 + 2))


def test_multiply_then_divide_is_the_identity_on_every_backend(backend):
    xp = backend.xp
    rng = np.random.default_rng(0)
    D = 257
    p = _ints(backend, rng.integers(-(2**50), 2**50, D))
    buf = buffer.InfoBuffer(xp, D)
    n, s = 58982, 16
    trajectory = [to_numpy(p)]
    for _ in range(400):  # enough steps for every parameter to spill words onto the stack
        p = buffer.multiply_beta(p, buf, n, s)
        trajectory.append(to_numpy(p))
    assert int(xp.min(buf.depth)) >= 1, "words were spilled"
    for k in range(399, -1, -1):
        p = buffer.divide_beta(p, buf, n, s)
        np.testing.assert_array_equal(to_numpy(p), trajectory[k])
    assert buf.is_empty() and buf.layers == []


def test_product_is_within_n_units_of_beta_p():
    b = select_backend("numpy")
    p = _ints(b, np.random.default_rng(1).integers(-(2**40), 2**40, 1000))
    buf = buffer.InfoBuffer(np, 1000)
    n, s = 58982, 16
    out = buffer.multiply_beta(p.copy(), buf, n, s)
    err = out - (p * n) // 2**s
    assert err.min() >= -n and err.max() <= n


@pytest.mark.parametrize("D", [3, 500])  # Python's integers for a few parameters, arrays for many
def test_numpy_in_place_kernel_gives_the_same_bits(D):
    rng = np.random.default_rng(2)
    p_ref = rng.integers(-(2**55), 2**55, D)
    p_fast = p_ref.copy()
    ref, fast = buffer.InfoBuffer(np, D), buffer.InfoBuffer(np, D)
    kernel = buffer.NumpyBeta(D)
    ns = [int(n) for n in rng.integers(2**12, 2**16, 300)]  # a random beta schedule
    for n in ns:
        p_ref = buffer.multiply_beta(p_ref, ref, n, 16)
        kernel.multiply(p_fast, fast, n, 16)
        np.testing.assert_array_equal(p_fast, p_ref)
        np.testing.assert_array_equal(fast.head, ref.head)
    np.testing.assert_array_equal(fast.depth, ref.depth)
    assert fast.words() > 3 * D, "words were spilled (the small path hands those steps to the arrays)"
    for n in reversed(ns):
        p_ref = buffer.divide_beta(p_ref, ref, n, 16)
        kernel.divide(p_fast, fast, n, 16)
        np.testing.assert_array_equal(p_fast, p_ref)
    assert fast.is_empty() and ref.is_empty()


@settings(max_examples=60, deadline=None)
@given(s=st.integers(1, 16), data=st.data())
def test_any_rational_beta_and_any_integers_round_trip(s, data):
    n = data.draw(st.integers(1, 2**s))
    values = data.draw(st.lists(st.integers(-(2**60), 2**60), min_size=1, max_size=6))
    heads = data.draw(st.lists(st.integers(buffer.HEAD_LO, buffer.HEAD_HI - 1), min_size=len(values),
                               max_size=len(values)))
    p = np.array(values, dtype=np.int64)
    buf = buffer.InfoBuffer(np, len(values))
    buf.head = np.array(heads, dtype=np.uint64)  # any head in range, including next to a spill
    before = (p.copy(), buf.head.copy())
    for _ in range(3):
        p = buffer.multiply_beta(p, buf, n, s)
        assert (buf.head >= buffer.HEAD_LO).all() and (buf.head < buffer.HEAD_HI).all()
    for _ in range(3):
        p = buffer.divide_beta(p, buf, n, s)
    np.testing.assert_array_equal(p, before[0])
    np.testing.assert_array_equal(buf.head, before[1])


def test_parameters_at_different_depths_spill_and_refill_correctly():
    D = 6
    buf = buffer.InfoBuffer(np, D)
    buf.head = np.array([buffer.HEAD_HI - 1, buffer.HEAD_LO, buffer.HEAD_HI - 1, buffer.HEAD_LO,
                         2**40, 2**47], dtype=np.uint64)
    p = np.arange(D, dtype=np.int64) * 12345 - 7
    saved = [(p.copy(), _state(buf))]
    for n in [3, 65535, 1, 2**15, 7, 40000, 3, 3, 3]:
        p = buffer.multiply_beta(p, buf, n, 16)
        saved.append((p.copy(), _state(buf)))
    assert len(set(buf.depth.tolist())) > 1, "parameters sit at different depths"
    assert buf.words() == int(buf.depth.sum()) > 0
    for i, n in enumerate(reversed([3, 65535, 1, 2**15, 7, 40000, 3, 3, 3])):
        p = buffer.divide_beta(p, buf, n, 16)
        p_want, (head, depth, _) = saved[-2 - i]
        np.testing.assert_array_equal(p, p_want)
        np.testing.assert_array_equal(buf.head, head)
        np.testing.assert_array_equal(buf.depth, depth)
        assert buf.words() == int(depth.sum())  # the running count follows the stacks
    assert buf.words() == 0


def test_buffer_is_whole_words_not_objects_and_meets_the_bound():
    D, K, n, s = 300, 2000, 58982, 16
    rng = np.random.default_rng(3)
    p = rng.integers(-(2**50), 2**50, D)
    buf = buffer.InfoBuffer(np, D)
    for _ in range(K):
        p = buffer.multiply_beta(p, buf, n, s)
    assert buf.head.dtype == np.uint64 and buf.depth.dtype == np.int64
    assert all(layer.dtype == np.uint32 and layer.shape == (D,) for layer in buf.layers)
    bound = exact.bits_bound([n] * K, s, D)
    assert buf.bits_information() == pytest.approx(bound, abs=1e-3 * D)
    assert bound < buf.bits_stored() <= bound + 64 * D
    assert buf.bits_stored() == 32 * int(buf.depth.sum()) + 64 * D


def test_beta_one_stores_nothing():
    p = np.array([5, -9, 2**40], dtype=np.int64)
    buf = buffer.InfoBuffer(np, 3)
    out = buffer.multiply_beta(p.copy(), buf, 2**16, 16)
    np.testing.assert_array_equal(out, p)
    assert buf.is_empty()


def test_refill_of_an_empty_stack_is_an_error_not_garbage():
    buf = buffer.InfoBuffer(np, 2)
    with pytest.raises(RuntimeError, match="underflow"):
        buffer.divide_beta(np.array([0, 0], dtype=np.int64), buf, 3, 16)


def test_fixed_point_conversion_and_range():
    x = np.array([1.5, -2.25, 1e-9])
    X = exact.to_fixed(x, 40)
    assert X.dtype == np.int64
    np.testing.assert_allclose(exact.from_fixed(X, 40), x, atol=2.0**-40)
    with pytest.raises(ConfigError, match="does not fit the fixed-point range"):
        exact.to_fixed(np.array([1e6]), 48)


def test_range_guard_stops_before_int64_would_wrap():
    F = 48
    p = np.zeros(3, dtype=np.int64)
    theta = exact.to_fixed(np.array([1.0, 2.0, 3.0]), F)
    guard = exact.RangeGuard(p, theta, F)
    assert guard.step_size(np.array([1.0, -2.0]), 2.0**F, 1) == pytest.approx(2.0 * 2**F)
    with pytest.raises(ConfigError, match="at step 7: \\|alpha grad J\\|"):
        guard.step_size(np.array([0.0, 2.0**15]), 2.0**F, 7)
    with pytest.raises(ConfigError, match="overflow"):
        guard.step_size(np.array([math.nan]), 1.0, 8)
    # a cheap bound near the limit makes the guard measure; a true value there stops the run
    guard.P, guard.Theta = 10.0, 2.0**61
    guard.before_position(theta, 9)
    assert guard.Theta == pytest.approx(3.0 * 2**F + 10.0), "re-measured, then stepped"
    guard.P, guard.Theta = 10.0, 2.0**62
    with pytest.raises(ConfigError, match="at step 9: \\|theta\\|"):
        guard.before_position(np.array([2**62 - 5, 0, 0], dtype=np.int64), 9)


@pytest.mark.gpu
def test_cupy_kernels_give_the_numpy_bits():
    gpu = select_backend("cupy")
    rng = np.random.default_rng(5)
    D = 10_000
    p_np = rng.integers(-(2**55), 2**55, D)
    p_gpu = gpu.asarray(p_np)
    ref, dev = buffer.InfoBuffer(np, D), buffer.InfoBuffer(gpu.xp, D)
    ns = [int(n) for n in rng.integers(2**10, 2**16, 400)]
    for n in ns:
        p_np = buffer.multiply_beta(p_np, ref, n, 16)
        p_gpu = buffer.multiply_beta(p_gpu, dev, n, 16)
    np.testing.assert_array_equal(to_numpy(p_gpu), p_np)
    np.testing.assert_array_equal(to_numpy(dev.head), ref.head)
    np.testing.assert_array_equal(to_numpy(dev.depth), ref.depth)
    for n in reversed(ns):
        p_np = buffer.divide_beta(p_np, ref, n, 16)
        p_gpu = buffer.divide_beta(p_gpu, dev, n, 16)
        np.testing.assert_array_equal(to_numpy(p_gpu), p_np)
    assert dev.is_empty() and ref.is_empty()


CORNERS = [(16, 4, 0.9), (16, 16, 0.9), (56, 4, 0.9), (56, 16, 0.9), (32, 10, 0.5), (24, 4, 1.0)]


@pytest.mark.parametrize("F, s, beta", CORNERS)
def test_step_error_bound_holds_and_is_nearly_attained_at_every_corner(F, s, beta):
    """One exact step against the momentum step in exact real arithmetic (Fractions), given the
    float64 gradient it evaluates: p(k+1) - (n/2^s p(k) - alpha g) never reaches the stated
    bound, and comes within a factor of two of it (so the bound is not vacuous): about
    beta 2^(s-F), many units of 2^-F, not one."""
    from fractions import Fraction

    from core.training.objectives import make_objective

    NP = select_backend("numpy")
    obj = make_objective("quadratic", NP, D=64, cond=10.0, l2=0.0, seed=3)
    alpha = 0.05
    n, d = exact.beta_fraction(beta, s)
    st = exact.ExactState.start(np.zeros(64), obj.theta0, F, s)
    worst, bound = 0.0, 0.0
    for k in range(40):
        P, g = st.p.copy(), obj.grad(exact.from_fixed(st.theta, F))  # the gradient the step evaluates
        exact.exact_step(obj, st, alpha, n, k + 1)
        step_size = float(np.max(np.abs(alpha * g)))
        bound = max(bound, exact.step_error_bound(n, s, F, step_size) * 2.0**F)  # in units of 2^-F
        real = [Fraction(n, d) * int(P[i]) - Fraction(alpha) * Fraction(float(g[i])) * 2**F for i in range(64)]
        worst = max(worst, max(abs(float(int(st.p[i]) - real[i])) for i in range(64)))
    assert worst < bound, f"a step missed by {worst:.4g} units, beyond the bound {bound:.4g}"
    assert worst > 0.5 * bound, f"the largest miss {worst:.4g} is far below the bound {bound:.4g}"
    if n < d:  # beta < 1: the buffer pops digits, and the miss is n units, not one
        assert worst > 0.5 * n


def test_the_guard_refuses_a_meaningless_exact_run_and_warns_about_a_noticeable_one():
    from core.training.momentum import TrainConfig

    with pytest.raises(ConfigError, match=r"would not train this map.*more fraction bits"):
        TrainConfig(mode="exact", fraction_bits=16, beta_bits=16, D=10, steps=300)
    TrainConfig(mode="float64", fraction_bits=16, beta_bits=16)  # float modes run on the same beta, no grid
    noticeable = TrainConfig(mode="exact", fraction_bits=24, beta_bits=16, D=10, steps=300).exact_precision()
    assert "away from float64 training" in noticeable.exact_warning
    fine = TrainConfig(mode="exact", fraction_bits=48, beta_bits=16, D=10, steps=300).exact_precision()
    assert fine.exact_warning == "" and fine.step_error_bound < 1e-9
    # the estimate grows with the steps and with beta's bits, and shrinks with the fraction bits
    est = lambda K, s, F: exact.float64_drift_estimate(K, 0.9, exact.beta_fraction(0.9, s)[0], s, F)  # noqa: E731
    assert est(300, 16, 32) < est(3000, 16, 32) and est(300, 8, 32) < est(300, 16, 32) > est(300, 16, 40)
