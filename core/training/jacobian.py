"""The one-step Jacobian of momentum SGD, its determinant beta^D, and phase-space volume.

Seed problem 7 writes the step s(k) = (p, theta) = (x1, x2) -> s(k+1) = (z1, z2) as two
shears, eqs (26)-(27): y1 = beta x1 + F(x2), y2 = x2 with F(theta) = -alpha grad J(theta);
then z1 = y1, z2 = y2 + G(y1) with G the identity. So (state order (p, theta))

    dy/dx = [[beta I, dF/dx2 = -alpha H], [0, I]],   dz/dy = [[I, 0], [dG/dy1 = I, I]],
    ds(k+1)/ds(k) = dz/dy dy/dx = [[beta I, -alpha H], [beta I, I - alpha H]],

and det = det(dz/dy) det(dy/dx) = 1 * beta^D. The seed's eqs (28)-(29) label the Hessian
block dF/dx1 (it is dF/dx2: F reads theta = x2; dF/dx1 = 0) and the lower block dG/dx1 (it is
dG/dy1 = I; the chain-rule dG(y1(x))/dx1 would be beta I), writes the block beta I as the
scalar beta, and never defines D (the number of parameters, the length of theta, not problem
3's input size); eq (30) writes the first determinant as "I" (it is the number 1). The
conclusion det = beta^D is right. Every block is
computed here from Hessian-vector products and checked against finite differences.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core import check
from core.backend import Backend, namespace, to_numpy
from core.config import Config, param
from core.limits import ConfigError
from core.training.momentum import momentum_step
from core.training.objectives import OBJECTIVES, Objective, make_objective


@dataclass(frozen=True)
class JacobianConfig(Config):
    """Where the one-step Jacobian is taken (``python -m core reversible jacobian``)."""

    cli_topic = "reversible jacobian"
    objective: str = param("quadratic", choices=OBJECTIVES, label="Objective J(θ)")
    D: int = param(10, 1, 200, label="D (parameters)", help="size of θ for the quadratic")
    alpha: float = param(0.05, 1e-5, 10.0, log=True, label="α (learning rate)")
    beta: float = param(0.9, 0.01, 1.0, step=0.01, label="β (momentum)")
    cond: float = param(100.0, 1.0, 1e6, log=True, advanced=True, label="condition number")
    l2: float = param(1e-3, 0.0, 1.0, log=True, advanced=True, label="L2 penalty (digits)")
    fd_eps: float = param(1e-6, 1e-9, 1e-2, log=True, advanced=True, label="finite-difference step")


def hessian(obj: Objective, theta: Any) -> Any:
    """H = d grad J / d theta, one Hessian-vector product per column."""
    xp = namespace(theta)
    eye = xp.eye(obj.D, dtype=theta.dtype)
    return xp.stack([obj.hvp(theta, eye[i, :]) for i in range(obj.D)], axis=1)  # (D, D)


def seed_factors(H: Any, alpha: float, beta: float) -> dict[str, Any]:
    """The blocks of eqs (26)-(28): dy/dx and dz/dy, as they really are."""
    xp = namespace(H)
    D = H.shape[0]
    I, Z = xp.eye(D, dtype=H.dtype), xp.zeros((D, D), dtype=H.dtype)
    return {"dy1/dx1": beta * I, "dy1/dx2 = dF/dx2": -alpha * H, "dy2/dx1": Z, "dy2/dx2": I,
            "dz1/dy1": I, "dz1/dy2": Z, "dz2/dy1 = dG/dy1": I, "dz2/dy2": I}


def block(top_left: Any, top_right: Any, bottom_left: Any, bottom_right: Any) -> Any:
    xp = namespace(top_left)
    return xp.concat([xp.concat([top_left, top_right], axis=1),
                      xp.concat([bottom_left, bottom_right], axis=1)], axis=0)


def step_jacobian(obj: Objective, theta: Any, alpha: float, beta: float) -> Any:
    """d s(k+1) / d s(k) from Hessian-vector products, state order (p, theta): (2D, 2D)."""
    f = seed_factors(hessian(obj, theta), alpha, beta)
    xp = namespace(theta)
    dydx = block(f["dy1/dx1"], f["dy1/dx2 = dF/dx2"], f["dy2/dx1"], f["dy2/dx2"])
    dzdy = block(f["dz1/dy1"], f["dz1/dy2"], f["dz2/dy1 = dG/dy1"], f["dz2/dy2"])
    return xp.matmul(dzdy, dydx)


def step_jacobian_fd(obj: Objective, p: Any, theta: Any, alpha: float, beta: float, eps: float,
                     columns: list[int] | None = None) -> Any:
    """The same Jacobian by central differences of :func:`momentum_step` (``core.check``), for
    checking: (2D, 2D), or only the given ``columns`` (2D, len(columns))."""
    xp = namespace(theta)
    D = obj.D
    eye = xp.eye(D, dtype=theta.dtype)

    def column(i: int) -> Any:
        e = eye[i % D, :]
        dp, dt = (e, 0 * e) if i < D else (0 * e, e)
        return check.central(lambda s: xp.concat(momentum_step(obj, p + s * dp, theta + s * dt, alpha, beta)), eps)

    return xp.stack([column(i) for i in (range(2 * D) if columns is None else columns)], axis=1)  # (2D, columns)


FD_COLUMNS = 200  # above this many columns, finite differences check a seeded sample of them


@dataclass(frozen=True)
class JacobianReport:
    """The one-step Jacobian, its determinant against beta^D, and the seed's blocks checked."""

    objective: str
    D: int
    alpha: float
    beta: float
    det: float
    beta_pow_D: float
    log_det: float
    log_beta_pow_D: float
    det_rel_error: float
    det_fd: float | None  # of the finite-difference Jacobian, where every column was taken
    fd_columns_checked: int
    det_dz_dy: float  # eq (30)'s first factor: the number 1
    det_dy_dx: float
    jacobian_hvp_vs_fd_max_error: float
    factors_product_error: float  # dz/dy dy/dx against the Jacobian itself
    seed_dF_dx1_product_error: float  # the product with the seed's label dF/dx1 (= 0) for the Hessian block
    seed_dG_dx1_product_error: float  # the product with the seed's label dG/dx1 (= beta I)
    block_errors_vs_fd: dict[str, float]
    hessian_max_abs_entry: float
    eq16_error: float  # seed eq (16) against the step


