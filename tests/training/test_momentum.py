"""core.reversible: the momentum step, its inverse (in the right order), float and exact loops."""

from __future__ import annotations

import numpy as np
import pytest

from core.backend import select_backend, to_numpy
from core.limits import ConfigError
from core.training import exact
from core.training.exact import ExactState, exact_step, exact_step_inverse, forward_exact, inverse_exact
from core.training.momentum import (
    TrainConfig,
    forward_float,
    inverse_float,
    inverse_order_check,
    inverse_step,
    inverse_step_seed_order,
    momentum_step,
    momentum_step_vjp,
    schedules,
)
from core.training.objectives import make_objective
from core.training.observers import Recorder
from tests.harness import rounding

NP = select_backend("numpy")


def _start(obj, backend, seed=0):
    p = backend.randn((obj.D,), seed, scale=0.1)
    return p, obj.theta0


def test_step_is_seed_eqs_15_and_16(backend):
    obj = make_objective("quadratic", backend, D=5)
    p, theta = _start(obj, backend)
    p1, theta1 = momentum_step(obj, p, theta, 0.05, 0.9)
    g = obj.grad(theta)
    np.testing.assert_array_equal(to_numpy(p1), to_numpy(0.9 * p - 0.05 * g))  # (15)
    # (16), to rounding: the two groupings of theta + beta p - alpha g part by an ulp or two
    np.testing.assert_allclose(to_numpy(theta1), to_numpy(theta + 0.9 * p - 0.05 * g), rtol=0,
                               atol=rounding(float(np.abs(to_numpy(theta)).max()) + 1, terms=3))


def test_inverse_with_theta_first_undoes_one_step(backend):
    obj = make_objective("digits", backend)
    p, theta = _start(obj, backend)
    p1, theta1 = momentum_step(obj, p, theta, 0.3, 0.9)
    back = inverse_step(obj, p1, theta1, 0.3, 0.9)
    # back to rounding: a few operations on numbers the size of the states, p divided by beta
    size = max(float(np.abs(to_numpy(a)).max()) for a in (p, theta, p1, theta1))
    np.testing.assert_allclose(to_numpy(back[1]), to_numpy(theta), rtol=0, atol=rounding(size, terms=3))
    np.testing.assert_allclose(to_numpy(back[0]), to_numpy(p), rtol=0, atol=rounding(size / 0.9, terms=3))


@pytest.mark.parametrize("name", ["quadratic", "rosenbrock", "digits"])
def test_seed_order_of_13_and_14_is_wrong_by_alpha_H_p_over_beta(name):
    obj = make_objective(name, NP, D=6)
    alpha, beta = 0.05, 0.9
    for scale in (0.1, 1e-4):
        p = NP.randn((obj.D,), 0, scale=scale)
        theta = obj.theta0
        p1, theta1 = momentum_step(obj, p, theta, alpha, beta)
        p_seed, theta_seed = inverse_step_seed_order(obj, p1, theta1, alpha, beta)
        size = max(float(np.abs(a).max()) for a in (theta, p1, theta1))
        np.testing.assert_allclose(theta_seed, theta, rtol=0, atol=rounding(size, terms=2))  # (14) itself is right
        miss = p_seed - p
        good = inverse_step(obj, p1, theta1, alpha, beta)[0] - p
        assert np.abs(miss).max() > 1e3 * np.abs(good).max()
        # exactly: (13) evaluated at theta(k+1) instead of theta(k)
        np.testing.assert_allclose(miss, alpha * (obj.grad(theta1) - obj.grad(theta)) / beta,
                                   atol=1e-12 * max(1.0, np.abs(p).max() / scale))
    # and for a small step p(k+1) it is alpha H p(k+1) / beta to first order
    alpha = 1e-4
    p1, theta1 = momentum_step(obj, NP.randn((obj.D,), 1, scale=1e-4), theta, alpha, beta)
    miss = inverse_step_seed_order(obj, p1, theta1, alpha, beta)[0] - inverse_step(obj, p1, theta1, alpha,
                                                                                  beta)[0]
    np.testing.assert_allclose(miss, alpha * obj.hvp(theta, p1) / beta, rtol=1e-2,
                               atol=1e-3 * np.abs(miss).max())


