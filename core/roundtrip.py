"""Train forward K steps, undo them, and measure how well the start comes back.

This is what ``python -m core reversible run`` prints and what the page plots: the
reconstruction error at each step of the inverse pass against the forward trajectory (in the
same arithmetic), the bits the exact buffer stored against the information bound, and the
wall time of each pass.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from core import exact
from core.backend import Backend, namespace, synchronize, to_numpy
from core.limits import MEMORY_BUDGET_BYTES, TIME_BUDGET_SECONDS, ConfigError, ProgressFn, no_progress
from core.objectives import make_objective
from core.reversible import (
    ExactState,
    Observer,
    TrainConfig,
    forward_exact,
    forward_float,
    inverse_exact,
    inverse_float,
    inverse_step,
    inverse_step_seed_order,
    momentum_step,
    schedules,
)


class Snapshots:
    """An observer that keeps (p, theta) at every ``stride``-th step on the way forward and
    measures max |reconstructed - kept| over p and theta at those steps on the way back."""

    def __init__(self, K: int, stride: int) -> None:
        self.K, self.stride = K, stride
        self.kept: dict[int, tuple[Any, Any]] = {}
        self.errors: dict[int, float] = {}

    def wanted(self, k: int) -> bool:
        return k % self.stride == 0 or k == self.K

    def keep(self, k: int, p: Any, theta: Any) -> None:
        if self.wanted(k):
            xp = namespace(theta)
            self.kept[k] = (xp.asarray(p, copy=True), xp.asarray(theta, copy=True))

    def compare(self, k: int, p: Any, theta: Any) -> None:
        if self.wanted(k):
            xp = namespace(theta)
            p0, t0 = self.kept[k]
            err = max(float(xp.max(xp.abs(p - p0))), float(xp.max(xp.abs(theta - t0))))
            self.errors[k] = err if math.isfinite(err) else math.inf

    def table(self) -> tuple[np.ndarray, np.ndarray]:
        """(k, error) for every kept step; inf where the inverse never got back to k."""
        ks = np.array(sorted(self.kept), dtype=np.int64)
        return ks, np.array([self.errors.get(int(k), math.inf) for k in ks])


def chain(*observers: Observer | None) -> Observer | None:
    live = [o for o in observers if o is not None]
    if not live:
        return None
    return lambda k, p, theta: [o(k, p, theta) for o in live] and None


class Recorder:
    """An observer that records coordinates of p and theta at every step, on the host (for
    plots): ``steps``, ``p`` (n, m) and ``theta`` (n, m) in call order. ``m`` an int: the first
    m coordinates; a sequence: those indices."""

    def __init__(self, m: int | tuple[int, ...] = 2) -> None:
        self.index = list(range(m)) if isinstance(m, int) else list(m)
        self.steps: list[int] = []
        self._p: list[np.ndarray] = []
        self._theta: list[np.ndarray] = []

    def __call__(self, k: int, p: Any, theta: Any) -> None:
        self.steps.append(k)
        xp = namespace(theta)
        pick = xp.asarray(self.index) if xp is not np else self.index
        self._p.append(np.array(to_numpy(xp.take(p, pick)), dtype=np.float64))
        self._theta.append(np.array(to_numpy(xp.take(theta, pick)), dtype=np.float64))

    @property
    def p(self) -> np.ndarray:
        return np.array(self._p)

    @property
    def theta(self) -> np.ndarray:
        return np.array(self._theta)


@dataclass
class Roundtrip:
    """What one forward-and-back run measured."""

    mode: str
    D: int
    steps: int
    ks: np.ndarray  # steps at which the reconstruction was compared with the forward pass
    error: np.ndarray  # max |reconstructed - forward| over p and theta at those steps
    bit_exact: bool  # p(0) and theta(0) came back equal bit for bit (and the buffer emptied)
    finite_steps: int  # steps undone before the state overflowed to inf/NaN (steps if never)
    bits_stored: int  # exact: memory the buffer used (spilled words + 64-bit heads); float: 0
    bits_information: float  # exact: information the buffer holds
    bits_bound: float  # sum_k D log2(1 / beta_eff(k))
    seconds_forward: float  # wall time of each pass
    seconds_reverse: float
    cpu_seconds: float  # CPU time of this process over both passes (less sensitive to other load)
    loss_start: float
    loss_end: float
    val_loss_end: float
    beta_eff: np.ndarray  # (K,) the beta every mode used: n(k) / 2^s
    bits_trace: np.ndarray | None = None  # (K+1, 3): stored, information, bound after k steps

    @property
    def max_abs_error(self) -> float:
        finite = self.error[np.isfinite(self.error)]
        return float(finite.max()) if finite.size else math.inf

    def growth_per_step(self) -> float | None:
        """Fitted factor by which the drift grows per step undone (compare with 1/beta)."""
        j = self.steps - self.ks
        ok = (self.error > 0) & np.isfinite(self.error) & (self.error < 1e-3)
        if ok.sum() < 3 or np.ptp(j[ok]) == 0:
            return None
        slope = np.polyfit(j[ok], np.log(self.error[ok]), 1)[0]
        return float(np.exp(slope))

    def summary(self) -> dict[str, Any]:
        growth = self.growth_per_step()
        return {
            "mode": self.mode, "D": self.D, "steps": self.steps,
            "max_abs_error": self.max_abs_error, "bit_exact": self.bit_exact,
            "bits_stored": self.bits_stored, "bits_information": round(self.bits_information, 3),
            "bits_bound": round(self.bits_bound, 3),
            "bits_stored_minus_bound_per_parameter": (self.bits_stored - self.bits_bound) / self.D
            if self.mode == "exact" else None,
            "seconds_forward": self.seconds_forward, "seconds_reverse": self.seconds_reverse,
            "steps_undone_before_overflow": self.finite_steps,
            "drift_growth_per_step": growth,
            "one_over_beta": float(np.mean(1 / self.beta_eff)),
            "error_at_step_0": float(self.error[0]),
            "error_after_undoing": {str(j): float(self.error[self.ks == self.steps - j][0])
                                    for j in (1, 10, 100, 1000, 10_000) if j <= self.steps
                                    and (self.ks == self.steps - j).any()},
            "loss_start": self.loss_start, "loss_end": self.loss_end,
            "val_loss_end": self.val_loss_end,
            "compared_steps": len(self.ks),
        }


def snapshot_stride(K: int, D: int, itemsize: int = 8, budget: float = MEMORY_BUDGET_BYTES / 4) -> int:
    """Keep every step's state if it fits a quarter of the memory budget, else every stride-th."""
    records = max(2, int(budget // (2 * D * itemsize)))
    return max(1, math.ceil(K / (records - 1)))


def roundtrip(cfg: TrainConfig, backend: Backend, *, seed: int = 0, snapshots: bool = True,
              observer: Observer | None = None, inverse_observer: Observer | None = None,
              trace_bits: bool = False, progress: ProgressFn = no_progress) -> Roundtrip:
    """Run ``cfg`` forward from (p(0) = 0, theta(0)) and back, in ``cfg.mode`` arithmetic."""
    dtype = "float32" if cfg.mode == "float32" else "float64"
    obj = make_objective(cfg.objective, backend, D=cfg.D, cond=cfg.cond, l2=cfg.l2, seed=seed, dtype=dtype)
    xp = backend.xp
    alphas, ns, betas = schedules(cfg)
    K = cfg.steps
    theta0 = obj.theta0
    p0 = xp.zeros_like(theta0)
    snap = Snapshots(K, snapshot_stride(K, obj.D) if snapshots else K)
    fwd_obs, inv_obs = chain(snap.keep, observer), chain(snap.compare, inverse_observer)
    half = lambda f, lo: lambda x, msg: progress(lo + 0.5 * x, msg)  # noqa: E731
    bits: list[tuple[int, float]] | None = [] if trace_bits and cfg.mode == "exact" else None

    synchronize(xp)
    t0, c0 = time.perf_counter(), time.process_time()
    if cfg.mode == "exact":
        st = forward_exact(obj, ExactState.start(p0, theta0, cfg.fraction_bits, cfg.beta_bits), alphas, ns,
                           observer=fwd_obs, bits=bits, progress=half(progress, 0.0))
        pK, thetaK = st.floats()
    else:
        pK, thetaK = forward_float(obj, p0, theta0, alphas, betas, observer=fwd_obs,
                                   progress=half(progress, 0.0))
    synchronize(xp)
    t1, c1 = time.perf_counter(), time.process_time()
    loss_end, val_end = obj.loss(thetaK), obj.val_loss(thetaK)
    t2, c2 = time.perf_counter(), time.process_time()
    finite = K
    if cfg.mode == "exact":
        bits_stored, bits_info = st.buf.bits_stored(), st.buf.bits_information()
        inverse_exact(obj, st, alphas, ns, observer=inv_obs, progress=half(progress, 0.5))
        synchronize(xp)
        t3, c3 = time.perf_counter(), time.process_time()
        start = (exact.to_fixed(p0, cfg.fraction_bits), exact.to_fixed(theta0, cfg.fraction_bits))
        bit_exact = (bool(xp.all(st.p == start[0])) and bool(xp.all(st.theta == start[1]))
                     and st.buf.is_empty())
    else:
        bits_stored, bits_info = 0, 0.0
        p_back, theta_back, finite = inverse_float(obj, pK, thetaK, alphas, betas, observer=inv_obs,
                                                   progress=half(progress, 0.5))
        synchronize(xp)
        t3, c3 = time.perf_counter(), time.process_time()
        bit_exact = bool(xp.all(p_back == p0)) and bool(xp.all(theta_back == theta0))
    progress(1.0, "done")
    ks, err = snap.table()
    bound_steps = np.concatenate([[0.0], np.cumsum(obj.D * (cfg.beta_bits - np.log2(ns)))])
    trace = None
    if bits is not None:
        trace = np.column_stack([np.array(bits, dtype=np.float64), bound_steps])
    return Roundtrip(
        mode=cfg.mode, D=obj.D, steps=K, ks=ks, error=err, bit_exact=bit_exact, finite_steps=finite,
        bits_stored=bits_stored, bits_information=bits_info,
        bits_bound=exact.bits_bound(ns, cfg.beta_bits, obj.D),
        seconds_forward=t1 - t0, seconds_reverse=t3 - t2, cpu_seconds=(c1 - c0) + (c3 - c2),
        loss_start=obj.loss(theta0),
        loss_end=loss_end, val_loss_end=val_end, beta_eff=betas, bits_trace=trace)


def inverse_order_check(cfg: TrainConfig, backend: Backend, *, seed: int = 0, at: int = 10) -> dict[str, Any]:
    """One inverse step from s(k+1), k = ``at``, in the order that works (eq (14), then (13)
    with grad J(theta(k))) and in the seed's order ((13) first, so with grad J(theta(k+1))).
    The seed's order is off by alpha H (theta(k+1) - theta(k)) / beta = alpha H p(k+1) / beta."""
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
    return {"step": at, "error_theta_first": err(good), "error_seed_order": err(seed_order),
            "error_seed_order_p": float(xp.max(xp.abs(seed_order[0] - p))),
            "error_seed_order_theta": float(xp.max(xp.abs(seed_order[1] - theta))),
            "predicted_alpha_H_p_over_beta": predicted, "p_norm": float(xp.max(xp.abs(p1)))}


def benchmark(cfg: TrainConfig, backend: Backend, *, seed: int = 0, repeat: int = 3,
              progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Median wall times of float64 and exact forward+reverse on the same problem, alternated
    ``repeat`` times so that a noisy machine slows both alike; and their ratio. BLAS is held to
    one thread (threadpoolctl, which scikit-learn brings) for both: its idle threads spin after
    each dot product and, on a small shared machine, steal the core the loop runs on."""
    times: dict[str, list[float]] = {"float64": [], "exact": []}
    cpu: dict[str, list[float]] = {"float64": [], "exact": []}
    exact_ok = True
    try:
        from threadpoolctl import threadpool_limits

        one_blas_thread: Any = threadpool_limits(limits=1, user_api="blas")
    except ImportError:
        one_blas_thread = contextlib.nullcontext()
    with one_blas_thread:
        for r in range(repeat):
            for mode in ("float64", "exact"):
                progress((2 * r + (mode == "exact")) / (2 * repeat), f"{mode}, repeat {r + 1} of {repeat}")
                res = roundtrip(cfg.replace(mode=mode), backend, seed=seed, snapshots=False)
                times[mode].append(res.seconds_forward + res.seconds_reverse)
                cpu[mode].append(res.cpu_seconds)
                if mode == "exact":
                    exact_ok &= res.bit_exact
    progress(1.0, "done")
    med = {m: float(np.median(t)) for m, t in times.items()}
    med_cpu = {m: float(np.median(t)) for m, t in cpu.items()}
    return {"D": cfg.size, "steps": cfg.steps, "objective": cfg.objective, "repeat": repeat,
            "seconds_float64_forward_reverse": med["float64"], "seconds_exact_forward_reverse": med["exact"],
            "ratio_exact_over_float64": med["exact"] / med["float64"],
            "ratio_of_best_times": min(times["exact"]) / min(times["float64"]),
            "ratio_of_median_cpu_times": med_cpu["exact"] / med_cpu["float64"],
            "times_float64": times["float64"], "times_exact": times["exact"],
            "cpu_times_float64": cpu["float64"], "cpu_times_exact": cpu["exact"], "exact_bit_exact": exact_ok}


def estimate_seconds(cfg: TrainConfig) -> float:
    """Rough wall time of one round trip (forward and back) on a laptop CPU, for refusing work
    that would keep a page waiting: ~25 ns per parameter and step for the vector arithmetic,
    ~50 us per step of call overhead, ~250 us per step for the digits' matrix products; the
    exact mode does about twice the work of float."""
    per_step = 50e-6 + 25e-9 * cfg.size + (250e-6 if cfg.objective == "digits" else 0.0)
    return 2 * cfg.steps * per_step * (2.0 if cfg.mode == "exact" else 1.0)


def require_time(seconds: float, what: str) -> None:
    """Refuse work estimated to take longer than the page's time budget (CLI has no limit)."""
    if seconds > TIME_BUDGET_SECONDS:
        raise ConfigError(f"{what} would take about {seconds:.0f} s, over the page's budget of "
                          f"{TIME_BUDGET_SECONDS:.0f} s: choose fewer steps or parameters, or run the "
                          "command below from a shell")