def jacobian_report(cfg: JacobianConfig, backend: Backend, *, seed: int = 0) -> JacobianReport:
    """det d s(k+1)/d s(k) against beta^D, and each seed block checked (see module docstring)."""
    obj = make_objective(cfg.objective, backend, D=cfg.D, cond=cfg.cond, l2=cfg.l2, seed=seed)
    D = obj.D
    if D > 700:
        raise ConfigError(f"the Jacobian of D = {D} parameters is too large to show: choose D <= 700")
    theta = obj.theta0
    p = backend.randn((D,), seed + 2, scale=0.1)
    a, b = cfg.alpha, cfg.beta
    H = hessian(obj, theta)
    J = to_numpy(step_jacobian(obj, theta, a, b))
    full = 2 * D <= FD_COLUMNS
    cols = (list(range(2 * D)) if full
            else sorted(np.random.default_rng(seed).choice(2 * D, FD_COLUMNS, replace=False).tolist()))
    J_fd = to_numpy(step_jacobian_fd(obj, p, theta, a, b, cfg.fd_eps, None if full else cols))
    Hn, I, Z = to_numpy(H), np.eye(D), np.zeros((D, D))
    dydx = np.block([[b * I, -a * Hn], [Z, I]])
    dzdy = np.block([[I, Z], [I, I]])
    seed_dydx = np.block([[b * I, Z], [Z, I]])  # the seed's label dF/dx1 = 0 in the Hessian's place
    seed_dzdy = np.block([[I, Z], [b * I, I]])  # the seed's label dG/dx1 = beta I below the diagonal
    sign, logdet = np.linalg.slogdet(J)
    log_beta_D = D * np.log(b)
    _, t1 = momentum_step(obj, p, theta, a, b)
    eq16 = theta + b * p - a * obj.grad(theta)  # seed eq (16)
    xp = namespace(theta)
    want = {"dp'/dp = beta I": np.block([[b * I, Z], [Z, Z]]),
            "dp'/dtheta = -alpha H": np.block([[Z, -a * Hn], [Z, Z]]),
            "dtheta'/dp = beta I": np.block([[Z, Z], [b * I, Z]]),
            "dtheta'/dtheta = I - alpha H": np.block([[Z, Z], [Z, I - a * Hn]])}
    rows_p, cols_p = np.arange(2 * D) < D, np.array(cols) < D
    masks = {"dp'/dp = beta I": (rows_p, cols_p), "dp'/dtheta = -alpha H": (rows_p, ~cols_p),
             "dtheta'/dp = beta I": (~rows_p, cols_p), "dtheta'/dtheta = I - alpha H": (~rows_p, ~cols_p)}

    def block_error(name: str) -> float:
        r, c = masks[name]
        diff = (J_fd - want[name][:, cols])[np.ix_(r, c)]
        return float(np.max(np.abs(diff))) if diff.size else 0.0

    det_fd = None
    if full:
        sign_fd, logdet_fd = np.linalg.slogdet(J_fd)
        det_fd = float(sign_fd * np.exp(logdet_fd))
    return JacobianReport(
        objective=obj.name, D=D, alpha=a, beta=b, det=float(sign * np.exp(logdet)), beta_pow_D=float(b**D),
        log_det=float(logdet), log_beta_pow_D=float(log_beta_D),
        det_rel_error=float(abs(np.expm1(logdet - log_beta_D))) if sign > 0 else float("inf"),
        det_fd=det_fd, fd_columns_checked=len(cols),
        det_dz_dy=float(np.linalg.det(dzdy)), det_dy_dx=float(np.linalg.det(dydx)),
        jacobian_hvp_vs_fd_max_error=float(np.max(np.abs(J[:, cols] - J_fd))),
        factors_product_error=float(np.max(np.abs(dzdy @ dydx - J))),
        seed_dF_dx1_product_error=float(np.max(np.abs((dzdy @ seed_dydx)[:, cols] - J_fd))),
        seed_dG_dx1_product_error=float(np.max(np.abs((seed_dzdy @ dydx)[:, cols] - J_fd))),
        block_errors_vs_fd={name: block_error(name) for name in want},
        hessian_max_abs_entry=float(np.max(np.abs(Hn))), eq16_error=float(xp.max(xp.abs(eq16 - t1))))


