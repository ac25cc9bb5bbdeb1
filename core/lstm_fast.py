"""The LSTM's forward and backward sweeps for NumPy arrays: in place, few calls per step.

Same equations as ``core/lstm.py`` (the tests hold the two paths together to rounding); only
the bookkeeping differs. At lecture sizes the cost is the number of NumPy calls per step and
the price of each (a ufunc on a strided view costs about four times one on a contiguous block),
not arithmetic. So:

* the batch is the last axis inside, (T, 4H, B) and (T, H, B): every gate block of a step is a
  contiguous (H, B) block; the caller gets (T, B, ...) views of them;
* one buffer ``xh`` (T+1, D+H+1, B) holds the columns [x(t); h(t-1); 1], so each step is ONE
  GEMM with the stacked weights [W_x; W_h; b]^T (no separate bias add), and after the sweep all
  weight gradients are ONE GEMM, xh z_bar^T, rows [W_x | W_h | b] (:func:`steps_array` picks
  the memory order of ``xh`` and z_bar that suits that GEMM at the given size);
* the sigmoids come from the same tanh call as g: σ(z) = ½ + ½ tanh(z/2), with the i, f, o
  columns of W halved, so each step has one tanh over all 4H gates, and 1 - tanh² of it gives
  tanh'(z_g) and 4 σ'(z) at once (eqs (7), (8));
* per-step views come from ``zip`` over the step axis (cheaper than slicing in the loop), and
  every per-step result is written with ``out=``. Work without a recurrence stays inside the
  sweep where its operands are still in cache: done for all steps at once afterwards it ran on
  strided views of arrays larger than the cache, and measured slower at both benchmark sizes.
  So did a batch-major layout (blocks (B, 4H) per step, strided gate slices), although it lets
  the weight GEMM read its operands without a copy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.lstm import LSTMCache

# Per-step blocks of at least this many entries (B * 4H) are stored row-major across steps,
# (R, T, B), so the weight GEMM reads them in place; smaller ones are stored step-major, (T, R, B),
# and copied once for it. Measured: a GEMM or ufunc on a strided (R, B) view costs about 3 µs more
# per call at lecture sizes, while the copy costs about 1 ns per entry.
WIDE_STEP = 4096


def steps_array(T: int, R: int, B: int, dtype: Any, wide: bool) -> np.ndarray:
    """A (T, R, B) array whose per-step blocks are contiguous (step-major) or strided (wide)."""
    if wide:
        return np.empty((R, T, B), dtype=dtype).transpose(1, 0, 2)
    return np.empty((T, R, B), dtype=dtype)


def forward(W_x: np.ndarray, W_h: np.ndarray, b: np.ndarray, x: np.ndarray, h0: np.ndarray,
            c0: np.ndarray) -> dict[str, Any]:
    """Fields of an :class:`LSTMCache`, as (T, B, ...) views of the unit-major buffers."""
    T, B, D = x.shape
    H = W_h.shape[0]
    K = D + H + 1
    dt = x.dtype
    one, half = dt.type(1.0), dt.type(0.5)
    W_half = np.concatenate([W_x, W_h, b[None, :]], axis=0)  # (K, 4H): rows [W_x; W_h; b]
    W_half[:, :3 * H] *= 0.5  # σ(z) = ½ + ½ tanh(z/2): one tanh call covers all four gates
    W_half = np.ascontiguousarray(W_half.T)  # (4H, K)
    xh = steps_array(T + 1, K, B, dt, B * 4 * H >= WIDE_STEP)  # xh[t] = [x(t); h(t-1); 1]
    xh[:T, :D] = x.transpose(0, 2, 1)
    xh[T, :D] = 0.0
    xh[0, D:D + H] = h0.T
    xh[:, D + H] = 1.0
    gates = np.empty((T, 4 * H, B), dtype=dt)  # rows [i; f; o; g]
    u2 = np.empty((T, 4 * H, B), dtype=dt)  # 1 - tanh² of the gate tanh: [4σ'_i; 4σ'_f; 4σ'_o; tanh'_g]
    c = np.empty((T + 1, H, B), dtype=dt)
    c[0] = c0.T
    tanh_c = np.empty((T, H, B), dtype=dt)
    ig = np.empty((H, B), dtype=dt)
    mul, add, tanh = np.multiply, np.add, np.tanh
    steps = zip(xh[:-1], xh[1:, D:D + H], gates,
                gates[:, :3 * H], gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:],
                u2, c[:-1], c[1:], tanh_c, strict=True)
    for xh_t, h, G, S, i, f, o, g, U2, c_prev, c_t, tc in steps:
        np.dot(W_half, xh_t, out=G)  # (4H, B)
        tanh(G, out=G)
        mul(G, G, out=U2)
        np.subtract(one, U2, out=U2)
        add(S, one, out=S)
        mul(S, half, out=S)  # i, f, o
        mul(f, c_prev, out=c_t)
        mul(i, g, out=ig)
        add(c_t, ig, out=c_t)  # c(t) = f c(t-1) + i g
        tanh(c_t, out=tc)
        mul(o, tc, out=h)  # h(t) = o tanh c, written into xh[t+1]
    return dict(x=x, h=xh[:, D:D + H].transpose(0, 2, 1), c=c.transpose(0, 2, 1),
                gates=gates.transpose(0, 2, 1), tanh_c=tanh_c.transpose(0, 2, 1), xh=xh, u2=u2)


def backward(W_x: np.ndarray, W_h: np.ndarray, b: np.ndarray, cache: LSTMCache,
             dL_dh: np.ndarray) -> dict[str, Any]:
    """Fields of an :class:`LSTMGrads`, as (T, B, ...) views of unit-major buffers."""
    T, B, H = dL_dh.shape
    D = W_x.shape[0]
    dt = dL_dh.dtype
    # u2 holds 4σ' for the sigmoid gates, so their z_bar is kept 4x too large; the quarter goes
    # back into the weights of the recurrent GEMM and into the weight gradients
    quarter = np.full(4 * H, 0.25, dtype=dt)
    quarter[3 * H:] = 1.0
    W = np.concatenate([W_x, W_h], axis=0) * quarter  # (D+H, 4H)
    G = cache.gates.transpose(0, 2, 1)  # (T, 4H, B): the unit-major buffer again
    i, f, o, g = G[:, :H], G[:, H:2 * H], G[:, 2 * H:3 * H], G[:, 3 * H:]
    tanh_c, c_prev = cache.tanh_c.transpose(0, 2, 1), cache.c[:-1].transpose(0, 2, 1)
    dl = np.ascontiguousarray(dL_dh.transpose(0, 2, 1))  # (T, H, B)
    q = cache.h[1:].transpose(0, 2, 1) * tanh_c  # o (1 - tanh² c) = o - h tanh c: h_bar -> c_bar, eq (2)
    np.subtract(o, q, out=q)

    h_bar = np.empty((T, H, B), dtype=dt)
    c_bar = np.empty((T, H, B), dtype=dt)
    gates_bar = np.empty((T, 4 * H, B), dtype=dt)  # rows [i_bar; f_bar; o_bar; g_bar]
    z4 = steps_array(T, 4 * H, B, dt, B * 4 * H >= WIDE_STEP)  # z_bar, sigmoid rows times 4
    r = np.empty((T, D + H, B), dtype=dt)  # r[t] = [W_x; W_h] z_bar(t) = [x_bar(t); h_prev_bar]
    c_next_bar = np.zeros((H, B), dtype=dt)  # c_bar(t+1) f(t+1)
    r_next = np.zeros((H, B), dtype=dt)
    mul, add = np.multiply, np.add
    steps = zip(dl, h_bar, c_bar, q, i, f, g, c_prev, tanh_c, gates_bar, gates_bar[:, :H],
                gates_bar[:, H:2 * H], gates_bar[:, 2 * H:3 * H], gates_bar[:, 3 * H:], cache.u2, z4, r,
                r[:, D:], strict=True)
    for dl_t, hb, cb, q_t, i_t, f_t, g_t, cp, tc, gb, i_bar, f_bar, o_bar, g_bar, U2, zb, r_t, r_h \
            in reversed(list(steps)):
        add(dl_t, r_next, out=hb)  # eq (1) plus the loss's own term dL/dh(t)
        mul(hb, q_t, out=cb)
        add(cb, c_next_bar, out=cb)  # eq (2)
        mul(cb, g_t, out=i_bar)  # eq (6)
        mul(cb, cp, out=f_bar)  # eq (5)
        mul(hb, tc, out=o_bar)  # eq (4)
        mul(cb, i_t, out=g_bar)  # eq (3)
        mul(gb, U2, out=zb)  # eqs (7), (8)
        np.dot(W, zb, out=r_t)  # [x_bar(t); the gate terms of eq (1) for h_bar(t-1)]
        mul(cb, f_t, out=c_next_bar)
        r_next = r_h

    K = D + H + 1
    # (K, T*B) @ (T*B, 4H): views of wide arrays, copies of step-major ones
    dW = cache.xh[:T].transpose(1, 0, 2).reshape(K, T * B) @ z4.transpose(0, 2, 1).reshape(T * B, 4 * H)
    dW *= quarter
    return dict(W_x=dW[:D], W_h=dW[D:D + H], b=dW[D + H], x=r[:, :D].transpose(0, 2, 1),
                h0=r[0, D:].T.copy(), c0=c_next_bar.T.copy(), h_bar=h_bar.transpose(0, 2, 1),
                c_bar=c_bar.transpose(0, 2, 1), gate_adjoints=gates_bar.transpose(0, 2, 1))
