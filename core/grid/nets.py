"""The models of seed problem 5 behind one interface, and four-direction scanning.

A :class:`GridNet` maps inputs x (B, R, C, D) to one feature vector per cell (B, R, C, F)
and back: ``init`` -> params (a flat dict of arrays), ``forward`` -> (h, cache),
``backward(params, cache, h_bar)`` -> (grads, x_bar). The models:

* ``mdrnn``: the seed's tanh 2-D RNN (``core.grid.mdrnn``, problem 3), wavefront schedule;
* ``mdlstm``: LSTM cells on the same grid (``core.grid.mdlstm``), Graves' or the stable cell;
* ``conv``: L layers of k x k convolutions (``core.grid.convnet``).

A one-direction grid RNN sweeps from the top-left corner, so cell (i, j) sees only the
quadrant above-left of it. Graves et al. (2007) run four sweeps, one from each corner, and
combine them: here each corner gets its own weights, the grid is flipped so that corner
becomes the top-left, the one-direction code runs unchanged, and its output is flipped
back. The four outputs are concatenated (F = 4H), so every cell sees the whole grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.backend import Backend, namespace
from core.grid import convnet, cost, mdlstm, mdrnn
from core.limits import ConfigError, echo

MODELS = ("mdrnn", "mdlstm", "conv")
# origin corner of each sweep -> the grid axes (of (B, R, C, F)) flipped to make it the top-left
CORNERS = {"top-left": (), "top-right": (2,), "bottom-left": (1,), "bottom-right": (1, 2)}


def flip(a: Any, axes: tuple[int, ...]) -> Any:
    """``a`` flipped along ``axes`` (its own inverse)."""
    return namespace(a).flip(a, axis=axes) if axes else a


@dataclass(frozen=True)
class GridNet:
    """One compared model with its sizes (see module docstring)."""

    model: str  # "mdrnn", "mdlstm" or "conv"
    D: int  # input features per cell
    H: int  # hidden width (per direction for the grid RNNs)
    directions: int = 1  # grid RNNs: 1 (from the top-left) or 4 (from every corner)
    cell: str = "stable"  # MDLSTM cell: "graves" or "stable"
    L: int = 3  # conv net: layers
    k: int = 3  # conv net: kernel size (odd)
    forget_bias: float = 1.0  # MDLSTM: initial bias of the forget gates

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ConfigError(f"unknown model {echo(self.model)}: choose one of {', '.join(MODELS)}")
        if self.directions not in (1, 4):
            raise ConfigError(f"directions = {self.directions}: choose 1 or 4")
        if self.model == "mdlstm" and self.cell not in mdlstm.CELLS:
            raise ConfigError(f"unknown MDLSTM cell {echo(self.cell)}: choose one of {', '.join(mdlstm.CELLS)}")

    @property
    def recurrent(self) -> bool:
        return self.model != "conv"

    @property
    def corners(self) -> tuple[str, ...]:
        return tuple(CORNERS) if self.directions == 4 else ("top-left",)

    @property
    def F(self) -> int:
        """Features per output cell."""
        return self.H * self.directions if self.recurrent else self.H

    @property
    def label(self) -> str:
        if self.model == "conv":
            return f"conv net ({self.L} x {self.k}x{self.k}, H={self.H})"
        name = "MDRNN (tanh)" if self.model == "mdrnn" else f"MDLSTM ({self.cell})"
        return f"{name}, {self.directions} dir., H={self.H}"

    # --- sizes (formulas from core.grid.cost) ---------------------------------------------------

    def num_params(self) -> int:
        if self.model == "conv":
            return cost.conv_weights(self.D, self.H, self.L, self.k)
        one = cost.weights_with_bias(self.D, self.H) if self.model == "mdrnn" else \
            cost.mdlstm_weights(self.D, self.H)
        return self.directions * one

    def macs(self, R: int, C: int) -> int:
        """Multiply-adds of one forward pass of one input (what the code executes)."""
        if self.model == "conv":
            return cost.conv_macs(R, C, self.D, self.H, self.L, self.k)
        one = cost.macs_exact(R, C, self.D, self.H) if self.model == "mdrnn" else \
            cost.mdlstm_macs(R, C, self.D, self.H)
        return self.directions * one

    def steps(self, R: int, C: int) -> int:
        """Sequential steps: R + C - 1 per sweep (the sweeps can run side by side), or L."""
        return cost.conv_steps(self.L) if self.model == "conv" else cost.steps_wavefront(R, C)

    # --- parameters, forward, backward ------------------------------------------------------

    def init(self, backend: Backend, seed: int, dtype: str = "float64", scale: float = 1.0) -> dict[str, Any]:
        if self.model == "conv":
            return convnet.init_params(backend, self.D, self.H, self.L, self.k, seed, dtype, scale)
        params: dict[str, Any] = {}
        for n, corner in enumerate(self.corners):
            one = _scan_init(self, backend, seed + 1009 * n, dtype, scale)
            params.update({f"{corner}.{name}": a for name, a in one.items()})
        return params

    def forward(self, params: dict[str, Any], x: Any) -> tuple[Any, Any]:
        """x (B, R, C, D) -> h (B, R, C, F) and a cache for :meth:`backward`."""
        if self.model == "conv":
            return convnet.forward(params, x)
        xp = namespace(x)
        hs, caches = [], []
        for corner in self.corners:
            axes = CORNERS[corner]
            h, c = _scan_forward(self, _part(params, corner), flip(x, axes))
            hs.append(flip(h, axes))
            caches.append(c)
        return (hs[0] if len(hs) == 1 else xp.concat(hs, axis=-1)), tuple(caches)

    def backward(self, params: dict[str, Any], cache: Any, h_bar: Any,
                 weights: bool = True) -> tuple[dict[str, Any], Any]:
        """h_bar (B, R, C, F) -> (adjoints of every parameter, x_bar (B, R, C, D)).
        ``weights=False``: x_bar is what is wanted, and the MDLSTM returns no weight adjoints (its
        cache may then hold one input for all B adjoints, see ``mdlstm.backward``)."""
        if self.model == "conv":
            return convnet.backward(params, cache, h_bar)
        grads: dict[str, Any] = {}
        x_bar = None
        for n, corner in enumerate(self.corners):
            axes = CORNERS[corner]
            part = h_bar[..., n * self.H:(n + 1) * self.H]
            g, xb = _scan_backward(self, _part(params, corner), cache[n], flip(part, axes), weights)
            grads.update({f"{corner}.{name}": a for name, a in g.items()})
            xb = flip(xb, axes)
            x_bar = xb if x_bar is None else x_bar + xb
        return grads, x_bar


def _part(params: dict[str, Any], corner: str) -> dict[str, Any]:
    prefix = corner + "."
    return {name[len(prefix):]: a for name, a in params.items() if name.startswith(prefix)}


# --- one sweep from the top-left: the MDRNN of core.grid.mdrnn, or the MDLSTM --------------------

def _scan_init(net: GridNet, backend: Backend, seed: int, dtype: str, scale: float) -> dict[str, Any]:
    if net.model == "mdlstm":
        return mdlstm.init_params(backend, net.D, net.H, seed, dtype, scale, net.forget_bias, net.cell)
    return dict(mdrnn.init_params(backend, net.D, net.H, seed=seed, dtype=dtype, scale=scale).arrays())


def _scan_forward(net: GridNet, p: dict[str, Any], x: Any) -> tuple[Any, Any]:
    if net.model == "mdlstm":
        return mdlstm.forward(p, x, net.cell)
    h = mdrnn.forward(mdrnn.MDRNNParams(**p), x, "wavefront", count=False).h  # its counts are not read here
    return h, (x, h)


def _scan_backward(net: GridNet, p: dict[str, Any], cache: Any, h_bar: Any,
                   weights: bool = True) -> tuple[dict[str, Any], Any]:
    if net.model == "mdlstm":
        return mdlstm.backward(p, cache, h_bar, weights)
    x, h = cache
    grads, _ = mdrnn.backward(mdrnn.MDRNNParams(**p), x, h, h_bar)
    g = grads.arrays()
    x_bar = g.pop("x")
    return g, x_bar
