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

