"""MDLSTM: LSTM cells on the 2-D grid, swept by anti-diagonals (seed problem 5).

Seed problem 5 says an MDRNN is "more vulnerable to vanishing gradients" and that LSTM cells
relieve this. This is the cell that claim is about (Graves, Fernandez and Schmidhuber 2007,
"Multi-dimensional recurrent neural networks"), without peepholes. Cell (i, j) reads its
west neighbour (h_W, c_W) = (h, c)(i, j-1) and its north neighbour (h_N, c_N) = (h, c)(i-1, j),
zero outside the grid, like the seed's 2-D RNN (problem 3):

    a = W_in x(i,j) + W_W h_W + W_N h_N + b          (5H pre-activations, blocks below)
    graves:  c = i g + f_W c_W + f_N c_N             (one forget gate per direction)
    stable:  c = f (lam c_W + (1 - lam) c_N) + (1 - f) i g
    h = o tanh(c)

with i, f_W (or f), f_N (or lam), o = sigmoid of their blocks and g = tanh of the last.
Graves' cell adds both neighbours' cells with two forget gates, whose sum can exceed 1:
c may grow with the number of paths to the origin, exponentially in i + j. The stable form
follows Leifert et al. (2016), "Cells in multidimensional recurrent neural networks": a gate
lam mixes the two neighbour cells (a convex combination), and the input is coupled to the
forget gate, so c is a convex combination of c_W, c_N and i g, and |c| <= 1 everywhere.

Schedules: ``forward`` sweeps the 2G-1 anti-diagonals (seed problem 4), each one batched
matrix product, on the skewed layout of ``core.grid.layout`` (``skew``/``unskew``), where every
diagonal is one contiguous slice: cell (i, j) lives at ``S[d + 1, i + 1]`` with d = i + j, its
west neighbour at ``S[d, i + 1]`` and its north neighbour at ``S[d, i]``; index 0 on either
axis and the slots off the grid stay zero, which is the zero boundary.
``forward_raster`` visits the cells one by one (the reference). ``backward`` runs the
diagonals in reverse; weight adjoints are single large products after the sweep.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.backend import Backend, namespace, sigmoid, to_numpy
from core.grid.layout import diagonal_rows, skew, unskew
from core.limits import ConfigError, echo

CELLS = ("graves", "stable")
GATES = 5  # blocks of a: i, f_W | f, f_N | lam, o, g


def init_params(backend: Backend, D: int, H: int, seed: int, dtype: str = "float64",
                scale: float = 1.0, forget_bias: float = 1.0, cell: str = "stable") -> dict[str, Any]:
    """W_in (D, 5H), W_W and W_N (H, 5H) ~ N(0, scale^2 / fan_in), b (5H,) zero except the
    forget gates, which start at ``forget_bias``: block 1 (f_W or f) and, for Graves' cell,
    block 2 (f_N). The stable cell's lam (block 2) starts at 0, an even mix of west and north."""
    if cell not in CELLS:
        raise ConfigError(f"unknown MDLSTM cell {echo(cell)}: choose one of {', '.join(CELLS)}")
    p = {"W_in": backend.randn((D, GATES * H), seed=seed, dtype=dtype, scale=scale / D**0.5),
         "W_W": backend.randn((H, GATES * H), seed=seed + 1, dtype=dtype, scale=scale / H**0.5),
         "W_N": backend.randn((H, GATES * H), seed=seed + 2, dtype=dtype, scale=scale / H**0.5)}
    f_N = forget_bias if cell == "graves" else 0.0
    p["b"] = backend.asarray([0.0] * H + [forget_bias] * H + [f_N] * H + [0.0] * 2 * H, dtype)
    return p


# --- one cell (or one diagonal of cells, stacked along the first axis) ---------------------

def cell_forward(a: Any, c_W: Any, c_N: Any, cell: str) -> tuple[Any, Any, Any]:
    """Pre-activations a (N, 5H) and neighbour cells (N, H) -> (h, c, gates (N, 5H))."""
    xp = namespace(a, c_W, c_N)
    H = a.shape[-1] // GATES
    s = sigmoid(a[..., :4 * H])
    g = xp.tanh(a[..., 4 * H:])
    i, f1, f2, o = s[..., :H], s[..., H:2 * H], s[..., 2 * H:3 * H], s[..., 3 * H:]
    if cell == "graves":
        c = i * g + f1 * c_W + f2 * c_N
    else:  # stable: f1 = f, f2 = lam
        c = f1 * (f2 * c_W + (1.0 - f2) * c_N) + (1.0 - f1) * i * g
    h = o * xp.tanh(c)
    return h, c, xp.concat([s, g], axis=-1)


