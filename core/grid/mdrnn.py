"""A 2-D grid RNN (MDRNN, seed problems 3 and 4): forward by raster or wavefront, backward.

Each cell (i, j) of a Gr x Gc grid reads its input x(i, j) and the states of its west and
north neighbours, with the zero state outside the grid::

    a(i, j) = W_in x(i, j) + W_W h(i, j-1) + W_N h(i-1, j) + b
    h(i, j) = tanh(a(i, j))

Arrays hold a batch first: x is (B, Gr, Gc, D), h is (B, Gr, Gc, H); inside, row vectors
(``x @ W_in.T``) on a (Gr, Gc, B, .) layout, so every cell's batch is one contiguous block.

Two schedules compute the same h:

* ``raster``: cell by cell, row by row, Gr*Gc sequential steps (the reference);
* ``wavefront``: one anti-diagonal i + j = d per step, Gr + Gc - 1 steps (seed problem 4),
  each step one batched product per neighbour over every cell of the diagonal, on the skewed
  layout of :mod:`core.grid.layout` (``S[d + 1, i + 1] = h(i, d - i)``: a diagonal and its
  west and north neighbours are contiguous slices; nothing is gathered per step).

Both schedules compute the input projection of all cells once, up front, skip the neighbour
products of boundary cells (their neighbour is the zero state), and count what they run in a
:class:`core.grid.cost.Tally` (``forward(...).cost``).

The backward pass (:func:`backward`) runs the wavefront in reverse: a_bar = h_bar * (1 - h^2)
of one diagonal feeds h_bar of the diagonal before through W_W (east) and W_N (south). The
weight adjoints are then large single products over all cells, after the sweep.

Names follow the seed: W_in, W_W, W_N, b, G, D, H, B; adjoints carry ``_bar``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from core.backend import Backend, inplace_module, namespace
from core.config import Config, param
from core.grid import cost
from core.grid.cost import ScheduleCost, Tally, Uncounted
from core.grid.layout import diagonal_rows, skew, skewed_view, unskew
from core.limits import require_memory

SCHEDULES = ("raster", "wavefront")
PRECISIONS = ("float64", "float32")


@dataclass(frozen=True)
class GridConfig(Config):
    """One grid: sizes of the seed's problem 3 (G x G cells, D inputs, H hidden) and a batch."""

    cli_topic: ClassVar[str] = "mdrnn cost"
    cli_run_options: ClassVar[tuple[str, ...]] = ("backend", "precision", "seed")
    Gr: int = param(16, 1, 512, label="G rows", help="rows of the grid")  # small: the page renders fast
    Gc: int = param(16, 1, 512, label="G columns", help="columns of the grid")
    D: int = param(3, 1, 256, label="D (input features)", help="features per cell, e.g. 3 for RGB")
    H: int = param(32, 1, 512, label="H (hidden units)", help="state size of each cell")
    B: int = param(1, 1, 256, label="B (batch)", help="grids processed at once")

    def check(self) -> None:
        need = cost.measure_bytes_estimate(self.Gr, self.Gc, self.D, self.H, self.B)
        what = (f"both schedules on a {self.Gr} x {self.Gc} grid with D={self.D}, H={self.H}, "
                f"B={self.B} (float64)")
        require_memory(need, what)


@dataclass(frozen=True)
class MDRNNParams:
    """Weights of the cell. Column-vector shapes, as in the seed's equations."""

    W_in: Any  # (H, D) input to hidden
    W_W: Any  # (H, H) west neighbour to hidden
    W_N: Any  # (H, H) north neighbour to hidden
    b: Any  # (H,) bias (eq (10) leaves it out of its count)

    @property
    def D(self) -> int:
        return int(self.W_in.shape[1])

    @property
    def H(self) -> int:
        return int(self.W_in.shape[0])

    def arrays(self) -> dict[str, Any]:
        return {"W_in": self.W_in, "W_W": self.W_W, "W_N": self.W_N, "b": self.b}

    def count(self, bias: bool = True) -> int:
        """Numbers in the real arrays (with or without the bias), to hold against eq (10)."""
        return sum(int(np.prod(a.shape)) for name, a in self.arrays().items() if bias or name != "b")


