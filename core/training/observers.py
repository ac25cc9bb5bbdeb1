"""Observers of a training run: what the forward and inverse passes report at every step.

An observer is called as ``observer(k, p, theta)`` after step k (``core.training.exact.Observer``).
:class:`Snapshots` keeps states on the way forward and measures the reconstruction on the way
back; :class:`Recorder` keeps a few coordinates for the plots; :func:`chain` calls several.

A pass that holds the states of many steps at once (``core.training.small``) hands them over
through :func:`blockwise`: ``block(ks, P, theta)`` with float64 rows P[i], theta[i] of step
ks[i], the same as ``observer(ks[i], P[i], theta[i])`` in turn. The observers here take such a
block in a few calls; any other observer is called row by row.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from core.backend import namespace, to_numpy

Observer = Callable[[int, Any, Any], None]  # observer(k, p(k), theta(k)), float arrays


def blockwise(observer: Observer) -> Any:
    """``observer``'s way of taking a block of steps (``block(ks, P, theta)``): its own where
    it has one, else one call per step."""
    own = getattr(observer, "block", None)
    if own is not None:
        return own

    def rows(ks: list[int], P: np.ndarray, theta: np.ndarray) -> None:
        for k, p, t in zip(ks, P, theta, strict=True):
            observer(k, p, t)

    return rows


class _Keep:
    """One side of :class:`Snapshots`: an observer that keeps the states of the wanted steps.
    A step handed alone is kept by its k; a block's wanted rows are kept as its arrays (they are
    its own fresh arrays), so that :meth:`Snapshots.table` measures blocks with a few calls."""

    def __init__(self, snap: Snapshots) -> None:
        self.snap = snap
        self.single: dict[int, tuple[Any, Any]] = {}
        self.blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (ks, P, theta), wanted rows

    def __call__(self, k: int, p: Any, theta: Any) -> None:
        if self.snap.wanted(k):
            self.single[k] = self.snap._hold(p, theta)

    def block(self, ks: list[int], P: np.ndarray, theta: np.ndarray) -> None:
        k = np.asarray(ks, dtype=np.int64)
        wanted = (k % self.snap.stride == 0) | (k == self.snap.K)
        if not wanted.all():
            k, P, theta = k[wanted], P[wanted], theta[wanted]
        if len(k):
            self.blocks.append((k, P, theta))

    def states(self) -> dict[int, tuple[Any, Any]]:
        """k -> (p, theta) of every kept step (a step handed twice: as it was handed last)."""
        out: dict[int, tuple[Any, Any]] = {}
        for ks, P, T in self.blocks:
            out.update(zip(ks.tolist(), zip(P, T, strict=True), strict=True))
        if out:
            return {**out, **self.single} if self.single else out
        return self.single

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(ks, P, theta) of every kept step sorted by k, as stacked float64 rows, where every
        step came in a block and none twice; else None."""
        if self.single or not self.blocks:
            return None
        ks = np.concatenate([b[0] for b in self.blocks])
        order = np.argsort(ks, kind="stable")
        ks = ks[order]
        if len(ks) > 1 and not np.all(ks[1:] > ks[:-1]):
            return None
        return ks, *(np.concatenate([b[i] for b in self.blocks])[order] for i in (1, 2))


