"""LSTM experiments shared by the CLI (``python -m core lstm ...``) and the dashboard page.

* :class:`LSTMConfig` / :func:`simulate`: one forward and backward pass, summarised per step
  (gates, c, h; |h_bar(t)|, |c_bar(t)|, the running product of forget gates): an :class:`LSTMRun`;
* :func:`seed_check`: the seed's eqs (1)-(9) at a step of the scalar model (``core.lstm.seed``);
* :class:`GradcheckConfig` / :func:`gradcheck`: central finite differences on every entry of
  every parameter, input and initial state, and a random-direction check with tangents
  (both from :mod:`core.check`): a :class:`GradCheck`.

The benchmark against ``torch.nn.LSTM`` is :mod:`core.lstm.bench`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from core import check, timing
from core.backend import Backend, select_backend, to_numpy
from core.config import Config, param
from core.limits import ConfigError, ProgressFn, no_progress, require_memory, require_time
from core.lstm import copies
from core.lstm.model import GATES, LOSSES, LSTMParams, gate, loss, lstm_backward, lstm_flops, lstm_forward, lstm_jvp
from core.lstm.seed import SeedReport, seed_report

ASSUMED_FLOPS_PER_SECOND = 2e9  # a slow laptop core; refuses work that could not fit the time budget
UNITS_SHOWN = 64  # the page's heatmaps show the first units of h(t); the CLI's --units prints all


def lstm_bytes(T: int, B: int, D: int, H: int, itemsize: int) -> float:
    """Memory of one forward+backward: per step and sequence the cache (x, h, c, tanh c, gates)
    and the backward's adjoints (h_bar, c_bar, z_bar, gate adjoints, x_bar)."""
    return itemsize * (T * B * (3 * D + 24 * H + 2) + 3 * (D + H + 1) * 4 * H)


def lstm_seconds(T: int, B: int, D: int, H: int) -> float:
    """A pessimistic wall time of one forward+backward: its matrix products on a slow laptop core,
    scaled by this machine's matrix-product speed (``core.timing.speed``)."""
    return lstm_flops(T, B, D, H) / ASSUMED_FLOPS_PER_SECOND * timing.speed().matmul


def check_sizes(T: int, B: int, D: int, H: int, dtype: str) -> None:
    """Refuse, before any work, an LSTM over the memory or time budget (``core.limits``)."""
    what = f"an LSTM with T={T}, B={B}, D={D}, H={H}"
    require_memory(lstm_bytes(T, B, D, H, 4 if dtype == "float32" else 8), what)
    require_time(lstm_seconds(T, B, D, H), f"one forward+backward of {what}", hint="choose smaller T, B or H")


@dataclass(frozen=True)
class LSTMConfig(Config):
    cli_topic = "lstm run"
    cli_run_options: ClassVar[tuple[str, ...]] = ("backend", "precision", "seed")
    # long enough to see adjoints decay, small enough to render at once
    T: int = param(30, 1, 1000, label="T (time steps)", help="length of the sequence")
    H: int = param(8, 1, 512, label="H (hidden units)", help="size of h(t) and c(t)")  # small: fast default
    D: int = param(4, 1, 256, label="D (input size)", help="size of x(t)")
    B: int = param(4, 1, 256, label="B (batch)", help="sequences run side by side")
    weight_scale: float = param(1.0, 0.05, 20.0, label="Weight scale", log=True,
                                help="weights are drawn N(0, s²/(D+H)); large s saturates gates or explodes")
    forget_bias: float = param(0.0, -6.0, 6.0, step=0.1, label="Forget-gate bias b_f",
                               help="σ(b_f) is the resting forget gate: large b_f keeps c (and c_bar) alive")
    loss: str = param("sequence", choices=LOSSES, label="Loss",
                      help="squared error against a target at every step, or at the last step only")

    def check(self) -> None:
        check_sizes(self.T, self.B, self.D, self.H, "float64")


@dataclass(frozen=True)
class Problem:
    p: LSTMParams
    x: Any  # (T, B, D)
    y: Any  # (T, B, H) targets
    h0: Any  # (B, H)
    c0: Any  # (B, H)


