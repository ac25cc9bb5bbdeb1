"""The only place with ``st.cache_data``: config -> NumPy/pandas results, via ``core``.

Every function here takes frozen configs (hashable, so they key the cache), calls the core,
and returns NumPy arrays, pandas frames or plain Python values -- never CuPy arrays, so
results can be cached, plotted and downloaded on any machine. Caches are bounded
(``max_entries``) so a long lecture does not grow memory without bound.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import streamlit as st

from core.backend import describe_device, select_backend
from core.limits import ConfigError, ProgressFn


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



# ---- reversible: momentum SGD through training (seed problems 6 and 7) ---------------------
# (imports kept with the section, so that sections added by other pages merge cleanly)
from core.config import RunConfig  # noqa: E402
from core.limits import CACHE_MAX_ENTRIES  # noqa: E402


def _reversible_objective(cfg: Any, backend: Any, seed: int) -> Any:
    from core.objectives import make_objective

    return make_objective(cfg.objective, backend, D=cfg.D, cond=cfg.cond, l2=cfg.l2, seed=seed)


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def reversible_roundtrip(cfg: Any, run: RunConfig) -> dict[str, Any]:
    """Train ``cfg`` forward and back; a few coordinates of p and theta at every step of both
    passes (NaN where the inverse overflowed), errors, bits and timings."""
    import numpy as np

    from core.objectives import plot_coordinates
    from core.roundtrip import Recorder, roundtrip

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


def reversible_errors(cfg: Any, run: RunConfig) -> dict[str, Any]:
    """Reconstruction error against steps undone for float32, float64 and exact (each one a
    cached round trip), and for each float precision the reference eps max|theta| prod beta^-1."""
    import numpy as np

    curves, refs, growth = {}, {}, {}
    for mode in ("float32", "float64", "exact"):
        res = reversible_roundtrip(cfg.replace(mode=mode), run)
        j = cfg.steps - res["ks"]
        order = np.argsort(j)
        curves[mode] = (j[order], res["error"][order])
        growth[mode] = res["summary"]["drift_growth_per_step"]
        if mode != "exact":
            # prod of 1/beta over the last j steps
            undo = np.concatenate([[1.0], np.cumprod(1 / res["beta_eff"][::-1])])
            scale = float(np.finfo(mode).eps) * float(np.nanmax(np.abs(res["theta_fwd"])))
            refs[mode] = (np.arange(cfg.steps + 1), scale * undo)
        else:
            exact_zero = bool((res["error"] == 0).all())
            compared = len(res["ks"])
    return {"curves": curves, "references": refs, "growth": growth, "exact_zero": exact_zero,
            "compared": compared, "one_over_beta": float(np.mean(1 / res["beta_eff"]))}


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def reversible_surface(cfg: Any, run: RunConfig, xs: tuple[float, float], ys: tuple[float, float],
                       n: int = 80) -> dict[str, Any]:
    """J on an n x n grid over xs x ys (a 2-D objective), for the contour plot."""
    import numpy as np

    from core.objectives import loss_surface

    obj = _reversible_objective(cfg, select_backend("numpy"), run.seed)
    gx, gy = np.linspace(*xs, n), np.linspace(*ys, n)
    return {"x": gx, "y": gy, "J": loss_surface(obj, gx, gy)}


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def reversible_phase(cfg: Any, run: RunConfig) -> dict[str, Any]:
    """A polygon of (p, theta) states for D = 1 pushed forward (core.jacobian.phase_polygon)."""
    from core.jacobian import phase_polygon

    return phase_polygon(cfg, select_backend(run.backend))


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def reversible_jacobian(cfg: Any, run: RunConfig) -> dict[str, Any]:
    """det of the one-step Jacobian against beta^D and the seed's blocks (core.jacobian)."""
    from core.jacobian import jacobian_report

    return jacobian_report(cfg, select_backend(run.backend), seed=run.seed)


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def reversible_order(cfg: Any, run: RunConfig) -> dict[str, Any]:
    """One inverse step in the seed's order and in the order that works."""
    from core.roundtrip import inverse_order_check

    return inverse_order_check(cfg, select_backend(run.backend), seed=run.seed)


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def reversible_hypergrad(cfg: Any, run: RunConfig) -> dict[str, Any]:
    """Hypergradients through the exact reverse pass, with finite-difference checks."""
    from core.hypergrad import hypergradients

    with progress_bar(f"hypergradients through {cfg.steps:,} steps") as report:
        res = hypergradients(cfg, select_backend(run.backend), seed=run.seed, progress=report)
    return {"alpha_bar": res.alpha_bar, "beta_bar": res.beta_bar, "fd_steps": res.fd_steps,
            "fd_alpha": res.fd_alpha, "fd_beta": res.fd_beta, "summary": res.summary()}
