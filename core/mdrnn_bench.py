"""Measured cost of the grid RNN (``core.mdrnn``): configs, timings, the sweep, gradient checks.

Everything the ``mdrnn`` CLI commands and the MDRNN page print comes from here:

* :func:`measure` -- both schedules on one grid: median seconds (repeats interleaved, so load
  on a shared machine hits both alike), the counted steps, multiply-adds and state memory,
  held against the models of ``core.cost``; the wavefront against one fused product plus
  tanh doing the same multiply-adds in a single call; optionally a PyTorch cell-by-cell loop.
* :func:`sweep` -- time and counted multiply-adds over G, H and D, with fitted log-log slopes.
* :func:`grad_check` -- backward against central finite differences (entrywise and in a
  random direction).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from core import cost, mdrnn
from core.backend import Backend, describe_device, dtype_of, inplace_module, synchronize, to_numpy
from core.config import Config, param
from core.limits import ConfigError, ProgressFn, no_progress, require_finite, require_memory

PRECISIONS = ("float64", "float32")


@dataclass(frozen=True)
class GridConfig(Config):
    """One grid: sizes of the seed's problem 3 (G x G cells, D inputs, H hidden) and a batch."""

    cli_topic: ClassVar[str] = "mdrnn cost"
    Gr: int = param(16, 1, 512, label="G rows", help="rows of the grid")  # small: the page renders fast
    Gc: int = param(16, 1, 512, label="G columns", help="columns of the grid")
    D: int = param(3, 1, 256, label="D (input features)", help="features per cell, e.g. 3 for RGB")
    H: int = param(32, 1, 512, label="H (hidden units)", help="state size of each cell")
    B: int = param(1, 1, 256, label="B (batch)", help="grids processed at once")

    def check(self) -> None:
        need = cost.measure_bytes_estimate(self.Gr, self.Gc, self.D, self.H, self.B)
        what = (f"both schedules on a {self.Gr} x {self.Gc} grid with D={self.D}, H={self.H}, "
                f"B={self.B} (float64)")
        require_memory(need, what)


@dataclass(frozen=True)
class SweepConfig(Config):
    """Square grids of growing size: G doubles up to G_max (at H), H doubles up to H_max (at G),
    D doubles up to D_max (at G and H)."""

    cli_topic: ClassVar[str] = "mdrnn sweep"
    axes: str = param("G,H", choices=("G", "G,H", "G,H,D"), label="Sweep over",
                      help="which sizes to vary, one at a time")
    G_max: int = param(32, choices=(8, 16, 32, 64, 128, 256), label="largest G",
                       help="G runs 4, 8, ... up to this")  # 32: the default view stays fast
    H_max: int = param(64, choices=(8, 16, 32, 64, 128, 256), label="largest H",
                       help="H runs 4, 8, ... up to this")
    D_max: int = param(32, choices=(4, 8, 16, 32, 64, 128), label="largest D",
                       help="D runs 1, 2, 4, ... up to this")
    G: int = param(16, 2, 256, label="G while H or D varies", advanced=True)
    H: int = param(32, 1, 512, label="H while G or D varies", advanced=True)
    D: int = param(3, 1, 256, label="D while G or H varies", advanced=True)
    B: int = param(1, 1, 64, label="B (batch)", advanced=True)
    repeat: int = param(3, 1, 25, label="repeats per point", help="the median is reported", advanced=True)

    def points(self) -> list[dict[str, Any]]:
        """The sweep's (axis, G, H, D) points in the order they run."""

        def doubling(lo: int, hi: int) -> list[int]:
            return [v for v in (2**k for k in range(12)) if lo <= v <= hi]

        pts: list[dict[str, Any]] = []
        for axis in self.axes.split(","):
            if axis == "G":
                pts += [dict(axis="G", G=g, H=self.H, D=self.D) for g in doubling(4, self.G_max)]
            elif axis == "H":
                pts += [dict(axis="H", G=self.G, H=h, D=self.D) for h in doubling(4, self.H_max)]
            else:
                pts += [dict(axis="D", G=self.G, H=self.H, D=d) for d in doubling(1, self.D_max)]
        return pts

    def check(self) -> None:
        need = max(cost.measure_bytes_estimate(p["G"], p["G"], p["D"], p["H"], self.B) for p in self.points())
        require_memory(need, f"the largest grid of this sweep (B={self.B}, float64)")