def make_problem(backend: Backend, T: int, B: int, D: int, H: int, *, seed: int, dtype: str = "float64",
                 weight_scale: float = 1.0, forget_bias: float = 0.0, random_state: bool = False) -> Problem:
    """Weights N(0, s²/(D+H)), inputs N(0, 1), targets N(0, ¼); biases zero but b_f, and zero
    initial states, unless ``random_state`` (for gradient checks: every entry random)."""
    rng = np.random.default_rng(seed)
    std = weight_scale / math.sqrt(D + H)
    W_x, W_h = std * rng.standard_normal((D, 4 * H)), std * rng.standard_normal((H, 4 * H))
    x, y = rng.standard_normal((T, B, D)), 0.5 * rng.standard_normal((T, B, H))
    if random_state:
        b, h0, c0 = 0.5 * rng.standard_normal(4 * H), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    else:
        b, h0, c0 = np.zeros(4 * H), np.zeros((B, H)), np.zeros((B, H))
    gate(b, "f")[...] += forget_bias
    a = lambda v: backend.asarray(v, dtype)  # noqa: E731
    return Problem(LSTMParams(a(W_x), a(W_h), a(b)), a(x), a(y), a(h0), a(c0))


@dataclass(frozen=True)
class LSTMRun:
    """One forward and backward pass, summarised per step (NumPy, batch element 0 for the
    per-unit pictures: at most ``units`` of the H units)."""

    loss: float
    gates: dict[str, np.ndarray]  # (T, units) per gate name
    c: np.ndarray  # (T, units)
    h: np.ndarray  # (T, units)
    units: int  # units kept in the per-unit arrays
    h_bar_norm: np.ndarray  # (T,) |h_bar(t)| over the batch and units
    c_bar_norm: np.ndarray  # (T,)
    forget_product: np.ndarray  # (T,) Π_{s=t+1}^{T} f(s), averaged over the batch and units
    grad_norms: dict[str, float]  # |dL/dW_x|, |dL/dW_h|, |dL/db|, |dL/dx|
    h_bar_ratio: float  # |h_bar(1)| / |h_bar(T)|; nan where it cannot be formed
    finite: bool
    warning: str  # non-empty when the adjoints overflowed: what to change
    dtype: str = "float64"  # the precision the passes ran in (forget_product is kept in float64)

    @property
    def dtype_tiny(self) -> float:
        """The smallest positive normal number of the run's precision (1.2e-38 for float32)."""
        return float(np.finfo(self.dtype).tiny)

    @property
    def forget_product_underflows(self) -> bool:
        """Whether Π f over the whole sequence is below what the run's precision can hold: the
        product is computed in float64, but the run's own cell-path adjoint flushes to zero there."""
        return bool(self.forget_product[0] < self.dtype_tiny)

    @property
    def c_bar_ratio(self) -> float:
        """|c_bar(1)| / |c_bar(T)|: how much of the cell's adjoint at the last step reaches the first."""
        return _ratio(float(self.c_bar_norm[0]), float(self.c_bar_norm[-1]))

    @property
    def c_bar_follows_forget_product(self) -> bool:
        """Whether |c_bar(1)| / |c_bar(T)| is the running product of forget gates Π f to within a
        factor of 2: true when the cell path alone carries c_bar back (eq (2) without its h-term),
        false when the adjoint arriving through h each step (h_bar(t) o (1 - tanh² c)) matters."""
        r, f = self.c_bar_ratio, float(self.forget_product[0])
        return bool(r > 0 and f > 0 and math.isfinite(r) and abs(math.log(r / f)) < math.log(2.0))

    def forward_table(self) -> dict[str, np.ndarray]:
        """The per-unit arrays as columns t, unit, i, f, o, g, c, h (for downloads)."""
        T, n = self.h.shape
        panels = {**self.gates, "c": self.c, "h": self.h}
        return {"t": np.repeat(np.arange(1, T + 1), n), "unit": np.tile(np.arange(1, n + 1), T),
                **{k: v.reshape(-1) for k, v in panels.items()}}


