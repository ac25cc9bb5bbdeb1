"""LSTM through time: forward, backpropagation through time by hand, tangents and two losses.

The cell is the seed's (problems 1 and 2), batched over B sequences of length T:

    i(t) = σ(x(t) W_ix + h(t-1) W_ih + b_i)        f(t), o(t) likewise
    g(t) = tanh(x(t) W_gx + h(t-1) W_gh + b_g)
    c(t) = f(t) c(t-1) + i(t) g(t)
    h(t) = o(t) tanh(c(t))

The four gates are stacked in one 4H axis, column blocks [i | f | o | g] (:data:`GATES`), so the
three sigmoid gates are adjacent. Adjoints follow JAX naming: ``h_bar`` is the seed's overline,
dL/dh; ``z_bar`` is the adjoint of the pre-activations z = x W_x + h W_h + b.

The backward pass is the seed's eqs (1)-(9), of which two need correcting (``core.lstm.seed``
evaluates them as written): eq (1) must carry the loss's own term dL/dh(t) as well as the four
gate terms, and eq (7) must read tanh'(z) = 1 - tanh(z)^2 (the seed writes tan).

Two sweeps compute the same numbers: the readable one below, one :func:`lstm_step` and one
:func:`lstm_step_backward` per step on any array-API namespace (CuPy, array-api-strict), and
for NumPy arrays the in-place sweep of :mod:`core.lstm.sweep`, which the tests hold to it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.backend import namespace, sigmoid
from core.limits import ConfigError, echo
from core.lstm import sweep

GATES = ("i", "f", "o", "g")  # column blocks of the 4H axis: sigmoid on i, f, o; tanh on g
LOSSES = ("sequence", "last")  # squared error at every step / at the last step only


def lstm_flops(T: int, B: int, D: int, H: int) -> float:
    """Matrix-product flops of forward+backward: forward 2·T·B·(D+H)·4H (the input projection
    and the recurrent product); the backward twice that (z_bar [W_x; W_h]^T for the adjoints
    of x and h, and [x | h]^T z_bar for the weights)."""
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
    path: str = "standard"  # which sweep made it: "standard" (lstm_step) or "numpy" (core.lstm.sweep)
    buffers: Any = field(default=None, repr=False)  # the NumPy sweep's own unit-major buffers


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
        plotting, so the NumPy sweep leaves them to :func:`gate_adjoints`, run when first read."""
        g = self.gate_adjoints
        return g() if callable(g) else g


def gate_adjoints(cache: LSTMCache, h_bar: Any, c_bar: Any) -> Any:
    """Eqs (3)-(6) from the cache and the adjoints of h and c: (T, B, 4H), blocks [i f o g].

    i_bar = c_bar g, f_bar = c_bar c(t-1), o_bar = h_bar tanh c(t), g_bar = c_bar i (one product
    each, as the standard step forms them, so every path gives the same numbers)."""
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
    """Backward of :func:`lstm_step`: the seed's eqs (2)-(8), with eq (7)'s tan read as tanh.

    ``h_bar`` is the complete adjoint of h(t) (dL/dh(t) plus what flows back from step t+1:
    the corrected eq (1)); ``c_next_bar`` is c_bar(t+1) f(t+1), the part of c_bar(t) that flows
    back from step t+1.
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
                 workspace: sweep.Workspace | None = None) -> tuple[Any, LSTMCache]:
    """Run the sequence: h(1..T) as (T, B, H), and the cache for :func:`lstm_backward`.

    NumPy arrays take the in-place sweep of :mod:`core.lstm.sweep` unless ``fast`` is false
    (its buffers held across calls in ``workspace``, if one is given); every other namespace
    (and ``fast=False``) runs :func:`lstm_step` once per step."""
    T, B, D, H = check_shapes(p, x, h0, c0)
    xp = namespace(x, h0, c0, p.W_x, p.W_h, p.b)
    if fast and xp is np:
        cache = LSTMCache(**sweep.forward(p.W_x, p.W_h, p.b, x, h0, c0, workspace), path="numpy")
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


def lstm_backward(p: LSTMParams, cache: LSTMCache, dL_dh: Any, *,
                  workspace: sweep.Workspace | None = None) -> LSTMGrads:
    """Backpropagation through time from the loss's adjoints dL/dh(t), shape (T, B, H)
    (``workspace``: as for :func:`lstm_forward`)."""
    x = cache.x
    T, B, D = x.shape
    H = p.H
    if tuple(dL_dh.shape) != (T, B, H):
        raise ConfigError(f"dL/dh must have shape (T, B, H) = ({T}, {B}, {H}); got {tuple(dL_dh.shape)}")
    if cache.path == "numpy":
        fields = sweep.backward(p.W_x, p.W_h, cache, dL_dh, workspace)
        return LSTMGrads(**fields, gate_adjoints=lambda: gate_adjoints(cache, fields["h_bar"], fields["c_bar"]))
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
        raise ConfigError(f"loss {echo(kind)} is not one of: {', '.join(LOSSES)}")
    if tuple(h.shape) != tuple(y.shape):
        raise ConfigError(f"target y must have the shape of h, {tuple(h.shape)}; got {tuple(y.shape)}")
    B = h.shape[1]
    r = (h - y) / B  # (T, B, H)
    if kind == "last":
        r = xp.concat([xp.zeros_like(r[:-1, ...]), r[-1:, ...]], axis=0)
    return 0.5 * B * xp.sum(r * r), r
