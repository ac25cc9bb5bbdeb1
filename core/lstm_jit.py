"""The LSTM's float32 sweeps compiled with Numba: per step one matrix product and one fused loop.

Same equations and conventions as ``core/lstm_fast.py`` (the tests hold all paths together): one
buffer ``xh`` (T+1, B, D+H+1) holds the rows [x(t), h(t-1), 1], so a step's pre-activations are
ONE product with the stacked weights [W_x; W_h; b] (i, f, o columns halved: σ(z) = ½ + ½ tanh(z/2));
after the backward sweep all weight gradients are ONE product xh^T z_bar. What differs is the
elementwise work: in NumPy it is about twenty calls per step each way, each paying its own
overhead, which at lecture sizes costs more than the arithmetic. Here it is one compiled loop per
step over the (B, 4H) gate block, forward and backward, with the matrix products on BLAS through
Numba's ``np.dot``. The backward takes σ' = σ (1 - σ) and tanh' = 1 - tanh² from the stored gate
activations, so the forward keeps no derivative array (its page faults cost more than the
arithmetic: at the large benchmark size about 2.5 µs for each fresh 4 KiB page here).

tanh: Numba compiles ``math.tanh`` to a scalar library call per element, about seven times slower
than NumPy's vectorised one, so the loops use :func:`tanh32`, a rational function x P(x²) / Q(x²)
that the compiler vectorises. Its coefficients come from :func:`fit_tanh` (a test re-derives
them). It is evaluated in float64 and rounded once to float32, so it is as close to tanh as
NumPy's own float32 tanh (6e-8; evaluated in float32 it was 3.5e-7 off and not monotone), returns
exactly ±1 from |x| = 9 on, and passes NaN through.

Only float32 NumPy arrays take this path (float64 stays on ``core/lstm_fast.py``). Without Numba,
or when compiling fails, :func:`available` is False and the callers use ``core/lstm_fast.py``.
"""

from __future__ import annotations

import contextlib
import functools
from types import SimpleNamespace
from typing import Any

import numpy as np

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


def _build() -> dict[str, Any]:
    """Compile the kernels (Numba imported here, so importing this module never fails)."""
    import numba

    f32, f64 = np.float32, np.float64
    one, half, clip = f32(1.0), f32(0.5), f64(TANH_CLIP)
    p0, p1, p2, p3, p4, p5, p6 = (f64(c) for c in TANH_P)
    q0, q1, q2, q3 = (f64(c) for c in TANH_Q)
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

    @jit
    def tanh_array(x, out):
        for k in range(x.size):
            out[k] = tanh32(x[k])

    @jit
    def forward(W, xh, gates, c, tanh_c, z):
        T, B, H4 = gates.shape
        H = H4 // 4
        D = xh.shape[2] - H - 1
        for t in range(T):
            np.dot(xh[t], W, z)  # (B, K) @ (K, 4H): all four gates' pre-activations (halved)
            for b in range(B):
                zb, g = z[b], gates[t, b]
                for j in range(3 * H):  # i, f, o: σ(z) = ½ + ½ tanh(z/2)
                    g[j] = half + half * tanh32(zb[j])
                for j in range(3 * H, H4):  # g = tanh(z)
                    g[j] = tanh32(zb[j])
                cp, ct, tc, hn = c[t, b], c[t + 1, b], tanh_c[t, b], xh[t + 1, b]
                for j in range(H):
                    cj = g[H + j] * cp[j] + g[j] * g[3 * H + j]  # c(t) = f c(t-1) + i g
                    ct[j] = cj
                    v = tanh32(cj)
                    tc[j] = v
                    hn[D + j] = g[2 * H + j] * v  # h(t) = o tanh c(t), into the next step's row

    @jit
    def backward(Wt, gates, c, tanh_c, dl, z_bar, r, h_bar, c_bar, gates_bar, cn):
        T, B, H4 = gates.shape
        H = H4 // 4
        D = r.shape[2] - H
        for t in range(T - 1, -1, -1):
            for b in range(B):
                g, zb, gb = gates[t, b], z_bar[t, b], gates_bar[t, b]
                dlt, rn, cp, tc, hbt, cbt, cnb = dl[t, b], r[t + 1, b], c[t, b], tanh_c[t, b], h_bar[t, b], \
                    c_bar[t, b], cn[b]
                for j in range(H):
                    hb = dlt[j] + rn[D + j]  # eq (1) plus the loss's own dL/dh(t); r[T] is zero
                    tt = tc[j]
                    cb = hb * g[2 * H + j] * (one - tt * tt) + cnb[j]  # eq (2)
                    hbt[j] = hb
                    cbt[j] = cb
                    gi, gf, go, gv = g[j], g[H + j], g[2 * H + j], g[3 * H + j]
                    ib, fb, ob, gg = cb * gv, cb * cp[j], hb * tt, cb * gi  # eqs (6), (5), (4), (3)
                    gb[j], gb[H + j], gb[2 * H + j], gb[3 * H + j] = ib, fb, ob, gg
                    zb[j], zb[H + j] = ib * gi * (one - gi), fb * gf * (one - gf)  # eq (8): σ' = σ (1 - σ)
                    zb[2 * H + j], zb[3 * H + j] = ob * go * (one - go), gg * (one - gv * gv)  # eq (7)
                    cnb[j] = cb * gf  # c_bar(t) f(t), for step t-1
            np.dot(z_bar[t], Wt, r[t])  # [x_bar(t), the gate terms of eq (1) for h_bar(t-1)]

    return {"tanh32": tanh_array, "forward": forward, "backward": backward}


