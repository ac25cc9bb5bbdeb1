"""The LSTM's sweeps compiled with Numba: per step one matrix product and one fused loop.

Same equations and conventions as ``core/lstm_fast.py`` (the tests hold all paths together): one
buffer ``xh`` (T+1, B, D+H+1) holds the rows [x(t), h(t-1), 1], so a step's pre-activations are
ONE product with the stacked weights [W_x; W_h; b] (i, f, o columns halved: σ(z) = ½ + ½ tanh(z/2)),
and the weight gradients are products xh^T z_bar, added up in blocks of :data:`Z_BAR_BLOCK` steps
during the backward sweep while those rows of z_bar are still in cache. What differs from
``lstm_fast`` is the elementwise work: in NumPy it is about twenty calls per step each way, each
paying its own overhead, which at lecture sizes costs more than the arithmetic. Here it is one
compiled loop per step over the (B, 4H) gate block, forward and backward. The backward takes
σ' = σ (1 - σ) and tanh' = 1 - tanh² from the stored gate activations, so the forward keeps no
derivative array, and it leaves the gate adjoints of eqs (3)-(6), which only the plots read, to
:func:`core.lstm.gate_adjoints` (the backward loop is bound by memory traffic: each array it
writes costs time).

The matrix products run on oneMKL's packed interface where it is installed (``core/mkl.py``,
the weights packed once per sweep), else on the BLAS SciPy brings through Numba's ``np.dot``;
:func:`_products` picks one when Numba compiles a kernel.

tanh: Numba compiles ``math.tanh`` to a scalar library call per element, about seven times slower
than NumPy's vectorised one, so the loops use their own, which the compiler vectorises (the
kernels take :func:`act`, which picks one by precision):

* float32, :func:`tanh32`: a rational function x P(x²) / Q(x²) whose coefficients come from
  :func:`fit_tanh` (a test re-derives them), evaluated in float64 and rounded once to float32, so
  it is as close to tanh as NumPy's own float32 tanh (6e-8; evaluated in float32 it was 3.5e-7
  off and not monotone), and exactly ±1 from |x| = 9 on;
* float64, :func:`tanh64`: below |x| = 0.625, x + x³ P(x²) / Q(x²) with the Cephes library's
  coefficients; above, 1 - 2 / (e^2|x| + 1) with e^y = e^r 2^n, e^r from its Taylor series and
  2^n an integer power of two. Within 2 units in the last place of NumPy's tanh, exactly ±1 from
  |x| = 20 on.

Both are odd, monotone and pass NaN through. float32 and float64 NumPy arrays take this path.
Without Numba, or when compiling fails, :func:`available` is False and the callers use
``core/lstm_fast.py``.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from types import SimpleNamespace
from typing import Any

import numpy as np

from core import lstm, mkl
from core.mkl import NO_TRANS, PACKED, ROW_MAJOR, TRANS

_MKL = 1  # the kernels' ``blas`` argument for oneMKL (None: np.dot); see _products
_MKL_SYMBOLS = {f"{p}{f}": f"recurrence_lab_mkl_{p}gemm{'_compute' if f == 'compute' else ''}"
                for p in "sd" for f in ("compute", "gemm")}  # names for LLVM of oneMKL's functions
Z_BAR_BLOCK = 8  # steps of z_bar that the backward adds into the weight gradients at once (8 x B rows)
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


def _products() -> tuple[Any, Any]:
    """The sweeps' two matrix products, chosen by the type of their first argument, ``blas``:
    None takes NumPy's ``np.dot`` (SciPy's BLAS), an integer takes oneMKL's functions. The choice
    is made when Numba types a kernel, so each kernel is compiled (and cached) once per choice and
    only the oneMKL one refers to oneMKL's symbols (registered with LLVM by :func:`_link_mkl`)."""
    from numba import types
    from numba.extending import overload

    i32, vp = types.int32, types.voidptr
    ext = {}  # (dtype, "compute" or "gemm"): oneMKL's function, as an external symbol for LLVM
    for prefix, f in (("s", types.float32), ("d", types.float64)):
        ext[f, "compute"] = types.ExternalFunction(_MKL_SYMBOLS[prefix + "compute"], types.void(
            i32, i32, i32, i32, i32, i32, vp, i32, vp, i32, f, vp, i32))
        ext[f, "gemm"] = types.ExternalFunction(_MKL_SYMBOLS[prefix + "gemm"], types.void(
            i32, i32, i32, i32, i32, i32, f, vp, i32, vp, i32, f, vp, i32))

    def step(blas, a, w, out):
        """out = a @ w; with oneMKL, w is :func:`core.mkl.pack_b`'s packed buffer."""

    def add_at_b(blas, a, b, out, first):
        """out = a^T b if first, else out += a^T b."""

    @overload(step, jit_options={"cache": True})
    def _step(blas, a, w, out):
        if isinstance(blas, types.NoneType):
            return lambda blas, a, w, out: np.dot(a, w, out)
        compute, zero = ext[a.dtype, "compute"], np.dtype(str(a.dtype)).type(0.0)

        def impl(blas, a, w, out):
            m, k = a.shape
            n = out.shape[1]
            compute(ROW_MAJOR, NO_TRANS, PACKED, m, n, k, a.ctypes.data, k, w.ctypes.data, n, zero,
                    out.ctypes.data, n)
        return impl

    @overload(add_at_b, jit_options={"cache": True})
    def _add_at_b(blas, a, b, out, first):
        if isinstance(blas, types.NoneType):
            def impl_np(blas, a, b, out, first):
                if first:
                    np.dot(a.T, b, out)
                else:
                    out += np.dot(a.T, b)
            return impl_np
        gemm, dt = ext[a.dtype, "gemm"], np.dtype(str(a.dtype)).type
        zero, one = dt(0.0), dt(1.0)

        def impl(blas, a, b, out, first):
            r, m = a.shape
            n = b.shape[1]
            gemm(ROW_MAJOR, TRANS, NO_TRANS, m, n, r, one, a.ctypes.data, m, b.ctypes.data, n,
                 zero if first else one, out.ctypes.data, n)
        return impl

    return step, add_at_b


