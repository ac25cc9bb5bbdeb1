"""Train forward K steps, undo them, and measure how well the start comes back.

This is what ``python -m core reversible run`` prints and what the page plots: the
reconstruction error at each step of the inverse pass against the forward trajectory (in the
same arithmetic), the bits the exact buffer stored against the information bound, and the
wall time of each pass.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from core import timing
from core.backend import Backend, synchronize
from core.limits import MEMORY_BUDGET_BYTES, ConfigError, ProgressFn, no_progress, optional, require_time
from core.training import exact
from core.training.exact import ExactState, forward_exact, inverse_exact
from core.training.momentum import TrainConfig, forward_float, inverse_float, schedules
from core.training.objectives import make_objective, plot_coordinates
from core.training.observers import Observer, Recorder, Snapshots, chain
from core.training.small import SMALL


@dataclass(frozen=True)
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
    # float64 training of the same schedule from the same start: what this run should have trained
    loss_end_float64: float = optional("float64_note", math.nan)
    theta_distance_to_float64: float = optional("float64_note", math.nan)  # max over the compared steps
    theta_distance_to_float64_end: float = optional("float64_note", math.nan)
    float64_note: str = "not measured: the run kept no states along its path (snapshots off)"

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
        """The figures ``reversible run`` prints; each ``*_note`` says why its figure is missing."""
        growth = self.growth_per_step()
        exact = self.mode == "exact"
        overflow = "" if self.finite_steps == self.steps else (
            f"the {self.mode} inverse overflowed after undoing {self.finite_steps:,} of {self.steps:,} steps: "
            "no error beyond (null)")
        return {
            "mode": self.mode, "D": self.D, "steps": self.steps,
            "max_abs_error": self.max_abs_error, "bit_exact": self.bit_exact,
            "bits_stored": self.bits_stored, "bits_information": round(self.bits_information, 3),
            "bits_bound": round(self.bits_bound, 3),
            "bits_stored_minus_bound_per_parameter": (self.bits_stored - self.bits_bound) / self.D if exact else None,
            "bits_stored_minus_bound_per_parameter_note": "" if exact else "floating point keeps no buffer",
            "seconds_forward": self.seconds_forward, "seconds_reverse": self.seconds_reverse,
            "steps_undone_before_overflow": self.finite_steps,
            "drift_growth_per_step": growth,
            "drift_growth_per_step_note": "" if growth is not None else (
                "the exact inverse does not drift" if exact and self.max_abs_error == 0 else
                "fewer than three compared steps with a drift between 0 and 1e-3 to fit"),
            "one_over_beta": float(np.mean(1 / self.beta_eff)),
            "error_at_step_0": float(self.error[0]), "error_at_step_0_note": overflow,
            "error_after_undoing": {str(j): float(self.error[self.ks == self.steps - j][0])
                                    for j in (1, 10, 100, 1000, 10_000) if j <= self.steps
                                    and (self.ks == self.steps - j).any()},
            "error_after_undoing_note": overflow,
            "loss_start": self.loss_start, "loss_end": self.loss_end,
            "val_loss_end": self.val_loss_end,
            "loss_end_float64": self.loss_end_float64, "loss_end_float64_note": self.float64_note,
            "theta_distance_to_float64": self.theta_distance_to_float64,
            "theta_distance_to_float64_note": self.float64_note,
            "theta_distance_to_float64_end": self.theta_distance_to_float64_end,
            "theta_distance_to_float64_end_note": self.float64_note,
            "compared_steps": len(self.ks),
        }


def snapshot_stride(K: int, D: int, itemsize: int = 8, budget: float = MEMORY_BUDGET_BYTES / 4) -> int:
    """Keep every step's state, forward and back, if they fit a quarter of the memory budget,
    else every stride-th."""
    records = max(2, int(budget // (4 * D * itemsize)))
    return max(1, math.ceil(K / (records - 1)))


def roundtrip(cfg: TrainConfig, backend: Backend, *, seed: int = 0, snapshots: bool = True,
              observer: Observer | None = None, inverse_observer: Observer | None = None,
              trace_bits: bool = False, progress: ProgressFn = no_progress,
              budget_seconds: float | None = None) -> Roundtrip:
    """Run ``cfg`` forward from (p(0) = 0, theta(0)) and back, in ``cfg.mode`` arithmetic.
    ``budget_seconds`` refuses, before any work, a run estimated to take longer."""
    if budget_seconds is not None:
        require_time(roundtrip_seconds(cfg), f"the {cfg.mode} round trip of {cfg.steps:,} steps", budget_seconds,
                     hint="choose fewer steps or parameters, or run the command below from a shell")
    dtype = "float32" if cfg.mode == "float32" else "float64"
    obj = make_objective(cfg.objective, backend, D=cfg.D, cond=cfg.cond, l2=cfg.l2, seed=seed, dtype=dtype)
    xp = backend.xp
    alphas, ns, betas = schedules(cfg)
    K = cfg.steps
    theta0 = obj.theta0
    p0 = xp.zeros_like(theta0)
    snap = Snapshots(K, snapshot_stride(K, obj.D) if snapshots else K, copies=cfg.mode != "exact")
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
    reference = {}
    if cfg.mode == "float64":
        reference = dict(loss_end_float64=loss_end, theta_distance_to_float64=0.0, theta_distance_to_float64_end=0.0,
                         float64_note="")
    elif snapshots:
        reference = float64_reference(cfg, backend, seed, alphas, betas, snap)
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
        loss_end=loss_end, val_loss_end=val_end, beta_eff=betas, bits_trace=trace, **reference)


def float64_reference(cfg: TrainConfig, backend: Backend, seed: int, alphas: np.ndarray, betas: np.ndarray,
                      snap: Snapshots) -> dict[str, Any]:
    """Float64 training of ``cfg``'s schedule (the same alpha(k) and beta_eff(k), from the same
    theta(0)) held against the run whose states ``snap`` kept: its final loss, and max |theta -
    theta_float64| over the kept steps and at the last. Exact mode reverses bit for bit whatever
    it trains; this says whether it trained the map it claims."""
    obj = make_objective(cfg.objective, backend, D=cfg.D, cond=cfg.cond, l2=cfg.l2, seed=seed, dtype="float64")
    xp = backend.xp
    ref = Snapshots(snap.K, snap.stride)  # the same steps, copied (float64 training updates in place)
    try:
        _, thetaK = forward_float(obj, xp.zeros_like(obj.theta0), obj.theta0, alphas, betas, observer=ref.keep)
    except ConfigError as exc:  # float64 itself diverges on this schedule
        return dict(float64_note=f"float64 training of this schedule does not finish: {exc}")
    ks, gaps = ref.theta_gaps(snap)  # a float32 run's theta is promoted to float64 exactly
    return dict(loss_end_float64=obj.loss(thetaK), theta_distance_to_float64=float(gaps.max()),
                theta_distance_to_float64_end=float(gaps[ks.index(cfg.steps)]), float64_note="")


def roundtrip_seconds(cfg: TrainConfig) -> float:
    """Wall time of one round trip on NumPy (forward and back, and the float64 reference run
    that every mode but float64 is held against), for refusing work that would keep a page
    waiting and for saying how long it takes; scaled by this machine's speed
    (``core.timing.speed``). ``tests/check_estimates.py`` holds it against real time."""
    back_and_forth = 2 * cfg.steps * step_seconds(cfg, cfg.mode)
    reference = cfg.steps * step_seconds(cfg, "float64") if cfg.mode != "float64" else 0.0
    return back_and_forth + reference


# Per step and direction on the reference machine (core.timing.REFERENCE): fitted to round trips
# of 1,000 steps at D = 1, 2, 8, 9, 64 and 10,000, the middle of two runs at different speeds. In
# Python's numbers (core.training.small: D <= SMALL, exact or float64) the call time only, the
# quadratic's gradient growing as D^2; in arrays the call time, the vector arithmetic per
# parameter and the digits' matrix products.
_SMALL_US = {("quadratic", "exact"): (3.35, 0.18), ("quadratic", "float64"): (2.3, 0.12),
             ("rosenbrock", "exact"): (4.0, 0.0), ("rosenbrock", "float64"): (2.1, 0.0)}
_CALLS_US = {"exact": 17.0, "float64": 6.5, "float32": 8.5}
_VECTOR_NS = {"exact": 13.5, "float64": 6.5, "float32": 3.0}
_DIGITS_PRODUCTS_US = 330.0


def step_seconds(cfg: TrainConfig, mode: str) -> float:
    """Wall time of one training step of ``cfg`` on NumPy in ``mode`` arithmetic, either way."""
    s = timing.speed()
    small = _SMALL_US.get((cfg.objective, mode))
    if small is not None and cfg.size <= SMALL:
        return (small[0] + small[1] * cfg.size**2) * 1e-6 * s.call
    products = _DIGITS_PRODUCTS_US * 1e-6 if cfg.objective == "digits" else 0.0
    return _CALLS_US[mode] * 1e-6 * s.call + _VECTOR_NS[mode] * 1e-9 * cfg.size * s.vector + products * s.matmul


@dataclass(frozen=True)
class Trajectories:
    """A round trip with a few coordinates of p and theta at every step of both passes (NaN
    where the inverse never got back), for the page's pictures."""

    k: np.ndarray  # (K+1,) steps
    theta_fwd: np.ndarray  # (K+1, m)
    p_fwd: np.ndarray
    theta_inv: np.ndarray  # (K+1, m), NaN where the inverse overflowed
    p_inv: np.ndarray
    coords: tuple[int, ...]  # which coordinates of theta
    result: Roundtrip


