"""Measured cost of the grid RNN (``core.grid.mdrnn``): both schedules timed, and a sweep.

Everything the ``mdrnn cost`` and ``mdrnn sweep`` commands and the MDRNN page print comes
from here:

* :func:`measure` -- both schedules on one grid: their counted steps, multiply-adds and state
  memory held against the models of ``core.grid.cost``, and their times from the shared
  interleaved timer (``core.timing``); the wavefront against one fused product plus tanh
  doing the same arithmetic in single calls; optionally a PyTorch cell-by-cell loop.

The sweep over sizes is :mod:`core.grid.sweep`.
A ratio of two timings is shown only when both are long enough to time and steady enough to
divide (``core.timing.compare``); otherwise its note says why not.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from core import timing
from core.backend import Backend, blas_threads, describe_device, dtype_of, inplace_module, synchronize, to_numpy
from core.config import Config, param
from core.grid import cost, layout, mdrnn
from core.grid.mdrnn import GridConfig
from core.limits import ConfigError, optional, require_finite, require_time


@dataclass(frozen=True)
class CostConfig(Config):
    """How ``mdrnn cost`` times the schedules."""

    cli_topic: ClassVar[str] = "mdrnn cost"
    repeat: int = param(7, 1, 1000, label="Timed repeats", help="interleaved runs per schedule; the median is shown")
    max_seconds: float = param(20.0, 0.1, 3600.0, label="Time limit (s)",
                               help="no new round of repeats starts once the timed rounds took this long")
    blas_threads: int = param(0, 0, 256, label="BLAS threads",
                              help="0 keeps the library's own choice; 1 gives steadier figures on a busy machine")
    compare_torch: bool = param(False, label="Compare a PyTorch loop",
                                help="also time a PyTorch cell-by-cell loop of the same RNN (needs PyTorch)")
    states: bool = param(False, label="Print the states",
                         help="also print h_abs_mean: mean |h(i,j)| over the H units, first input")


def fused_baseline(backend: Backend, M: int, K: int, N: int, dtype: str, seed: int = 0) -> Callable[[], Any]:
    """One (M, K) @ (K, N) product plus bias and tanh in single calls: the arithmetic of the
    whole grid with no sequential dependence, the speed limit a schedule can approach."""
    xp = backend.xp
    Z = backend.randn((M, K), seed, dtype, 0.3)
    W = backend.randn((K, N), seed + 1, dtype, 0.3)
    b = backend.randn((N,), seed + 2, dtype, 0.1)
    mod = inplace_module(xp)
    if mod is not None:  # NumPy, CuPy: the strictest baseline, no allocation at all, everything in place
        out = mod.empty((M, N), dtype=Z.dtype)

        def fused() -> Any:
            mod.matmul(Z, W, out=out)
            mod.add(out, b, out=out)
            return mod.tanh(out, out=out)

        return fused
    return lambda: xp.tanh(Z @ W + b)


def torch_loop(params: mdrnn.MDRNNParams, x: Any) -> tuple[Callable[[], Any], Any]:
    """The same RNN as a PyTorch cell-by-cell Python loop (as public MDLSTM code runs it), on
    the CPU. Imported lazily: PyTorch is optional. Returns (call, h of one call as NumPy).

    PyTorch is limited to one intra-op thread: its per-cell products (B x D and B x H by
    H x H) are far too small to gain from more, and its idle worker threads would otherwise
    compete with NumPy's BLAS threads and slow every timing in the same run."""
    try:
        import torch
    except ImportError as exc:
        raise ConfigError("--compare-torch needs PyTorch, which is not installed here") from exc
    torch.set_num_threads(1)
    W_in, W_W, W_N, b = (torch.from_numpy(np.ascontiguousarray(to_numpy(a)))
                         for a in params.arrays().values())
    xt = torch.from_numpy(np.ascontiguousarray(to_numpy(x)))  # (B, Gr, Gc, D)
    B, Gr, Gc, _ = xt.shape
    H = W_in.shape[0]

    def run() -> Any:
        with torch.no_grad():
            h = torch.zeros(Gr, Gc, B, H, dtype=xt.dtype)
            for i in range(Gr):
                for j in range(Gc):
                    a = xt[:, i, j] @ W_in.T + b
                    if j > 0:
                        a = a + h[i, j - 1] @ W_W.T
                    if i > 0:
                        a = a + h[i - 1, j] @ W_N.T
                    h[i, j] = torch.tanh(a)
            return h.permute(2, 0, 1, 3)

    return run, run().numpy()


@dataclass(frozen=True)
class ScheduleRun:
    """One schedule: what it counted while running, and how long it took."""

    seconds: float  # median of the interleaved repeats
    spread: float  # interquartile range over the median
    repeats: int
    steps: int
    macs: int
    macs_input: int
    macs_recurrent: int
    products: int
    peak_state_bytes: int
    macs_over_seed_model: float
    macs_over_exact_model: float
    flops: int  # two per multiply-add plus the additions beside the products
    tanh: int
    calls: int  # arithmetic calls: products, additions, tanh (on a GPU, kernel launches)