def test_float_loops_in_place_equal_the_standard_path_bit_for_bit():
    strict = select_backend("array_api_strict")
    cfg = TrainConfig(objective="quadratic", D=9, steps=60, alpha_schedule="cosine", beta_schedule="ramp")
    alphas, _, betas = schedules(cfg)
    out = {}
    for b in (NP, strict):
        obj = make_objective("quadratic", b, D=9)
        p, theta = forward_float(obj, b.xp.zeros_like(obj.theta0), obj.theta0, alphas, betas)
        back = inverse_float(obj, p, theta, alphas, betas)
        out[b.name] = [to_numpy(a) for a in (p, theta, back[0], back[1])]
    for a, c in zip(out["numpy"], out["array_api_strict"], strict=True):
        np.testing.assert_array_equal(a, c)


def test_exact_steps_in_place_equal_the_array_api_path_bit_for_bit():
    strict = select_backend("array_api_strict")
    cfg = TrainConfig(objective="quadratic", D=16, steps=250, beta=0.6, alpha_schedule="linear")
    alphas, ns, _ = schedules(cfg)
    results = {}
    for b in (NP, strict):
        obj = make_objective("quadratic", b, D=16)
        st = forward_exact(obj, ExactState.start(b.xp.zeros_like(obj.theta0), obj.theta0, 48, 16),
                           alphas, ns)
        results[b.name] = (to_numpy(st.p).copy(), to_numpy(st.theta).copy(), to_numpy(st.buf.head).copy(),
                           to_numpy(st.buf.depth).copy())
        inverse_exact(obj, st, alphas, ns)
        assert st.buf.is_empty()
        np.testing.assert_array_equal(to_numpy(st.theta), to_numpy(exact.to_fixed(obj.theta0, 48)))
    assert results["numpy"][3].min() >= 1, "words were spilled and refilled"
    for a, c in zip(results["numpy"], results["array_api_strict"], strict=True):
        np.testing.assert_array_equal(a, c)


def test_exact_inverse_step_returns_what_the_forward_step_used():
    obj = make_objective("rosenbrock", NP)
    st = ExactState.start(np.zeros(2), obj.theta0, 48, 16)
    theta_before = exact.from_fixed(st.theta, 48)
    exact_step(obj, st, 0.05, 58982, 1)
    theta_k, g = exact_step_inverse(obj, st, 0.05, 58982)
    np.testing.assert_array_equal(theta_k, theta_before)
    np.testing.assert_array_equal(g, obj.grad(theta_before))


def test_step_vjp_matches_finite_differences():
    obj = make_objective("digits", NP)
    p, theta = _start(obj, NP)
    alpha, beta = 0.3, 0.9
    rng = np.random.default_rng(4)
    p_bar, t_bar = rng.standard_normal(obj.D), rng.standard_normal(obj.D)

    def f(p_, t_, a, b):  # <cotangent, step(p, theta)>
        p1, t1 = momentum_step(obj, p_, t_, a, b)
        return p_bar @ p1 + t_bar @ t1

    pb, tb, ab, bb = momentum_step_vjp(obj, p, theta, alpha, beta, p_bar, t_bar)
    h = 1e-6
    u = rng.standard_normal(obj.D)

    def fd(dp, dt, da, db):
        up = f(p + dp, theta + dt, alpha + da, beta + db)
        return (up - f(p - dp, theta - dt, alpha - da, beta - db)) / (2 * h)

    assert fd(0, h * u, 0, 0) == pytest.approx(tb @ u, rel=1e-6)
    assert fd(h * u, 0, 0, 0) == pytest.approx(pb @ u, rel=1e-6)
    assert fd(0, 0, h, 0) == pytest.approx(ab, rel=1e-6)
    assert fd(0, 0, 0, h) == pytest.approx(bb, rel=1e-6)