def act(x: Any) -> Any:
    """tanh in the kernels (:func:`_build` gives it a float32 and a float64 implementation)."""
    raise NotImplementedError("act is for compiled code")


def _build() -> dict[str, Any]:
    """Compile the kernels (Numba imported here, so importing this module never fails)."""
    import math

    import numba
    from numba import types
    from numba.extending import overload

    f32, f64 = np.float32, np.float64
    one, half, clip = f32(1.0), f32(0.5), f64(TANH_CLIP)
    p0, p1, p2, p3, p4, p5, p6 = (f64(c) for c in TANH_P)
    q0, q1, q2, q3 = (f64(c) for c in TANH_Q)
    c_p0, c_p1, c_p2 = (f64(c) for c in TANH64_P)
    c_q1, c_q2, c_q3 = (f64(c) for c in TANH64_Q)
    clip64, LOG2E, LN2_HI, LN2_LO = f64(TANH64_CLIP), f64(1.4426950408889634), f64(LN2[0]), f64(LN2[1])
    SMALL64, TINY64 = f64(0.625), f64(1e-200)
    e0, e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11, e12, e13 = (f64(1.0 / math.factorial(k)) for k in range(14))
    # no "nnan"/"ninf": NaN and inf must come through as they would in NumPy; the "numpy" error
    # model drops the division-by-zero check that would stop the loops from vectorising
    jit = functools.partial(numba.njit, cache=True, nogil=True, error_model="numpy",
                            fastmath={"contract", "nsz"})

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

    step, add_at_b = _products()

    @jit
    def tanh_array(x, out):
        for k in range(x.size):
            out[k] = act(x[k])

    @jit
    def forward(W, xh, gates, c, tanh_c, z, blas):
        T, B, H4 = gates.shape
        H = H4 // 4
        K = xh.shape[2]
        D = K - H - 1
        for t in range(T):
            step(blas, xh[t], W, z)  # (B, K) @ (K, 4H): the four gates' pre-activations (halved)
            # Every array below is a slice indexed from 0 by its loop's counter: an offset index
            # such as g[3 * H + j] may be negative as far as Numba knows, so it wraps it, and the
            # loop turns into gathers and scatters (twice as slow as contiguous loads and stores).
            for b in range(B):
                zb, g = z[b], gates[t, b]
                for j in range(3 * H):  # i, f, o: σ(z) = ½ + ½ tanh(z/2)
                    g[j] = half + half * act(zb[j])
                zg, gi, gf, go, gg = zb[3 * H:], g[:H], g[H:2 * H], g[2 * H:3 * H], g[3 * H:]
                for j in range(H):  # g = tanh(z)
                    gg[j] = act(zg[j])
                cp, ct, tc, hn = c[t, b], c[t + 1, b], tanh_c[t, b], xh[t + 1, b, D:D + H]
                for j in range(H):
                    cj = gf[j] * cp[j] + gi[j] * gg[j]  # c(t) = f c(t-1) + i g
                    ct[j] = cj
                    v = act(cj)
                    tc[j] = v
                    hn[j] = go[j] * v  # h(t) = o tanh c(t), into the next step's row

    @jit
    def backward(Wt, gates, c, tanh_c, dl, xh, z_bar, r, h_bar, c_bar, cn, dW, blas):
        T, B, H4 = gates.shape
        H = H4 // 4
        D = r.shape[2] - H
        K = xh.shape[2]
        C = z_bar.shape[0]  # z_bar holds C steps; each block of C goes into dW while it is in cache
        for t in range(T - 1, -1, -1):
            t0 = t - t % C  # this step's block of steps is [t0, t1)
            for b in range(B):  # slices indexed from 0, as in the forward
                g, zb = gates[t, b], z_bar[t - t0, b]
                g_i, g_f, g_o, g_g = g[:H], g[H:2 * H], g[2 * H:3 * H], g[3 * H:]
                z_i, z_f, z_o, z_g = zb[:H], zb[H:2 * H], zb[2 * H:3 * H], zb[3 * H:]
                dlt, rn, cp, tc, hbt, cbt, cnb = dl[t, b], r[t + 1, b, D:], c[t, b], tanh_c[t, b], h_bar[t, b], \
                    c_bar[t, b], cn[b]
                for j in range(H):
                    hb = dlt[j] + rn[j]  # eq (1) plus the loss's own dL/dh(t); r[T] is zero
                    tt = tc[j]
                    gi, gf, go, gv = g_i[j], g_f[j], g_o[j], g_g[j]
                    cb = hb * go * (one - tt * tt) + cnb[j]  # eq (2)
                    hbt[j] = hb
                    cbt[j] = cb
                    # eqs (6), (5), (4), (3); kept only here (core.lstm.gate_adjoints forms them for plots)
                    ib, fb, ob, gg = cb * gv, cb * cp[j], hb * tt, cb * gi
                    z_i[j], z_f[j] = ib * gi * (one - gi), fb * gf * (one - gf)  # eq (8): σ' = σ (1 - σ)
                    z_o[j], z_g[j] = ob * go * (one - go), gg * (one - gv * gv)  # eq (7)
                    cnb[j] = cb * gf  # c_bar(t) f(t), for step t-1
            # [x_bar(t), the gate terms of eq (1) for h_bar(t-1)]: (B, 4H) @ (4H, D+H)
            step(blas, z_bar[t - t0], Wt, r[t])
            if t == t0:  # the block [t0, t0 + n) is complete: dW (+)= xh[t0:t0+n]^T z_bar[:n], (K, 4H)
                n = min(C, T - t0)
                add_at_b(blas, xh[t0:t0 + n].reshape(n * B, K), z_bar[:n].reshape(n * B, H4), dW, t0 + C >= T)

    return {"tanh": tanh_array, "forward": forward, "backward": backward}