def trajectories(cfg: TrainConfig, backend: Backend, *, seed: int = 0, progress: ProgressFn = no_progress,
                 budget_seconds: float | None = None) -> Trajectories:
    """:func:`roundtrip` with recorders on both passes (``plot_coordinates`` of the objective)."""
    coords = plot_coordinates(cfg.objective, cfg.D)
    fresh = cfg.mode == "exact"  # the exact passes hand new arrays at every step
    fwd, inv = Recorder(coords, fresh=fresh), Recorder(coords, fresh=fresh)
    res = roundtrip(cfg, backend, seed=seed, observer=fwd, inverse_observer=inv, trace_bits=True, progress=progress,
                    budget_seconds=budget_seconds)
    K = cfg.steps
    theta_inv = np.full((K + 1, len(coords)), np.nan)
    p_inv = np.full_like(theta_inv, np.nan)
    if inv.steps:
        theta_inv[inv.steps] = inv.theta
        p_inv[inv.steps] = inv.p
    finite = np.isfinite(theta_inv).all(axis=1) & np.isfinite(p_inv).all(axis=1)
    theta_inv[~finite], p_inv[~finite] = np.nan, np.nan
    return Trajectories(k=np.arange(K + 1), theta_fwd=fwd.theta, p_fwd=fwd.p, theta_inv=theta_inv, p_inv=p_inv,
                        coords=tuple(coords), result=res)


