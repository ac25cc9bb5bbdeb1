"""LSTM through time: forward, backpropagation through time by hand, tangents and two losses.

The cell is the seed's (problems 1 and 2), batched over B sequences of length T:

    i(t) = σ(x(t) W_ix + h(t-1) W_ih + b_i)        f(t), o(t) likewise
    g(t) = tanh(x(t) W_gx + h(t-1) W_gh + b_g)
    c(t) = f(t) c(t-1) + i(t) g(t)
    h(t) = o(t) tanh(c(t))

The four gates are stacked in one 4H axis, column blocks [i | f | o | g] (:data:`GATES`), so the
three sigmoid gates are contiguous. Adjoints follow JAX naming: ``h_bar`` is the seed's
overline, dL/dh; ``z_bar`` is the adjoint of the pre-activations z = x W_x + h W_h + b.

The backward pass is the seed's eqs (1)-(9) with their corrections (see ``core/lstm_seed.py``
for the seed as written): h_bar(t) carries the loss's own term dL/dh(t) as well as the four gate
terms of eq (1), and tanh'(z) = 1 - tanh(z)^2 (eq (7) writes tan).

On NumPy the batched passes run on ``core/lstm_jit.py`` (compiled with Numba, one fused loop per
step) where Numba is installed, else on ``core/lstm_fast.py`` (in place, fewer calls per step);
everywhere else (CuPy, array-api-strict) on the standard path below, which the tests
hold them to.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.backend import namespace
from core.limits import ConfigError

GATES = ("i", "f", "o", "g")  # column blocks of the 4H axis: sigmoid on i, f, o; tanh on g
LOSSES = ("sequence", "last")  # squared error at every step / at the last step only
BLAS_CHOICES = ("auto", "mkl", "default")  # where the compiled sweeps take their matrix products
# The compiled sweeps take over from this much work (flops of forward+backward) on: below it the
# NumPy sweep takes under about 2 ms, and a process's first use of the compiled ones costs about
# 0.5 s (loading Numba and its cache), which would land on the LSTM page's first view (its
# defaults are 0.3 MFLOP; the lecture benchmark size is 25 MFLOP)
JIT_MIN_FLOPS = 1e7
# ... and oneMKL, where installed, from this much on (blas "auto"): packing the weights costs two
# calls per sweep, so below it the BLAS SciPy brings was faster (lecture size, 2.5e7 flops: 0.65
# against 0.71 ms in float32); above it oneMKL (9.8e7: 1.55 against 1.70 ms; 1.6e9: 16.5 against 23.0)
MKL_MIN_FLOPS = 5e7


def lstm_flops(T: int, B: int, D: int, H: int) -> float:
    """Forward+backward GEMM flops: forward 2·T·B·(D+H)·4H; the backward twice that
    (z_bar [W_x; W_h]^T for the adjoints of x and h, and [x | h]^T z_bar for the weights)."""
    return 3 * 2 * T * B * (D + H) * 4 * H


def gate(a: Any, name: str) -> Any:
    """The block of gate ``name`` in the last (4H) axis of ``a``."""
    H = a.shape[-1] // 4
    k = GATES.index(name)
    return a[..., k * H:(k + 1) * H]


@dataclass(frozen=True)
class LSTMParams:
    W_x: Any  # (D, 4H) input weights; W_x[:, gate i] holds the seed's w_ix
    W_h: Any  # (H, 4H) recurrent weights; W_h[:, gate i] holds w_ih
    b: Any  # (4H,) biases (the seed has none; b_f is the forget-gate bias)

    @property
    def D(self) -> int:
        return self.W_x.shape[0]

    @property
    def H(self) -> int:
        return self.W_h.shape[0]


@dataclass(frozen=True)
class LSTMCache:
    """What the forward pass keeps for the backward pass."""

    x: Any  # (T, B, D)
    h: Any  # (T+1, B, H): h[0] = h(0), h[t] = h(t)
    c: Any  # (T+1, B, H): c[0] = c(0)
    gates: Any  # (T, B, 4H): gate activations [i f o g] of steps 1..T
    tanh_c: Any  # (T, B, H): tanh(c(t))
    xh: Any = None  # NumPy paths only: [x(t); h(t-1); 1] per step, in the path's own layout
    u2: Any = None  # NumPy paths only: [4σ'(z_i); 4σ'(z_f); 4σ'(z_o); tanh'(z_g)] per step, likewise
    path: str = "standard"  # which sweep made it: "standard", "numpy" (lstm_fast) or "jit" (lstm_jit)
    blas: str = ""  # "mkl" where the jit sweeps took their products from oneMKL (core/mkl.py)


@dataclass(frozen=True)
class LSTMGrads:
    """Adjoints of everything the loss depends on, and the per-step adjoints for plotting."""

    W_x: Any  # (D, 4H)
    W_h: Any  # (H, 4H)
    b: Any  # (4H,)
    x: Any  # (T, B, D)
    h0: Any  # (B, H)
    c0: Any  # (B, H)
    h_bar: Any  # (T, B, H): complete adjoint of h(t): dL/dh(t) + the gate terms of eq (1)
    c_bar: Any  # (T, B, H): eq (2)
    gate_adjoints: Any = field(repr=False)  # gates_bar as an array, or a function of no arguments making it

    @functools.cached_property
    def gates_bar(self) -> Any:
        """(T, B, 4H): adjoints of the gate activations [i f o g], eqs (3)-(6). They are for
        plotting: the compiled sweeps leave them to :func:`gate_adjoints`, run when first read
        (writing them made the backward loop alone take 1.7 ms instead of 1.1 at the benchmark's
        large size)."""
        g = self.gate_adjoints
        return g() if callable(g) else g


def gate_adjoints(cache: LSTMCache, h_bar: Any, c_bar: Any) -> Any:
    """Eqs (3)-(6) from the cache and the adjoints of h and c: (T, B, 4H), blocks [i f o g].

    i_bar = c_bar g, f_bar = c_bar c(t-1), o_bar = h_bar tanh c(t), g_bar = c_bar i (one product
    each, as the sweeps form them, so every path gives the same numbers)."""
    xp = namespace(h_bar, c_bar)
    gs = cache.gates
    return xp.concat([c_bar * gate(gs, "g"), c_bar * cache.c[:-1, ...], h_bar * cache.tanh_c,
                      c_bar * gate(gs, "i")], axis=-1)


@dataclass(frozen=True)
class StepAdjoint:
    """What one step's backward returns (shapes (B, H) unless noted)."""

    z_bar: Any  # (B, 4H)
    gates_bar: Any  # (B, 4H): [i_bar f_bar o_bar g_bar]
    c_bar: Any  # adjoint of c(t), eq (2)
    h_prev_bar: Any  # the part of h_bar(t-1) that flows through step t: eq (1) without dL/dh
    c_prev_bar: Any  # the part of c_bar(t-1) that flows through step t: c_bar(t) f(t)