_LOCK = threading.RLock()  # one thread loads or compiles a variant; others wait for it


@functools.cache
def _kernels() -> tuple[dict[str, Any] | None, str]:
    """The kernels (compiled, or loaded from Numba's cache, per precision and BLAS when first
    needed: :func:`_ready`) and "", or None and why not."""
    try:
        return _build(), ""
    except Exception as exc:  # ImportError: no Numba
        return None, _why(exc)


@functools.cache
def _ready(dtype: str, use_mkl: bool) -> tuple[bool, str]:
    """Whether the kernels run here in ``dtype`` with (or without) oneMKL, and why not: loaded or
    compiled and run once on a tiny problem, so a failure shows here, never in a sweep. Only what
    a call needs is loaded (the LSTM page's first view waits for one variant, not four)."""
    k, why = _kernels()
    if k is None:
        return False, why
    if use_mkl:
        if not mkl.available():
            return False, mkl.unavailable_reason()
        if not _ready(dtype, False)[0]:  # oneMKL serves the kernels, it cannot stand in for them
            return _ready(dtype, False)
    try:
        if use_mkl:
            _link_mkl()
        _tiny_run(k, np.dtype(dtype), use_mkl=use_mkl)
        k["one_thread"] = _one_blas_thread()  # again: a variant may have loaded another BLAS
        return True, ""
    except Exception as exc:  # Numba failing to compile on this platform, or a wrong result
        return False, _why(exc)


