"""Observers of a training run: what the forward and inverse passes report at every step.

An observer is called as ``observer(k, p, theta)`` after step k (``core.training.exact.Observer``).
:class:`Snapshots` keeps states on the way forward and measures the reconstruction on the way
back; :class:`Recorder` keeps a few coordinates for the plots; :func:`chain` calls several.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from core.backend import abs_max, namespace, to_numpy
from core.training.exact import Observer


class Snapshots:
    """An observer that keeps (p, theta) at every ``stride``-th step on the way forward and
    measures max |reconstructed - kept| over p and theta at those steps on the way back."""

    def __init__(self, K: int, stride: int, *, copies: bool = True) -> None:
        """``copies=False`` keeps the arrays it is handed, for a pass that hands fresh ones
        every step (the exact pass converts its integers anew); a float pass updates p and
        theta in place, so they are copied."""
        self.K, self.stride, self.copies = K, stride, copies
        self.kept: dict[int, tuple[Any, Any]] = {}
        self.errors: dict[int, float] = {}

    def wanted(self, k: int) -> bool:
        return k % self.stride == 0 or k == self.K

    def keep(self, k: int, p: Any, theta: Any) -> None:
        if self.wanted(k):
            if not self.copies:
                self.kept[k] = (p, theta)
            elif isinstance(theta, np.ndarray):
                self.kept[k] = (p.copy(), theta.copy())
            else:
                xp = namespace(theta)
                self.kept[k] = (xp.asarray(p, copy=True), xp.asarray(theta, copy=True))

    def compare(self, k: int, p: Any, theta: Any) -> None:
        if self.wanted(k):
            p0, t0 = self.kept[k]
            err = max(abs_max(p - p0), abs_max(theta - t0))
            self.errors[k] = err if math.isfinite(err) else math.inf

    def table(self) -> tuple[np.ndarray, np.ndarray]:
        """(k, error) for every kept step; inf where the inverse never got back to k."""
        ks = np.array(sorted(self.kept), dtype=np.int64)
        return ks, np.array([self.errors.get(int(k), math.inf) for k in ks])


def chain(*observers: Observer | None) -> Observer | None:
    live = [o for o in observers if o is not None]
    if len(live) < 2:
        return live[0] if live else None

    def each(k: int, p: Any, theta: Any) -> None:
        for o in live:
            o(k, p, theta)

    return each


class Recorder:
    """An observer that records coordinates of p and theta at every step, on the host (for
    plots): ``steps``, ``p`` (n, m) and ``theta`` (n, m) in call order. ``m`` an int: the first
    m coordinates; a sequence: those indices."""

    def __init__(self, m: int | tuple[int, ...] = 2) -> None:
        self.index = list(range(m)) if isinstance(m, int) else list(m)
        self._take = np.asarray(self.index, dtype=np.intp)  # NumPy's fancy index, made once
        self.steps: list[int] = []
        self._p: list[np.ndarray] = []
        self._theta: list[np.ndarray] = []

    def __call__(self, k: int, p: Any, theta: Any) -> None:
        self.steps.append(k)
        if isinstance(theta, np.ndarray):  # the common case, without the array-API detour
            self._p.append(np.asarray(p[self._take], dtype=np.float64))  # a copy already
            self._theta.append(np.asarray(theta[self._take], dtype=np.float64))
            return
        xp = namespace(theta)
        pick = xp.asarray(self.index)
        self._p.append(np.array(to_numpy(xp.take(p, pick)), dtype=np.float64))
        self._theta.append(np.array(to_numpy(xp.take(theta, pick)), dtype=np.float64))

    @property
    def p(self) -> np.ndarray:
        return np.array(self._p)

    @property
    def theta(self) -> np.ndarray:
        return np.array(self._theta)