def init_params(backend: Backend, D: int, H: int, *, seed: int = 0, dtype: str = "float64",
                scale: float = 1.0) -> MDRNNParams:
    """Random weights, N(0, scale^2 / fan_in) with fan_in = D + 2H (the cell's inputs), and a
    small random bias so its adjoint is exercised. Drawn on the host: the same numbers on
    every backend."""
    rng = np.random.default_rng(seed)
    s = scale / np.sqrt(D + 2 * H)
    return MDRNNParams(W_in=backend.randn((H, D), rng, dtype, s), W_W=backend.randn((H, H), rng, dtype, s),
                       W_N=backend.randn((H, H), rng, dtype, s), b=backend.randn((H,), rng, dtype, 0.1))


# --------------------------------------------------------------------------- forward


@dataclass(frozen=True)
class Forward:
    """Result of :func:`forward`: the states and what it cost to compute them."""

    h: Any  # (B, Gr, Gc, H)
    cost: ScheduleCost


def _check(params: MDRNNParams, x: Any) -> None:
    if len(x.shape) != 4:
        raise ValueError(f"x must be (B, Gr, Gc, D), got shape {tuple(x.shape)}")
    if x.shape[3] != params.D:
        raise ValueError(f"x has D = {x.shape[3]} features but W_in expects D = {params.D}")
    if x.dtype != params.W_in.dtype:
        raise ValueError(f"x is {x.dtype} but the weights are {params.W_in.dtype}")


def _project(params: MDRNNParams, x: Any, tally: Tally, out: Any = None) -> Any:
    """Input projection of all cells at once: P = x W_in^T + b, (B, Gr, Gc, D) -> (Gr, Gc, B, H).
    NumPy may pass ``out`` (a strided view, say) to receive P without another copy."""
    xp = namespace(x, params.W_in)
    B, Gr, Gc, D = x.shape
    xs = xp.reshape(xp.permute_dims(x, (1, 2, 0, 3)), (Gr * Gc * B, D))  # (Gr Gc B, D)
    Z = xp.reshape(tally.mm(xs, params.W_in.T, "input"), (Gr, Gc, B, params.H))  # (Gr, Gc, B, H)
    tally.hold(Z)  # the projected inputs: part of the state memory of both schedules
    tally.elementwise("add", Gr * Gc * B * params.H)  # the bias
    if out is None:
        return Z + params.b
    np.add(Z, params.b, out=out)
    tally.release(Z)
    return out


def forward(params: MDRNNParams, x: Any, schedule: str = "wavefront", *, count: bool = True) -> Forward:
    """States h (B, Gr, Gc, H) of the grid for inputs x (B, Gr, Gc, D), by ``schedule``
    ("raster" or "wavefront"); ``.cost`` holds the counted steps, multiply-adds and memory
    (with ``count=False``, for timing, nothing is counted and ``.cost`` is all zeros)."""
    _check(params, x)
    tally = Tally if count else Uncounted
    if schedule == "raster":
        return _raster(params, x, tally("raster"))
    if schedule == "wavefront":
        return _wavefront(params, x, tally=tally("wavefront"))
    raise ValueError(f"unknown schedule {schedule!r}: choose one of {', '.join(SCHEDULES)}")


def _raster(params: MDRNNParams, x: Any, tally: Tally) -> Forward:
    """The reference: Gr * Gc sequential steps, one cell each."""
    xp = namespace(x, params.W_in)
    _, Gr, Gc, _ = x.shape
    P = _project(params, x, tally)  # (Gr, Gc, B, H)
    h = xp.zeros(P.shape, dtype=P.dtype)  # (Gr, Gc, B, H)
    tally.hold(h)
    W_Wt, W_Nt = params.W_W.T, params.W_N.T
    for i in range(Gr):
        for j in range(Gc):
            a = P[i, j, ...]  # (B, H)
            if j > 0:  # the first column's west state is zero: nothing to multiply
                a = a + tally.mm(h[i, j - 1, ...], W_Wt, "recurrent")
                tally.elementwise("add", a.size)
            if i > 0:  # likewise the first row's north state
                a = a + tally.mm(h[i - 1, j, ...], W_Nt, "recurrent")
                tally.elementwise("add", a.size)
            h[i, j, ...] = xp.tanh(a)
            tally.elementwise("tanh", a.size)
            tally.step()
    return Forward(xp.permute_dims(h, (2, 0, 1, 3)), tally.result())


