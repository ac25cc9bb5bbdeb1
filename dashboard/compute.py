"""The only place with caches: config -> typed results, via ``core`` (``st.cache_data``), and
the few figures that depend on no result (``st.cache_resource``, built once and shared).

Every function here takes frozen configs (hashable, so they key the cache), calls one core
function and returns its result: a frozen dataclass of NumPy arrays and plain values, never
CuPy arrays, so results can be cached, plotted and downloaded on any machine. There are no
numerics and no policy here; the time budget a page may spend is passed to core, which refuses
over-budget work itself (``core.limits``). Caches are bounded (``max_entries``) so a long
lecture does not grow memory without bound.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from core import equations, timing
from core.backend import describe_device, select_backend
from core.config import RunConfig
from core.grid import bench as grid_bench
from core.grid import claims, context, depth, layout, warptest
from core.grid import sweep as grid_sweep
from core.grid.mdrnn import GridConfig
from core.limits import CACHE_MAX_ENTRIES, TIME_BUDGET_SECONDS, ConfigError, ProgressFn
from core.lstm import experiments as lstm
from core.lstm.seed import SeedReport
from core.training import hypergrad, jacobian, momentum, roundtrip
from core.training.objectives import LossSurface, make_objective, surface_over
from dashboard import plots

PROGRESS_AFTER_S = 0.3


@contextlib.contextmanager
def progress_bar(label: str) -> Iterator[ProgressFn]:
    """A progress bar for long work, as a core progress callback that also says the step and the
    time left (``core.timing.with_time_left``); shown once the work has taken
    :data:`PROGRESS_AFTER_S`, removed when done.

    Use it *inside* a cached function: Streamlit replays the bar's messages on a cache hit,
    which is instant and ends with the bar removed. (A bar created outside a cached function
    cannot be updated from inside it.)
    """
    start, slot, bar = time.perf_counter(), [], []

    def show(fraction: float, message: str) -> None:
        if not bar and time.perf_counter() - start < PROGRESS_AFTER_S:
            return  # work this short shows no bar (nor pays for its messages)
        value, text = min(max(float(fraction), 0.0), 1.0), f"{label}: {message}"
        if bar:
            bar[0].progress(value, text=text)
        else:  # the bar's place is made when it is first shown: short work sends nothing at all
            slot.append(st.empty())
            bar.append(slot[0].progress(value, text=text))

    try:
        yield timing.with_time_left(show)
    finally:
        if slot:
            slot[0].empty()


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


@st.cache_data(max_entries=8, show_spinner=False)
def seed_equations(page: str) -> tuple[equations.EquationRow, ...]:
    """The seed's numbered equations a page concerns, each with its evidence (core.equations)."""
    return equations.table(page)


# --- LSTM through time (core.lstm) ------------------------------------------------------------


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner="Running the LSTM forward and backward…")
def lstm_run(cfg: lstm.LSTMConfig, run: RunConfig) -> lstm.LSTMRun:
    """One forward and backward pass, summarised per step (the first units for the heatmaps)."""
    return lstm.simulate(cfg, select_backend(run.backend), run.precision, run.seed, units=lstm.UNITS_SHOWN)


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def lstm_seed(cfg: lstm.LSTMConfig, t: int, seed: int) -> SeedReport:
    """The seed's eqs (1)-(9) at step t of the scalar LSTM with this config's T, weights and loss."""
    return lstm.seed_check(cfg, t, seed)


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner="Checking the gradients…")
def lstm_gradcheck(check: lstm.GradcheckConfig, backend: str, seed: int) -> lstm.GradCheck:
    """Hand BPTT against central finite differences (float64)."""
    return lstm.gradcheck(check, select_backend(backend), seed)


# --- MDRNN through a grid (core.grid, seed problems 3 and 4) ----------------------------------


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner="Running both schedules ...")
def mdrnn_measure(grid: GridConfig, run: RunConfig) -> grid_bench.Measurement:
    """Both schedules on one grid: counted cost, models, timings, efficiency, the map of |h|."""
    timing_cfg = grid_bench.CostConfig(repeat=7, max_seconds=TIME_BUDGET_SECONDS / 8, states=True)
    return grid_bench.measure(grid, select_backend(run.backend), timing_cfg=timing_cfg, precision=run.precision,
                              seed=run.seed, budget_seconds=TIME_BUDGET_SECONDS)


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def mdrnn_cell_steps(Gr: int, Gc: int, schedule: str) -> np.ndarray:
    """The step at which each cell is computed by ``schedule`` (the animation's frames)."""
    return layout.cell_steps(Gr, Gc, schedule)


def _ready(fig: go.Figure, lecture: bool) -> go.Figure:
    if lecture:
        plots.lecture_fonts(fig)
    fig._lab_ready = True  # shared by every session from here on: widgets.chart leaves it as it is
    return fig