def simulate(cfg: LSTMConfig, backend: Backend, precision: str = "float64", seed: int = 0,
             units: int | None = None) -> LSTMRun:
    """One forward and backward pass, as per-step summaries (``units``: keep at most this many
    units in the per-unit arrays; None keeps all). ``warning`` is set when the adjoints overflowed."""
    pr = make_problem(backend, cfg.T, cfg.B, cfg.D, cfg.H, seed=seed, dtype=precision,
                      weight_scale=cfg.weight_scale, forget_bias=cfg.forget_bias)
    n = cfg.H if units is None else min(units, cfg.H)
    with np.errstate(over="ignore", invalid="ignore"):
        h, cache = lstm_forward(pr.p, pr.x, pr.h0, pr.c0)
        L, dL_dh = loss(cfg.loss, h, pr.y)
        gr = lstm_backward(pr.p, cache, dL_dh)
        gates, c, hn = to_numpy(cache.gates), to_numpy(cache.c[1:]), to_numpy(h)
        h_bar, c_bar = to_numpy(gr.h_bar).astype(np.float64), to_numpy(gr.c_bar).astype(np.float64)
        f = gate(gates, "f").astype(np.float64)  # (T, B, H)
        # Π_{s=t+1}^{T} f(s): how much of c_bar(T) survives the cell path back to step t
        tail = np.concatenate([np.cumprod(f[::-1], axis=0)[::-1][1:], np.ones_like(f[:1])])
        norms = {k: float(np.linalg.norm(to_numpy(getattr(gr, k)).astype(np.float64)))
                 for k in ("W_x", "W_h", "b", "x")}
    finite = bool(np.isfinite(h_bar).all() and np.isfinite(c_bar).all()
                  and all(math.isfinite(v) for v in norms.values()))
    warning = "" if finite else (
        f"the backward pass overflowed (non-finite adjoints) at weight scale {cfg.weight_scale:g} and "
        f"T = {cfg.T} in {precision}: lower the weight scale or T, or choose float64")
    return LSTMRun(
        loss=float(L), gates={k: np.ascontiguousarray(gate(gates, k)[:, 0, :n]) for k in GATES},
        c=np.ascontiguousarray(c[:, 0, :n]), h=np.ascontiguousarray(hn[:, 0, :n]), units=n,
        h_bar_norm=np.linalg.norm(h_bar.reshape(cfg.T, -1), axis=1),
        c_bar_norm=np.linalg.norm(c_bar.reshape(cfg.T, -1), axis=1),
        forget_product=tail.reshape(cfg.T, -1).mean(axis=1), grad_norms=norms,
        h_bar_ratio=_ratio(np.linalg.norm(h_bar[0]), np.linalg.norm(h_bar[-1])), finite=finite, warning=warning,
        dtype=precision)


def _ratio(a: float, b: float) -> float:
    """a / b, or nan where b is 0 or either is not finite (shown as such, never a warning)."""
    return float(a / b) if b > 0 and math.isfinite(a) and math.isfinite(b) else float("nan")


def seed_check(cfg: LSTMConfig, t: int, seed: int = 0) -> SeedReport:
    """The seed's eqs (1)-(9) at step ``t`` of the scalar model (B = D = H = 1, float64 NumPy)
    with the config's T, weight scale, forget bias and loss."""
    if not 1 <= t <= cfg.T:
        raise ConfigError(f"step t = {t} is outside 1..T = {cfg.T}: choose t between 1 and {cfg.T}")
    pr = make_problem(select_backend("numpy"), cfg.T, 1, 1, 1, seed=seed, weight_scale=cfg.weight_scale,
                      forget_bias=cfg.forget_bias)
    return seed_report(pr.p, pr.x, pr.y, pr.h0, pr.c0, cfg.loss, t)


@dataclass(frozen=True)
class GradcheckConfig(Config):
    cli_topic = "lstm gradcheck"
    T: int = param(5, 1, 20, label="T (time steps)")  # small: every entry is checked
    B: int = param(3, 1, 8, label="B (batch)")
    D: int = param(4, 1, 8, label="D (input size)")
    H: int = param(3, 1, 8, label="H (hidden units)")
    loss: str = param("sequence", choices=LOSSES, label="Loss")
    stencil: int = param(4, choices=check.STENCILS, label="Stencil points",
                         help="2: (L(θ+h) - L(θ-h))/2h, error ~h²; 4: the five-point stencil, error ~h⁴")
    entries: int = param(0, 0, 10_000, label="Entries per array", help="0 checks every entry; n samples n")
    direction_scale: int = param(4, 1, 16, label="Direction-check scale",
                                 help="the random-direction check runs at T, B, D, H times this")


@dataclass(frozen=True)
class GradCheck:
    """Hand BPTT against central finite differences (float64), per array, and the
    random-direction check. ``ok``: no entry outside the mixed bound of :func:`core.check.judge`."""

    max_rel_error: float  # over every entry whose gradient did not vanish
    max_rel_error_any: float  # over every entry: what a plain relative check would report
    checked: int
    vanished: int  # entries whose gradient is below the stencil's noise level over RTOL
    failed: int
    per_array: dict[str, check.ArrayCheck]
    atol: float  # the noise level: NOISE_MARGIN times the stencil's rounding error at this loss
    stencil: int
    step: float
    loss_value: float
    dtype: str
    sizes: dict[str, int]
    loss: str
    direction_check: check.DirectionCheck
    direction_sizes: dict[str, int]

    @property
    def ok(self) -> bool:
        return self.failed == 0


