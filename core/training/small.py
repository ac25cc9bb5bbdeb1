"""Training passes of a few parameters in Python's numbers (NumPy, at most :data:`SMALL`).

With a handful of parameters a training step costs NumPy's time per call, not its arithmetic:
the array step of :mod:`core.training.exact` makes some twenty calls on arrays of two entries,
a float step of :mod:`core.training.momentum` a dozen. Here p and theta (and the exact
buffer's heads) stay Python numbers for the whole pass, with the same operations: Python's
floats are IEEE doubles rounded as NumPy's float64 arithmetic rounds; shifts, floor divisions
and truncations mean the same for Python's integers as for int64 within the guarded range, and
an integer becomes a float rounded alike. So the bits are those of the array passes, which
tests hold these to. The gradient is the objective's own: ``grad_floats`` on Python's floats
where it offers one (the bits of its ``grad`` on a float64 array, which the array passes
evaluate), else ``grad`` on a float64 array. An exact step whose buffer spills
or refills a word is handed to the array kernel. The state's arrays hold the pass's state when
it ends, also by an error.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from core.backend import abs_max
from core.limits import ProgressFn
from core.training.buffer import HEAD_HI, HEAD_LO, WORD, NumpyBeta
from core.training.observers import Observer, blockwise

SMALL = NumpyBeta.SMALL  # parameters: at most this many take these passes


class _Seen:
    """The states a pass shows its observer, handed over in blocks: the pass keeps its own
    lists of each step (it makes new ones at every step), and every :attr:`BLOCK` steps, and at
    the end (also by an error), hands them over as float64 rows of one block, through
    ``core.training.observers.blockwise`` (the lab's observers take a block in a few calls,
    any other is called step by step). ``unit``: the states are integers X, shown as X 2^-F
    (NumPy casts int64 to float64 as Python rounds an integer, and the scaling by a power of
    two is exact)."""

    BLOCK = 4096

    def __init__(self, observer: Observer, unit: float | None = None) -> None:
        self.observer, self.unit = observer, unit
        self.ks: list[int] = []
        self.flat: list = []  # p, theta of each step, in turn, in one flat list (one conversion of a
        # flat list costs a quarter of that of a list of rows)

    def add(self, k: int, P: list, T: list) -> None:
        self.ks.append(k)
        self.flat += P
        self.flat += T
        if len(self.ks) >= self.BLOCK:
            self.flush()

    def flush(self) -> None:
        if not self.ks:
            return
        n = len(self.ks)
        block = np.array(self.flat, dtype=np.float64 if self.unit is None else np.int64).reshape(n, 2, -1)
        if self.unit is not None:
            block = block.astype(np.float64) * self.unit
        ks, self.ks, self.flat = self.ks, [], []
        blockwise(self.observer)(ks, block[:, 0], block[:, 1])


def gradient(obj: Any, scratch: dict[str, np.ndarray] | None = None) -> Any:
    """grad J of theta given as a list of Python floats, as a list: the objective's own
    ``grad_floats`` where it has one (``core.training.objectives.FEW``), else its ``grad`` on a
    float64 array (in ``scratch``'s arrays where given)."""
    if obj.grad_floats is not None:
        return obj.grad_floats
    if scratch is None:
        return lambda theta: obj.grad(np.array(theta)).tolist()
    theta_f, g_out = scratch["theta"], scratch["g"]

    def grad(theta: list[float]) -> list[float]:
        theta_f[:] = theta
        return obj.grad(theta_f, out=g_out).tolist()

    return grad


def forward_exact(obj: Any, st: Any, alphas: np.ndarray, ns: list[int], *, observer: Observer | None,
            bits: list[tuple[int, float]] | None, progress: ProgressFn) -> None:
    """K exact steps of ``st`` (a :class:`core.training.exact.ExactState` with its NumPy
    kernel), as :func:`core.training.exact.forward_exact` makes them."""
    F, s, buf, guard = st.F, st.s, st.buf, st.guard
    d, unit, lift = 1 << s, 2.0**-F, 2.0**F
    low = d - 1
    grad = gradient(obj, st.scratch)
    P, T, H = st.p.tolist(), st.theta.tolist(), buf.head.tolist()
    heads: list[tuple[int, list[int]]] = []  # (words spilled, heads) before each step, for ``bits``
    K = len(alphas)
    every = max(1, K // 100)
    seen = None if observer is None else _Seen(observer, unit)
    try:
        for k in range(K):
            if seen is not None:
                seen.add(k, P, T)
            if bits is not None:
                heads.append((buf.spilled, H))
            alpha, n = float(alphas[k]), ns[k]
            scale = alpha * lift
            g = grad([x * unit for x in T])
            Q = guard.step_size(g, scale, k + 1)  # checked before a truncation could pass int64
            top = HEAD_HI * n if n < d else 1 << 64  # h d + r at or above it spills (never when n = d)
            Pn, Hn = [], []
            for x, h, v in zip(P, H, g, strict=True):  # one pass: p <- n/d p - [alpha g]_F
                m = (h << s) | (x & low)  # h d + r
                if m >= top:
                    break
                q = m // n
                Hn.append(q)
                Pn.append((x >> s) * n + (m - q * n) - int(v * scale))
            if len(Hn) == len(H):
                P, H = Pn, Hn
            else:  # a spill: this step's product by the arrays
                st.p[:], buf.head[:] = P, H
                st.kernel.multiply(st.p, buf, n, s)
                P, H = [x - int(v * scale) for x, v in zip(st.p.tolist(), g, strict=True)], buf.head.tolist()
            guard.after_momentum(P, n / d, Q, n, k + 1)
            guard.before_position(T, k + 1)
            T = [t + x for t, x in zip(T, P, strict=True)]
            if k % every == 0:
                progress(k / K, f"exact forward step {k:,} of {K:,}")
        if seen is not None:
            seen.add(K, P, T)
        if bits is not None:
            heads.append((buf.spilled, H))
            bits.extend(_bits_held(heads, st.theta.shape[0]))
    finally:
        st.p[:], st.theta[:], buf.head[:] = P, T, H
        if seen is not None:
            seen.flush()


def inverse_exact(obj: Any, st: Any, alphas: np.ndarray, ns: list[int], *, observer: Observer | None,
            progress: ProgressFn) -> None:
    """K exact inverse steps of ``st``, from step K back to 0, as
    :func:`core.training.exact.inverse_exact` makes them."""
    F, s, buf = st.F, st.s, st.buf
    d, unit, lift = 1 << s, 2.0**-F, 2.0**F
    grad = gradient(obj, st.scratch)
    low, bottom = d - 1, HEAD_LO * d  # h n + r2 below ``bottom``: a word comes back
    P, T, H = st.p.tolist(), st.theta.tolist(), buf.head.tolist()
    K = len(alphas)
    every = max(1, K // 100)
    seen = None if observer is None else _Seen(observer, unit)
    try:
        for k in range(K - 1, -1, -1):
            if seen is not None:
                seen.add(k + 1, P, T)
            alpha, n = float(alphas[k]), ns[k]
            scale = alpha * lift
            T = [t - x for t, x in zip(T, P, strict=True)]
            g = grad([x * unit for x in T])  # the forward step's gradient, bit for bit
            Pn, Hn = [], []
            for x, h, v in zip(P, H, g, strict=True):  # one pass: p <- d/n (p + [alpha g]_F)
                x += int(v * scale)
                q = x // n
                m = h * n + (x - q * n)  # h n + r2
                if m < bottom:
                    break
                Hn.append(m >> s)
                Pn.append((q << s) | (m & low))
            if len(Hn) == len(H):
                P, H = Pn, Hn
            else:  # a refill: this step's division by the arrays
                P = [x + int(v * scale) for x, v in zip(P, g, strict=True)]
                st.p[:], buf.head[:] = P, H
                st.kernel.divide(st.p, buf, n, s)
                P, H = st.p.tolist(), buf.head.tolist()
            if k % every == 0:
                progress((K - k) / K, f"exact inverse step {K - k:,} of {K:,}")
        if seen is not None:
            seen.add(0, P, T)
    finally:
        st.p[:], st.theta[:], buf.head[:] = P, T, H
        if seen is not None:
            seen.flush()


def _float_pass(obj: Any, p: np.ndarray, theta: np.ndarray, alphas: np.ndarray,
                observer: Observer | None) -> tuple[list, list, Any, int, int, _Seen | None]:
    """What a float64 pass starts from: p and theta as Python floats, the objective's gradient of
    such lists, the number of steps, the steps between progress reports and the observer's recorder."""
    K = len(alphas)
    return p.tolist(), theta.tolist(), gradient(obj), K, max(1, K // 100), None if observer is None else _Seen(observer)


def forward_float(obj: Any, p: np.ndarray, theta: np.ndarray, alphas: np.ndarray, betas: np.ndarray, limit: float, *,
                  observer: Observer | None, progress: ProgressFn) -> tuple[np.ndarray, np.ndarray, tuple | None]:
    """K float64 momentum steps from (p, theta), as :func:`core.training.momentum.forward_float`
    makes them. Returns (p, theta, None), or at the first step where max |theta| is not below
    ``limit`` (NaN included) the state there and (step, max |theta|, alpha) for its error."""
    P, T, grad, K, every, seen = _float_pass(obj, p, theta, alphas, observer)
    try:
        for k in range(K):
            if seen is not None:
                seen.add(k, P, T)
            a, b = float(alphas[k]), float(betas[k])
            g = grad(T)
            P = [x * b - v * a for x, v in zip(P, g, strict=True)]  # p <- beta p - alpha g, rounded as NumPy's
            T = [t + x for t, x in zip(T, P, strict=True)]
            if not (top := abs_max(T)) < limit:
                return np.array(P), np.array(T), (k + 1, top, a)
            if k % every == 0:
                progress(k / K, f"forward step {k:,} of {K:,}")
        if seen is not None:
            seen.add(K, P, T)
        return np.array(P), np.array(T), None
    finally:
        if seen is not None:
            seen.flush()


def inverse_float(obj: Any, p: np.ndarray, theta: np.ndarray, alphas: np.ndarray, betas: np.ndarray, *,
                  observer: Observer | None, progress: ProgressFn) -> tuple[np.ndarray, np.ndarray, int]:
    """K float64 inverse steps, from step K back to 0, as
    :func:`core.training.momentum.inverse_float` makes them (and returns)."""
    P, T, grad, K, every, seen = _float_pass(obj, p, theta, alphas, observer)
    try:
        for k in range(K - 1, -1, -1):
            if seen is not None:
                seen.add(k + 1, P, T)
            a, b = float(alphas[k]), float(betas[k])
            T = [t - x for t, x in zip(T, P, strict=True)]
            g = grad(T)
            P = [(x + v * a) / b for x, v in zip(P, g, strict=True)]
            if not abs_max(T) < math.inf:  # inf or NaN: the drift overflowed
                return np.array(P), np.array(T), K - 1 - k
            if k % every == 0:
                progress((K - k) / K, f"inverse step {K - k:,} of {K:,}")
        if seen is not None:
            seen.add(0, P, T)
        return np.array(P), np.array(T), K
    finally:
        if seen is not None:
            seen.flush()


def _bits_held(heads: list[tuple[int, list[int]]], D: int) -> list[tuple[int, float]]:
    """(bits stored, bits of information) of each (words spilled, heads), as
    ``InfoBuffer.bits_stored`` and ``bits_information`` give them, all steps in one pass."""
    words = [w for w, _ in heads]
    logs = np.log2(np.array([h for _, h in heads], dtype=np.uint64), dtype=np.float64).sum(axis=1)
    return [(WORD * w + 64 * D, WORD * w + (float(x) - 16 * D)) for w, x in zip(words, logs.tolist(), strict=True)]