def sigmoid(z: Any) -> Any:
    """σ(z) = ½ + ½ tanh(z/2): the same function as 1/(1 + e^-z), without its overflow."""
    xp = namespace(z)
    return 0.5 + 0.5 * xp.tanh(0.5 * z)


def lstm_step(p: LSTMParams, x_t: Any, h_prev: Any, c_prev: Any,
              zx_t: Any = None) -> tuple[Any, Any, Any, Any]:
    """One step: (h(t), c(t), gates(t), tanh c(t)) from x(t), h(t-1), c(t-1).

    ``zx_t`` = x(t) W_x + b may be passed when it was computed for all steps in one GEMM.
    """
    xp = namespace(h_prev, c_prev, p.W_h)
    z = (x_t @ p.W_x + p.b if zx_t is None else zx_t) + h_prev @ p.W_h  # (B, 4H)
    H = p.H
    gates = xp.concat([sigmoid(z[:, :3 * H]), xp.tanh(z[:, 3 * H:])], axis=-1)  # (B, 4H)
    i, f, o, g = (gate(gates, k) for k in GATES)
    c = f * c_prev + i * g
    tanh_c = xp.tanh(c)
    return o * tanh_c, c, gates, tanh_c


def lstm_step_backward(p: LSTMParams, h_bar: Any, c_next_bar: Any, c_prev: Any, gates: Any,
                       tanh_c: Any) -> StepAdjoint:
    """Backward of :func:`lstm_step`, the seed's eqs (2)-(8) corrected.

    ``h_bar`` is the complete adjoint of h(t) (dL/dh(t) plus what flows back from step t+1);
    ``c_next_bar`` is c_bar(t+1) f(t+1), the part of c_bar(t) that flows back from step t+1.
    """
    xp = namespace(h_bar, gates, p.W_h)
    i, f, o, g = (gate(gates, k) for k in GATES)
    c_bar = h_bar * o * (1.0 - tanh_c * tanh_c) + c_next_bar  # eq (2)
    i_bar = c_bar * g  # eq (6)
    f_bar = c_bar * c_prev  # eq (5)
    o_bar = h_bar * tanh_c  # eq (4)
    g_bar = c_bar * i  # eq (3)
    z_bar = xp.concat([i_bar * i * (1.0 - i), f_bar * f * (1.0 - f), o_bar * o * (1.0 - o),  # eq (8)
                       g_bar * (1.0 - g * g)], axis=-1)  # eq (7), with tanh, not tan
    return StepAdjoint(z_bar=z_bar, gates_bar=xp.concat([i_bar, f_bar, o_bar, g_bar], axis=-1),
                       c_bar=c_bar, h_prev_bar=z_bar @ xp.matrix_transpose(p.W_h), c_prev_bar=c_bar * f)