# --------------------------------------------------------------------------- timing


def _interleaved(fns: dict[str, Callable[[], Any]], xp: Any, repeat: int,
                 max_seconds: float) -> dict[str, list[float]]:
    """Wall times of each function, one call of each per round (after one warm-up call each),
    so that background load on a shared machine falls on all of them alike. A function whose
    calls already took ``max_seconds`` in total is not repeated further."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(max(1, repeat)):
        for name, fn in fns.items():
            if times[name] and sum(times[name]) > max_seconds:
                continue
            synchronize(xp)
            t0 = time.perf_counter()
            fn()
            synchronize(xp)
            times[name].append(time.perf_counter() - t0)
    return times


def blas_threads(n: int | None) -> Any:
    """A context that limits the BLAS library (OpenBLAS, MKL) to ``n`` threads; nothing when
    ``n`` is None. On a busy shared machine one thread gives steadier timings: a BLAS thread
    that loses its core makes every multi-threaded product wait for it."""
    if n is None:
        return contextlib.nullcontext()
    if n < 1:
        raise ConfigError(f"--blas-threads must be at least 1, got {n}")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError as exc:
        raise ConfigError("--blas-threads needs threadpoolctl (installed with scikit-learn)") from exc
    return threadpool_limits(limits=n, user_api="blas")


def _median(ts: list[float]) -> float:
    return float(np.median(ts))


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


def measure(cfg: GridConfig, backend: Backend, *, precision: str = "float64", seed: int = 0,
            repeat: int = 5, max_seconds: float = 10.0, fused: bool = True,
            compare_torch: bool = False, states: bool = False) -> dict[str, Any]:
    """Both schedules on one grid: counted cost against the models, and median wall times.
    ``states`` adds ``h_abs_mean``: mean over the H units of |h(i, j)| for the first input."""
    Gr, Gc, D, H, B = cfg.Gr, cfg.Gc, cfg.D, cfg.H, cfg.B
    dtype_of(backend.xp, precision)
    params = mdrnn.init_params(backend, D, H, seed=seed, dtype=precision)
    x = backend.randn((B, Gr, Gc, D), seed + 1, precision)
    runs = {s: mdrnn.forward(params, x, s) for s in mdrnn.SCHEDULES}
    h = {s: to_numpy(r.h) for s, r in runs.items()}
    require_finite(float(np.abs(h["wavefront"]).max()), "the states h", "choose smaller weights or sizes")
    agree = float(np.abs(h["raster"] - h["wavefront"]).max())
    fns: dict[str, Callable[[], Any]] = {s: (lambda s=s: mdrnn.forward(params, x, s))
                                         for s in mdrnn.SCHEDULES}
    M, K = Gr * Gc * B, D + 2 * H
    if fused:
        fns["fused"] = fused_baseline(backend, M, K, H, precision, seed)
    torch_h = None
    if compare_torch:
        fns["torch"], torch_h = torch_loop(params, x)
    times = _interleaved(fns, backend.xp, repeat, max_seconds)

    seed_macs = cost.macs_seed(Gr, Gc, D, H, B)
    exact = cost.macs_exact(Gr, Gc, D, H, B)
    schedules = {}
    for s, r in runs.items():
        c = r.cost
        schedules[s] = {"seconds": _median(times[s]), "steps": c.steps, "macs": c.macs,
                        "macs_input": c.macs_input, "macs_recurrent": c.macs_recurrent,
                        "products": c.products, "peak_state_bytes": c.peak_state_bytes,
                        "macs_over_seed_model": c.macs / seed_macs, "macs_over_exact_model": c.macs / exact,
                        "repeats": len(times[s])}
    out: dict[str, Any] = {
        "config": {**cfg.as_dict(), "precision": precision, "backend": backend.name,
                   "device": describe_device(backend.name)["summary"]},
        "weights": params.count(bias=False),
        "weights_formula": cost.weights_seed(D, H),
        "weights_with_bias": params.count(bias=True),
        "macs_model_seed": seed_macs,
        "macs_model_exact": exact,
        "macs_model_dense": cost.macs_dense(Gr, Gc, D, H, B),
        "steps_model": {"raster": cost.steps_raster(Gr, Gc), "wavefront": cost.steps_wavefront(Gr, Gc)},
        "schedules": schedules,
        "speedup_wavefront_over_raster": schedules["raster"]["seconds"] / schedules["wavefront"]["seconds"],
        "max_abs_difference_raster_wavefront": agree,
    }
    if fused:
        tf, tw = _median(times["fused"]), schedules["wavefront"]["seconds"]
        fm = M * K * H
        out["fused"] = {"seconds": tf, "macs": fm, "shape": f"({M}, {K}) @ ({K}, {H}) + b, then tanh",
                        "wavefront_over_fused": tw / tf,
                        "efficiency": (tf / fm) / (tw / schedules["wavefront"]["macs"])}
    if compare_torch:
        tt = _median(times["torch"])
        out["torch"] = {"seconds": tt, "loop": "PyTorch cell by cell, CPU",
                        "torch_over_wavefront": tt / schedules["wavefront"]["seconds"],
                        "torch_over_raster": tt / schedules["raster"]["seconds"],
                        "max_abs_difference": float(np.abs(torch_h - h["wavefront"]).max())}
    if states:
        out["h_abs_mean"] = np.abs(h["wavefront"][0]).mean(axis=-1)  # (Gr, Gc)
    out["verdict"] = verdict(out)
    return out


def verdict(m: dict[str, Any]) -> str:
    """Which model is right, in one paragraph, from the measured numbers."""
    w = m["schedules"]["wavefront"]
    return (f"Measured {w['macs']:,} multiply-adds: {w['macs_over_exact_model']:.3f} x the exact count "
            f"and {w['macs_over_seed_model']:.3f} x the seed's G²(DH + H²). The seed's eq (11) counts one "
            "H x H product per cell, but each cell reads two neighbours through two matrices, W_W and "
            "W_N: the right count is G²(DH + 2H²), less the H² products of the first row and column, "
            "whose neighbour outside the grid is the zero state (skipped here). Eq (10), DH + 2H², "
            f"matches the arrays ({m['weights']:,}); with the {m['config']['H']} biases there are "
            f"{m['weights_with_bias']:,} trainable numbers.")


# --------------------------------------------------------------------------- sweep


def sweep(cfg: SweepConfig, backend: Backend, *, precision: str = "float64", seed: int = 0,
          progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Both schedules at every point of ``cfg``; rows of measurements and fitted slopes."""
    rows: list[dict[str, Any]] = []
    points = cfg.points()
    for k, p in enumerate(points):
        progress(k / len(points), f"{p['axis']} sweep: G={p['G']}, H={p['H']}, D={p['D']}")
        grid = GridConfig(Gr=p["G"], Gc=p["G"], D=p["D"], H=p["H"], B=cfg.B)
        m = measure(grid, backend, precision=precision, seed=seed, repeat=cfg.repeat, max_seconds=2.0,
                    fused=False)
        for s, r in m["schedules"].items():
            rows.append({**p, "B": cfg.B, "schedule": s, "seconds": r["seconds"], "steps": r["steps"],
                         "macs": r["macs"], "macs_model_exact": m["macs_model_exact"],
                         "macs_model_seed": m["macs_model_seed"],
                         "speedup": m["speedup_wavefront_over_raster"]})
    progress(1.0, "done")
    return {"rows": rows, "slopes": slopes(rows), "config": {**cfg.as_dict(), "precision": precision,
                                                            "backend": backend.name}}