@st.cache_resource(max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def overview_figure(lecture: bool) -> go.Figure:
    """The home page's picture: it depends on nothing, so it is built once (per mode) and shared."""
    return _ready(plots.recurrence_overview(), lecture)


@st.cache_resource(max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def schedule_figure(Gr: int, Gc: int, schedule: str, lecture: bool) -> go.Figure:
    """The schedule animation: it depends on the grid's shape only, not on weights or seed, so a
    class shares one per shape (and mode)."""
    return _ready(plots.schedule_animation(layout.cell_steps(Gr, Gc, schedule), schedule), lecture)


def mdrnn_sweep_seconds(cfg: grid_sweep.SweepConfig) -> float:
    """Rough seconds the sweep will take (the page asks before a long one)."""
    return grid_sweep.sweep_seconds(cfg)


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def mdrnn_sweep(cfg: grid_sweep.SweepConfig, run: RunConfig) -> grid_sweep.Sweep:
    """The scaling sweep, with a progress bar while it runs."""
    with progress_bar(f"Timing raster and wavefront (about {grid_sweep.sweep_seconds(cfg):.0f} s)") as report:
        return grid_sweep.sweep(cfg, select_backend(run.backend), precision=run.precision, seed=run.seed,
                                progress=report, budget_seconds=TIME_BUDGET_SECONDS)


# --- MDRNN against a conv net (core.grid, seed problem 5) -------------------------------------


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner="Computing sensitivity maps ...")
def mdrnn_context(cfg: context.SensitivityConfig, run: RunConfig) -> claims.ContextStudy:
    """Every compared model's sensitivity map at (i*, j*) for one initialisation, and what it
    says of each model's context (float64, as :func:`mdrnn_sensitivity`)."""
    return claims.context_study(cfg, select_backend(run.backend), seed=run.seed)


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner="Comparing the decay over initialisations ...")
def mdrnn_sensitivity(cfg: context.SensitivityConfig, run: RunConfig) -> claims.SensitivityStudy:
    """Sensitivity maps of every compared model at (i*, j*), decay over several initialisations,
    the forget-bias sweep and the computed summary. Always float64: a float32 map would round the
    farthest sensitivities to zero and blur the exact-zero context."""
    return claims.sensitivity_study(cfg, select_backend(run.backend), seed=run.seed)


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def mdrnn_warp_test(cfg: warptest.WarpTestConfig, run: RunConfig) -> claims.WarpStudy:
    """Train the chosen models on 8x8 digits and test them on warped digits, with a progress bar."""
    with progress_bar(f"Training on 8x8 digits (about {warptest.warp_test_seconds(cfg):.0f} s)") as report:
        return claims.warp_study(cfg, select_backend(run.backend), seed=run.seed, dtype=run.precision,
                                 progress=report, budget_seconds=TIME_BUDGET_SECONDS)


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner="Timing both models over G ...")
def mdrnn_depth_timing(D: int, H: int, L: int, k: int, run: RunConfig) -> depth.DepthTiming:
    """Forward time of the tanh MDRNN and the conv net against G (the sequential steps' cost)."""
    return depth.depth_timing(select_backend(run.backend), D=D, H=H, L=L, k=k, seed=run.seed)


def mdrnn_depth_sentence(timing: depth.DepthTiming) -> str:
    """What the depth timing shows, in one computed sentence."""
    return claims.depth_summary(timing)


def mdrnn_warp_seconds(cfg: warptest.WarpTestConfig) -> float:
    """Rough seconds the warping test will take with these settings (the page says so first)."""
    return warptest.warp_test_seconds(cfg)


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def mdrnn_warp_samples(seed: int, levels: int) -> warptest.WarpSamples:
    """A few test digits under each warp at each strength."""
    return warptest.sample_warps(seed, n=4, levels=levels)


# --- Momentum SGD through training (core.training, seed problems 6 and 7) ---------------------


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def reversible_roundtrip(cfg: momentum.TrainConfig, run: RunConfig) -> roundtrip.Trajectories:
    """Train ``cfg`` forward and back, with a few coordinates recorded at every step of both passes."""
    with progress_bar(f"{cfg.mode}: {cfg.steps:,} steps forward and back") as report:
        return roundtrip.trajectories(cfg, select_backend(run.backend), seed=run.seed, progress=report,
                                      budget_seconds=TIME_BUDGET_SECONDS / 3)  # the page runs up to three


def reversible_errors(cfg: momentum.TrainConfig, run: RunConfig) -> roundtrip.Drift:
    """Reconstruction error against steps undone for float32, float64 and exact (each one a
    cached round trip)."""
    return roundtrip.drift({mode: reversible_roundtrip(cfg.replace(mode=mode), run)
                            for mode in ("float32", "float64", "exact")})


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def reversible_surface(cfg: momentum.TrainConfig, run: RunConfig, xs: tuple[float, float],
                       ys: tuple[float, float]) -> LossSurface:
    """J over the box xs x ys (a 2-D objective), for the contour plot."""
    obj = make_objective(cfg.objective, select_backend("numpy"), D=cfg.D, cond=cfg.cond, l2=cfg.l2, seed=run.seed)
    return surface_over(obj, xs, ys)


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def reversible_phase(cfg: jacobian.PhaseConfig, run: RunConfig) -> jacobian.PhasePolygon:
    """A polygon of (p, theta) states for D = 1 pushed forward."""
    return jacobian.phase_polygon(cfg, select_backend(run.backend))


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def reversible_jacobian(cfg: jacobian.JacobianConfig, run: RunConfig) -> jacobian.JacobianReport:
    """det of the one-step Jacobian against beta^D and the seed's blocks."""
    return jacobian.jacobian_report(cfg, select_backend(run.backend), seed=run.seed)


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def reversible_order(cfg: momentum.TrainConfig, run: RunConfig) -> momentum.OrderCheck:
    """One inverse step in the seed's order and in the order that works."""
    return momentum.inverse_order_check(cfg, select_backend(run.backend), seed=run.seed)


@st.cache_data(max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def reversible_hypergrad(cfg: hypergrad.HypergradConfig, run: RunConfig) -> hypergrad.Hypergrads:
    """Hypergradients through the exact reverse pass, with finite-difference checks."""
    with progress_bar(f"Hypergradients through {cfg.steps:,} steps (about {hypergrad.hypergrad_seconds(cfg):.0f} s)"
                      ) as report:
        return hypergrad.hypergradients(cfg, select_backend(run.backend), seed=run.seed, progress=report,
                                        budget_seconds=TIME_BUDGET_SECONDS)
