"""The wavefront's geometry: anti-diagonals of a Gr x Gc grid and the skewed layout.

Cell (i, j) depends only on (i, j-1) and (i-1, j), so every cell of one anti-diagonal
d = i + j can be computed at once from the diagonal before (seed problem 4). Stored *skewed*,
``S[d + pad, i + pad] = state(i, d - i)``, a diagonal is a contiguous slice and its west and
north neighbours are the slices ``S[d - 1 + pad, i + pad]`` and ``S[d - 1 + pad, i - 1 + pad]``
of the diagonal before: nothing is gathered with index arrays. The MDRNN (``core.grid.mdrnn``)
and the MDLSTM (``core.grid.mdlstm``) both sweep this layout.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.backend import namespace


def diagonal_rows(d: int, Gr: int, Gc: int) -> tuple[int, int]:
    """Rows ``[lo, hi)`` of the cells (i, d - i) on anti-diagonal ``d`` of a Gr x Gc grid."""
    return max(0, d - Gc + 1), min(d, Gr - 1) + 1


def skewed_view(s: np.ndarray, Gr: int, Gc: int, pad: int = 0) -> np.ndarray:
    """NumPy only: the natural (Gr, Gc, ...) view of a C-ordered skewed buffer ``s``.

    Cell (i, j) sits at ``s[i + j + pad, i + pad]``, that is at offset i (s0 + s1) + j s0 from
    ``s[pad, pad]`` (s0, s1 the strides of the first two axes): a plain strided view, so skewing
    and unskewing are one copy each instead of Gr."""
    base = s[pad:, pad:]
    s0, s1 = s.strides[0], s.strides[1]
    return np.lib.stride_tricks.as_strided(base, shape=(Gr, Gc, *s.shape[2:]),
                                           strides=(s0 + s1, s0, *s.strides[2:]), writeable=True)


def skew(a: Any, pad: int = 0) -> Any:
    """Natural (Gr, Gc, ...) to skewed (Gr + Gc - 1 + pad, Gr + pad, ...) with
    ``out[i + j + pad, i + pad] = a[i, j]``; everything else (and index < pad) is zero.
    Done once, not per step: Gr slice copies (one strided copy on NumPy)."""
    xp = namespace(a)
    Gr, Gc = a.shape[0], a.shape[1]
    out = xp.zeros((Gr + Gc - 1 + pad, Gr + pad, *a.shape[2:]), dtype=a.dtype)
    if xp is np:
        skewed_view(out, Gr, Gc, pad)[...] = a
        return out
    for i in range(Gr):
        out[i + pad:i + pad + Gc, i + pad, ...] = a[i, ...]
    return out


def unskew(s: Any, Gr: int, Gc: int, pad: int = 0) -> Any:
    """Inverse of :func:`skew`: skewed (>= Gr + Gc - 1 + pad, >= Gr + pad, ...) to a new
    (Gr, Gc, ...) array."""
    xp = namespace(s)
    if xp is np:
        return skewed_view(np.ascontiguousarray(s), Gr, Gc, pad).copy()
    return xp.stack([s[i + pad:i + pad + Gc, i + pad, ...] for i in range(Gr)], axis=0)


def cell_steps(Gr: int, Gc: int, schedule: str) -> np.ndarray:
    """The sequential step (0-based) at which each cell is computed: i * Gc + j cell by cell,
    i + j by anti-diagonals. (Gr, Gc) integers; the animation on the MDRNN page draws these."""
    i, j = np.meshgrid(np.arange(Gr), np.arange(Gc), indexing="ij")
    if schedule == "raster":
        return i * Gc + j
    if schedule == "wavefront":
        return i + j
    raise ValueError(f"unknown schedule {schedule!r}")


def longest_chain(Gr: int, Gc: int) -> int:
    """The most cells on any chain of dependencies of the grid, found by walking it: cell (i, j)
    waits for (i, j-1) and (i-1, j), so its depth is one more than theirs. No schedule, however
    many products it runs at once, can finish in fewer steps: 2G - 1 is a lower bound as well as
    the wavefront's count (seed problem 4)."""
    depth = np.zeros((Gr, Gc), dtype=np.int64)
    for i in range(Gr):
        for j in range(Gc):
            depth[i, j] = 1 + max(depth[i, j - 1] if j else 0, depth[i - 1, j] if i else 0)
    return int(depth.max())
