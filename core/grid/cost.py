"""Cost of a 2-D grid RNN: weight counts and cost models, and a tally of what actually runs.

Two halves, kept apart on purpose:

* **Models** -- tiny pure functions of the sizes, each saying where it comes from (seed
  problem 3, eqs (10)-(11), and problem 4), plus the count that matches what ``core.mdrnn``
  executes. Nothing here looks at arrays.
* **Counting** -- :class:`Tally`, which a schedule calls for every matrix product it runs,
  every sequential step it takes and every state buffer it holds. The measured figures come
  from the shapes of the products that really ran, so a model is checked, never assumed.

Conventions: a *multiply-add* (MAC) is one ``a*b + c``; a product of an (M, K) by a (K, N)
matrix costs M*K*N of them. Grids are ``Gr`` rows by ``Gc`` columns (the seed's square
G x G is ``Gr = Gc = G``); ``B`` inputs are processed at once.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from core import timing
from core.grid.layout import diagonal_rows

# --------------------------------------------------------------------------- weights


def weights_seed(D: int, H: int) -> int:
    """Seed eq (10): W_in (H x D), W_W and W_N (H x H each): DH + 2H^2. Correct for the
    matrices; it leaves out the bias b."""
    return D * H + 2 * H * H


def weights_with_bias(D: int, H: int) -> int:
    """Every trainable number of the cell h = tanh(W_in x + W_W h_W + W_N h_N + b):
    eq (10) plus the H biases."""
    return weights_seed(D, H) + H


# --------------------------------------------------------------------------- arithmetic


def macs_seed(Gr: int, Gc: int, D: int, H: int, B: int = 1) -> int:
    """Seed eq (11): G^2 (DH + H^2) per input (here Gr*Gc for G^2, times B).

    It counts one H x H product per cell, but every cell reads *two* neighbours through two
    different matrices (W_W and W_N), so it undercounts the recurrent part by half: for
    H >> D the true figure is close to twice this."""
    return B * Gr * Gc * (D * H + H * H)


def macs_dense(Gr: int, Gc: int, D: int, H: int, B: int = 1) -> int:
    """G^2 (DH + 2H^2): every cell applies W_in, W_W and W_N, even where a neighbour lies
    outside the grid and its state is the zero vector (what a code that pads does)."""
    return B * Gr * Gc * (D * H + 2 * H * H)


def recurrent_products(Gr: int, Gc: int) -> tuple[int, int]:
    """(west, north): how many cells have a west neighbour inside the grid, and how many a
    north one. The first column reads a zero west state and the first row a zero north state,
    so those products can be skipped: Gr(Gc - 1) west and (Gr - 1)Gc north."""
    return Gr * (Gc - 1), (Gr - 1) * Gc


def macs_exact(Gr: int, Gc: int, D: int, H: int, B: int = 1) -> int:
    """What ``core.mdrnn`` executes in either schedule: the input projection of every cell
    (Gr Gc DH) plus one H x H product per *existing* neighbour, boundary zeros skipped:
    B (Gr Gc DH + H^2 (2 Gr Gc - Gr - Gc)). For a square grid that is G^2 (DH + 2H^2) - 2GH^2."""
    west, north = recurrent_products(Gr, Gc)
    return B * (Gr * Gc * D * H + (west + north) * H * H)


def macs_backward_exact(Gr: int, Gc: int, D: int, H: int, B: int = 1) -> int:
    """The backward pass of ``core.mdrnn``: the reverse sweep sends a_bar through W_W and W_N
    (same count as forward), then W_W_bar and W_N_bar (same again), W_in_bar and x_bar
    (Gr Gc DH each). Exactly twice the forward count."""
    return 2 * macs_exact(Gr, Gc, D, H, B)


def tanh_count(Gr: int, Gc: int, H: int, B: int = 1) -> int:
    """Elementwise tanh evaluations (one per hidden unit per cell); not multiply-adds."""
    return B * Gr * Gc * H


def additions_exact(Gr: int, Gc: int, H: int, B: int = 1) -> int:
    """Vector additions beside the products, in ``core.grid.mdrnn``: the bias added to every
    cell's projected input, and each neighbour product added to the cell's sum: B H (Gr Gc +
    Gr(Gc - 1) + (Gr - 1)Gc)."""
    west, north = recurrent_products(Gr, Gc)
    return B * H * (Gr * Gc + west + north)


def flops_exact(Gr: int, Gc: int, D: int, H: int, B: int = 1) -> int:
    """Floating-point operations of one forward pass: two per multiply-add (a multiplication and
    an addition) plus the additions beside the products; the tanh evaluations are counted apart
    (:func:`tanh_count`). Problem 3's "multiplications and additions" in this unit: about twice
    the multiply-add count."""
    return 2 * macs_exact(Gr, Gc, D, H, B) + additions_exact(Gr, Gc, H, B)


# --------------------------------------------------------------------------- steps


def steps_raster(Gr: int, Gc: int) -> int:
    """Cell by cell: one sequential step per cell, G^2 for the seed's square grid."""
    return Gr * Gc


