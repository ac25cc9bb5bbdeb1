"""Hypergradients by reverse mode through training, on the exact reverse pass.

Maclaurin, Duvenaud & Adams (2015), algorithm 2: after K forward steps, the gradient of the
validation loss L(theta(K)) with respect to every alpha(k), every beta(k) and theta(0) is
accumulated backwards from k = K-1 to 0. Each backward step needs theta(k) and p(k); instead
of storing the trajectory (K D numbers) they are recovered by the exact inverse step
(``core.reversible.exact_step_inverse``), which also hands back grad J(theta(k)), the very
numbers the forward step used. Memory is then that of the buffer, about
D K log2(1/beta) bits, not 64 D K.

Checked against central finite differences of the same loss computed by float64 training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core import check
from core.backend import Backend, to_numpy
from core.config import param
from core.limits import ProgressFn, no_progress, require_time
from core.training import exact
from core.training.exact import ExactState, exact_step_inverse, forward_exact
from core.training.momentum import TrainConfig, forward_float, momentum_step_vjp, schedules
from core.training.objectives import OBJECTIVES, make_objective
from core.training.roundtrip import step_seconds


@dataclass(frozen=True)
class HypergradConfig(TrainConfig):
    """A training run whose validation loss is differentiated (``reversible hypergrad``)."""

    cli_topic = "reversible hypergrad"
    objective: str = param("digits", choices=OBJECTIVES, label="Objective J(θ)",
                           help="digits: logistic regression, validation loss on held-out digits")
    steps: int = param(100, 1, 5_000, label="K (steps)", help="training steps differentiated through")
    alpha: float = param(0.5, 1e-5, 10.0, log=True, label="α (learning rate)")
    fd_points: int = param(8, 1, 200, label="finite-difference checks",
                           help="steps k at which d/dα(k) and d/dβ(k) are checked by central differences")
    fd_eps: float = param(1e-5, 1e-8, 1e-2, log=True, advanced=True, label="finite-difference step",
                          help="relative for α(k); absolute for β(k) and along the θ(0) direction")


@dataclass
class Hypergrads:
    """dL/d alpha(k), dL/d beta(k), dL/d theta(0) and their finite-difference checks."""

    val_loss: float
    alpha_bar: np.ndarray  # (K,)
    beta_bar: np.ndarray  # (K,)
    theta0_bar: np.ndarray  # (D,)
    p0_bar: np.ndarray  # (D,)
    fd_steps: np.ndarray  # (m,) steps k checked
    fd_alpha: np.ndarray  # (m,) central differences of L in alpha(k)
    fd_beta: np.ndarray  # (m,)
    theta0_direction: float  # <dL/dtheta(0), u> for a random unit u
    fd_theta0_direction: float  # (L(theta0 + h u) - L(theta0 - h u)) / 2h
    reversed_exactly: bool  # the reverse pass landed on theta(0), p(0) bit for bit

    def rel_errors(self) -> dict[str, float]:
        """Largest relative error of each group: |a - b| / max(|a|, |b|, 1e-6 max|b| of the group)."""
        def rel(a: np.ndarray, b: np.ndarray) -> float:
            a, b = np.atleast_1d(a), np.atleast_1d(b)
            floor = 1e-6 * float(np.max(np.abs(b))) + 1e-300
            return float(np.max(np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), floor)))
        return {"alpha": rel(self.alpha_bar[self.fd_steps], self.fd_alpha),
                "beta": rel(self.beta_bar[self.fd_steps], self.fd_beta),
                "theta0": rel(np.array(self.theta0_direction), np.array(self.fd_theta0_direction))}

    @property
    def max_rel_error(self) -> float:
        """The largest relative error of the three groups against finite differences."""
        return max(self.rel_errors().values())

    def summary(self) -> dict[str, Any]:
        errs = self.rel_errors()
        return {"max_rel_error_vs_fd": max(errs.values()), "rel_error_alpha": errs["alpha"],
                "rel_error_beta": errs["beta"], "rel_error_theta0": errs["theta0"],
                "val_loss": self.val_loss, "reversed_exactly": self.reversed_exactly,
                "fd_steps": self.fd_steps.tolist(), "d_val_loss_d_alpha": self.alpha_bar.tolist(),
                "fd_d_val_loss_d_alpha": self.fd_alpha.tolist(),
                "d_val_loss_d_beta": self.beta_bar.tolist(), "fd_d_val_loss_d_beta": self.fd_beta.tolist(),
                "d_val_loss_d_theta0_norm": float(np.linalg.norm(self.theta0_bar)),
                "d_val_loss_d_theta0_along_u": self.theta0_direction,
                "fd_d_val_loss_d_theta0_along_u": self.fd_theta0_direction}


def hypergradients(cfg: HypergradConfig, backend: Backend, *, seed: int = 0, progress: ProgressFn = no_progress,
                   budget_seconds: float | None = None) -> Hypergrads:
    """Reverse-mode hypergradients of L_val(theta(K)) through K exact steps, with FD checks.
    ``budget_seconds`` refuses, before any work, a run estimated to take longer."""
    if budget_seconds is not None:
        require_time(hypergrad_seconds(cfg), "the hypergradients and their checks", budget_seconds,
                     hint="choose fewer steps or fewer finite-difference checks, or run the command below")
    xp = backend.xp
    obj = make_objective(cfg.objective, backend, D=cfg.D, cond=cfg.cond, l2=cfg.l2, seed=seed)
    alphas, ns, betas = schedules(cfg)
    K, F, s = cfg.steps, cfg.fraction_bits, cfg.beta_bits
    theta0, p0 = obj.theta0, xp.zeros_like(obj.theta0)
    st = forward_exact(obj, ExactState.start(p0, theta0, F, s), alphas, ns,
                       progress=lambda f, m: progress(0.25 * f, m))
    theta_K = exact.from_fixed(st.theta, F)
    val_loss = obj.val_loss(theta_K)
    theta_bar, p_bar = obj.val_grad(theta_K), xp.zeros_like(theta_K)
    alpha_bar, beta_bar = np.zeros(K), np.zeros(K)
    for k in range(K - 1, -1, -1):  # undo step k exactly, then pull the cotangents through it
        theta_k, g = exact_step_inverse(obj, st, float(alphas[k]), ns[k])
        p_k = exact.from_fixed(st.p, F)
        p_bar, theta_bar, alpha_bar[k], beta_bar[k] = momentum_step_vjp(
            obj, p_k, theta_k, float(alphas[k]), float(betas[k]), p_bar, theta_bar, g)
        if k % max(1, K // 50) == 0:
            progress(0.25 + 0.25 * (K - k) / K, f"reverse step {K - k:,} of {K:,}")
    start = exact.to_fixed(p0, F), exact.to_fixed(theta0, F)
    reversed_exactly = (bool(xp.all(st.p == start[0])) and bool(xp.all(st.theta == start[1]))
                        and st.buf.is_empty())

    def loss_of(a: np.ndarray, b: np.ndarray, t0: Any) -> float:
        _, theta = forward_float(obj, p0, t0, a, b)
        return obj.val_loss(theta)

    checks = np.unique(np.linspace(0, K - 1, min(cfg.fd_points, K)).round().astype(np.int64))
    fd_alpha, fd_beta = np.zeros(len(checks)), np.zeros(len(checks))

    def bumped(schedule: np.ndarray, k: int, s: float) -> np.ndarray:
        out = schedule.copy()
        out[k] += s
        return out

    for i, k in enumerate(checks):  # central differences (core.check): relative in alpha(k), absolute in beta(k)
        fd_alpha[i] = check.central(lambda s, k=k: loss_of(bumped(alphas, k, s * alphas[k]), betas, theta0),
                                    cfg.fd_eps) / alphas[k]
        fd_beta[i] = check.central(lambda s, k=k: loss_of(alphas, bumped(betas, k, s), theta0), cfg.fd_eps)
        progress(0.5 + 0.5 * (i + 1) / (len(checks) + 1), f"finite differences at step {k}")
    u = check.random_direction({"theta0": np.zeros(obj.D)}, np.random.default_rng(seed + 1))["theta0"]
    u_dev = backend.asarray(u, "float64")
    fd_dir = check.central(lambda s: loss_of(alphas, betas, theta0 + s * u_dev), cfg.fd_eps)
    progress(1.0, "done")
    theta0_bar = to_numpy(theta_bar).astype(np.float64)
    return Hypergrads(val_loss=val_loss, alpha_bar=alpha_bar, beta_bar=beta_bar, theta0_bar=theta0_bar,
                      p0_bar=to_numpy(p_bar).astype(np.float64), fd_steps=checks, fd_alpha=fd_alpha,
                      fd_beta=fd_beta, theta0_direction=float(theta0_bar @ u),
                      fd_theta0_direction=float(fd_dir), reversed_exactly=reversed_exactly)


def hypergrad_seconds(cfg: HypergradConfig) -> float:
    """Rough wall time: an exact round trip with one Hessian-vector product per step back, and
    4 fd_points + 2 float64 trainings for the finite differences (core.training.roundtrip's model)."""
    exact_roundtrip = 2 * cfg.steps * step_seconds(cfg, "exact")
    forward_float64 = cfg.steps * step_seconds(cfg, "float64")
    return 1.5 * exact_roundtrip + (4 * cfg.fd_points + 2) * forward_float64
