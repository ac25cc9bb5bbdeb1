"""Central finite differences for gradient checks (float64, NumPy arrays on the host)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def central_differences(loss: Callable[[dict[str, np.ndarray]], float], arrays: dict[str, np.ndarray],
                        eps: float = 1e-5) -> dict[str, np.ndarray]:
    """(L(a + ε e) − L(a − ε e)) / 2ε for every entry e of every array; ``loss`` gets the dict
    with one entry moved."""
    out = {}
    for name, value in arrays.items():
        fd = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            for sign in (1, -1):
                moved = dict(arrays)
                moved[name] = value.copy()
                moved[name][idx] += sign * eps
                fd[idx] += sign * loss(moved) / (2 * eps)
        out[name] = fd
    return out


def max_relative_error(analytic: dict[str, np.ndarray], numeric: dict[str, np.ndarray]) -> float:
    """max |analytic − numeric| over all entries, relative to max |numeric|."""
    a = np.concatenate([np.ravel(analytic[k]) for k in numeric])
    n = np.concatenate([np.ravel(numeric[k]) for k in numeric])
    return float(np.max(np.abs(a - n)) / np.max(np.abs(n)))
