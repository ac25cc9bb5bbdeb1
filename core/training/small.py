"""Training passes of a few parameters in Python's numbers (NumPy, at most :data:`SMALL`).

With a handful of parameters a training step costs NumPy's time per call, not its arithmetic:
the array step of :mod:`core.training.exact` makes some twenty calls on arrays of two entries,
a float step of :mod:`core.training.momentum` a dozen. Here p and theta (and the exact
buffer's heads) stay Python numbers for the whole pass, with the same operations: Python's
floats are IEEE doubles rounded as NumPy's float64 arithmetic rounds; shifts, floor divisions
and truncations mean the same for Python's integers as for int64 within the guarded range, and
an integer becomes a float rounded alike. So the bits are those of the array passes, which
tests hold these to. Only the gradient is evaluated on a float64 array, by the objective
itself: the very function of theta the array passes evaluate. An exact step whose buffer spills
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

Observer = Any  # observer(k, p(k), theta(k)): core.training.exact.Observer
SMALL = NumpyBeta.SMALL  # parameters: at most this many take these passes


def _floats(values: list[int], unit: float) -> np.ndarray:
    """X 2^-F as a new float64 array (Python rounds an integer to a float as NumPy casts it)."""
    return np.array([x * unit for x in values])


def forward_exact(obj: Any, st: Any, alphas: np.ndarray, ns: list[int], *, observer: Observer | None,
            bits: list[tuple[int, float]] | None, progress: ProgressFn) -> None:
    """K exact steps of ``st`` (a :class:`core.training.exact.ExactState` with its NumPy
    kernel), as :func:`core.training.exact.forward_exact` makes them."""
    F, s, buf, guard = st.F, st.s, st.buf, st.guard
    d, unit, lift = 1 << s, 2.0**-F, 2.0**F
    low = d - 1
    theta_f, g_out = st.scratch["theta"], st.scratch["g"]
    P, T, H = st.p.tolist(), st.theta.tolist(), buf.head.tolist()
    heads: list[tuple[int, list[int]]] = []  # (words spilled, heads) before each step, for ``bits``
    K = len(alphas)
    every = max(1, K // 100)
    try:
        for k in range(K):
            if observer is not None:  # theta's floats serve the gradient too
                theta = np.array([x * unit for x in T])
                observer(k, _floats(P, unit), theta)
            else:
                theta_f[:] = [x * unit for x in T]
                theta = theta_f
            if bits is not None:
                heads.append((buf.spilled, H))
            alpha, n = float(alphas[k]), ns[k]
            scale = alpha * lift
            g = obj.grad(theta, out=g_out).tolist()
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
        if observer is not None:
            observer(K, _floats(P, unit), _floats(T, unit))
        if bits is not None:
            heads.append((buf.spilled, H))
            bits.extend(_bits_held(heads, st.theta.shape[0]))
    finally:
        st.p[:], st.theta[:], buf.head[:] = P, T, H


def inverse_exact(obj: Any, st: Any, alphas: np.ndarray, ns: list[int], *, observer: Observer | None,
            progress: ProgressFn) -> None:
    """K exact inverse steps of ``st``, from step K back to 0, as
    :func:`core.training.exact.inverse_exact` makes them."""
    F, s, buf = st.F, st.s, st.buf
    d, unit, lift = 1 << s, 2.0**-F, 2.0**F
    theta_f, g_out = st.scratch["theta"], st.scratch["g"]
    low, bottom = d - 1, HEAD_LO * d  # h n + r2 below ``bottom``: a word comes back
    P, T, H = st.p.tolist(), st.theta.tolist(), buf.head.tolist()
    K = len(alphas)
    every = max(1, K // 100)
    try:
        for k in range(K - 1, -1, -1):
            if observer is not None:
                observer(k + 1, _floats(P, unit), _floats(T, unit))
            alpha, n = float(alphas[k]), ns[k]
            scale = alpha * lift
            T = [t - x for t, x in zip(T, P, strict=True)]
            theta_f[:] = [x * unit for x in T]
            g = obj.grad(theta_f, out=g_out).tolist()  # the forward step's gradient, bit for bit
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
        if observer is not None:
            observer(0, _floats(P, unit), _floats(T, unit))
    finally:
        st.p[:], st.theta[:], buf.head[:] = P, T, H


def forward_float(obj: Any, p: np.ndarray, theta: np.ndarray, alphas: np.ndarray, betas: np.ndarray, limit: float, *,
                  observer: Observer | None, progress: ProgressFn) -> tuple[np.ndarray, np.ndarray, tuple | None]:
    """K float64 momentum steps from (p, theta), as :func:`core.training.momentum.forward_float`
    makes them. Returns (p, theta, None), or at the first step where max |theta| is not below
    ``limit`` (NaN included) the state there and (step, max |theta|, alpha) for its error."""
    P, T = p.tolist(), theta.tolist()
    K = len(alphas)
    every = max(1, K // 100)
    for k in range(K):
        theta = np.array(T)
        if observer is not None:
            observer(k, np.array(P), theta)
        a, b = float(alphas[k]), float(betas[k])
        g = obj.grad(theta).tolist()
        P = [x * b - v * a for x, v in zip(P, g, strict=True)]  # p <- beta p - alpha g, rounded as NumPy's
        T = [t + x for t, x in zip(T, P, strict=True)]
        if not (top := abs_max(T)) < limit:
            return np.array(P), np.array(T), (k + 1, top, a)
        if k % every == 0:
            progress(k / K, f"forward step {k:,} of {K:,}")
    p, theta = np.array(P), np.array(T)
    if observer is not None:
        observer(K, p, theta)
    return p, theta, None


def inverse_float(obj: Any, p: np.ndarray, theta: np.ndarray, alphas: np.ndarray, betas: np.ndarray, *,
                  observer: Observer | None, progress: ProgressFn) -> tuple[np.ndarray, np.ndarray, int]:
    """K float64 inverse steps, from step K back to 0, as
    :func:`core.training.momentum.inverse_float` makes them (and returns)."""
    P, T = p.tolist(), theta.tolist()
    K = len(alphas)
    every = max(1, K // 100)
    for k in range(K - 1, -1, -1):
        if observer is not None:
            observer(k + 1, np.array(P), np.array(T))
        a, b = float(alphas[k]), float(betas[k])
        T = [t - x for t, x in zip(T, P, strict=True)]
        g = obj.grad(np.array(T)).tolist()
        P = [(x + v * a) / b for x, v in zip(P, g, strict=True)]
        if not abs_max(T) < math.inf:  # inf or NaN: the drift overflowed
            return np.array(P), np.array(T), K - 1 - k
        if k % every == 0:
            progress((K - k) / K, f"inverse step {K - k:,} of {K:,}")
    p, theta = np.array(P), np.array(T)
    if observer is not None:
        observer(0, p, theta)
    return p, theta, K


def _bits_held(heads: list[tuple[int, list[int]]], D: int) -> list[tuple[int, float]]:
    """(bits stored, bits of information) of each (words spilled, heads), as
    ``InfoBuffer.bits_stored`` and ``bits_information`` give them, all steps in one pass."""
    words = [w for w, _ in heads]
    logs = np.log2(np.array([h for _, h in heads], dtype=np.uint64), dtype=np.float64).sum(axis=1)
    return [(WORD * w + 64 * D, WORD * w + (float(x) - 16 * D)) for w, x in zip(words, logs.tolist(), strict=True)]
