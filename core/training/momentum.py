"""Momentum SGD through training, run forward and inverted step by step (seed problems 6, 7).

Forward, seed eqs (15)-(16), with per-step schedules alpha(k), beta(k):

    p(k+1) = beta(k) p(k) - alpha(k) grad J(theta(k)),    theta(k+1) = theta(k) + p(k+1).

Inverse, seed eqs (13)-(14), in the order that works: (14) first, theta(k) = theta(k+1) -
p(k+1), and only then (13), p(k) = (p(k+1) + alpha grad J(theta(k))) / beta, because (13)
needs the gradient at theta(k). Written in the seed's order, (13) can only use theta(k+1)
(:func:`inverse_step_seed_order`), and the step is wrong by alpha (grad J(theta(k+1)) - grad
J(theta(k))) / beta: exactly alpha H p(k+1) / beta for a quadratic J, to first order otherwise.

In float32/float64 the inverse drifts. Each step shrinks volume by det = beta^D, while floating
point keeps a fixed relative resolution: states the step brings closer than that resolution end
up on the same float, and what told them apart is gone, at D log2(1/beta) bits per step. The
inverse divides by beta, which multiplies every rounding error by 1/beta per step undone, so the
drift grows like beta^-k. In ``exact`` mode (``core.training.exact``) p and theta are fixed-point
integers and the bits the multiplication by beta discards are kept in an information buffer, so
theta(0) and p(0) come back bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.backend import Backend, abs_max, namespace
from core.config import Config, param
from core.limits import ConfigError, ProgressFn, no_progress, require_memory
from core.training import buffer, exact, small
from core.training.objectives import OBJECTIVES, Objective, make_objective, objective_size
from core.training.observers import Observer

DIVERGENCE = 1e6  # |theta| beyond this many times max(1, |theta(0)|) counts as diverged


@dataclass(frozen=True)
class TrainConfig(Config):
    """One training run, forward then inverted (``python -m core reversible run``)."""

    cli_topic = "reversible run"
    objective: str = param("quadratic", choices=OBJECTIVES, label="Objective J(θ)",
                           help="ill-conditioned quadratic, 2-D Rosenbrock, or logistic regression "
                                "on the 8x8 digits")
    D: int = param(2, 1, 1_000_000, label="D (parameters)",
                   help="size of θ for the quadratic (Rosenbrock has 2, digits 650)")
    steps: int = param(300, 1, 100_000, label="K (steps)", help="training steps run forward, then undone")
    alpha: float = param(0.05, 1e-5, 10.0, log=True, label="α (learning rate)")
    beta: float = param(0.9, 0.1, 1.0, step=0.01, label="β (momentum)")
    alpha_schedule: str = param("constant", choices=("constant", "linear", "cosine"),
                                label="α schedule", help="linear and cosine decay α(k) to α/10")
    beta_schedule: str = param("constant", choices=("constant", "ramp"), label="β schedule",
                               help="ramp: β(k) rises from 0.5 to β over the first half")
    mode: str = param("exact", choices=("float32", "float64", "exact"), label="Arithmetic",
                      help="floating point (the inverse drifts) or exact fixed point (it does not)")
    cond: float = param(100.0, 1.0, 1e6, log=True, advanced=True, label="condition number",
                        help="ratio of the quadratic's largest to smallest Hessian eigenvalue")
    l2: float = param(1e-3, 0.0, 1.0, log=True, advanced=True, label="L2 penalty (digits)")
    fraction_bits: int = param(48, 16, 56, advanced=True, label="fraction bits F",
                               help="fixed point: x is held as round(x 2^F) in int64")
    beta_bits: int = param(16, 4, exact.MAX_BETA_BITS, advanced=True, label="β bits s",
                           help="β is rounded to n / 2^s in every mode, so all modes run one map")

    @property
    def size(self) -> int:
        return objective_size(self.objective, self.D)

    def check(self) -> None:
        require_memory(run_bytes(self), f"a run with D = {self.size:,}, K = {self.steps:,}")
        self.exact_precision()  # refuses an exact run whose trained path would mean nothing

    def exact_precision(self) -> ExactPrecision | None:
        """What exact arithmetic costs the trained path (None in float modes): the per-step error
        bound, the estimated end distance from float64 training, and a warning ('' when it is
        small). ConfigError where the run would not train the map at all (exact.training_guard)."""
        if self.mode != "exact":
            return None
        s, F = self.beta_bits, self.fraction_bits
        n = exact.beta_fraction(self.beta, s)[0]  # the largest beta(k) of either schedule
        return ExactPrecision(step_error_bound=exact.step_error_bound(n, s, F),
                              float64_drift_estimate=exact.float64_drift_estimate(self.steps, n / 2**s, n, s, F),
                              exact_warning=exact.training_guard(self.steps, n / 2**s, n, s, F))


@dataclass(frozen=True)
class ExactPrecision:
    """How far an exact run may stray from the momentum step it stands for."""

    step_error_bound: float  # (n + 1) 2^-F per parameter per step
    float64_drift_estimate: float  # estimated end distance from float64 training of the same schedule
    exact_warning: str  # '' when that distance is small

    def as_dict(self) -> dict[str, float | str]:
        return {"step_error_bound": self.step_error_bound, "float64_drift_estimate": self.float64_drift_estimate,
                "exact_warning": self.exact_warning}


def run_bytes(cfg: TrainConfig) -> float:
    """Working set: ~16 state and scratch vectors, plus in exact mode the buffer's words (at
    most the bound K log2(1/beta_min) bits per parameter), a head and a depth per parameter."""
    D = cfg.size
    total = 16 * 8 * D
    if cfg.mode == "exact":
        beta_min = min(cfg.beta, 0.5) if cfg.beta_schedule == "ramp" else cfg.beta
        bits = cfg.steps * math.log2(1 / beta_min)
        total += D * (4 * (bits / buffer.WORD + 2) + 16)
    return total


def schedules(cfg: TrainConfig) -> tuple[np.ndarray, list[int], np.ndarray]:
    """(alpha(k), n(k), beta_eff(k) = n(k) / 2^s) for k = 0 .. K-1."""
    K = cfg.steps
    t = np.arange(K) / max(K - 1, 1)
    alphas = {"constant": np.full(K, cfg.alpha),
              "linear": cfg.alpha * (1 - 0.9 * t),
              "cosine": cfg.alpha * (0.1 + 0.45 * (1 + np.cos(np.pi * t)))}[cfg.alpha_schedule]
    betas = np.full(K, cfg.beta)
    if cfg.beta_schedule == "ramp":
        start = min(0.5, cfg.beta)
        betas = np.minimum(cfg.beta, start + (cfg.beta - start) * 2 * t)
    ns = [exact.beta_fraction(float(b), cfg.beta_bits)[0] for b in betas]
    return alphas, ns, np.array(ns, dtype=np.float64) / 2**cfg.beta_bits


# ---- one step forward and back, in floating point ---------------------------------------------

def momentum_step(obj: Objective, p: Any, theta: Any, alpha: float, beta: float) -> tuple[Any, Any]:
    """Seed eqs (15)-(16): p <- beta p - alpha grad J(theta); theta <- theta + p."""
    p = beta * p - alpha * obj.grad(theta)
    return p, theta + p


def momentum_step_vjp(obj: Objective, p: Any, theta: Any, alpha: float, beta: float, p_bar: Any,
                      theta_bar: Any, g: Any = None) -> tuple[Any, Any, float, float]:
    """Cotangents of one forward step (reverse mode, Maclaurin et al. algorithm 2): given
    p_bar, theta_bar of step k+1, returns (p_bar, theta_bar, alpha_bar, beta_bar) of step k.
    theta(k+1) = theta(k) + p(k+1), so p(k+1) collects v = p_bar + theta_bar; then
    p(k)_bar = beta v, theta(k)_bar = theta_bar - alpha H v, alpha_bar = -g.v, beta_bar = p.v."""
    xp = namespace(theta)
    v = p_bar + theta_bar
    g = obj.grad(theta) if g is None else g
    return (beta * v, theta_bar - alpha * obj.hvp(theta, v),
            -float(xp.vecdot(g, v)), float(xp.vecdot(p, v)))


def inverse_step(obj: Objective, p: Any, theta: Any, alpha: float, beta: float) -> tuple[Any, Any]:
    """Seed eq (14) first, theta(k) = theta(k+1) - p(k+1); then eq (13) with grad J(theta(k))."""
    theta = theta - p
    return (p + alpha * obj.grad(theta)) / beta, theta


def inverse_step_seed_order(obj: Objective, p: Any, theta: Any, alpha: float,
                            beta: float) -> tuple[Any, Any]:
    """Eqs (13) then (14) as the seed lists them: (13) runs before theta(k) is known, so it can
    only use grad J(theta(k+1)). Kept to show it is wrong (by alpha H p(k+1) / beta)."""
    p_prev = (p + alpha * obj.grad(theta)) / beta
    return p_prev, theta - p


def _diverged(theta: Any, limit: float) -> float | None:
    top = abs_max(theta)
    return None if top < limit else top


def _diverged_at(step: int, top: float, alpha: float, limit: float) -> None:
    raise ConfigError(f"momentum SGD diverged at step {step}: |theta| reached {top:.3g} "
                      f"(limit {limit:.3g}); choose a smaller alpha (now {alpha:g}) or beta")


def forward_float(obj: Objective, p: Any, theta: Any, alphas: np.ndarray, betas: np.ndarray, *,
                  observer: Observer | None = None, progress: ProgressFn = no_progress) -> tuple[Any, Any]:
    """K steps of :func:`momentum_step` (NumPy: the same arithmetic in place). Stops with a
    ConfigError at the first step where theta is non-finite or has grown DIVERGENCE-fold."""
    xp = namespace(theta)
    fast = xp is np
    limit = DIVERGENCE * max(1.0, _diverged(theta, 0.0) or 0.0)
    if fast and theta.dtype == np.float64 and theta.shape[0] <= small.SMALL:  # Python's floats, the same bits
        with np.errstate(over="ignore", invalid="ignore"):  # a blow-up is reported at its step
            p, theta, diverged = small.forward_float(obj, p, theta, alphas, betas, limit, observer=observer,
                                                     progress=progress)
        if diverged is not None:
            _diverged_at(*diverged, limit)
        return p, theta
    if fast:
        p, theta, g = p.copy(), theta.copy(), np.empty_like(theta)
    K = len(alphas)
    with np.errstate(over="ignore", invalid="ignore"):  # a blow-up is reported at its step
        for k in range(K):
            if observer is not None:
                observer(k, p, theta)
            a, b = float(alphas[k]), float(betas[k])
            if fast:
                g = obj.grad(theta, out=g)
                g *= a
                p *= b
                p -= g
                theta += p
            else:
                p, theta = momentum_step(obj, p, theta, a, b)
            if (top := _diverged(theta, limit)) is not None:
                _diverged_at(k + 1, top, a, limit)
            if k % max(1, K // 100) == 0:
                progress(k / K, f"forward step {k:,} of {K:,}")
    if observer is not None:
        observer(K, p, theta)
    return p, theta


def inverse_float(obj: Objective, p: Any, theta: Any, alphas: np.ndarray, betas: np.ndarray, *,
                  observer: Observer | None = None,
                  progress: ProgressFn = no_progress) -> tuple[Any, Any, int]:
    """K steps of :func:`inverse_step`, from step K back to 0. Returns (p, theta, j): j is the
    number of steps undone before the state stopped being finite (K when it stayed finite)."""
    xp = namespace(theta)
    fast = xp is np
    if fast and theta.dtype == np.float64 and theta.shape[0] <= small.SMALL:  # Python's floats, the same bits
        with np.errstate(over="ignore", invalid="ignore"):  # the drift may overflow: expected
            return small.inverse_float(obj, p, theta, alphas, betas, observer=observer, progress=progress)
    if fast:
        p, theta, g = p.copy(), theta.copy(), np.empty_like(theta)
    K = len(alphas)
    with np.errstate(over="ignore", invalid="ignore"):  # the drift may overflow: expected
        for k in range(K - 1, -1, -1):
            if observer is not None:
                observer(k + 1, p, theta)
            a, b = float(alphas[k]), float(betas[k])
            if fast:
                theta -= p
                g = obj.grad(theta, out=g)
                g *= a
                p += g
                p /= b
            else:
                p, theta = inverse_step(obj, p, theta, a, b)
            if _diverged(theta, math.inf) is not None:  # inf or NaN: the drift overflowed
                return p, theta, K - 1 - k
            if k % max(1, K // 100) == 0:
                progress((K - k) / K, f"inverse step {K - k:,} of {K:,}")
    if observer is not None:
        observer(0, p, theta)
    return p, theta, K


@dataclass(frozen=True)
class OrderCheck:
    """One inverse step in the order that works and in the seed's (eqs (13)-(14))."""

    step: int
    error_theta_first: float  # (14) then (13): max error over p and theta
    error_seed_order: float  # (13) then (14)
    error_seed_order_p: float
    error_seed_order_theta: float
    predicted_alpha_H_p_over_beta: float
    p_norm: float


