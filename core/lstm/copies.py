"""Many moved copies of the LSTM in one forward: the losses that finite differences need.

A central difference in one entry needs the loss at two or four moves of that entry; checked
entry by entry at the page's sizes that was 192 forwards of a small LSTM, each set by NumPy's
cost per call rather than its arithmetic. Here the moved copies run side by side instead
(:func:`moved_losses`, the ``batch`` hook of :func:`core.check.entrywise`), and each copy's loss
is the loss of the LSTM with that one entry moved, to rounding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core import check
from core.backend import Backend, namespace
from core.lstm.model import LSTMParams, loss, lstm_forward

REPLICAS = 256  # moved copies per forward of :func:`moved_losses`, side by side in the batch
BLOCKS = 8  # moved copies of W_h per forward, as blocks of hidden units (the product grows as their square)


def moved_losses(backend: Backend, kind: str, y: Any, host: dict[str, np.ndarray], moves: list[check.Move],
                 fast: bool = True) -> np.ndarray:
    """The loss after each move of one entry, for :func:`core.check.entrywise`, many moved copies
    of the LSTM in one forward. Moves of x, h(0), c(0), W_x and b: copies of the batch side by
    side, up to :data:`REPLICAS` (copy r sees x, h(0), c(0) with its move; W_x[d, j] += s adds
    s x_d(t) to its z_j(t), and b[j] += s adds s, through an input feature for column j that
    only the moved copies hold, weighted 1 in that column). Moves of W_h: up to :data:`BLOCKS`
    copies as blocks of hidden units, W_h block-diagonal with the move in block r."""
    x, W_x, W_h, b = host["x"], host["W_x"], host["W_h"], host["b"]
    T, B, D = x.shape
    H = W_h.shape[0]
    a, out = backend.asarray, np.empty(len(moves))
    side = [n for n, move in enumerate(moves) if move[0] != "W_h"]
    blocks = [n for n, move in enumerate(moves) if move[0] == "W_h"]
    for start in range(0, len(side), REPLICAS):
        chunk = side[start:start + REPLICAS]
        R = len(chunk)
        cols = sorted({moves[n][1][-1] for n in chunk if moves[n][0] in ("W_x", "b")})  # the z columns moved
        X = np.zeros((T, R, B, D + len(cols)))
        X[..., :D] = x[:, None]
        h0, c0 = np.repeat(host["h0"][None], R, axis=0), np.repeat(host["c0"][None], R, axis=0)
        Wx = np.zeros((D + len(cols), 4 * H))
        Wx[:D] = W_x
        Wx[D + np.arange(len(cols)), cols] = 1.0
        for r, n in enumerate(chunk):
            name, idx, s = moves[n]
            if name == "x":
                X[idx[0], r, idx[1], idx[2]] += s
            elif name in ("h0", "c0"):
                (h0 if name == "h0" else c0)[(r, *idx)] += s
            else:  # W_x[d, j] or b[j]: s x_d(t) or s into z_j(t) of this copy alone
                X[:, r, :, D + cols.index(idx[-1])] = s * x[:, :, idx[0]] if name == "W_x" else s
        h, _ = lstm_forward(LSTMParams(a(Wx), a(W_h), a(b)), a(X.reshape(T, R * B, -1)),
                            a(h0.reshape(R * B, H)), a(c0.reshape(R * B, H)), fast=fast)
        h = namespace(h).reshape(h, (T, R, B, H))
        for r, n in enumerate(chunk):
            out[n] = float(loss(kind, h[:, r, ...], y)[0])
    for start in range(0, len(blocks), BLOCKS):
        chunk = blocks[start:start + BLOCKS]
        R = len(chunk)
        Wh = np.zeros((R, H, 4, R, H))  # rows (copy, unit), columns (gate, copy, unit)
        for r, n in enumerate(chunk):
            Wh[r, :, :, r, :] = W_h.reshape(H, 4, H)
            k, j = moves[n][1]
            Wh[r, k, j // H, r, j % H] += moves[n][2]
        Wx = np.repeat(W_x.reshape(D, 4, 1, H), R, axis=2).reshape(D, 4 * R * H)  # the same for every copy
        bb = np.repeat(b.reshape(4, 1, H), R, axis=1).reshape(4 * R * H)
        h0, c0 = (np.repeat(host[k][:, None], R, axis=1).reshape(B, R * H) for k in ("h0", "c0"))
        h, _ = lstm_forward(LSTMParams(a(Wx), a(Wh.reshape(R * H, 4 * R * H)), a(bb)), a(x), a(h0), a(c0), fast=fast)
        h = namespace(h).reshape(h, (T, B, R, H))
        for r, n in enumerate(chunk):
            out[n] = float(loss(kind, h[:, :, r, ...], y)[0])
    return out
