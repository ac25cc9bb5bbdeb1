"""core.hypergrad: d(validation loss)/d(alpha(k), beta(k), theta(0)) through the exact reverse pass."""

from __future__ import annotations

import numpy as np
import pytest

from core.backend import select_backend
from core.training import exact
from core.training.hypergrad import HypergradConfig, hypergradients

NP = select_backend("numpy")


@pytest.mark.parametrize("kw", [
    dict(objective="digits", steps=40, alpha=0.5, fd_points=5),
    dict(objective="quadratic", D=15, steps=80, alpha=0.1, beta=0.8, fd_points=6),
    dict(objective="rosenbrock", steps=100, alpha=0.05, alpha_schedule="cosine", beta_schedule="ramp"),
], ids=["digits", "quadratic", "rosenbrock"])
def test_hypergradients_match_central_differences(kw):
    res = hypergradients(HypergradConfig(**kw), NP)
    errs = res.rel_errors()
    assert max(errs.values()) < 1e-5, errs
    assert res.reversed_exactly, "the reverse pass recovered theta(0), p(0) bit for bit"
    assert len(res.alpha_bar) == kw["steps"] and res.theta0_bar.shape == (res.p0_bar.shape[0],)
    assert np.abs(res.alpha_bar).max() > 0 and np.abs(res.beta_bar).max() > 0
    assert res.beta_bar[0] == 0.0, "beta(0) multiplies p(0) = 0"


def test_summary_keys_and_relative_error_definition():
    res = hypergradients(HypergradConfig(objective="quadratic", D=4, steps=10, fd_points=3), NP)
    out = res.summary()
    assert out["max_rel_error_vs_fd"] == max(out["rel_error_alpha"], out["rel_error_beta"],
                                             out["rel_error_theta0"])
    assert len(out["d_val_loss_d_alpha"]) == 10 and out["fd_steps"] == [0, 4, 9]
    # theta(0)_bar is the gradient of the loss after training: <theta0_bar, u> was checked along u
    fd = out["fd_d_val_loss_d_theta0_along_u"]
    assert out["d_val_loss_d_theta0_along_u"] == pytest.approx(fd, rel=1e-6)


def test_hypergradient_of_a_one_step_quadratic_by_hand():
    """K = 1, p(0) = 0: theta(1) = theta0 - alpha A theta0, L = theta(1)^T A theta(1) / 2,
    so dL/d alpha = -(A theta0)^T A theta(1). The hypergradient is taken along the exact run,
    whose theta(1) misses the real one by up to the exact step's error bound e (the digits
    popped into p, even from p(0) = 0, and the truncation of alpha grad J): so the formula holds
    to |A theta0|^T |A| e and |(I - alpha A) A| e, whatever the machine rounds."""
    cfg = HypergradConfig(objective="quadratic", D=3, steps=1, alpha=0.1, fd_points=1)
    res = hypergradients(cfg, NP)
    from core.training.objectives import make_objective

    obj = make_objective("quadratic", NP, D=3)
    A = obj.hessian_host()
    t1 = obj.theta0 - 0.1 * A @ obj.theta0
    n = exact.beta_fraction(cfg.beta, cfg.beta_bits)[0]
    e = exact.step_error_bound(n, cfg.beta_bits, cfg.fraction_bits) + 2.0**-cfg.fraction_bits  # theta(0) on the grid
    M = (np.eye(3) - 0.1 * A) @ A
    assert abs(res.alpha_bar[0] - -(A @ obj.theta0) @ (A @ t1)) <= np.abs(A @ obj.theta0) @ np.abs(A).sum(axis=1) * e
    assert np.all(np.abs(res.theta0_bar - M @ t1) <= np.abs(M).sum(axis=1) * e)
    assert abs(res.alpha_bar[0]) > 1e3 * e  # the check is far finer than the figure it checks