def steps_wavefront(Gr: int, Gc: int) -> int:
    """Seed problem 4: cell (i, j) needs only (i, j-1) and (i-1, j), so all cells with the
    same i + j (an anti-diagonal) can run at once. i + j takes Gr + Gc - 1 values: 2G - 1 for
    a square grid (problem 4's answer, which is right)."""
    return Gr + Gc - 1


def diagonal_lengths(Gr: int, Gc: int) -> list[int]:
    """Cells per anti-diagonal: 1, 2, ..., min(Gr, Gc), ..., 2, 1. They sum to Gr * Gc."""
    return [hi - lo for lo, hi in (diagonal_rows(d, Gr, Gc) for d in range(Gr + Gc - 1))]


# --------------------------------------------------------------------------- memory


def state_bytes_raster(Gr: int, Gc: int, H: int, B: int = 1, itemsize: int = 8) -> int:
    """Raster holds the projected inputs and the states of every cell: 2 Gr Gc vectors of B H."""
    return 2 * Gr * Gc * B * H * itemsize


def state_bytes_wavefront(Gr: int, Gc: int, H: int, B: int = 1, itemsize: int = 8) -> int:
    """Wavefront holds the projected inputs (Gr Gc vectors of B H) while it copies them into
    the zero-padded skewed state buffer: (Gr + Gc) diagonals of Gr + 1 rows, diagonal d at
    index d + 1 and row i at i + 1, index 0 being the zero state outside the grid. For a square
    grid that is about 3 G^2 vectors against raster's 2 G^2: the price of contiguous diagonals."""
    cells = Gr * Gc + (Gr + Gc) * (Gr + 1)
    return cells * B * H * itemsize


def forward_bytes_estimate(Gr: int, Gc: int, D: int, H: int, B: int = 1, itemsize: int = 8) -> int:
    """Upper estimate of one forward pass: inputs, the larger schedule's state, the output h."""
    inputs = Gr * Gc * B * D * itemsize
    out = Gr * Gc * B * H * itemsize
    return inputs + out + max(state_bytes_raster(Gr, Gc, H, B, itemsize),
                              state_bytes_wavefront(Gr, Gc, H, B, itemsize))


def measure_bytes_estimate(Gr: int, Gc: int, D: int, H: int, B: int = 1, itemsize: int = 8) -> int:
    """What ``mdrnn cost`` holds at once: the inputs, both schedules' states (their outputs
    included), and the fused baseline's (Gr Gc B, D + 2H) operand with its two (Gr Gc B, H)
    results."""
    cells = Gr * Gc * B
    fused = cells * (D + 2 * H) + 2 * cells * H
    return (cells * D + fused) * itemsize + state_bytes_raster(Gr, Gc, H, B, itemsize) \
        + state_bytes_wavefront(Gr, Gc, H, B, itemsize)


def backward_bytes_estimate(Gr: int, Gc: int, D: int, H: int, B: int = 1, itemsize: int = 8) -> int:
    """Upper estimate of a backward pass: the forward's arrays, skewed h and a_bar (padded),
    the incoming h_bar, a_bar in natural layout and the copies made for the weight products."""
    skewed = 2 * (Gr + Gc) * (Gr + 1) * B * H * itemsize
    natural = 5 * Gr * Gc * B * H * itemsize + 2 * Gr * Gc * B * D * itemsize
    return forward_bytes_estimate(Gr, Gc, D, H, B, itemsize) + skewed + natural