def _check(dtype: Any, use_mkl: bool) -> tuple[bool, str]:
    with _LOCK:
        for d in DTYPES if dtype is None else (np.dtype(dtype),):
            ok, why = _ready(np.dtype(d).name, use_mkl)
            if not ok:
                return ok, why
        return True, ""


def _reset() -> None:
    """Forget what was loaded and tried (for tests that make it fail)."""
    _ready.cache_clear()
    _kernels.cache_clear()


def _link_mkl() -> None:
    """Tell LLVM where oneMKL's functions are, under the names the kernels call them by
    (before a kernel that calls them is compiled or loaded from Numba's cache)."""
    import ctypes

    import llvmlite.binding

    lib = mkl.library()
    for key, name in _MKL_SYMBOLS.items():
        llvmlite.binding.add_symbol(name, ctypes.cast(getattr(lib, key), ctypes.c_void_p).value)


def _tiny_run(k: dict[str, Any], dtype: np.dtype, *, use_mkl: bool) -> None:
    """Forward and backward on a tiny problem, checked against the same sums in NumPy (so a
    kernel that compiles but computes nonsense is not taken either)."""
    rng = np.random.default_rng(0)  # one step, B = H = 1, D = 2
    W_x, W_h, b, x, h0, c0 = (rng.standard_normal(s).astype(dtype) for s in ((2, 4), (1, 4), (4,), (1, 1, 2),
                                                                             (1, 1), (1, 1)))
    cache = SimpleNamespace(**forward(W_x, W_h, b, x, h0, c0, kernels=k, use_mkl=use_mkl))
    z = (x[0] @ W_x + h0 @ W_h + b)[0].astype(np.float64)  # [i f o g] before their activations
    (i, f, o), g = 1 / (1 + np.exp(-z[:3])), np.tanh(z[3])
    h = o * np.tanh(f * c0[0, 0] + i * g)
    grads = backward(W_x, W_h, cache, np.ones((1, 1, 1), dtype), kernels=k)
    if not (np.isclose(cache.h[1, 0, 0], h, rtol=1e-5) and np.all(np.isfinite(grads["W_x"]))):
        raise ArithmeticError(f"the compiled {dtype} sweep gives h(1) = {cache.h[1, 0, 0]}, not {h}")
    k["tanh"](x[0, 0], np.empty_like(x[0, 0]))  # and the tanh the tests call


def _why(exc: Exception) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")


def _one_blas_thread() -> Any:
    """A context manager that holds every BLAS in the process to one thread. The sweeps' per-step
    products are small, and Numba calls SciPy's BLAS while NumPy has its own: with both at their
    default two threads on two cores their pools competed and the large float32 sweep took three
    times as long (122 ms against 45 ms). threadpoolctl comes with scikit-learn."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return contextlib.nullcontext
    blas = ThreadpoolController().select(user_api="blas")

    def one_thread() -> Any:  # no set-and-restore where every BLAS is on one thread already
        if all(lib.num_threads == 1 for lib in blas.lib_controllers):
            return contextlib.nullcontext()
        return blas.limit(limits=1)

    return one_thread


def available(dtype: Any = None) -> bool:
    """Whether the compiled sweeps run here (Numba installed and compiling) for ``dtype``
    (float32 or float64; None: both)."""
    return _check(dtype, False)[0]


def unavailable_reason(dtype: Any = None) -> str:
    return _check(dtype, False)[1]


def mkl_available(dtype: Any = None) -> bool:
    """Whether the compiled sweeps can take their matrix products from oneMKL (``core/mkl.py``)."""
    return _check(dtype, True)[0]


def mkl_unavailable_reason(dtype: Any = None) -> str:
    return _check(dtype, True)[1]


def tanh32(x: np.ndarray) -> np.ndarray:
    """The kernels' float32 tanh applied to an array, for checking it against np.tanh."""
    return _tanh(np.ascontiguousarray(x, dtype=np.float32))


def tanh64(x: np.ndarray) -> np.ndarray:
    """The kernels' float64 tanh applied to an array, for checking it against np.tanh."""
    return _tanh(np.ascontiguousarray(x, dtype=np.float64))