def check_shapes(p: LSTMParams, x: Any, h0: Any, c0: Any) -> tuple[int, int, int, int]:
    """(T, B, D, H) of a call, or a ConfigError that says which array is off."""
    if len(p.W_x.shape) != 2 or len(p.W_h.shape) != 2 or p.W_x.shape[1] != 4 * p.H \
            or p.W_h.shape[1] != 4 * p.H or tuple(p.b.shape) != (4 * p.H,):
        raise ConfigError(f"LSTM weights must be W_x (D, 4H), W_h (H, 4H), b (4H,); got "
                          f"{tuple(p.W_x.shape)}, {tuple(p.W_h.shape)}, {tuple(p.b.shape)}")
    if len(x.shape) != 3 or x.shape[2] != p.D or x.shape[0] < 1:
        raise ConfigError(f"x must have shape (T, B, D) with T >= 1 and D = {p.D}; got {tuple(x.shape)}")
    T, B, D = x.shape
    for name, a in (("h0", h0), ("c0", c0)):
        if tuple(a.shape) != (B, p.H):
            raise ConfigError(f"{name} must have shape (B, H) = ({B}, {p.H}); got {tuple(a.shape)}")
    dtypes = {a.dtype for a in (p.W_x, p.W_h, p.b, x, h0, c0)}
    if len(dtypes) != 1:
        raise ConfigError(f"LSTM arrays must share one dtype; got {sorted(map(str, dtypes))}")
    return T, B, D, p.H