def cell_backward(h_bar: Any, c_bar: Any, gates: Any, c: Any, c_W: Any, c_N: Any,
                  cell: str) -> tuple[Any, Any, Any]:
    """Adjoints of :func:`cell_forward`: (a_bar (N, 5H), c_W_bar, c_N_bar) given h_bar and the
    adjoint c_bar that reaches c from the cells that read it (the 2-D form of seed eq. (2))."""
    xp = namespace(h_bar, c_bar, gates)
    H = c.shape[-1]
    i, f1, f2, o, g = (gates[..., n * H:(n + 1) * H] for n in range(GATES))
    tc = xp.tanh(c)
    o_bar = h_bar * tc  # seed eq. (4)
    c_bar = c_bar + h_bar * o * (1.0 - tc * tc)  # seed eq. (2), first term
    if cell == "graves":
        i_bar, g_bar = c_bar * g, c_bar * i  # seed eqs. (6), (3)
        f1_bar, f2_bar = c_bar * c_W, c_bar * c_N  # seed eq. (5), once per direction
        c_W_bar, c_N_bar = c_bar * f1, c_bar * f2
    else:
        mix = f2 * c_W + (1.0 - f2) * c_N
        f1_bar = c_bar * (mix - i * g)
        m_bar = c_bar * f1
        f2_bar = m_bar * (c_W - c_N)
        c_W_bar, c_N_bar = m_bar * f2, m_bar * (1.0 - f2)
        i_bar, g_bar = c_bar * (1.0 - f1) * g, c_bar * (1.0 - f1) * i
    s_bar = xp.concat([i_bar, f1_bar, f2_bar, o_bar], axis=-1)
    s = gates[..., :4 * H]
    a_bar = xp.concat([s_bar * s * (1.0 - s), g_bar * (1.0 - g * g)], axis=-1)  # seed eqs. (7), (8)
    return a_bar, c_W_bar, c_N_bar


# --- the wavefront sweep, on core.grid.layout's skewed layout ----------------------------------

def slab(xp: Any, S: Any, d: int, lo: int, hi: int) -> Any:
    """Slots [d, lo:hi] of a skewed array as one matrix (n B, F): a contiguous view."""
    return xp.reshape(S[d, lo:hi, ...], (-1, S.shape[-1]))


def to_grid(S: Any, R: int, C: int, pad: int = 1) -> Any:
    """A skewed array back to (B, R, C, F)."""
    return namespace(S).permute_dims(unskew(S, R, C, pad), (2, 0, 1, 3))


@dataclass(frozen=True)
class MDLSTMCache:
    """States on the skewed layout S[d + 1, i + 1] = state(i, d - i), kept for the backward sweep."""

    x: Any  # (B, R, C, D)
    h: Any  # (R+C, R+1, B, H)
    c: Any  # (R+C, R+1, B, H)
    gates: Any  # (R+C, R+1, B, 5H)
    cell: str


def _check(params: dict[str, Any], x: Any, cell: str) -> None:
    if cell not in CELLS:
        raise ConfigError(f"unknown MDLSTM cell {echo(cell)}: choose one of {', '.join(CELLS)}")
    if x.ndim != 4 or x.shape[-1] != params["W_in"].shape[0]:
        raise ConfigError(f"x must be (B, rows, cols, D={params['W_in'].shape[0]}), got {x.shape}")


def forward(params: dict[str, Any], x: Any, cell: str = "stable") -> tuple[Any, MDLSTMCache]:
    """Wavefront sweep: x (B, R, C, D) -> h (B, R, C, H) in R + C - 1 sequential steps."""
    _check(params, x, cell)
    xp = namespace(x, params["W_in"])
    B, R, C, D = x.shape
    H5 = params["W_W"].shape[1]
    H = H5 // GATES
    xs = xp.reshape(xp.permute_dims(x, (1, 2, 0, 3)), (R * C * B, D))  # (R C B, D)
    ax = skew(xp.reshape(xs @ params["W_in"] + params["b"], (R, C, B, H5)))  # ax[d, i]: (R+C-1, R, B, 5H)
    hs = xp.zeros((R + C, R + 1, B, H), dtype=x.dtype)  # row 0 and column 0: the zero boundary
    cs = xp.zeros((R + C, R + 1, B, H), dtype=x.dtype)
    gs = xp.zeros((R + C, R + 1, B, H5), dtype=x.dtype)
    for d in range(R + C - 1):
        lo, hi = diagonal_rows(d, R, C)
        n = hi - lo
        # west neighbours sit in the same rows of the diagonal before, north ones one row up
        a = (slab(xp, ax, d, lo, hi) + slab(xp, hs, d, lo + 1, hi + 1) @ params["W_W"]
             + slab(xp, hs, d, lo, hi) @ params["W_N"])  # (n B, 5H)
        h, c, g = cell_forward(a, slab(xp, cs, d, lo + 1, hi + 1), slab(xp, cs, d, lo, hi), cell)
        hs[d + 1, lo + 1:hi + 1, ...] = xp.reshape(h, (n, B, H))
        cs[d + 1, lo + 1:hi + 1, ...] = xp.reshape(c, (n, B, H))
        gs[d + 1, lo + 1:hi + 1, ...] = xp.reshape(g, (n, B, H5))
    return to_grid(hs, R, C), MDLSTMCache(x, hs, cs, gs, cell)


