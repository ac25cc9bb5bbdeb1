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



# --- LSTM through time (core/lstm_lab.py) -------------------------------------------------------

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from core.config import RunConfig  # noqa: E402
from core.limits import CACHE_MAX_ENTRIES  # noqa: E402
from core.lstm_lab import GradcheckConfig, LSTMConfig, gradcheck, seed_check, simulate  # noqa: E402
from core.lstm_seed import SeedReport  # noqa: E402

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