def slopes(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Fitted log-log slopes, per axis and schedule, of seconds and counted multiply-adds
    against the varied size; and the slopes of the two models over the same points."""
    out: dict[str, Any] = {}
    for axis in dict.fromkeys(r["axis"] for r in rows):
        sub = [r for r in rows if r["axis"] == axis]
        entry: dict[str, Any] = {}
        for s in dict.fromkeys(r["schedule"] for r in sub):
            pts = [r for r in sub if r["schedule"] == s]
            xs = [r[axis] for r in pts]
            entry[s] = {"time": cost.loglog_slope(xs, [r["seconds"] for r in pts]),
                        "macs": cost.loglog_slope(xs, [r["macs"] for r in pts]),
                        "steps": cost.loglog_slope(xs, [r["steps"] for r in pts])}
        first = [r for r in sub if r["schedule"] == sub[0]["schedule"]]
        xs = [r[axis] for r in first]
        entry["model_exact"] = cost.loglog_slope(xs, [r["macs_model_exact"] for r in first])
        entry["model_seed"] = cost.loglog_slope(xs, [r["macs_model_seed"] for r in first])
        out[axis] = entry
    return out


# --------------------------------------------------------------------------- gradient check


def grad_check(cfg: GridConfig, backend: Backend, *, seed: int = 0, eps: float = 1e-6,
               max_entries: int = 400) -> dict[str, Any]:
    """Backward (float64) against central differences: every entry of each adjoint when it
    has at most ``max_entries`` (else a random subset), and <grad, t> in a random direction t.
    Relative errors are max |analytic - fd| / max |fd| per input."""
    sizes = (cfg.H * cfg.D, cfg.H * cfg.H, cfg.H * cfg.H, cfg.H, cfg.B * cfg.Gr * cfg.Gc * cfg.D)
    evaluations = 2 * sum(min(n, max_entries) for n in sizes) + 2
    per_eval = cost.macs_exact(cfg.Gr, cfg.Gc, cfg.D, cfg.H, cfg.B) / 1e9 + 3e-5 * (cfg.Gr + cfg.Gc)
    if evaluations * per_eval > 60:
        raise ConfigError(f"the gradient check needs {evaluations} forward passes, about "
                          f"{evaluations * per_eval:.0f} s: choose a smaller grid (e.g. --Gr 6 --Gc 5 --H 4)")
    params = mdrnn.init_params(backend, cfg.D, cfg.H, seed=seed, dtype="float64", scale=1.5)
    x = backend.randn((cfg.B, cfg.Gr, cfg.Gc, cfg.D), seed + 1, "float64")
    c = backend.randn((cfg.B, cfg.Gr, cfg.Gc, cfg.H), seed + 2, "float64")
    _, grads = mdrnn.loss_and_grads(params, x, c)
    inputs = {**params.arrays(), "x": x}
    rng = np.random.default_rng(seed + 3)

    def loss(moved: dict[str, Any]) -> float:
        arrays = {k: backend.asarray(v) for k, v in moved.items()}
        xx = arrays.pop("x")
        return float(to_numpy(backend.xp.sum(mdrnn.forward(mdrnn.MDRNNParams(**arrays), xx).h * c)))

    host = {k: to_numpy(v).copy() for k, v in inputs.items()}
    entrywise: dict[str, float] = {}
    for name, value in host.items():
        size = value.size
        picks = range(size) if size <= max_entries else rng.choice(size, max_entries, replace=False)
        got = to_numpy(grads.arrays()[name]).reshape(-1)
        diffs, scale = [], 0.0
        for flat in picks:
            fd = 0.0
            for sign in (1, -1):
                moved = {k: v.copy() for k, v in host.items()}
                moved[name].reshape(-1)[flat] += sign * eps
                fd += sign * loss(moved) / (2 * eps)
            diffs.append(abs(got[flat] - fd))
            scale = max(scale, abs(fd))
        entrywise[name] = max(diffs) / scale if scale > 0 else float("nan")
    t = {k: rng.standard_normal(v.shape) for k, v in host.items()}
    norm = math.sqrt(sum(float(np.sum(v * v)) for v in t.values()))
    t = {k: v / norm for k, v in t.items()}  # a unit direction: the step is eps_dir, whatever the size
    eps_dir = 1e-5
    plus = loss({k: v + eps_dir * t[k] for k, v in host.items()})
    minus = loss({k: v - eps_dir * t[k] for k, v in host.items()})
    fd_dir = (plus - minus) / (2 * eps_dir)
    analytic = sum(float(np.sum(to_numpy(grads.arrays()[k]) * t[k])) for k in host)
    return {"config": {**cfg.as_dict(), "backend": backend.name, "precision": "float64"},
            "entrywise_relative_error": entrywise,
            "max_entrywise_relative_error": max(entrywise.values()),
            "direction": {"analytic": analytic, "finite_difference": fd_dir,
                          "relative_error": abs(analytic - fd_dir) / max(abs(fd_dir), math.ulp(1.0))},
            "eps": eps}