# --------------------------------------------------------------------------- fits


def loglog_slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of log y against log x (the exponent p in y ~ x^p).
    NaN with fewer than two distinct positive points."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len({p[0] for p in pts}) < 2:
        return float("nan")
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx


# --------------------------------------------------------------------------- counting what runs


@dataclass(frozen=True)
class ScheduleCost:
    """What one run of a schedule actually did, counted while it ran."""

    schedule: str
    steps: int  # sequential steps: stages that must wait for the one before
    macs: int  # multiply-adds of every matrix product executed (from their shapes)
    macs_input: int  # of which: the input projection W_in x
    macs_recurrent: int  # of which: the neighbour products W_W h_W and W_N h_N
    products: int  # matrix-product calls issued (Python-level launches)
    peak_state_bytes: int  # largest total of state buffers held at once
    additions: int = 0  # elements added beside the products (bias, neighbour sums)
    tanh: int = 0  # tanh evaluations
    calls: int = 0  # arithmetic calls issued, products and elementwise: on a GPU, kernel launches

    @property
    def flops(self) -> int:
        """Two per multiply-add, plus the additions beside the products (tanh apart)."""
        return 2 * self.macs + self.additions

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Tally:
    """Counter a schedule updates as it runs; :meth:`result` freezes it into a ScheduleCost.

    ``mm(a, b, kind)`` performs ``a @ b`` for 2-D ``a`` (M, K) and ``b`` (K, N) and adds
    M*K*N multiply-adds under ``kind`` ("input", "recurrent" or "other"); ``elementwise(op, n)``
    records an addition or tanh call over n elements; ``step()`` marks one sequential step;
    ``hold(*arrays)`` adds buffers to the state memory held (``release`` removes them), tracking
    the peak.
    """

    schedule: str
    steps: int = 0
    macs_by_kind: dict[str, int] = field(default_factory=lambda: {"input": 0, "recurrent": 0, "other": 0})
    products: int = 0
    held_bytes: int = 0
    peak_bytes: int = 0
    elements: dict[str, int] = field(default_factory=lambda: {"add": 0, "tanh": 0})
    elementwise_calls: int = 0

    def mm(self, a: Any, b: Any, kind: str, out: Any = None, module: Any = np) -> Any:
        """a @ b, counted; with ``out``, written there by ``module.matmul`` (NumPy or CuPy)."""
        (M, K), (K2, N) = a.shape, b.shape
        if K != K2:
            raise ValueError(f"product shapes do not match: {a.shape} @ {b.shape}")
        self.macs_by_kind[kind] += M * K * N
        self.products += 1
        if out is not None:
            return module.matmul(a, b, out=out)
        return a @ b

    def count(self, macs: int, kind: str = "other", products: int = 1) -> None:
        """Record products run outside :meth:`mm` (a batched call, say)."""
        self.macs_by_kind[kind] += macs
        self.products += products

    def elementwise(self, op: str, n: int) -> None:
        """Record one elementwise call of ``op`` ("add" or "tanh") over ``n`` elements."""
        self.elements[op] += n
        self.elementwise_calls += 1

    def step(self, n: int = 1) -> None:
        self.steps += n

    def hold(self, *arrays: Any) -> None:
        self.held_bytes += sum(nbytes(a) for a in arrays)
        self.peak_bytes = max(self.peak_bytes, self.held_bytes)

    def release(self, *arrays: Any) -> None:
        self.held_bytes -= sum(nbytes(a) for a in arrays)

    def result(self) -> ScheduleCost:
        m = self.macs_by_kind
        return ScheduleCost(self.schedule, self.steps, sum(m.values()), m["input"], m["recurrent"],
                            self.products, self.peak_bytes, additions=self.elements["add"],
                            tanh=self.elements["tanh"], calls=self.products + self.elementwise_calls)