def test_observer_sees_every_state_without_the_optimizer_knowing():
    obj = make_objective("quadratic", NP, D=3)
    cfg = TrainConfig(D=3, steps=20)
    alphas, _, betas = schedules(cfg)
    fwd, inv = Recorder(3), Recorder(3)
    p, theta = forward_float(obj, np.zeros(3), obj.theta0, alphas, betas, observer=fwd)
    inverse_float(obj, p, theta, alphas, betas, observer=inv)
    assert fwd.steps == list(range(21)) and inv.steps == list(range(20, -1, -1))
    np.testing.assert_array_equal(fwd.theta[-1], theta)
    np.testing.assert_allclose(inv.theta[::-1], fwd.theta, atol=1e-12)


def test_schedules():
    alphas, ns, betas = schedules(TrainConfig(steps=11, alpha=0.1, alpha_schedule="linear", beta=0.9,
                                              beta_schedule="ramp", beta_bits=8))
    assert alphas[0] == pytest.approx(0.1) and alphas[-1] == pytest.approx(0.01)
    assert betas[0] == 0.5 and betas[-1] == pytest.approx(230 / 256)
    np.testing.assert_array_equal(betas, np.array(ns) / 256)
    cos, _, _ = schedules(TrainConfig(steps=5, alpha=1.0, alpha_schedule="cosine"))
    assert cos[0] == pytest.approx(1.0) and cos[-1] == pytest.approx(0.1)


def test_diverging_float_run_names_the_step():
    obj = make_objective("quadratic", NP, D=4, cond=1.0)  # every curvature 1: unstable for alpha > 3.8
    alphas, betas = np.full(50, 5.0), np.full(50, 0.9)
    with pytest.raises(ConfigError, match=r"diverged at step (\d+).*smaller alpha \(now 5\)"):
        forward_float(obj, np.zeros(4), obj.theta0, alphas, betas)


def test_exact_overflow_is_reported_before_wrong_numbers():
    obj = make_objective("quadratic", NP, D=4, cond=1.0)
    st = ExactState.start(np.zeros(4), obj.theta0, 48, 16)
    with pytest.raises(ConfigError, match=r"overflow the fixed-point range at step \d+"):
        forward_exact(obj, st, np.full(100, 5.0), [58982] * 100)
    # every integer it did produce is still inside the range: nothing wrapped around
    assert np.abs(st.theta).max() < 2**62 and np.abs(st.p).max() < 2**62


def test_memory_is_refused_up_front():
    with pytest.raises(ConfigError, match="over the memory budget"):
        TrainConfig(D=1_000_000, steps=100_000)
    with pytest.raises(ConfigError, match="out of range"):
        TrainConfig(beta=1.5)


@pytest.mark.parametrize("objective", ["rosenbrock", "digits"])
def test_the_seeds_order_misses_by_alpha_H_p_over_beta_only_to_first_order(objective):
    """For a quadratic J the miss of (13)-before-(14) is exactly α H p(k+1)/β; otherwise it is
    α(∇J(θ(k+1)) − ∇J(θ(k)))/β, which α H p(k+1)/β gives only to first order: the relative gap is
    not rounding, and it shrinks as the step p(k+1) does (here with α)."""
    quad = inverse_order_check(TrainConfig(objective="quadratic", D=10), NP)
    assert quad.error_seed_order_p == pytest.approx(quad.predicted_alpha_H_p_over_beta, rel=1e-12)

    def gap(alpha):
        o = inverse_order_check(TrainConfig(objective=objective, D=10, alpha=alpha), NP)
        return abs(o.error_seed_order_p / o.predicted_alpha_H_p_over_beta - 1)

    big, small = gap(0.05), gap(0.005)
    assert big > 1e-6 and small < big / 3
