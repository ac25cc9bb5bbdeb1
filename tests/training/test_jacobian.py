"""core.jacobian: det d s(k+1)/d s(k) = beta^D, and the seed's eqs (26)-(30) block by block."""

from __future__ import annotations

import numpy as np
import pytest

from core.backend import select_backend, to_numpy
from core.training.jacobian import (
    JacobianConfig,
    PhaseConfig,
    hessian,
    jacobian_report,
    phase_polygon,
    seed_factors,
    shoelace,
    step_jacobian,
    step_jacobian_fd,
)
from core.training.objectives import make_objective

NP = select_backend("numpy")


@pytest.mark.parametrize("D", [1, 2, 10, 50])
def test_determinant_is_beta_to_the_D(D):
    out = jacobian_report(JacobianConfig(D=D, beta=0.9, alpha=0.05), NP)
    assert out.det == pytest.approx(0.9**D, rel=1e-12)
    assert out.det_fd == pytest.approx(0.9**D, rel=1e-7)
    assert out.beta_pow_D == 0.9**D


def test_determinant_for_a_non_quadratic_objective():
    out = jacobian_report(JacobianConfig(objective="rosenbrock", beta=0.7), NP)
    assert out.log_det == pytest.approx(out.log_beta_pow_D, rel=1e-10)
    assert out.jacobian_hvp_vs_fd_max_error < 1e-7


def test_hvp_jacobian_matches_finite_differences(backend):
    obj = make_objective("quadratic", backend, D=6, seed=1)
    theta = obj.theta0
    p = backend.randn((6,), 3, scale=0.1)
    J = to_numpy(step_jacobian(obj, theta, 0.05, 0.9))
    J_fd = to_numpy(step_jacobian_fd(obj, p, theta, 0.05, 0.9, 1e-6))
    np.testing.assert_allclose(J, J_fd, atol=1e-8)


def test_blocks_of_eqs_26_to_28():
    """Which blocks are I, which beta I, which hold the Hessian (state order (p, theta))."""
    obj = make_objective("rosenbrock", NP)
    theta, p = obj.theta0, np.array([0.1, -0.2])
    a, b = 0.05, 0.9
    H = hessian(obj, theta)
    J = step_jacobian_fd(obj, p, theta, a, b, 1e-6)
    I = np.eye(2)
    np.testing.assert_allclose(J[:2, :2], b * I, atol=1e-9)  # dp'/dp = beta I
    np.testing.assert_allclose(J[:2, 2:], -a * H, atol=1e-8)  # dp'/dtheta: the Hessian is here
    np.testing.assert_allclose(J[2:, :2], b * I, atol=1e-9)  # dtheta'/dp = beta I
    np.testing.assert_allclose(J[2:, 2:], I - a * H, atol=1e-8)  # dtheta'/dtheta = I - alpha H
    f = seed_factors(H, a, b)
    np.testing.assert_array_equal(f["dz2/dy1 = dG/dy1"], I)  # G is the identity: the block is I
    np.testing.assert_array_equal(f["dy2/dx1"], 0 * I)
    np.testing.assert_array_equal(f["dy1/dx2 = dF/dx2"], -a * H)


def test_seed_labels_pinned():
    """Eq (28): with the seed's dF/dx1 (= 0, F reads x2) the product misses the Hessian; with
    dG/dx1 (= beta I by the chain rule) instead of dG/dy1 = I it is wrong too; eq (30)'s first
    determinant is the number 1; the product of the true factors is the Jacobian."""
    out = jacobian_report(JacobianConfig(D=8, alpha=0.05, beta=0.9), NP)
    assert out.factors_product_error < 1e-14
    assert out.seed_dF_dx1_product_error == pytest.approx(0.05 * out.hessian_max_abs_entry, rel=1e-6)
    assert out.seed_dG_dx1_product_error == pytest.approx(0.9 * (1 - 0.9), rel=1e-6)  # beta^2 vs beta
    assert out.det_dz_dy == 1.0 and out.det_dy_dx == pytest.approx(0.9**8)
    assert out.eq16_error < 1e-15  # eq (16) is right
    assert max(out.block_errors_vs_fd.values()) < 1e-8


def test_phase_polygon_area_shrinks_by_beta_per_step():
    res = phase_polygon(PhaseConfig(steps=60, beta=0.8, alpha=0.05, curvature=2.0), NP)
    np.testing.assert_allclose(res.area_ratio, 0.8 ** np.arange(61), rtol=1e-9)
    assert res.max_ratio_error < 1e-9 and res.det == 0.8
    assert res.p.shape == (61, 48)


def test_shoelace_of_a_unit_square():
    assert shoelace(np.array([0.0, 1, 1, 0]), np.array([0.0, 0, 1, 1])) == 1.0