class Uncounted(Tally):
    """A :class:`Tally` that keeps no count: the timed runs use it, so that their seconds are
    of the schedule's arithmetic and not of the bookkeeping (which cost 18% of the raster's time
    and 11% of the wavefront's at G = 64, H = 32). Its ``result()`` is all zeros."""

    def mm(self, a: Any, b: Any, kind: str, out: Any = None, module: Any = np) -> Any:
        return a @ b if out is None else module.matmul(a, b, out=out)

    def _nothing(self, *args: Any, **kwargs: Any) -> None:
        return None

    count = elementwise = step = hold = release = _nothing


def nbytes(a: Any) -> int:
    """Bytes of an array of any backend (the standard has no ``nbytes``: size times item size)."""
    if hasattr(a, "nbytes"):
        return int(a.nbytes)
    bits = next((b for b in (64, 32, 16) if str(b) in str(a.dtype)), 8)
    return math.prod(a.shape) * bits // 8


# --------------------------------------------------------------------------- time


def forward_seconds(Gr: int, Gc: int, D: int, H: int, B: int, schedule: str) -> float:
    """The wall time of one forward pass, to refuse oversized work before it starts and to say
    how long it takes: a Python-level cost per step (4.2 us raster, 12 us wavefront on the
    reference machine, NumPy) plus the multiply-adds at 6 GMAC/s, each scaled by this machine's
    speed (``core.timing.speed``)."""
    s = timing.speed()
    per_step = 4.2e-6 if schedule == "raster" else 12e-6
    steps = steps_raster(Gr, Gc) if schedule == "raster" else steps_wavefront(Gr, Gc)
    return steps * per_step * s.call + macs_exact(Gr, Gc, D, H, B) / 6e9 * s.matmul


# --------------------------------------------------------------------------- seed problem 5: MDLSTM, conv net
# Sizes of the models that seed problem 5 compares (core/mdlstm.py, core/convnet.py, core/gridnets.py).


def mdlstm_weights(D: int, H: int) -> int:
    """MDLSTM cell (core/mdlstm.py): five blocks of H (gates i, f_W | f, f_N | lam, o and the
    input g), each reading x, h_W and h_N, plus a bias: 5H (D + 2H + 1). The tanh cell has
    DH + 2H^2 + H (eq (10) plus biases), about five times fewer for the same H."""
    return 5 * H * (D + 2 * H + 1)


def mdlstm_macs(Gr: int, Gc: int, D: int, H: int, B: int = 1) -> int:
    """What core/mdlstm.py executes per forward pass: for every cell the input projection
    (5DH) and both neighbour products (2 x 5H^2), the zero states of the boundary included
    (it does not skip them, unlike core/mdrnn.py): 5 B Gr Gc H (D + 2H)."""
    return 5 * B * Gr * Gc * H * (D + 2 * H)


def conv_weights(D: int, H: int, L: int, k: int) -> int:
    """L layers of k x k convolutions of width H (core/convnet.py): the first reads D
    channels, the others H; each has H biases: k^2 DH + H + (L - 1)(k^2 H^2 + H)."""
    return k * k * D * H + H + (L - 1) * (k * k * H * H + H)


def conv_macs(Gr: int, Gc: int, D: int, H: int, L: int, k: int, B: int = 1) -> int:
    """What core/convnet.py executes: every cell of every layer applies its k x k kernel
    (zero padding multiplied too): B Gr Gc (k^2 DH + (L - 1) k^2 H^2)."""
    return B * Gr * Gc * (k * k * D * H + (L - 1) * k * k * H * H)


def conv_steps(L: int) -> int:
    """Sequential steps of a conv net: one per layer, all cells of a layer at once; L
    against the grid RNN's 2G - 1 (problem 4)."""
    return L


def conv_receptive_field(L: int, k: int) -> int:
    """Width of the input window one output cell of the conv net sees: each k x k layer
    widens it by k - 1, so L(k - 1) + 1 (clipped by the grid)."""
    return L * (k - 1) + 1


def readout_weights(F: int, classes: int) -> int:
    """A linear read-out of F features into ``classes`` scores: F classes + classes."""
    return F * classes + classes