def lstm_forward(p: LSTMParams, x: Any, h0: Any, c0: Any, *, fast: bool = True,
                 jit: bool | None = None, blas: str = "auto") -> tuple[Any, LSTMCache]:
    """Run the sequence: h(1..T) as (T, B, H), and the cache for :func:`lstm_backward`.

    ``fast`` takes a NumPy sweep when the arrays are NumPy arrays: the compiled one where Numba is
    available and ``jit`` is true (None: from :data:`JIT_MIN_FLOPS` of work on, or where ``blas``
    is "mkl"), else the in-place NumPy one. ``blas`` picks where the compiled sweep's matrix
    products run (:data:`BLAS_CHOICES`): "mkl" on oneMKL (an error where it is not installed),
    "default" on the BLAS SciPy brings, "auto" on oneMKL where it is available and the work
    reaches :data:`MKL_MIN_FLOPS`. The other paths use their array library's own matrix product.
    """
    T, B, D, H = check_shapes(p, x, h0, c0)
    if blas not in BLAS_CHOICES:
        raise ConfigError(f"blas must be one of {', '.join(BLAS_CHOICES)}; got {blas!r}")
    xp = namespace(x, h0, c0, p.W_x, p.W_h, p.b)
    flops = lstm_flops(T, B, D, H)
    if jit is None:  # asking for oneMKL asks for the compiled sweeps, the only ones it serves
        jit = blas == "mkl" or flops >= JIT_MIN_FLOPS
    jit = jit and fast and xp is np and x.dtype in (np.float32, np.float64)
    if blas == "mkl":
        _require_mkl(jit, x.dtype)
    if fast and xp is np:
        from core import lstm_fast, lstm_jit

        if jit and lstm_jit.available(x.dtype):
            use_mkl = blas == "mkl" or (blas == "auto" and flops >= MKL_MIN_FLOPS and lstm_jit.mkl_available(x.dtype))
            cache = LSTMCache(**lstm_jit.forward(p.W_x, p.W_h, p.b, x, h0, c0, use_mkl=use_mkl))
        else:
            cache = LSTMCache(**lstm_fast.forward(p.W_x, p.W_h, p.b, x, h0, c0), path="numpy")
        return cache.h[1:, ...], cache
    zx = xp.reshape(xp.reshape(x, (T * B, D)) @ p.W_x + p.b, (T, B, 4 * H))  # one GEMM for all steps
    hs, cs, gs, ts = [h0], [c0], [], []
    for t in range(T):
        h, c, gates, tanh_c = lstm_step(p, x[t, ...], hs[-1], cs[-1], zx_t=zx[t, ...])
        hs.append(h)
        cs.append(c)
        gs.append(gates)
        ts.append(tanh_c)
    cache = LSTMCache(x=x, h=xp.stack(hs), c=xp.stack(cs), gates=xp.stack(gs), tanh_c=xp.stack(ts))
    return cache.h[1:, ...], cache


def _require_mkl(jit: bool, dtype: Any) -> None:
    """A clear message, before any work, where oneMKL was asked for and cannot serve."""
    from core import lstm_jit

    if not jit:
        raise ConfigError("oneMKL serves the compiled sweeps on NumPy arrays only; "
                          "use blas 'auto' or 'default' here")
    if not lstm_jit.available(dtype):
        raise ConfigError(f"oneMKL was asked for, but the compiled sweeps are not available here "
                          f"({lstm_jit.unavailable_reason(dtype)})")
    if not lstm_jit.mkl_available(dtype):
        raise ConfigError(f"oneMKL was asked for but is not available here "
                          f"({lstm_jit.mkl_unavailable_reason(dtype)}); "
                          f"install it with: pip install -r requirements-mkl.txt")


def lstm_backward(p: LSTMParams, cache: LSTMCache, dL_dh: Any) -> LSTMGrads:
    """Backpropagation through time from the loss's adjoints dL/dh(t), shape (T, B, H)."""
    x = cache.x
    T, B, D = x.shape
    H = p.H
    if tuple(dL_dh.shape) != (T, B, H):
        raise ConfigError(f"dL/dh must have shape (T, B, H) = ({T}, {B}, {H}); got {tuple(dL_dh.shape)}")
    if cache.path == "jit":
        from core import lstm_jit

        return LSTMGrads(**lstm_jit.backward(p.W_x, p.W_h, cache, dL_dh))
    if cache.path == "numpy":
        from core import lstm_fast

        return LSTMGrads(**lstm_fast.backward(p.W_x, p.W_h, p.b, cache, dL_dh))
    xp = namespace(dL_dh, p.W_h)
    h_next_bar = xp.zeros_like(dL_dh[0, ...])  # what flows into h(t) from step t+1 (nothing at t = T)
    c_next_bar = xp.zeros_like(dL_dh[0, ...])
    steps: list[StepAdjoint] = []
    h_bars = []
    for t in range(T - 1, -1, -1):
        h_bars.append(dL_dh[t, ...] + h_next_bar)  # the complete h_bar(t): the loss's term + eq (1)
        s = lstm_step_backward(p, h_bars[-1], c_next_bar, cache.c[t, ...], cache.gates[t, ...],
                               cache.tanh_c[t, ...])
        steps.append(s)
        h_next_bar, c_next_bar = s.h_prev_bar, s.c_prev_bar
    steps.reverse()
    h_bars.reverse()
    z_bar = xp.stack([s.z_bar for s in steps])  # (T, B, 4H)
    zb = xp.reshape(z_bar, (T * B, 4 * H))
    h_prev = xp.reshape(cache.h[:-1, ...], (T * B, H))
    return LSTMGrads(
        W_x=xp.matrix_transpose(xp.reshape(x, (T * B, D))) @ zb, W_h=xp.matrix_transpose(h_prev) @ zb,
        b=xp.sum(zb, axis=0), x=xp.reshape(zb @ xp.matrix_transpose(p.W_x), (T, B, D)),
        h0=h_next_bar, c0=c_next_bar,
        h_bar=xp.stack(h_bars), c_bar=xp.stack([s.c_bar for s in steps]),
        gate_adjoints=xp.stack([s.gates_bar for s in steps]))