@dataclass(frozen=True)
class Drift:
    """Reconstruction error against steps undone, per arithmetic, and for each floating-point
    precision the reference eps max|theta| prod beta^-1 over the steps undone."""

    curves: dict[str, tuple[np.ndarray, np.ndarray]]  # mode: (steps undone j, error)
    references: dict[str, tuple[np.ndarray, np.ndarray]]  # float mode: (j, eps max|theta| prod beta^-1)
    growth: dict[str, float | None]  # fitted growth per step undone
    exact_zero: bool  # the exact run's error is 0 at every compared step
    compared: int  # steps compared in the exact run
    one_over_beta: float


def drift(runs: dict[str, Trajectories]) -> Drift:
    """The :class:`Drift` of round trips of one schedule in several arithmetics (keyed by mode)."""
    curves, refs, growth = {}, {}, {}
    exact_zero, compared = True, 0
    for mode, tr in runs.items():
        res = tr.result
        j = res.steps - res.ks
        order = np.argsort(j)
        curves[mode] = (j[order], res.error[order])
        growth[mode] = res.growth_per_step()
        if mode == "exact":
            exact_zero, compared = bool((res.error == 0).all()), len(res.ks)
            continue
        log_undo = np.concatenate([[0.0], np.cumsum(-np.log(res.beta_eff[::-1]))])  # log prod 1/beta
        scale = float(np.finfo(mode).eps) * float(np.nanmax(np.abs(tr.theta_fwd)))
        # the growth is capped near the end of float64's range
        refs[mode] = (np.arange(res.steps + 1), scale * np.exp(np.minimum(log_undo, 650.0)))
    some = next(iter(runs.values())).result
    return Drift(curves=curves, references=refs, growth=growth, exact_zero=exact_zero, compared=compared,
                 one_over_beta=float(np.mean(1 / some.beta_eff)))