def _tanh(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    _require(x.dtype)["tanh"](x.reshape(-1), out.reshape(-1))
    return out


def _require(dtype: Any) -> dict[str, Any]:
    ok, why = _check(dtype, False)
    if not ok:
        raise RuntimeError(f"the compiled LSTM sweeps are not available here ({why})")
    return _kernels()[0]


DTYPES = (np.float32, np.float64)  # what the compiled sweeps take


def _dtype(x: np.ndarray) -> np.dtype:
    if x.dtype not in DTYPES:
        raise TypeError(f"the compiled LSTM sweeps take float32 or float64 arrays, not {x.dtype}")
    return x.dtype


def forward(W_x: np.ndarray, W_h: np.ndarray, b: np.ndarray, x: np.ndarray, h0: np.ndarray,
            c0: np.ndarray, *, kernels: dict[str, Any] | None = None, use_mkl: bool | None = None
            ) -> dict[str, Any]:
    """Fields of an :class:`~core.lstm.LSTMCache` for float32 or float64 arrays. ``use_mkl``: take
    the matrix products from oneMKL (None: where it is available); the backward does as this did."""
    dt = _dtype(x)
    k = kernels or _require(dt)
    if use_mkl is None:
        use_mkl = mkl_available(dt)
    T, B, D = x.shape
    H = W_h.shape[0]
    half = np.full(4 * H, 0.5, dtype=dt)
    half[3 * H:] = 1.0
    W = np.concatenate([W_x, W_h, b[None, :]], axis=0).astype(dt) * half  # (K, 4H): rows [W_x; W_h; b]
    xh = np.empty((T + 1, B, D + H + 1), dtype=dt)  # xh[t] = [x(t), h(t-1), 1]; xh[T] holds h(T)
    gates, tanh_c = np.empty((T, B, 4 * H), dtype=dt), np.empty((T, B, H), dtype=dt)
    c = np.empty((T + 1, B, H), dtype=dt)
    xh[:T, :, :D] = x
    xh[T, :, :D] = 0.0
    xh[0, :, D:D + H] = h0
    xh[:, :, D + H] = 1.0
    c[0] = c0
    blas, W = (_MKL, mkl.pack_b(W, B)) if use_mkl else (None, W)
    with k.get("one_thread", contextlib.nullcontext)():
        k["forward"](W, xh, gates, c, tanh_c, np.empty((B, 4 * H), dtype=dt), blas)
    return dict(x=x, h=xh[:, :, D:D + H], c=c, gates=gates, tanh_c=tanh_c, xh=xh, path="jit",
                blas="mkl" if use_mkl else "")


def backward(W_x: np.ndarray, W_h: np.ndarray, cache: Any, dL_dh: np.ndarray, *,
             kernels: dict[str, Any] | None = None) -> dict[str, Any]:
    """Fields of an :class:`~core.lstm.LSTMGrads` from the LSTMCache of :func:`forward`."""
    use_mkl = cache.blas == "mkl"
    dt = _dtype(cache.gates)
    k = kernels or _require(dt)
    T, B, H = dL_dh.shape
    D = W_x.shape[0]
    Wt = np.ascontiguousarray(np.concatenate([W_x, W_h], axis=0).astype(dt).T)  # (4H, D+H)
    dl = np.ascontiguousarray(dL_dh, dtype=dt)
    K = D + H + 1
    # z_bar holds Z_BAR_BLOCK steps: each block goes into dW while it is still in cache (one
    # product after the sweep, over all T steps, took 25.4 ms against 21.1 at the large size)
    z_bar = np.empty((min(Z_BAR_BLOCK, T), B, 4 * H), dtype=dt)
    r = np.empty((T + 1, B, D + H), dtype=dt)
    r[T] = 0.0  # nothing flows back into h(T) from beyond the sequence
    h_bar, c_bar = np.empty((T, B, H), dtype=dt), np.empty((T, B, H), dtype=dt)
    cn = np.zeros((B, H), dtype=dt)
    dW = np.empty((K, 4 * H), dtype=dt)  # rows [W_x; W_h; b]
    blas, Wt = (_MKL, mkl.pack_b(Wt, B)) if use_mkl else (None, Wt)
    with k.get("one_thread", contextlib.nullcontext)():
        k["backward"](Wt, cache.gates, cache.c, cache.tanh_c, dl, cache.xh, z_bar, r, h_bar, c_bar, cn, dW, blas)
    return dict(W_x=dW[:D], W_h=dW[D:D + H], b=dW[D + H], x=r[:T, :, :D], h0=r[0, :, D:].copy(),
                c0=cn, h_bar=h_bar, c_bar=c_bar,
                gate_adjoints=functools.partial(lstm.gate_adjoints, cache, h_bar, c_bar))
