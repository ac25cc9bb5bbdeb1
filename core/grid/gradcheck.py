"""The grid RNN's backward pass against central finite differences (``mdrnn grad-check``).

The finite differences and the random-direction check are :mod:`core.check`'s; this module
only says what is differentiated: L = Σ over cells of ⟨c(i, j), h(i, j)⟩ with a random read-out
c, as a function of W_in, W_W, W_N, b and x.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core import check
from core.backend import Backend, to_numpy
from core.config import Config, param
from core.grid import cost, mdrnn
from core.grid.mdrnn import GridConfig
from core.limits import require_time


@dataclass(frozen=True)
class GradCheckConfig(Config):
    """How ``mdrnn grad-check`` checks: the finite-difference step and how many entries."""

    cli_topic = "mdrnn grad-check"
    eps: float = param(1e-6, 1e-9, 1e-2, log=True, label="finite-difference step",
                       help="h of the central difference (L(θ+h) - L(θ-h)) / 2h")
    max_entries: int = param(400, 1, 100_000, label="entries per input",
                             help="every entry of an input with at most this many, else a random sample")


@dataclass(frozen=True)
class GridGradCheck:
    config: dict[str, Any]
    entrywise_relative_error: dict[str, float]  # per input: max |analytic - fd| / max |fd|
    max_entrywise_relative_error: float
    direction: dict[str, float]  # analytic <grad, t>, its finite difference, their relative difference
    eps: float


def evaluations(cfg: GridConfig, max_entries: int) -> int:
    """Forward passes the check runs: two per checked entry, two for the direction."""
    sizes = (cfg.H * cfg.D, cfg.H * cfg.H, cfg.H * cfg.H, cfg.H, cfg.B * cfg.Gr * cfg.Gc * cfg.D)
    return 2 * sum(min(n, max_entries) for n in sizes) + 2


def check_seconds(cfg: GridConfig, max_entries: int) -> float:
    """Rough wall time of the check: its forward passes, each a wavefront."""
    return evaluations(cfg, max_entries) * cost.forward_seconds(cfg.Gr, cfg.Gc, cfg.D, cfg.H, cfg.B, "wavefront")


def grad_check(cfg: GridConfig, backend: Backend, check_cfg: GradCheckConfig = GradCheckConfig(), *,
               seed: int = 0, budget_seconds: float = 60.0) -> GridGradCheck:
    """Backward (float64) against central differences: every entry of each adjoint when it
    has at most ``max_entries`` (else a random subset), and <grad, t> in a random direction t."""
    require_time(check_seconds(cfg, check_cfg.max_entries),
                 f"the gradient check's {evaluations(cfg, check_cfg.max_entries)} forward passes", budget_seconds,
                 hint="choose a smaller grid (e.g. --Gr 6 --Gc 5 --H 4) or fewer --max-entries")
    params = mdrnn.init_params(backend, cfg.D, cfg.H, seed=seed, dtype="float64", scale=1.5)
    x = backend.randn((cfg.B, cfg.Gr, cfg.Gc, cfg.D), seed + 1, "float64")
    c = backend.randn((cfg.B, cfg.Gr, cfg.Gc, cfg.H), seed + 2, "float64")
    _, grads = mdrnn.linear_loss_and_grads(params, x, c)
    host = {k: to_numpy(v) for k, v in {**params.arrays(), "x": x}.items()}
    analytic = {k: to_numpy(v) for k, v in grads.arrays().items()}

    def loss(moved: dict[str, np.ndarray]) -> float:
        arrays = {k: backend.asarray(v) for k, v in moved.items()}
        xx = arrays.pop("x")
        return float(to_numpy(backend.xp.sum(mdrnn.forward(mdrnn.MDRNNParams(**arrays), xx).h * c)))

    rng = np.random.default_rng(seed + 3)
    numeric = check.entrywise(loss, host, h=check_cfg.eps, limit=check_cfg.max_entries, rng=rng)
    entrywise = {name: check.judge(np.array([analytic[name][i] for i in idxs]), values, atol=0.0).scaled_error
                 for name, (idxs, values) in numeric.items()}
    t = check.random_direction(host, rng)  # a unit direction: the step means the same whatever the sizes
    fd_dir = check.along(loss, host, t, h=1e-5)
    agree = check.direction_agreement(check.inner(analytic, t), fd_dir)
    return GridGradCheck(config={**cfg.as_dict(), "backend": backend.name, "precision": "float64"},
                         entrywise_relative_error=entrywise, max_entrywise_relative_error=max(entrywise.values()),
                         direction={"analytic": agree.t_JTc, "finite_difference": agree.Jt_c,
                                    "relative_error": agree.rel_error},
                         eps=check_cfg.eps)