def inverse_order_check(cfg: TrainConfig, backend: Backend, *, seed: int = 0, at: int = 10) -> OrderCheck:
    """One inverse step from s(k+1), k = ``at``, in the order that works (eq (14), then (13)
    with grad J(theta(k))) and in the seed's order ((13) first, so with grad J(theta(k+1))).
    The seed's order is off by alpha (grad J(theta(k+1)) - grad J(theta(k))) / beta, which is
    alpha H p(k+1) / beta for a quadratic J and to first order otherwise (``predicted``)."""
    obj = make_objective(cfg.objective, backend, D=cfg.D, cond=cfg.cond, l2=cfg.l2, seed=seed)
    xp = backend.xp
    alphas, _, betas = schedules(cfg.replace(steps=max(cfg.steps, at + 1)))
    p, theta = forward_float(obj, xp.zeros_like(obj.theta0), obj.theta0, alphas[:at], betas[:at])
    a, b = float(alphas[at]), float(betas[at])
    p1, theta1 = momentum_step(obj, p, theta, a, b)
    good = inverse_step(obj, p1, theta1, a, b)
    seed_order = inverse_step_seed_order(obj, p1, theta1, a, b)
    err = lambda s: max(float(xp.max(xp.abs(s[0] - p))), float(xp.max(xp.abs(s[1] - theta))))  # noqa: E731
    predicted = float(xp.max(xp.abs(a * obj.hvp(theta, p1) / b)))
    return OrderCheck(step=at, error_theta_first=err(good), error_seed_order=err(seed_order),
                      error_seed_order_p=float(xp.max(xp.abs(seed_order[0] - p))),
                      error_seed_order_theta=float(xp.max(xp.abs(seed_order[1] - theta))),
                      predicted_alpha_H_p_over_beta=predicted, p_norm=float(xp.max(xp.abs(p1))))