@dataclass(frozen=True)
class FusedRun:
    """The fused product of the same arithmetic: the speed limit of any schedule."""

    seconds: float
    macs: int
    shape: str
    efficiency: float = optional("note")  # its best time per multiply-add over the wavefront's (<= 1)
    note: str = ""  # why there is no efficiency ('' when there is)


@dataclass(frozen=True)
class TorchLoop:
    """A PyTorch cell-by-cell loop of the same RNN, timed in the same rounds."""

    seconds: float
    loop: str
    torch_over_wavefront: float = optional("torch_over_wavefront_note", math.nan)  # through timing.compare
    torch_over_wavefront_note: str = ""
    torch_over_raster: float = optional("torch_over_raster_note", math.nan)
    torch_over_raster_note: str = ""
    max_abs_difference: float = 0.0


@dataclass(frozen=True)
class Measurement:
    """Both schedules on one grid (see :func:`measure`)."""

    config: dict[str, Any]
    weights: int  # numbers in W_in, W_W, W_N as allocated
    weights_formula: int  # eq (10), DH + 2H^2
    weights_with_bias: int
    macs_model_seed: int  # eq (11)
    macs_model_exact: int
    macs_model_dense: int
    flops_model_exact: int
    steps_model: dict[str, int]  # raster: Gr Gc; wavefront: Gr + Gc - 1
    longest_chain: int  # the most cells on one chain of dependencies: a lower bound on any schedule's steps
    schedules: dict[str, ScheduleRun]
    speedup_wavefront_over_raster: float = optional("speedup_note")  # nan when it cannot be measured
    speedup_note: str = ""
    max_abs_difference_raster_wavefront: float = 0.0
    verdict: str = ""
    fused: FusedRun | None = optional("fused_note", default=None)
    fused_note: str = "not asked for"
    torch: TorchLoop | None = optional("torch_note", default=None)
    torch_note: str = "not asked for (--compare-torch times one)"
    h_abs_mean: np.ndarray | None = field(default=None, repr=False)  # (Gr, Gc) for the states heatmap


def measure_seconds(cfg: GridConfig, timing_cfg: CostConfig) -> float:
    """Rough wall time of :func:`measure`: a warm-up and the repeats of both schedules."""
    one = sum(cost.forward_seconds(cfg.Gr, cfg.Gc, cfg.D, cfg.H, cfg.B, s) for s in mdrnn.SCHEDULES)
    return min((timing_cfg.repeat + 1) * one, timing_cfg.max_seconds + 2 * one)


def measure(cfg: GridConfig, backend: Backend, *, timing_cfg: CostConfig = CostConfig(), precision: str = "float64",
            seed: int = 0, fused: bool = True, budget_seconds: float | None = None) -> Measurement:
    """Both schedules on one grid: counted cost against the models, and their timings.
    ``budget_seconds`` refuses, before any work, a grid whose run is estimated to take longer."""
    if budget_seconds is not None:
        require_time(measure_seconds(cfg, timing_cfg), f"timing both schedules on a {cfg.Gr} x {cfg.Gc} grid",
                     budget_seconds, hint="choose a smaller grid, or time it with the command below")
    with blas_threads(timing_cfg.blas_threads or None):
        return _measure(cfg, backend, timing_cfg, precision, seed, fused)