def _wavefront(params: MDRNNParams, x: Any, fast: bool = True, tally: Tally | None = None) -> Forward:
    """Gr + Gc - 1 sequential steps, one anti-diagonal each, over the skewed layout.

    ``S[d + 1, i + 1]`` first holds the projected input of cell (i, d - i), and step d
    overwrites diagonal d with its states; row 0 and diagonal 0 stay zero (outside the grid).
    On NumPy and CuPy each step runs in place (:func:`_wavefront_step_inplace`: five calls, no
    allocation; on a GPU each call is a kernel launch, which is what a step costs at small
    sizes); ``fast=False`` takes the standard-only path there too (the tests compare the two).
    """
    xp = namespace(x, params.W_in)
    B, Gr, Gc, _ = x.shape
    H = params.H
    tally = tally or Tally("wavefront")
    mod = inplace_module(xp) if fast else None
    if mod is np:  # project straight into the skewed buffer through a strided view
        S = np.zeros((Gr + Gc, Gr + 1, B, H), dtype=x.dtype)  # (Gr + Gc, Gr + 1, B, H)
        tally.hold(S)
        _project(params, x, tally, out=skewed_view(S, Gr, Gc, pad=1))
    else:
        P = _project(params, x, tally)  # (Gr, Gc, B, H)
        S = skew(P, pad=1)  # (Gr + Gc, Gr + 1, B, H)
        tally.hold(S)
        tally.release(P)
        del P
    work = None
    if mod is not None:
        work = mod.empty((min(Gr, Gc) * B, H), dtype=S.dtype)  # per-step scratch, reused
        tally.hold(work)
    W_Wt, W_Nt = params.W_W.T, params.W_N.T
    for d in range(Gr + Gc - 1):
        lo, hi = diagonal_rows(d, Gr, Gc)
        n = hi - lo
        nw = min(hi, d) - lo  # rows lo .. lo+nw-1 have j >= 1: a west neighbour in the grid
        n0 = max(lo, 1) - lo  # rows lo+n0 .. hi-1 have i >= 1: a north neighbour in the grid
        if work is not None:
            _wavefront_step_inplace(mod, S, d, lo, n, nw, n0, W_Wt, W_Nt, work, tally)
        else:
            _wavefront_step(S, d, lo, n, nw, n0, W_Wt, W_Nt, tally)
        tally.step()
    # On NumPy h is a strided view into S (no copy; S stays alive with it).
    h = skewed_view(S, Gr, Gc, pad=1) if mod is np else unskew(S, Gr, Gc, pad=1)  # (Gr, Gc, B, H)
    return Forward(xp.permute_dims(h, (2, 0, 1, 3)), tally.result())


def _wavefront_step(S: Any, d: int, lo: int, n: int, nw: int, n0: int, W_Wt: Any, W_Nt: Any,
                    tally: Tally) -> None:
    """Diagonal d, rows lo .. lo+n-1, in the skewed buffer S (standard API only)::

        a = P + W_W h_west (first nw rows) + W_N h_north (rows n0 ..),   h = tanh(a)

    West states are ``S[d, i + 1]``, north states ``S[d, i]``: two contiguous slices."""
    xp = namespace(S)
    B, H = S.shape[2], S.shape[3]
    a = S[d + 1, lo + 1:lo + 1 + n, ...]  # (n, B, H): the projected inputs
    if nw > 0:
        west = xp.reshape(S[d, lo + 1:lo + 1 + nw, ...], (nw * B, H))  # (nw B, H)
        zw = xp.reshape(tally.mm(west, W_Wt, "recurrent"), (nw, B, H))
        a = xp.concat([a[:nw, ...] + zw, a[nw:, ...]], axis=0) if nw < n else a + zw
        tally.elementwise("add", nw * B * H)
    if n0 < n:
        north = xp.reshape(S[d, lo + n0:lo + n, ...], ((n - n0) * B, H))  # ((n - n0) B, H)
        zn = xp.reshape(tally.mm(north, W_Nt, "recurrent"), (n - n0, B, H))
        a = xp.concat([a[:n0, ...], a[n0:, ...] + zn], axis=0) if n0 > 0 else a + zn
        tally.elementwise("add", (n - n0) * B * H)
    S[d + 1, lo + 1:lo + 1 + n, ...] = xp.tanh(a)
    tally.elementwise("tanh", n * B * H)