def backward(params: dict[str, Any], cache: MDLSTMCache, h_bar: Any,
             weights: bool = True) -> tuple[dict[str, Any], Any]:
    """Adjoints of W_in, W_W, W_N, b and x given h_bar (B, R, C, H), diagonals in reverse.

    The cache may hold one copy of the input (B = 1) for a batch of adjoints: the states are
    read broadcast against them (a sensitivity map seeds one adjoint per output unit on one
    forward pass). ``weights=False`` returns no weight adjoints (x_bar alone). Diagonals after
    the last one where h_bar is nonzero are not visited: their adjoints are exactly zero and
    send nothing back, so the result is that of the whole sweep."""
    xp = namespace(h_bar, params["W_in"])
    x = cache.x
    Bc, R, C, D = x.shape
    B = h_bar.shape[0]
    if Bc not in (1, B) or (weights and Bc != B):
        raise ConfigError(f"the cache holds {Bc} inputs for {B} adjoints: one, or one each (with weights)")
    H5 = params["W_W"].shape[1]
    H = H5 // GATES
    hb = skew(xp.permute_dims(h_bar, (1, 2, 0, 3)), pad=1)  # gathers what later cells send back too
    cb = xp.zeros_like(hb)
    ab = xp.zeros((*hb.shape[:3], H5), dtype=hb.dtype)
    T = xp.matrix_transpose
    W_W_T, W_N_T = T(params["W_W"]), T(params["W_N"])
    seeded = np.flatnonzero(to_numpy(xp.any(hb != 0, axis=(1, 2, 3))))  # slots d + 1 with outside adjoints
    last = min(int(seeded[-1]) - 1, R + C - 2) if seeded.size else -1
    for d in range(last, -1, -1):
        lo, hi = diagonal_rows(d, R, C)
        n = hi - lo
        here, west, north = ((d + 1, slice(lo + 1, hi + 1), ...), (d, slice(lo + 1, hi + 1), ...),
                             (d, slice(lo, hi), ...))
        a_bar, c_W_bar, c_N_bar = cell_backward(hb[here], cb[here], cache.gates[here], cache.c[here],
                                                cache.c[west], cache.c[north], cache.cell)  # (n, B, .)
        ab[here] = a_bar
        # send adjoints to the west and north neighbours (slots of the boundary are never read)
        flat = xp.reshape(a_bar, (n * B, H5))
        hb[west] += xp.reshape(flat @ W_W_T, (n, B, H))
        hb[north] += xp.reshape(flat @ W_N_T, (n, B, H))
        cb[west] += c_W_bar
        cb[north] += c_N_bar
    # weight adjoints: one product each over all cells; slot [d+1, r] read [d, r] (west) and
    # [d, r-1] (north), and a_bar is zero on every slot off the grid
    a_flat = xp.reshape(unskew(ab, R, C, pad=1), (R * C * B, H5))  # (R C B, 5H)
    grads = {}
    if weights:
        xs = xp.reshape(xp.permute_dims(x, (1, 2, 0, 3)), (R * C * B, D))  # (R C B, D)
        grads = {
            "W_in": T(xs) @ a_flat,
            "W_W": T(xp.reshape(cache.h[:-1, ...], (-1, H))) @ xp.reshape(ab[1:, ...], (-1, H5)),
            "W_N": T(xp.reshape(cache.h[:-1, :-1, ...], (-1, H))) @ xp.reshape(ab[1:, 1:, ...], (-1, H5)),
            "b": xp.sum(a_flat, axis=0),
        }
    x_bar = xp.permute_dims(xp.reshape(a_flat @ T(params["W_in"]), (R, C, B, D)), (2, 0, 1, 3))
    return grads, x_bar


def forward_raster(params: dict[str, Any], x: Any, cell: str = "stable") -> tuple[Any, Any]:
    """Reference schedule, one cell at a time in row-major order (R C sequential steps):
    x (B, R, C, D) -> (h, c), each (B, R, C, H)."""
    _check(params, x, cell)
    xp = namespace(x, params["W_in"])
    B, R, C, _ = x.shape
    H = params["W_W"].shape[0]
    zero = xp.zeros((B, H), dtype=x.dtype)
    h = [[zero] * C for _ in range(R)]
    c = [[zero] * C for _ in range(R)]
    for i in range(R):
        for j in range(C):
            h_W, c_W = (h[i][j - 1], c[i][j - 1]) if j > 0 else (zero, zero)
            h_N, c_N = (h[i - 1][j], c[i - 1][j]) if i > 0 else (zero, zero)
            a = x[:, i, j, :] @ params["W_in"] + h_W @ params["W_W"] + h_N @ params["W_N"] + params["b"]
            h[i][j], c[i][j], _ = cell_forward(a, c_W, c_N, cell)
    stack = lambda rows: xp.stack([xp.stack(r, axis=1) for r in rows], axis=1)  # noqa: E731
    return stack(h), stack(c)


def cell_states(cache: MDLSTMCache) -> Any:
    """The cell states c (B, R, C, H) of a forward sweep (to see whether they stay bounded)."""
    _, R, C, _ = cache.x.shape
    return to_grid(cache.c, R, C)
