"""tanh for code compiled with Numba, vectorised, in float32 and float64.

Numba compiles ``math.tanh`` to a scalar library call per element, about seven times slower than
NumPy's vectorised one, so the LSTM's compiled loops (``core/lstm_jit.py``) call :func:`act`,
which stands for one of two functions the compiler vectorises, picked by precision:

* float32, ``tanh32``: a rational function x P(x²) / Q(x²) whose coefficients come from
  :func:`fit_tanh` (a test re-derives them), evaluated in float64 and rounded once to float32, so
  it is as close to tanh as NumPy's own float32 tanh (6e-8; evaluated in float32 it was 3.5e-7
  off and not monotone), and exactly ±1 from |x| = 9 on;
* float64, ``tanh64``: below |x| = 0.625, x + x³ P(x²) / Q(x²) with the Cephes library's
  coefficients; above, 1 - 2 / (e^2|x| + 1) with e^y = e^r 2^n, e^r from its Taylor series and
  2^n an integer power of two. Within 2 units in the last place of NumPy's tanh, exactly ±1 from
  |x| = 20 on.

Both are odd, monotone and pass NaN through.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

# float64: |x| < 0.625, tanh x = x + x³ P(x²) / Q(x²) with the coefficients of the Cephes library
# (S. L. Moshier), within 0.76 units in the last place here; above, 1 - 2 / (e^2|x| + 1)
TANH64_P = (-9.64399179425052238628e-1, -9.92877231001918586564e1, -1.61468768441708447952e3)
TANH64_Q = (1.12811678491632931402e2, 2.23548839060100448583e3, 4.84406305325125486048e3)  # and 1 s³
TANH64_CLIP = 20.0  # tanh(20) = 1 - 8e-18 rounds to 1 in float64
LN2 = (6.93145751953125e-1, 1.42860682030941723212e-6)  # ln 2 = LN2[0] + LN2[1], LN2[0] with 24 bits
TANH_CLIP = 9.0  # tanh(9) = 1 - 3e-8 rounds to 1 in float32
# tanh(x) ~ x P(x²) / Q(x²) on [-9, 9], P of degree 6 and Q of degree 3 in x², Q(0) = 1:
# fit_tanh(7, 3) (float64 error 6e-9).
TANH_P = (0.9999999691654013, 0.13079168466390742, 0.0030986584440938817, 1.1101835504149375e-05,
          -2.0029447622534902e-08, 5.192560749615392e-11, -8.29079848413249e-14)
TANH_Q = (1.0, 0.4641248878733222, 0.024473781306769728, 0.0002538605294944996)


def fit_tanh(n_p: int = 7, n_q: int = 3, clip: float = TANH_CLIP, nodes: int = 40_000,
             iterations: int = 40) -> tuple[tuple[float, ...], tuple[float, ...], float]:
    """Coefficients (P, Q) of tanh(x) ~ x P(x²) / Q(x²) on [0, clip] with Q(0) = 1, and the
    largest error in float64: linearised least squares (x P - tanh Q = 0, divided by the last Q),
    reweighted toward the largest errors (Lawson), keeping the best iterate."""
    t = np.cos(np.linspace(np.pi, 0.0, nodes)) * 0.5 + 0.5  # dense near both ends
    x = t[t * clip > 1e-3] * clip
    y, u = np.tanh(x), (x / clip) ** 2  # u in [0, 1] keeps the system well scaled
    Vp = (x / clip)[:, None] * u[:, None] ** np.arange(n_p)
    Vq = u[:, None] ** np.arange(1, n_q + 1)
    w, q = np.ones_like(x), np.ones_like(x)
    best_err, best = np.inf, None
    for _ in range(iterations):
        a = np.concatenate([Vp, -y[:, None] * Vq], axis=1)
        ww = w / q
        coef = np.linalg.lstsq(a * ww[:, None], y * ww, rcond=None)[0]
        q = 1.0 + Vq @ coef[n_p:]
        err = np.abs(Vp @ coef[:n_p] / q - y)
        if err.max() < best_err:
            best_err, best = float(err.max()), coef.copy()
        w = w * np.sqrt(err / err.max() + 1e-6)
        w /= w.max()
    p = best[:n_p] / clip ** (2 * np.arange(n_p) + 1)  # back to powers of x² (x factored out)
    q = np.concatenate([[1.0], best[n_p:] / clip ** (2 * np.arange(1, n_q + 1))])
    return tuple(map(float, p)), tuple(map(float, q)), best_err


def act(x: Any) -> Any:
    """tanh in compiled code, float32 or float64 by its argument (after :func:`register`)."""
    raise NotImplementedError("act is for compiled code")


# Numba's options for the compiled LSTM code. No "nnan"/"ninf": NaN and inf must come through as
# they would in NumPy; the "numpy" error model drops the division-by-zero check that would stop
# the loops from vectorising.
NJIT_OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": {"contract", "nsz"}}


@functools.cache
def register() -> None:
    """Give :func:`act` its two implementations; once per process."""
    import math

    import numba
    from numba import types
    from numba.extending import overload

    jit = functools.partial(numba.njit, **NJIT_OPTIONS)

    f32, f64 = np.float32, np.float64
    clip = f64(TANH_CLIP)
    p0, p1, p2, p3, p4, p5, p6 = (f64(c) for c in TANH_P)
    q0, q1, q2, q3 = (f64(c) for c in TANH_Q)
    c_p0, c_p1, c_p2 = (f64(c) for c in TANH64_P)
    c_q1, c_q2, c_q3 = (f64(c) for c in TANH64_Q)
    clip64, LOG2E, LN2_HI, LN2_LO = f64(TANH64_CLIP), f64(1.4426950408889634), f64(LN2[0]), f64(LN2[1])
    SMALL64, TINY64 = f64(0.625), f64(1e-200)
    e0, e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11, e12, e13 = (f64(1.0 / math.factorial(k)) for k in range(14))

    @jit(inline="always")
    def tanh32(x32):
        x = f64(x32)  # evaluated in float64, then rounded once: within 0.5 float32 units + 6e-9
        s = x * x
        p = (((((p6 * s + p5) * s + p4) * s + p3) * s + p2) * s + p1) * s + p0
        q = ((q3 * s + q2) * s + q1) * s + q0
        y = x * p / q
        y = f64(1.0) if x >= clip else y  # comparisons with NaN are false: NaN passes
        return f32(f64(-1.0) if x <= -clip else y)

    @jit(inline="always")
    def tanh64(x):
        a = abs(x)
        s = x * x  # |x| < 0.625: x + x³ P(x²) / Q(x²)
        small = x + x * s * (((c_p0 * s + c_p1) * s + c_p2) / (((s + c_q1) * s + c_q2) * s + c_q3))
        y = f64(2.0) * min(a, clip64)  # else 1 - 2 / (e^2|x| + 1), e^y = e^r 2^n, |r| <= ln(2) / 2
        n = math.floor(y * LOG2E + f64(0.5))
        r = (y - n * LN2_HI) - n * LN2_LO  # n LN2_HI is exact: LN2_HI has 24 bits
        e = ((((((e13 * r + e12) * r + e11) * r + e10) * r + e9) * r + e8) * r + e7) * r + e6  # e^r: its
        e = (((((e * r + e5) * r + e4) * r + e3) * r + e2) * r + e1) * r + e0  # Taylor series to r^13
        big = f64(1.0) - f64(2.0) / (e * f64(np.int64(1) << np.int64(n)) + f64(1.0))
        big = big if x >= 0 else -big
        return (small if a >= TINY64 else x) if a < SMALL64 else (x if a != a else big)  # NaN passes

    @overload(act, jit_options={"cache": True})
    def _act(x):  # the kernels' tanh, by the precision of its argument
        if x == types.float32:
            return lambda x: tanh32(x)
        if x == types.float64:
            return lambda x: tanh64(x)
        return None