def _wavefront_step_backward(A: Any, Gk: Any, Hs: Any, d: int, lo: int, n: int, e0: int, ns: int,
                             W_W: Any, W_N: Any, tally: Tally) -> None:
    """The adjoint of :func:`_wavefront_step` for diagonal d, given a_bar of diagonal d + 1::

        h_bar = outside part + W_W^T a_bar(east) (rows e0 ..) + W_N^T a_bar(south) (first ns rows)
        a_bar = h_bar * (1 - h^2)

    East adjoints are ``A[d + 1, i]``, south ones ``A[d + 1, i + 1]``: two contiguous slices."""
    xp = namespace(A)
    B, H = A.shape[2], A.shape[3]
    g = xp.asarray(Gk[d, lo:lo + n, ...], copy=True)  # (n, B, H): h_bar from outside the grid
    if e0 < n:
        east = xp.reshape(A[d + 1, lo + e0:lo + n, ...], ((n - e0) * B, H))  # ((n - e0) B, H)
        g[e0:, ...] = g[e0:, ...] + xp.reshape(tally.mm(east, W_W, "recurrent"), (n - e0, B, H))
    if ns > 0:
        south = xp.reshape(A[d + 1, lo + 1:lo + 1 + ns, ...], (ns * B, H))  # (ns B, H)
        g[:ns, ...] = g[:ns, ...] + xp.reshape(tally.mm(south, W_N, "recurrent"), (ns, B, H))
    hd = Hs[d + 1, lo + 1:lo + 1 + n, ...]  # (n, B, H)
    A[d, lo:lo + n, ...] = g * (1 - hd * hd)


def _wavefront_step_inplace(mod: Any, S: Any, d: int, lo: int, n: int, nw: int, n0: int, W_Wt: Any,
                            W_Nt: Any, work: Any, tally: Tally) -> None:
    """One diagonal in place with the ``out=`` arguments of ``mod`` (NumPy or CuPy): no
    allocation per step. Same arithmetic as the standard path (tested against it)."""
    B, H = S.shape[2], S.shape[3]
    a = S[d + 1, lo + 1:lo + 1 + n].reshape(n * B, H)  # (n B, H), a view: inputs, then h
    if nw > 0:
        t = work[:nw * B]
        tally.mm(S[d, lo + 1:lo + 1 + nw].reshape(nw * B, H), W_Wt, "recurrent", out=t, module=mod)
        mod.add(a[:nw * B], t, out=a[:nw * B])
        tally.elementwise("add", nw * B * H)
    if n0 < n:
        t = work[:(n - n0) * B]
        tally.mm(S[d, lo + n0:lo + n].reshape((n - n0) * B, H), W_Nt, "recurrent", out=t, module=mod)
        mod.add(a[n0 * B:], t, out=a[n0 * B:])
        tally.elementwise("add", (n - n0) * B * H)
    mod.tanh(a, out=a)
    tally.elementwise("tanh", n * B * H)


@dataclass(frozen=True)
class Grads:
    """Adjoints (the seed's overlines) of a scalar loss L with respect to each input."""

    W_in: Any  # (H, D)
    W_W: Any  # (H, H)
    W_N: Any  # (H, H)
    b: Any  # (H,)
    x: Any  # (B, Gr, Gc, D)

    def arrays(self) -> dict[str, Any]:
        return {"W_in": self.W_in, "W_W": self.W_W, "W_N": self.W_N, "b": self.b, "x": self.x}