def _measure(cfg: GridConfig, backend: Backend, tc: CostConfig, precision: str, seed: int,
             fused: bool) -> Measurement:
    Gr, Gc, D, H, B = cfg.Gr, cfg.Gc, cfg.D, cfg.H, cfg.B
    dtype_of(backend.xp, precision)
    params = mdrnn.init_params(backend, D, H, seed=seed, dtype=precision)
    x = backend.randn((B, Gr, Gc, D), seed + 1, precision)
    runs = {s: mdrnn.forward(params, x, s) for s in mdrnn.SCHEDULES}
    h = {s: to_numpy(r.h) for s, r in runs.items()}
    require_finite(float(np.abs(h["wavefront"]).max()), "the states h", "choose smaller weights or sizes")
    # timed without counting: the seconds are of the arithmetic, not of the tally (runs above counted)
    fns: dict[str, Callable[[], Any]] = {s: (lambda s=s: mdrnn.forward(params, x, s, count=False))
                                         for s in mdrnn.SCHEDULES}
    M, K = Gr * Gc * B, D + 2 * H
    if fused:
        fns["fused"] = fused_baseline(backend, M, K, H, precision, seed)
    torch_h = None
    if tc.compare_torch:
        fns["torch"], torch_h = torch_loop(params, x)
    times = timing.interleaved(fns, repeat=tc.repeat, max_seconds=tc.max_seconds,
                               sync=lambda: synchronize(backend.xp))
    seed_macs, exact = cost.macs_seed(Gr, Gc, D, H, B), cost.macs_exact(Gr, Gc, D, H, B)
    schedules = {s: ScheduleRun(seconds=times[s].median, spread=times[s].spread, repeats=len(times[s].seconds),
                                steps=r.cost.steps, macs=r.cost.macs, macs_input=r.cost.macs_input,
                                macs_recurrent=r.cost.macs_recurrent, products=r.cost.products,
                                peak_state_bytes=r.cost.peak_state_bytes,
                                macs_over_seed_model=r.cost.macs / seed_macs,
                                macs_over_exact_model=r.cost.macs / exact, flops=r.cost.flops, tanh=r.cost.tanh,
                                calls=r.cost.calls)
                 for s, r in runs.items()}
    speedup = timing.compare(times["raster"], times["wavefront"], "the speedup")
    out: dict[str, Any] = dict(
        config={**cfg.as_dict(), "precision": precision, "backend": backend.name,
                "device": describe_device(backend.name)["summary"], "blas_threads": tc.blas_threads or "default"},
        weights=params.count(bias=False), weights_formula=cost.weights_seed(D, H),
        weights_with_bias=params.count(bias=True), macs_model_seed=seed_macs, macs_model_exact=exact,
        macs_model_dense=cost.macs_dense(Gr, Gc, D, H, B), flops_model_exact=cost.flops_exact(Gr, Gc, D, H, B),
        steps_model={"raster": cost.steps_raster(Gr, Gc), "wavefront": cost.steps_wavefront(Gr, Gc)},
        longest_chain=layout.longest_chain(Gr, Gc),
        schedules=schedules, speedup_wavefront_over_raster=speedup.value, speedup_note=speedup.reason,
        max_abs_difference_raster_wavefront=float(np.abs(h["raster"] - h["wavefront"]).max()))
    if fused:
        out["fused"] = fused_run(times["fused"], times["wavefront"], M * K * H, schedules["wavefront"].macs,
                                 f"({M}, {K}) @ ({K}, {H}) + b, then tanh")
        out["fused_note"] = ""
    if tc.compare_torch:
        over = {s: timing.compare(times["torch"], times[s], f"torch over {s}") for s in mdrnn.SCHEDULES}
        out["torch"] = TorchLoop(seconds=times["torch"].median, loop="PyTorch cell by cell, CPU",
                                 torch_over_wavefront=over["wavefront"].value,
                                 torch_over_wavefront_note=over["wavefront"].reason,
                                 torch_over_raster=over["raster"].value, torch_over_raster_note=over["raster"].reason,
                                 max_abs_difference=float(np.abs(torch_h - h["wavefront"]).max()))
        out["torch_note"] = ""
    if tc.states:
        out["h_abs_mean"] = np.abs(h["wavefront"][0]).mean(axis=-1)  # (Gr, Gc)
    out["verdict"] = verdict(out)
    return Measurement(**out)


def fused_run(fused: timing.Timing, wave: timing.Timing, fused_macs: int, wave_macs: int, shape: str) -> FusedRun:
    """The efficiency of the wavefront against the fused product: best time per multiply-add of
    the fused call over the wavefront's. Refused (nan, with the reason) when either timing is
    too short or too noisy, and when the fused call is the slower per multiply-add: then it is
    no speed limit at this size, and a figure above 100% would only measure that."""
    ratio = timing.compare(fused, wave, "the efficiency")
    eff = (fused.best / fused_macs) / (wave.best / wave_macs)
    note = ratio.reason
    if not note and eff > 1.0:
        note = (f"the efficiency: at this size one fused product took longer per multiply-add than the "
                f"wavefront ({100 * eff:.0f}%), so it is no speed limit here: choose larger G or H")
    return FusedRun(seconds=fused.median, macs=fused_macs, shape=shape, efficiency=math.nan if note else eff,
                    note=note)


def verdict(m: dict[str, Any]) -> str:
    """Which model is right, in one paragraph, from the measured numbers."""
    w = m["schedules"]["wavefront"]
    return (f"Measured {w.macs:,} multiply-adds: {w.macs_over_exact_model:.3f} x the exact count "
            f"and {w.macs_over_seed_model:.3f} x the seed's G²(DH + H²). The seed's eq (11) counts one "
            "H x H product per cell, but each cell reads two neighbours through two matrices, W_W and "
            "W_N: the right count is G²(DH + 2H²), less the H² products of the first row and column, "
            "whose neighbour outside the grid is the zero state (skipped here). Eq (10), DH + 2H², "
            f"matches the arrays ({m['weights']:,}); with the {m['config']['H']} biases there are "
            f"{m['weights_with_bias']:,} trainable numbers.")
