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
the weights packed once per sweep), else on the BLAS SciPy brings through Numba's ``np.dot``
(``core/jit_blas.py`` picks one when Numba compiles a kernel). tanh is ``core/jit_tanh.py``'s,
vectorised in both precisions (Numba's own is a scalar library call).

float32 and float64 NumPy arrays take this path. Each precision, with and without oneMKL, is
loaded (or compiled) when first needed and tried on a tiny problem first; without Numba, or where
that fails, :func:`available` is False and the callers use ``core/lstm_fast.py``.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from types import SimpleNamespace
from typing import Any

import numpy as np

from core import jit_blas, jit_tanh, lstm, mkl
from core.jit_blas import add_at_b, step
from core.jit_tanh import act

Z_BAR_BLOCK = 8  # steps of z_bar that the backward adds into the weight gradients at once (8 x B rows)


def _build() -> dict[str, Any]:
    """Compile the kernels (Numba imported here, so importing this module never fails)."""
    import numba

    f32 = np.float32
    one, half = f32(1.0), f32(0.5)
    jit = functools.partial(numba.njit, **jit_tanh.NJIT_OPTIONS)
    jit_tanh.register()
    jit_blas.register()

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
        return None, mkl.describe_error(exc)


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
            jit_blas.link_mkl()
        _tiny_run(k, np.dtype(dtype), use_mkl=use_mkl)
        k["one_thread"] = _one_blas_thread()  # again: a variant may have loaded another BLAS
        return True, ""
    except Exception as exc:  # Numba failing to compile on this platform, or a wrong result
        return False, mkl.describe_error(exc)


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
            c0: np.ndarray, *, use_mkl: bool, kernels: dict[str, Any] | None = None) -> dict[str, Any]:
    """Fields of an :class:`~core.lstm.LSTMCache` for float32 or float64 arrays. ``use_mkl``: take
    the matrix products from oneMKL (``core.lstm.lstm_forward`` decides); the backward does as
    this did."""
    dt = _dtype(x)
    k = kernels or _require(dt)
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
    blas, W = (jit_blas.MKL, mkl.pack_b(W, B)) if use_mkl else (None, W)
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
    blas, Wt = (jit_blas.MKL, mkl.pack_b(Wt, B)) if use_mkl else (None, Wt)
    with k.get("one_thread", contextlib.nullcontext)():
        k["backward"](Wt, cache.gates, cache.c, cache.tanh_c, dl, cache.xh, z_bar, r, h_bar, c_bar, cn, dW, blas)
    return dict(W_x=dW[:D], W_h=dW[D:D + H], b=dW[D + H], x=r[:T, :, :D], h0=r[0, :, D:].copy(),
                c0=cn, h_bar=h_bar, c_bar=c_bar,
                gate_adjoints=functools.partial(lstm.gate_adjoints, cache, h_bar, c_bar))