def gradcheck(cfg: GradcheckConfig, backend: Backend, seed: int = 0, *, fast: bool = True, batched: bool = True,
              progress: ProgressFn = no_progress) -> GradCheck:
    """Hand BPTT against central finite differences (float64), entry by entry, on W_x, W_h, b,
    x, h(0) and c(0); plus <t, J^T c> against <J t, c> in a random direction at larger sizes."""
    pr = make_problem(backend, cfg.T, cfg.B, cfg.D, cfg.H, seed=seed, random_state=True)
    arrays = {"W_x": pr.p.W_x, "W_h": pr.p.W_h, "b": pr.p.b, "x": pr.x, "h0": pr.h0, "c0": pr.c0}

    def loss_of(a: dict[str, np.ndarray]) -> float:
        d = {k: backend.asarray(v) for k, v in a.items()}
        h, _ = lstm_forward(LSTMParams(d["W_x"], d["W_h"], d["b"]), d["x"], d["h0"], d["c0"], fast=fast)
        return float(loss(cfg.loss, h, pr.y)[0])

    def losses_of(host: dict[str, np.ndarray], moves: list[check.Move]) -> np.ndarray:
        return copies.moved_losses(backend, cfg.loss, pr.y, host, moves, fast=fast)

    h, cache = lstm_forward(pr.p, pr.x, pr.h0, pr.c0, fast=fast)
    L, dL_dh = loss(cfg.loss, h, pr.y)
    gr = lstm_backward(pr.p, cache, dL_dh)
    step = check.DEFAULT_STEP[cfg.stencil]
    done = iter(range(1, len(arrays) + 1))
    numeric = check.entrywise(loss_of, {k: to_numpy(v) for k, v in arrays.items()}, h=step,
                              stencil=cfg.stencil, limit=cfg.entries, rng=np.random.default_rng(seed + 1),
                              progress=lambda name: progress(next(done) / (len(arrays) + 1),
                                                             f"finite differences on {name}"),
                              batch=losses_of if batched else None)
    atol = check.NOISE_MARGIN * check.rounding_noise(float(L), step, cfg.stencil)
    per_array = {}
    for name, (idxs, values) in numeric.items():
        analytic = to_numpy(getattr(gr, name))
        per_array[name] = check.judge(np.array([analytic[i] for i in idxs]), values, atol=atol, indices=idxs)
    s = cfg.direction_scale
    sizes = {"T": cfg.T * s, "B": cfg.B * s, "D": cfg.D * s, "H": cfg.H * s}
    direction = direction_check(backend, *sizes.values(), seed=seed, fast=fast)
    progress(1.0, "random-direction check")
    return GradCheck(max_rel_error=max(a.max_rel_error for a in per_array.values()),
                     max_rel_error_any=max(a.max_rel_error_any for a in per_array.values()),
                     checked=sum(a.checked for a in per_array.values()),
                     vanished=sum(a.vanished for a in per_array.values()),
                     failed=sum(a.failed for a in per_array.values()), per_array=per_array, atol=atol,
                     stencil=cfg.stencil, step=step, loss_value=float(L), dtype="float64",
                     sizes={"T": cfg.T, "B": cfg.B, "D": cfg.D, "H": cfg.H}, loss=cfg.loss,
                     direction_check=direction, direction_sizes=sizes)


def direction_check(backend: Backend, T: int, B: int, D: int, H: int, *, seed: int = 0,
                    dtype: str = "float64", fast: bool = True) -> check.DirectionCheck:
    """<t, J^T c> (hand BPTT with dL/dh = c) against <J t, c> (forward-mode tangents), for random
    tangents t of every input and a random cotangent c on h(1..T)."""
    pr = make_problem(backend, T, B, D, H, seed=seed, dtype=dtype, random_state=True)
    rng = np.random.default_rng(seed + 2)
    r = lambda a: backend.asarray(rng.standard_normal(tuple(a.shape)), dtype)  # noqa: E731
    p_dot = LSTMParams(r(pr.p.W_x), r(pr.p.W_h), r(pr.p.b))
    x_dot, h0_dot, c0_dot = r(pr.x), r(pr.h0), r(pr.c0)
    h, cache = lstm_forward(pr.p, pr.x, pr.h0, pr.c0, fast=fast)
    c = r(h)
    gr = lstm_backward(pr.p, cache, c)
    _, h_dot = lstm_jvp(pr.p, p_dot, pr.x, x_dot, pr.h0, h0_dot, pr.c0, c0_dot)
    host = lambda d: {k: to_numpy(v) for k, v in d.items()}  # noqa: E731
    tangents = host({"W_x": p_dot.W_x, "W_h": p_dot.W_h, "b": p_dot.b, "x": x_dot, "h0": h0_dot, "c0": c0_dot})
    adjoints = host({k: getattr(gr, k) for k in tangents})
    return check.direction_agreement(check.inner(adjoints, tangents), check.inner(host({"h": h_dot}),
                                                                                  host({"h": c})))
