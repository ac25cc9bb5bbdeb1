"""The only place with ``st.cache_data``: config -> NumPy/pandas results, via ``core``.

Every function here takes frozen configs (hashable, so they key the cache), calls the core,
and returns NumPy arrays, pandas frames or plain Python values -- never CuPy arrays, so
results can be cached, plotted and downloaded on any machine. Caches are bounded
(``max_entries``) so a long lecture does not grow memory without bound.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.backend import describe_device, select_backend
from core.limits import ConfigError


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