def backward(params: MDRNNParams, x: Any, h: Any, h_bar: Any) -> tuple[Grads, ScheduleCost]:
    """Adjoints of W_in, W_W, W_N, b and x, given the states ``h`` of :func:`forward` (either
    schedule) and ``h_bar`` = dL/dh(i, j) from outside the grid, both (B, Gr, Gc, H).

    The reverse wavefront visits diagonals d = Gr + Gc - 2 ... 0; a cell's total state adjoint is
    its outside part plus what its east and south neighbours (both on diagonal d + 1) send back:
    h_bar(i, j) += W_W^T a_bar(i, j+1) + W_N^T a_bar(i+1, j), a_bar = h_bar * (1 - h^2). After
    the sweep W_in_bar = sum a_bar x^T, W_W_bar = sum a_bar(i,j) h(i,j-1)^T, W_N_bar likewise,
    b_bar = sum a_bar and x_bar = W_in^T a_bar, each one product over all cells and the batch.
    """
    _check(params, x)
    xp = namespace(x, h, h_bar, params.W_in)
    B, Gr, Gc, D = x.shape
    H = params.H
    tally = Tally("wavefront-backward")
    hn = xp.permute_dims(h, (1, 2, 0, 3))  # (Gr, Gc, B, H)
    Hs = skew(hn, pad=1)  # (Gr + Gc, Gr + 1, B, H): Hs[d + 1, i + 1] = h(i, d - i)
    Gk = skew(xp.permute_dims(h_bar, (1, 2, 0, 3)))  # (Gr + Gc - 1, Gr, B, H): outside h_bar
    A = xp.zeros((Gr + Gc, Gr + 1, B, H), dtype=h.dtype)  # A[d, i] = a_bar(i, d - i); rest zero
    tally.hold(Hs, Gk, A)
    for d in range(Gr + Gc - 2, -1, -1):
        lo, hi = diagonal_rows(d, Gr, Gc)
        n = hi - lo
        e0 = max(lo, d - Gc + 2) - lo  # rows lo+e0 .. hi-1 have j + 1 <= Gc - 1: an east neighbour
        ns = min(hi, Gr - 1) - lo  # rows lo .. lo+ns-1 have i + 1 <= Gr - 1: a south neighbour
        _wavefront_step_backward(A, Gk, Hs, d, lo, n, e0, ns, params.W_W, params.W_N, tally)
        tally.step()
    a_bar = unskew(A, Gr, Gc)  # (Gr, Gc, B, H)
    tally.hold(a_bar)

    def flat(t: Any) -> Any:
        return xp.reshape(t, (-1, t.shape[-1]))  # (cells * B, features)

    xs = xp.permute_dims(x, (1, 2, 0, 3))  # (Gr, Gc, B, D)
    W_in_bar = tally.mm(flat(a_bar).T, flat(xs), "input")  # (H, D)
    W_W_bar = tally.mm(flat(a_bar[:, 1:, ...]).T, flat(hn[:, :-1, ...]), "recurrent")  # (H, H)
    W_N_bar = tally.mm(flat(a_bar[1:, ...]).T, flat(hn[:-1, ...]), "recurrent")  # (H, H)
    b_bar = xp.sum(flat(a_bar), axis=0)  # (H,)
    x_bar = xp.reshape(tally.mm(flat(a_bar), params.W_in, "input"), (Gr, Gc, B, D))  # (Gr, Gc, B, D)
    grads = Grads(W_in_bar, W_W_bar, W_N_bar, b_bar, xp.permute_dims(x_bar, (2, 0, 1, 3)))
    return grads, tally.result()


def linear_loss_and_grads(params: MDRNNParams, x: Any, c: Any) -> tuple[Any, Grads]:
    """L = sum over cells of <c(i, j), h(i, j)> (a random linear read-out, for gradient
    checks) and its adjoints: h_bar = c."""
    xp = namespace(x, c)
    fwd = forward(params, x, "wavefront")
    grads, _ = backward(params, x, fwd.h, c)
    return xp.sum(fwd.h * c), grads
