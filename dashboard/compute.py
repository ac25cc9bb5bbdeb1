"""The only place with ``st.cache_data``: config -> NumPy/pandas results, via ``core``.

Every function here takes frozen configs (hashable, so they key the cache), calls the core,
and returns NumPy arrays, pandas frames or plain Python values -- never CuPy arrays, so
results can be cached, plotted and downloaded on any machine. Caches are bounded
(``max_entries``) so a long lecture does not grow memory without bound.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from core import context, cost, grid_train, warp
from core.backend import describe_device, select_backend
from core.config import RunConfig
from core.hypergrad import hypergradients
from core.jacobian import jacobian_report, phase_polygon
from core.limits import CACHE_MAX_ENTRIES, TIME_BUDGET_SECONDS, ConfigError, ProgressFn
from core.lstm_lab import GradcheckConfig, LSTMConfig, gradcheck, seed_check, simulate
from core.lstm_seed import SeedReport
from core.mdrnn_bench import measure, sweep
from core.objectives import loss_surface, make_objective, plot_coordinates
from core.roundtrip import Recorder, inverse_order_check, roundtrip


def _load_lstm_sweeps(delay: float = 2.0) -> None:
    """Load the compiled LSTM sweeps (Numba, its cache of the kernels, oneMKL) in the background,
    once per server process, a moment after the first page has started (so as not to slow it):
    about 0.5 s that the LSTM page's first large run would otherwise wait for (small runs take the
    NumPy sweep, core.lstm.JIT_MIN_FLOPS). A run that needs them sooner waits for this load, not
    for a second one (core.lstm_jit locks)."""
    time.sleep(delay)
    from core import lstm_jit

    for dtype in ("float64", "float32"):  # the page's default precision first
        lstm_jit.mkl_available(dtype)  # loads the sweeps without oneMKL first, then with it if installed


threading.Thread(target=_load_lstm_sweeps, name="load-lstm-sweeps", daemon=True).start()


@contextlib.contextmanager
def progress_bar(label: str) -> Iterator[ProgressFn]:
    """A progress bar for long work, as a core progress callback; removed when done.

    Use it *inside* a cached function: Streamlit replays the bar's messages on a cache hit,
    which is instant and ends with the bar removed. (A bar created outside a cached function
    cannot be updated from inside it.)
    """
    bar = st.progress(0.0, text=label)
    try:
        yield lambda fraction, message: bar.progress(min(max(float(fraction), 0.0), 1.0),
                                                     text=f"{label}: {message}")
    finally:
        bar.empty()


@st.cache_data(max_entries=8, show_spinner=False)
def backend_report(name: str) -> dict[str, Any]:
    """The backend that ``name`` resolves to here, its device, and any problem in one line.

    A ``cupy`` request on a machine without CuPy or a GPU falls back to NumPy and says so:
    a link made on a GPU machine still opens on a laptop.
    """
    error = ""
    try:
        backend = select_backend(name)
        if backend.note:
            error = backend.note if name != "auto" else ""
    except ConfigError as exc:
        backend = select_backend("numpy")
        error = f"{exc}. Running on NumPy instead."
    return {"backend": backend.name, "error": error, **describe_device(backend.name)}



# --- LSTM through time (core/lstm_lab.py) -------------------------------------------------------



LSTM_UNITS_SHOWN = 64  # heatmaps show the first units of h(t); all of them are in the CLI's --units


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner="Running the LSTM forward and backward…")
def lstm_run(cfg: LSTMConfig, run: RunConfig) -> dict[str, Any]:
    """One forward and backward pass, summarised per step (NumPy arrays)."""
    out = simulate(cfg, select_backend(run.backend), run.precision, run.seed)
    units = min(cfg.H, LSTM_UNITS_SHOWN)
    out["gates"] = {k: v[:, :units] for k, v in out["gates"].items()}
    out["c"], out["h"] = out["c"][:, :units], out["h"][:, :units]
    out["units_shown"] = units
    panels = {**out["gates"], "c": out["c"], "h": out["h"]}
    out["forward_frame"] = pd.DataFrame({"t": np.repeat(np.arange(1, cfg.T + 1), units),
                                         "unit": np.tile(np.arange(1, units + 1), cfg.T),
                                         **{k: v.reshape(-1) for k, v in panels.items()}})
    return out


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def lstm_seed(cfg: LSTMConfig, t: int, seed: int) -> SeedReport:
    """The seed's eqs (1)-(9) at step t of the scalar LSTM with this config's T, weights and loss."""
    return seed_check(cfg, t, seed)


def lstm_gradcheck_config(cfg: LSTMConfig) -> GradcheckConfig:
    """The page's gradient check: the config's sizes, capped so it runs in well under a second,
    with a sample of entries of every array."""
    return GradcheckConfig(T=min(cfg.T, 20), B=min(cfg.B, 8), D=min(cfg.D, 8), H=min(cfg.H, 8),
                           loss=cfg.loss, entries=8, direction_scale=1)


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner="Checking the gradients…")
def lstm_gradcheck(check: GradcheckConfig, backend: str, seed: int) -> dict[str, Any]:
    """Hand BPTT against central finite differences (float64), as plain values."""
    return gradcheck(check, select_backend(backend), seed)


# --------------------------------------------------------------------------- MDRNN (seed problems 3 and 4)


def _mdrnn_backend(run: Any) -> Any:
    return select_backend(run.backend)


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner="Running both schedules ...")
def mdrnn_measure(grid: Any, run: Any) -> dict[str, Any]:
    """Both schedules on one grid (``core.mdrnn_bench.measure``): counted cost, models, median
    seconds, the fused-product efficiency and the map of |h|. Refuses grids whose raster run
    would exceed the time budget, before starting."""

    guess = cost.estimate_seconds(grid.Gr, grid.Gc, grid.D, grid.H, grid.B, "raster")
    if guess > TIME_BUDGET_SECONDS / 8:  # a warm-up and a timed run of each schedule must fit
        raise ConfigError(f"one raster pass over a {grid.Gr} x {grid.Gc} grid takes about {guess:.0f} s "
                          "here, too long for a page: choose a smaller grid, or time it with the "
                          "command below")
    repeat = 5 if guess < 0.05 else 3 if guess < 0.5 else 1
    return measure(grid, _mdrnn_backend(run), precision=run.precision, seed=run.seed, repeat=repeat,
                   max_seconds=TIME_BUDGET_SECONDS / 8, states=True)


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def mdrnn_sweep(cfg: Any, run: Any) -> dict[str, Any]:
    """The scaling sweep (``core.mdrnn_bench.sweep``) with a progress bar while it runs."""

    with progress_bar("Timing raster and wavefront") as report:
        return sweep(cfg, _mdrnn_backend(run), precision=run.precision, seed=run.seed, progress=report)


def mdrnn_sweep_estimate(cfg: Any) -> float:
    """Rough seconds the sweep will take (each point: a warm-up and ``repeat`` runs of both)."""

    return sum((cfg.repeat + 1) * sum(cost.estimate_seconds(p["G"], p["G"], p["D"], p["H"], cfg.B, s)
                                      for s in ("raster", "wavefront")) for p in cfg.points())


# ------------------------------------------------------------- MDRNN against a conv net (seed problem 5)


def _log10_or_none(S: np.ndarray) -> list[list[float | None]]:
    """log10 of a sensitivity map, None where it is exactly zero (drawn blank)."""
    return [[math.log10(v) if v > 0 else None for v in row] for row in S.tolist()]


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner="Computing sensitivity maps ...")
def mdrnn_sensitivity(cfg: Any, run: Any) -> dict[str, Any]:
    """Sensitivity maps of every compared model at (i*, j*), decay profiles, the forget-bias
    sweep and the computed summary (``core.context``). Always float64: a float32 map would
    round the farthest sensitivities to zero and blur the exact-zero context."""

    backend = select_backend(run.backend)
    report = context.sensitivity_report(cfg, backend, seed=run.seed)
    sweep = context.forget_bias_sweep(cfg, backend, seed=run.seed)
    for m in report["models"].values():
        m["log_map"] = _log10_or_none(m["map"])
    return {"report": report, "sweep": sweep, "summary": context.summarize(report, sweep, cfg.forget_bias)}


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def mdrnn_warp_test(cfg: Any, run: Any) -> dict[str, Any]:
    """Train the chosen models on 8x8 digits and test them on warped digits
    (``core.grid_train.warp_test``), with a progress bar while it runs."""

    guess = grid_train.estimate_seconds(cfg)
    if guess > TIME_BUDGET_SECONDS:
        raise ConfigError(f"this training run would take about {guess:.0f} s, over the page's budget of "
                          f"{TIME_BUDGET_SECONDS:.0f} s: choose fewer epochs, fewer training digits or "
                          "fewer models, or run it with the command below")
    with progress_bar("Training on 8x8 digits") as report:
        result = grid_train.warp_test(cfg, select_backend(run.backend), seed=run.seed, dtype=run.precision,
                                      progress=report)
    result["summary"] = grid_train.summarize(result)
    return result


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def mdrnn_warp_samples(seed: int, levels: int) -> dict[str, Any]:
    """A few test digits under each warp at each strength, as plain lists for drawing."""

    s = grid_train.sample_warps(seed, n=4, levels=levels)
    return {"images": {k: v.tolist() for k, v in s["images"].items()}, "labels": s["labels"].tolist(),
            "amounts": {k: [warp.warp_amount(k, float(x)) for x in s["strengths"]] for k in s["images"]},
            "units": dict(warp.WARP_UNITS)}


# ---- reversible: momentum SGD through training (seed problems 6 and 7) ---------------------


def _reversible_objective(cfg: Any, backend: Any, seed: int) -> Any:

    return make_objective(cfg.objective, backend, D=cfg.D, cond=cfg.cond, l2=cfg.l2, seed=seed)


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def reversible_roundtrip(cfg: Any, run: Any) -> dict[str, Any]:
    """Train ``cfg`` forward and back; a few coordinates of p and theta at every step of both
    passes (NaN where the inverse overflowed), errors, bits and timings."""


    backend = select_backend(run.backend)
    coords = plot_coordinates(cfg.objective, cfg.D)
    fwd, inv = Recorder(coords), Recorder(coords)
    with progress_bar(f"{cfg.mode}: {cfg.steps:,} steps forward and back") as report:
        res = roundtrip(cfg, backend, seed=run.seed, observer=fwd, inverse_observer=inv,
                        trace_bits=True, progress=report)
    K = cfg.steps
    theta_inv = np.full((K + 1, fwd.theta.shape[1]), np.nan)
    p_inv = np.full_like(theta_inv, np.nan)
    if inv.steps:
        theta_inv[inv.steps] = inv.theta
        p_inv[inv.steps] = inv.p
    finite = np.isfinite(theta_inv).all(axis=1) & np.isfinite(p_inv).all(axis=1)
    theta_inv[~finite], p_inv[~finite] = np.nan, np.nan
    lo, hi = fwd.theta.min(axis=0), fwd.theta.max(axis=0)
    pad = 0.15 * np.maximum(hi - lo, 0.2)
    extent = [(float(lo[i] - pad[i]), float(hi[i] + pad[i])) for i in range(len(lo))]
    return {"k": np.arange(K + 1), "theta_fwd": fwd.theta, "p_fwd": fwd.p, "theta_inv": theta_inv,
            "p_inv": p_inv, "ks": res.ks, "error": res.error, "summary": res.summary(),
            "bits": res.bits_trace, "beta_eff": res.beta_eff, "D": res.D, "extent": extent,
            "coords": list(coords)}


def reversible_errors(cfg: Any, run: Any) -> dict[str, Any]:
    """Reconstruction error against steps undone for float32, float64 and exact (each one a
    cached round trip), and for each float precision the reference eps max|theta| prod beta^-1."""

    curves, refs, growth = {}, {}, {}
    for mode in ("float32", "float64", "exact"):
        res = reversible_roundtrip(cfg.replace(mode=mode), run)
        j = cfg.steps - res["ks"]
        order = np.argsort(j)
        curves[mode] = (j[order], res["error"][order])
        growth[mode] = res["summary"]["drift_growth_per_step"]
        if mode != "exact":
            # prod of 1/beta over the last j steps (capped near the float64 range)
            log_undo = np.concatenate([[0.0], np.cumsum(-np.log(res["beta_eff"][::-1]))])
            undo = np.exp(np.minimum(log_undo, 650.0))
            scale = float(np.finfo(mode).eps) * float(np.nanmax(np.abs(res["theta_fwd"])))
            refs[mode] = (np.arange(cfg.steps + 1), scale * undo)
        else:
            exact_zero = bool((res["error"] == 0).all())
            compared = len(res["ks"])
    return {"curves": curves, "references": refs, "growth": growth, "exact_zero": exact_zero,
            "compared": compared, "one_over_beta": float(np.mean(1 / res["beta_eff"]))}


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def reversible_surface(cfg: Any, run: Any, xs: tuple[float, float], ys: tuple[float, float],
                       n: int = 80) -> dict[str, Any]:
    """J on an n x n grid over xs x ys (a 2-D objective), for the contour plot."""


    obj = _reversible_objective(cfg, select_backend("numpy"), run.seed)
    gx, gy = np.linspace(*xs, n), np.linspace(*ys, n)
    return {"x": gx, "y": gy, "J": loss_surface(obj, gx, gy)}


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def reversible_phase(cfg: Any, run: Any) -> dict[str, Any]:
    """A polygon of (p, theta) states for D = 1 pushed forward (core.jacobian.phase_polygon)."""

    return phase_polygon(cfg, select_backend(run.backend))


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def reversible_jacobian(cfg: Any, run: Any) -> dict[str, Any]:
    """det of the one-step Jacobian against beta^D and the seed's blocks (core.jacobian)."""

    return jacobian_report(cfg, select_backend(run.backend), seed=run.seed)


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def reversible_order(cfg: Any, run: Any) -> dict[str, Any]:
    """One inverse step in the seed's order and in the order that works."""

    return inverse_order_check(cfg, select_backend(run.backend), seed=run.seed)


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def reversible_hypergrad(cfg: Any, run: Any) -> dict[str, Any]:
    """Hypergradients through the exact reverse pass, with finite-difference checks."""

    with progress_bar(f"hypergradients through {cfg.steps:,} steps") as report:
        res = hypergradients(cfg, select_backend(run.backend), seed=run.seed, progress=report)
    return {"alpha_bar": res.alpha_bar, "beta_bar": res.beta_bar, "fd_steps": res.fd_steps,
            "fd_alpha": res.fd_alpha, "fd_beta": res.fd_beta, "summary": res.summary()}