def lstm_jvp(p: LSTMParams, p_dot: LSTMParams, x: Any, x_dot: Any, h0: Any, h0_dot: Any,
             c0: Any, c0_dot: Any) -> tuple[Any, Any]:
    """Forward-mode tangent: (h, h_dot), both (T, B, H), for the tangents ``*_dot`` of every input.

    <h_dot, c> must equal <(p_dot, x_dot, h0_dot, c0_dot), J^T c>: the random-direction check.
    """
    T, _, _, H = check_shapes(p, x, h0, c0)
    xp = namespace(x, h0, p.W_h)
    h, c, h_dot, c_dot = h0, c0, h0_dot, c0_dot
    hs, h_dots = [], []
    for t in range(T):
        z = x[t, ...] @ p.W_x + h @ p.W_h + p.b
        z_dot = x_dot[t, ...] @ p.W_x + x[t, ...] @ p_dot.W_x + h_dot @ p.W_h + h @ p_dot.W_h + p_dot.b
        s, g = sigmoid(z[:, :3 * H]), xp.tanh(z[:, 3 * H:])
        s_dot, g_dot = s * (1.0 - s) * z_dot[:, :3 * H], (1.0 - g * g) * z_dot[:, 3 * H:]
        i, f, o = s[:, :H], s[:, H:2 * H], s[:, 2 * H:]
        i_dot, f_dot, o_dot = s_dot[:, :H], s_dot[:, H:2 * H], s_dot[:, 2 * H:]
        c_dot = f_dot * c + f * c_dot + i_dot * g + i * g_dot
        c = f * c + i * g
        tanh_c = xp.tanh(c)
        h, h_dot = o * tanh_c, o_dot * tanh_c + o * (1.0 - tanh_c * tanh_c) * c_dot
        hs.append(h)
        h_dots.append(h_dot)
    return xp.stack(hs), xp.stack(h_dots)


def loss(kind: str, h: Any, y: Any) -> tuple[Any, Any]:
    """(L, dL/dh) for a target sequence ``y`` (T, B, H); L is averaged over the batch.

    ``sequence``: L = (1/B) Σ_t Σ_b ½‖h_b(t) - y_b(t)‖²; ``last``: the same at t = T only.
    """
    xp = namespace(h, y)
    if kind not in LOSSES:
        raise ConfigError(f"loss {kind!r} is not one of: {', '.join(LOSSES)}")
    if tuple(h.shape) != tuple(y.shape):
        raise ConfigError(f"target y must have the shape of h, {tuple(h.shape)}; got {tuple(y.shape)}")
    B = h.shape[1]
    r = (h - y) / B  # (T, B, H)
    if kind == "last":
        r = xp.concat([xp.zeros_like(r[:-1, ...]), r[-1:, ...]], axis=0)
    return 0.5 * B * xp.sum(r * r), r