@functools.cache
def _kernels() -> tuple[dict[str, Any] | None, str]:
    """The compiled kernels and "", or None and why not; compiled (or loaded from Numba's cache)
    and run once on a tiny problem, so a failure shows here and never in the middle of a sweep."""
    try:
        k = _build()
        rng = np.random.default_rng(0)
        a = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
        cache = SimpleNamespace(**forward(a(2, 4), a(1, 4), a(4), a(2, 1, 2), a(1, 1), a(1, 1), kernels=k))
        backward(a(2, 4), a(1, 4), cache, a(2, 1, 1), kernels=k)
        k["one_thread"] = _one_blas_thread()  # now that the BLAS Numba calls is loaded
        return k, ""
    except Exception as exc:  # ImportError, or Numba failing to compile on this platform
        return None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")


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


def available() -> bool:
    """Whether the compiled float32 sweeps can run here (Numba installed and compiling)."""
    return _kernels()[0] is not None


def unavailable_reason() -> str:
    return _kernels()[1]


def tanh32(x: np.ndarray) -> np.ndarray:
    """The kernels' tanh applied to a float32 array, for checking it against np.tanh."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.empty_like(x)
    _require()["tanh32"](x.reshape(-1), out.reshape(-1))
    return out


def _require() -> dict[str, Any]:
    k, why = _kernels()
    if k is None:
        raise RuntimeError(f"the compiled LSTM sweeps are not available here ({why})")
    return k


def forward(W_x: np.ndarray, W_h: np.ndarray, b: np.ndarray, x: np.ndarray, h0: np.ndarray,
            c0: np.ndarray, *, kernels: dict[str, Any] | None = None) -> dict[str, Any]:
    """Fields of an :class:`~core.lstm.LSTMCache` for float32 arrays."""
    k = kernels or _require()
    f32 = np.float32
    T, B, D = x.shape
    H = W_h.shape[0]
    half = np.full(4 * H, 0.5, dtype=f32)
    half[3 * H:] = 1.0
    W = np.concatenate([W_x, W_h, b[None, :]], axis=0).astype(f32) * half  # (K, 4H): rows [W_x; W_h; b]
    xh = np.empty((T + 1, B, D + H + 1), dtype=f32)  # xh[t] = [x(t), h(t-1), 1]; xh[T] holds h(T)
    xh[:T, :, :D] = x
    xh[T, :, :D] = 0.0
    xh[0, :, D:D + H] = h0
    xh[:, :, D + H] = 1.0
    gates = np.empty((T, B, 4 * H), dtype=f32)
    c = np.empty((T + 1, B, H), dtype=f32)
    c[0] = c0
    tanh_c = np.empty((T, B, H), dtype=f32)
    with k.get("one_thread", contextlib.nullcontext)():
        k["forward"](W, xh, gates, c, tanh_c, np.empty((B, 4 * H), dtype=f32))
    return dict(x=x, h=xh[:, :, D:D + H], c=c, gates=gates, tanh_c=tanh_c, xh=xh, path="jit")


def backward(W_x: np.ndarray, W_h: np.ndarray, cache: Any, dL_dh: np.ndarray, *,
             kernels: dict[str, Any] | None = None) -> dict[str, Any]:
    """Fields of an :class:`~core.lstm.LSTMGrads` from the LSTMCache of :func:`forward`."""
    k = kernels or _require()
    f32 = np.float32
    T, B, H = dL_dh.shape
    D = W_x.shape[0]
    Wt = np.ascontiguousarray(np.concatenate([W_x, W_h], axis=0).astype(f32).T)  # (4H, D+H)
    dl = np.ascontiguousarray(dL_dh, dtype=f32)
    z_bar = np.empty((T, B, 4 * H), dtype=f32)
    r = np.empty((T + 1, B, D + H), dtype=f32)
    r[T] = 0.0  # nothing flows back into h(T) from beyond the sequence
    h_bar, c_bar = np.empty((T, B, H), dtype=f32), np.empty((T, B, H), dtype=f32)
    gates_bar = np.empty((T, B, 4 * H), dtype=f32)
    cn = np.zeros((B, H), dtype=f32)
    with k.get("one_thread", contextlib.nullcontext)():
        k["backward"](Wt, cache.gates, cache.c, cache.tanh_c, dl, z_bar, r, h_bar, c_bar, gates_bar, cn)
    K = D + H + 1
    dW = cache.xh[:T].reshape(T * B, K).T @ z_bar.reshape(T * B, 4 * H)  # (K, 4H): rows [W_x; W_h; b]
    return dict(W_x=dW[:D], W_h=dW[D:D + H], b=dW[D + H], x=r[:T, :, :D], h0=r[0, :, D:].copy(),
                c0=cn, h_bar=h_bar, c_bar=c_bar, gates_bar=gates_bar)
