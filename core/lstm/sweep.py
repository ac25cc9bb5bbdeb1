"""The LSTM's forward and backward sweeps for NumPy arrays: in place, few calls per step.

The same equations as :mod:`core.lstm.model` (the tests hold the two paths together to
rounding); only the bookkeeping differs. At a lecture's sizes a sweep costs the number of
NumPy calls per step and the price of each; at the benchmark's large size it costs its
matrix products, and everything else must stay small beside them. So:

* The batch is the last axis inside: a step's gates are one (4H, B) block and each gate a
  contiguous (H, B) block of it (a ufunc on a strided gate slice costs over twice as much).
  Below a step's gates [i; f; o; g] (:data:`core.lstm.model.GATES`) the same block holds
  c(t − 1) and tanh c(t), so that the pairs the equations multiply lie side by side:
  [i; f] times [g; c(t − 1)] gives both terms of c(t) in one call, and the sigmoid slopes
  [σ'_i; σ'_f; σ'_o] times [g; c(t − 1); tanh c(t)] three factors of z̄ in one more.
* One buffer ``xh`` holds the columns [x(t); h(t − 1); 1] of every step, so a forward step is
  ONE product with the stacked weights [W_x; W_h; b]ᵀ, input projection and bias included.
  (The input projection of all steps as one product, then laid out step by step, measured
  slower at the large size: the transposing pass cost 1.2 to 2 ms, the larger per-step
  products 1 ms.)
* σ(z) = ½ + ½ tanh(z/2): the sigmoid rows of the weights are halved, so one tanh covers the
  four gates.
* Every per-step result is written with ``out=`` into buffers held for the whole sweep (no
  allocation in the loops). A caller that runs many sweeps of one size (a benchmark, a
  training loop) can pass a :class:`Workspace` to hold those buffers across calls as well: a
  freshly allocated buffer is paid for again in page faults at its first touch, about 2,000 per
  forward+backward at the benchmark's large size, a quarter of the whole time (the whole pass
  measured 29.6 ms with them, 23.0 ms without).
* The backward step forms its derivative factors (σ' = σ(1 − σ), tanh' = 1 − tanh²,
  eqs (7)-(8)) from the step's own block, which one read brings into cache:
  formed for all steps in passes over the whole sweep they measured slower (1.4 ms at the
  large size, against 0.7 ms). After the sweep the gradients of W_x, W_h and b are ONE product
  with the rows [x(t), h(t − 1), 1] of every step, and x̄ one more.
* For those products each step's z̄ is kept as B rows of a (T, B, 4H) buffer: a transposed copy
  within one step's block. Kept as columns of a (4H, T, B) buffer instead, a step writes 4H short
  rows lying a whole sweep apart, and at the large size in float64 that copy measured 7 to 10 ms
  per sweep on a Xeon, against 3 to 5 ms.

The caller sees (T, B, ...) views of these buffers. Functions here take and return plain NumPy
arrays (dicts of the fields of ``LSTMCache`` and ``LSTMGrads``); ``core.lstm.model`` chooses
this sweep for NumPy input.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Workspace:
    """Buffers kept from one sweep to the next (by name, reused while shape and dtype match).

    What a sweep returns lives in these buffers until the next sweep with the same workspace
    overwrites it, as with NumPy's ``out=``: pass one only where each result is used before
    the next call."""

    def __init__(self) -> None:
        self._buffers: dict[str, np.ndarray] = {}

    def empty(self, name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        a = self._buffers.get(name)
        if a is None or a.shape != shape or a.dtype != dtype:
            a = self._buffers[name] = np.empty(shape, dtype=dtype)
        return a


class _Fresh:
    """The default: every buffer newly allocated."""

    @staticmethod
    def empty(name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        return np.empty(shape, dtype=dtype)


def forward(W_x: np.ndarray, W_h: np.ndarray, b: np.ndarray, x: np.ndarray, h0: np.ndarray,
            c0: np.ndarray, ws: Workspace | None = None) -> dict[str, Any]:
    """Fields of an ``LSTMCache``: x, h (T+1, B, H), c (T+1, B, H), gates (T, B, 4H), tanh_c (T, B, H)
    as views of the unit-major buffers, and the buffers themselves for :func:`backward`."""
    T, B, D = x.shape
    H = W_h.shape[0]
    K = D + H + 1
    dt = x.dtype
    empty = (ws or _Fresh).empty
    half = np.ones(4 * H, dtype=dt)
    half[:3 * H] = 0.5  # σ(z) = ½ + ½ tanh(z/2): one tanh for the four gates
    W = np.ascontiguousarray((np.concatenate([W_x, W_h, b[None, :]], axis=0) * half).T)  # (4H, K)
    xh = empty("xh", (T + 1, K, B), dt)  # xh[t] = [x(t); h(t-1); 1]
    xh[:T, :D] = x.transpose(0, 2, 1)
    xh[T, :D] = 0.0
    xh[0, D:D + H] = h0.T
    xh[:, D + H] = 1.0
    G = empty("G", (T + 1, 6 * H, B), dt)  # G[t] = [i; f; o; g; c(t); tanh c(t+1)] for step t+1
    G[0, 4 * H:5 * H] = c0.T
    P = empty("P", (2 * H, B), dt)  # [i g; f c(t-1)]
    half_ = dt.type(0.5)
    mul, add, tanh = np.multiply, np.add, np.tanh
    steps = zip(xh[:-1], G[:T, :4 * H], G[:T, :3 * H], G[:T, :2 * H], G[:T, 3 * H:5 * H], G[:T, 2 * H:3 * H],
                G[1:, 4 * H:5 * H], G[:T, 5 * H:], xh[1:, D:D + H], strict=True)
    for xh_t, z, s, i_f, g_c, o, c_t, tc, h_t in steps:
        np.dot(W, xh_t, out=z)  # (4H, B): z of step t, halved for the sigmoid gates
        tanh(z, out=z)
        mul(s, half_, out=s)
        add(s, half_, out=s)  # i, f, o = σ(z)
        mul(i_f, g_c, out=P)  # [i g; f c(t-1)]
        add(P[:H], P[H:], out=c_t)  # c(t) = f c(t-1) + i g
        tanh(c_t, out=tc)
        mul(o, tc, out=h_t)  # h(t) = o tanh c(t), into xh[t+1]
    h = xh[:, D:D + H]  # (T+1, H, B)
    return dict(x=x, h=h.transpose(0, 2, 1), c=G[:, 4 * H:5 * H].transpose(0, 2, 1),
                gates=G[:T, :4 * H].transpose(0, 2, 1), tanh_c=G[:T, 5 * H:].transpose(0, 2, 1),
                buffers=(G, xh))


def backward(W_x: np.ndarray, W_h: np.ndarray, cache: Any, dL_dh: np.ndarray,
             ws: Workspace | None = None) -> dict[str, Any]:
    """Fields of an ``LSTMGrads`` from a cache made by :func:`forward` (the gate adjoints are left
    to ``core.lstm.model.gate_adjoints``, formed when read)."""
    T, B, H = dL_dh.shape
    D = W_x.shape[0]
    dt = dL_dh.dtype
    empty = (ws or _Fresh).empty
    G, xh = cache.buffers
    K = xh.shape[1]
    h = xh[:, D:D + H]  # (T+1, H, B)
    dl = empty("dl", (T, H, B), dt)  # (T, H, B)
    np.copyto(dl, dL_dh.transpose(0, 2, 1))
    h_bar = empty("h_bar", (T, H, B), dt)
    c_bar = empty("c_bar", (T, H, B), dt)
    Z = empty("Z", (T, B, 4 * H), dt)  # z̄ of every step as rows, laid out for the products after the sweep
    z = empty("z", (4 * H, B), dt)  # z̄ of one step: [i; f; o; g]
    r = empty("r", (H, B), dt)  # W_h z̄(t+1): what flows into h(t) through step t+1
    c_next = empty("c_next", (H, B), dt)  # c̄(t+1) f(t+1)
    r[...] = 0.0
    c_next[...] = 0.0
    d3 = empty("d3", (3 * H, B), dt)  # [σ'_i g; σ'_f c(t-1); σ'_o tanh c]
    q = empty("q", (H, B), dt)  # o tanh'(c) = o - h tanh c
    u = empty("u", (H, B), dt)  # tanh'(z_g) i
    one = dt.type(1.0)
    mul, add, sub = np.multiply, np.add, np.subtract
    z_if, z_o, z_g = z[:2 * H].reshape(2, H, B), z[2 * H:3 * H], z[3 * H:]
    d_if, d_o = d3[:2 * H].reshape(2, H, B), d3[2 * H:]
    steps = zip(dl, h_bar, c_bar, G[:T, :3 * H], G[:T, 3 * H:], G[:T, :H], G[:T, H:2 * H], G[:T, 2 * H:3 * H],
                G[:T, 3 * H:4 * H], G[:T, 5 * H:], h[1:], Z.transpose(0, 2, 1), strict=True)
    for dl_t, hb, cb, s, g_c_tc, i, f, o, g, tc, h_t, Z_t in reversed(list(steps)):
        add(dl_t, r, out=hb)  # eq (1), with the loss's own term ∂L/∂h(t)
        mul(h_t, tc, out=q)
        sub(o, q, out=q)
        mul(hb, q, out=cb)
        add(cb, c_next, out=cb)  # eq (2)
        mul(s, s, out=d3)
        sub(s, d3, out=d3)  # σ' = σ - σ² (eq (8))
        mul(d3, g_c_tc, out=d3)
        mul(cb, d_if, out=z_if)  # eqs (6) and (5) with (8)
        mul(hb, d_o, out=z_o)  # eq (4) with (8)
        mul(g, g, out=u)
        sub(one, u, out=u)  # tanh' = 1 - tanh² (eq (7), corrected)
        mul(u, i, out=u)
        mul(cb, u, out=z_g)  # eq (3) with (7)
        np.dot(W_h, z, out=r)  # (H, B)
        Z_t[...] = z
        mul(cb, f, out=c_next)
    Zr = Z.reshape(T * B, 4 * H)  # rows in (t, b) order
    rows = empty("rows", (T, B, K), dt)  # [x(t), h(t-1), 1] as rows in (t, b) order
    np.copyto(rows, xh[:T].transpose(0, 2, 1))
    dW = rows.reshape(T * B, K).T @ Zr  # (K, 4H): [W_x; W_h; b] in one product
    x_bar = empty("x_bar", (T, B, D), dt)
    np.matmul(Zr, W_x.T, out=x_bar.reshape(T * B, D))
    return dict(W_x=dW[:D], W_h=dW[D:D + H], b=dW[D + H], x=x_bar, h0=r.T.copy(), c0=c_next.T.copy(),
                h_bar=h_bar.transpose(0, 2, 1), c_bar=c_bar.transpose(0, 2, 1))