@dataclass(frozen=True)
class PhaseConfig(Config):
    """A polygon of states (p, theta) with D = 1 pushed forward (``reversible phase``)."""

    cli_topic = "reversible phase"
    steps: int = param(40, 1, 500, label="K (steps)")
    alpha: float = param(0.05, 1e-5, 10.0, log=True, label="α (learning rate)")
    beta: float = param(0.9, 0.01, 1.0, step=0.01, label="β (momentum)")
    curvature: float = param(1.0, 0.01, 100.0, log=True, label="curvature λ of J = λθ²/2")
    radius: float = param(0.3, 0.01, 2.0, label="radius of the starting polygon")
    vertices: int = param(48, 3, 500, label="polygon vertices")


class Parabola:
    """J(theta) = lam theta^2 / 2 for each entry of theta separately (a batch of D = 1 runs)."""

    name = "parabola"

    def __init__(self, lam: float, D: int) -> None:
        self.lam, self.D = lam, D

    def grad(self, theta: Any) -> Any:
        return self.lam * theta

    def hvp(self, theta: Any, v: Any) -> Any:
        return self.lam * v


def shoelace(p: np.ndarray, theta: np.ndarray) -> float:
    """Area enclosed by the polygon with vertices (p_i, theta_i), in order."""
    return 0.5 * abs(float(np.dot(p, np.roll(theta, -1)) - np.dot(np.roll(p, -1), theta)))


@dataclass(frozen=True)
class PhasePolygon:
    """A polygon of states pushed forward: vertices per step, its area, and beta^k A(0)."""

    p: np.ndarray  # (K+1, V)
    theta: np.ndarray  # (K+1, V)
    area: np.ndarray  # (K+1,)
    area_ratio: np.ndarray  # A(k) / A(0)
    beta_pow_k: np.ndarray
    max_ratio_error: float  # max |A(k) / (beta^k A(0)) - 1|
    det: float  # the determinant for D = 1: beta


def phase_polygon(cfg: PhaseConfig, backend: Backend) -> PhasePolygon:
    """Vertices (K+1, V) of p and theta, the enclosed area per step, and beta^k A(0).
    The step is linear for D = 1 quadratics, so a polygon maps onto a polygon exactly and its
    area scales by det = beta each step."""
    xp = backend.xp
    obj = Parabola(cfg.curvature, cfg.vertices)
    angle = 2 * np.pi * np.arange(cfg.vertices) / cfg.vertices
    p = backend.asarray(cfg.radius * np.cos(angle), "float64")
    theta = backend.asarray(1.0 + cfg.radius * np.sin(angle), "float64")
    ps, thetas = [to_numpy(p)], [to_numpy(theta)]
    for _ in range(cfg.steps):
        p, theta = momentum_step(obj, p, theta, cfg.alpha, cfg.beta)
        ps.append(to_numpy(p))
        thetas.append(to_numpy(theta))
    P, T = np.array(ps), np.array(thetas)  # (K+1, V)
    areas = np.array([shoelace(P[k], T[k]) for k in range(cfg.steps + 1)])
    ratio = areas / areas[0]
    expected = cfg.beta ** np.arange(cfg.steps + 1)
    del xp
    return PhasePolygon(p=P, theta=T, area=areas, area_ratio=ratio, beta_pow_k=expected,
                        max_ratio_error=float(np.max(np.abs(ratio / expected - 1))), det=cfg.beta)
