"""The standard disadvantage of a grid RNN, measured: sequential steps against time.

A grid RNN needs 2G − 1 sequential steps however the work is spread (seed problem 4); a conv
net of L layers needs L, whatever the grid's size. Both forward passes are timed here on
G x G grids of growing G with the shared interleaved timer (``core.timing``), the tanh MDRNN
by wavefront and the conv net by its im2col products, at the same hidden width: the fitted
log-log slope of time against G shows what the sequential steps cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core import timing
from core.backend import Backend, blas_threads
from core.grid import cost
from core.grid.nets import GridNet

SIZES = (8, 16, 32, 64)  # the grids timed (G x G)


@dataclass(frozen=True)
class DepthTiming:
    G: tuple[int, ...]
    steps: dict[str, tuple[int, ...]]  # model: sequential steps at each G
    seconds: dict[str, tuple[float, ...]]  # model: median forward time at each G
    slope: dict[str, float]  # model: fitted log-log slope of time against G
    labels: dict[str, str]


def depth_timing(backend: Backend, *, D: int = 1, H: int = 8, L: int = 3, k: int = 3, sizes: tuple[int, ...] = SIZES,
                 repeat: int = 5, seed: int = 0) -> DepthTiming:
    """Forward time of the one-direction tanh MDRNN (2G − 1 steps) and the conv net (L steps)
    on one G x G input at each size, interleaved."""
    nets = {"mdrnn": GridNet("mdrnn", D, H), "conv": GridNet("conv", D, H, L=L, k=k)}
    params = {key: net.init(backend, seed) for key, net in nets.items()}
    seconds: dict[str, list[float]] = {key: [] for key in nets}
    with blas_threads(1):
        for G in sizes:
            x = backend.randn((1, G, G, D), seed=seed + G)

            def run(key: str, x: Any = x) -> Any:
                return nets[key].forward(params[key], x)

            t = timing.interleaved({key: (lambda key=key: run(key)) for key in nets}, repeat=repeat,
                                   sync=backend.sync)
            for key in nets:
                seconds[key].append(t[key].median)
    return DepthTiming(G=tuple(sizes), steps={key: tuple(net.steps(G, G) for G in sizes) for key, net in nets.items()},
                       seconds={key: tuple(v) for key, v in seconds.items()},
                       slope={key: cost.loglog_slope(list(sizes), v) for key, v in seconds.items()},
                       labels={key: net.label for key, net in nets.items()})