def _matched(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    """For the sorted steps ``a[0]``: where each lies in the sorted steps ``b[0]``, and whether it is there."""
    at = np.minimum(np.searchsorted(b[0], a[0]), max(0, len(b[0]) - 1))
    return at, (b[0][at] == a[0]) if len(b[0]) else np.zeros(len(a[0]), dtype=bool)


def _gaps(*pairs: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """max |x - y| over each row of every pair of stacked rows; inf where not finite."""
    worst = np.max(np.abs(pairs[0][0] - pairs[0][1]), axis=1)
    for x, y in pairs[1:]:
        worst = np.maximum(worst, np.max(np.abs(x - y), axis=1))  # NaN propagates, then inf below
    return np.where(np.isfinite(worst), worst, math.inf)


class Snapshots:
    """An observer that keeps (p, theta) at every ``stride``-th step on the way forward and, on
    the way back, the reconstructed states at those steps; :meth:`table` measures max
    |reconstructed - kept| over p and theta at each of them, all steps in one pass (measured as
    it went, it cost several calls at every step)."""

    def __init__(self, K: int, stride: int, *, copies: bool = True) -> None:
        """``copies=False`` keeps the arrays it is handed, for a pass that hands fresh ones
        every step (the exact pass converts its integers anew); a float pass updates p and
        theta in place, so they are copied."""
        self.K, self.stride, self.copies = K, stride, copies
        self.keep = _Keep(self)  # the observer of the way forward
        self.compare = _Keep(self)  # and of the way back

    @property
    def kept(self) -> dict[int, tuple[Any, Any]]:
        """k -> (p, theta) kept on the way forward."""
        return self.keep.states()

    @property
    def back(self) -> dict[int, tuple[Any, Any]]:
        """k -> (p, theta) reconstructed on the way back."""
        return self.compare.states()

    def wanted(self, k: int) -> bool:
        return k % self.stride == 0 or k == self.K

    def _hold(self, p: Any, theta: Any) -> tuple[Any, Any]:
        if not self.copies:
            return p, theta
        if isinstance(theta, np.ndarray):
            return p.copy(), theta.copy()
        xp = namespace(theta)
        return xp.asarray(p, copy=True), xp.asarray(theta, copy=True)

    def table(self) -> tuple[np.ndarray, np.ndarray]:
        """(k, error) for every kept step; inf where the inverse never got back to k (or got
        back to a non-finite state)."""
        fwd, back = self.keep.arrays(), self.compare.arrays()
        if fwd is not None and back is not None:  # blocks on both ways: stacked already
            at, came = _matched(fwd, back)
            err = np.full(len(fwd[0]), math.inf)
            err[came] = _gaps((back[1][at[came]], fwd[1][came]), (back[2][at[came]], fwd[2][came]))
            return fwd[0], err
        kept, returned = self.kept, self.back
        ks = np.array(sorted(kept), dtype=np.int64)
        err = np.full(len(ks), math.inf)
        came = [i for i, k in enumerate(ks.tolist()) if k in returned]
        if came:
            err[came] = row_gaps([returned[int(ks[i])] for i in came], [kept[int(ks[i])] for i in came])
        return ks, err

    def theta_gaps(self, other: Snapshots) -> tuple[list[int], np.ndarray]:
        """The steps both kept on the way forward, and max |theta - theta_other| at each (other's
        theta promoted to float64: exact for float32; inf where not finite)."""
        mine, theirs = self.keep.arrays(), other.keep.arrays()
        if mine is not None and theirs is not None:
            at, both = _matched(mine, theirs)
            return mine[0][both].tolist(), _gaps((mine[2][both], theirs[2][at[both]]))
        a, b = self.kept, other.kept
        ks = sorted(k for k in a if k in b)
        as64 = lambda t: t if t.dtype == namespace(t).float64 else namespace(t).astype(t, namespace(t).float64)  # noqa: E731
        return ks, row_gaps([(a[k][1],) for k in ks], [(as64(b[k][1]),) for k in ks])


STACK_BYTES = 1 << 24  # what one stacked pass of :func:`row_gaps` may hold at once


def stack(arrays: list[Any]) -> Any:
    """``xp.stack(arrays)`` of arrays of one shape; for NumPy as one concatenation (``np.stack``
    asks about every array in Python first: for a thousand small states, three times the cost)."""
    first = arrays[0]
    if type(first) is np.ndarray and first.ndim == 1:
        return np.concatenate(arrays).reshape(len(arrays), first.shape[0])
    return namespace(first).stack(arrays)


def row_gaps(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> np.ndarray:
    """max |a[n] - b[n]| over all the arrays of pair n, for every n (inf where not finite):
    stacked passes over many pairs at once (at most :data:`STACK_BYTES` a stack) instead of a
    few calls per pair."""
    worst = np.zeros(len(a))
    for part in range(len(a[0])):
        first = a[0][part]
        xp = namespace(first)
        rows = max(1, STACK_BYTES // (8 * max(1, first.size)))  # float64 at most
        for lo in range(0, len(a), rows):
            gap = xp.abs(stack([x[part] for x in a[lo:lo + rows]]) - stack([y[part] for y in b[lo:lo + rows]]))
            gap = to_numpy(xp.max(gap, axis=tuple(range(1, first.ndim + 1)))).astype(np.float64)
            worst[lo:lo + rows] = np.maximum(worst[lo:lo + rows], gap)  # NaN propagates, then inf below
    return np.where(np.isfinite(worst), worst, math.inf)


class _Chain:
    def __init__(self, observers: list[Observer]) -> None:
        self.observers = observers
        self.blocks = [blockwise(o) for o in observers]

    def __call__(self, k: int, p: Any, theta: Any) -> None:
        for o in self.observers:
            o(k, p, theta)

    def block(self, ks: list[int], P: np.ndarray, theta: np.ndarray) -> None:
        for b in self.blocks:
            b(ks, P, theta)


def chain(*observers: Observer | None) -> Observer | None:
    """One observer that calls each of ``observers`` (None: none) in turn."""
    live = [o for o in observers if o is not None]
    if len(live) < 2:
        return live[0] if live else None
    return _Chain(live)


class Recorder:
    """An observer that records coordinates of p and theta at every step, on the host (for
    plots): ``steps``, ``p`` (n, m) and ``theta`` (n, m) in call order. ``m`` an int: the first
    m coordinates; a sequence: those indices. ``fresh=True`` says the pass hands new arrays
    every step (the exact pass): up to :attr:`WHOLE_MAX` parameters they are kept as they come
    and the coordinates taken once at the end, instead of a few calls per step."""

    WHOLE_MAX = 64

    def __init__(self, m: int | tuple[int, ...] = 2, *, fresh: bool = False) -> None:
        self.index = list(range(m)) if isinstance(m, int) else list(m)
        self._take = np.asarray(self.index, dtype=np.intp)  # NumPy's fancy index, made once
        self.fresh = fresh
        self.steps: list[int] = []
        self._p: list[np.ndarray] = []  # coordinates, one row per step, not yet in a block
        self._theta: list[np.ndarray] = []
        self._whole: list[tuple[Any, Any]] = []  # (p, theta) as handed in, fresh and small
        self._blocks: list[tuple[np.ndarray, np.ndarray]] = []  # (p, theta) coordinates (n, m), in call order

    def __call__(self, k: int, p: Any, theta: Any) -> None:
        self.steps.append(k)
        if isinstance(theta, np.ndarray):  # the common case, without the array-API detour
            if self.fresh and theta.shape[0] <= self.WHOLE_MAX:
                if self._p:
                    self._settle()
                self._whole.append((p, theta))
                return
            if self._whole:
                self._settle()
            self._p.append(np.asarray(p[self._take], dtype=np.float64))  # a copy already
            self._theta.append(np.asarray(theta[self._take], dtype=np.float64))
            return
        self._settle()
        xp = namespace(theta)
        pick = xp.asarray(self.index)
        self._p.append(np.array(to_numpy(xp.take(p, pick)), dtype=np.float64))
        self._theta.append(np.array(to_numpy(xp.take(theta, pick)), dtype=np.float64))

    def block(self, ks: list[int], P: np.ndarray, theta: np.ndarray) -> None:
        self._settle()
        self.steps += ks
        self._blocks.append((P[:, self._take], theta[:, self._take]))  # fancy indexing: copies

    def _settle(self) -> None:
        """What was handed so far, as blocks of coordinates (in call order: a pass hands either)."""
        m = len(self.index)
        if self._p:
            self._blocks.append((np.array(self._p).reshape(-1, m), np.array(self._theta).reshape(-1, m)))
            self._p, self._theta = [], []
        if self._whole:
            P = np.asarray(stack([w[0] for w in self._whole]), dtype=np.float64)
            T = np.asarray(stack([w[1] for w in self._whole]), dtype=np.float64)
            self._blocks.append((P[:, self._take], T[:, self._take]))
            self._whole.clear()

    def _coordinates(self, which: int) -> np.ndarray:
        self._settle()
        if len(self._blocks) > 1:  # one block from now on
            self._blocks = [tuple(np.concatenate([b[i] for b in self._blocks]) for i in (0, 1))]
        return self._blocks[0][which].copy() if self._blocks else np.zeros((0, len(self.index)))

    @property
    def p(self) -> np.ndarray:
        return self._coordinates(0)

    @property
    def theta(self) -> np.ndarray:
        return self._coordinates(1)
