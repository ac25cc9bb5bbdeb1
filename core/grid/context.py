"""Context and sensitivity: which inputs an output cell depends on, and how strongly.

The sensitivity map of output cell (i*, j*) is

    S(i, j) = || d h(i*, j*) / d x(i, j) ||_F        (Frobenius norm over the F x D block),

taken from the models' own backward passes, not from finite differences: the F rows of
the Jacobian are F backward sweeps, run at once as a batch of F copies of the input, copy f
seeded with h_bar = e_f at cell (i*, j*). Where S is exactly zero the output cannot see the
input at all. Seed problem 5 turns on this picture:

* a one-direction grid RNN sees exactly the quadrant above-left of (i*, j*) (its states only
  flow east and south), so S > 0 there and S = 0 elsewhere;
* four directions see the whole grid;
* an L-layer conv net with k x k kernels sees only an (L(k-1)+1)-wide window around (i*, j*).

How S falls with the distance from (i*, j*) shows vanishing (or exploding) gradients:
:func:`decay_profile` takes the largest S at each Manhattan distance and :func:`decay_rate`
fits the factor per step. A factor from one random initialisation is one draw: the verdict on
the seed's claim that LSTM cells relieve vanishing gradients compares the factors over several
seeds, with a bootstrap interval (``core.grid.stats``), and says so only where the interval
excludes no difference.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.backend import Backend, blas_threads, namespace, to_numpy
from core.config import Config, param
from core.grid import cost, mdlstm
from core.grid.mdlstm import CELLS
from core.grid.nets import CORNERS, GridNet, flip
from core.grid.stats import Difference, mean_interval, paired_difference
from core.limits import ConfigError, require_memory


@dataclass(frozen=True)
class SensitivityConfig(Config):
    """Sizes of the models whose sensitivity maps are compared (random weights, random input)."""

    cli_topic = "mdrnn sensitivity"
    G: int = param(16, 2, 32, label="G (grid rows and columns)",
                   help="the grid is G x G cells")
    H: int = param(8, 1, 16, label="H (hidden width)", help="hidden units per cell and direction")
    D: int = param(1, 1, 8, label="D (input features)", help="input features per cell")
    i_star: int = param(11, 0, 31, label="i* (output row)", help="row of the output cell")
    j_star: int = param(11, 0, 31, label="j* (output column)", help="column of the output cell")
    L: int = param(3, 1, 8, label="L (conv layers)", help="layers of the conv net")
    k: int = param(3, choices=(1, 3, 5, 7), label="k (kernel size)", help="conv kernels are k x k")
    cell: str = param("stable", choices=CELLS, label="MDLSTM cell",
                      help="graves: two forget gates (Graves 2007); stable: bounded cell (Leifert 2016)")
    scale: float = param(1.0, 0.1, 4.0, step=0.1, label="Weight scale",
                         help="weights are N(0, scale² / fan_in): larger means stronger recurrence")
    forget_bias: float = param(1.0, -3.0, 5.0, step=0.5, label="MDLSTM forget-gate bias",
                               help="initial bias of the forget gates", advanced=True)
    seeds: int = param(8, 2, 32, label="Initialisations compared", advanced=True,
                       help="random weights and inputs over which the decay factors are compared")

    def check(self) -> None:
        if self.i_star >= self.G or self.j_star >= self.G:
            raise ConfigError(f"output cell ({self.i_star}, {self.j_star}) is outside the "
                              f"{self.G} x {self.G} grid: choose i*, j* from 0 to {self.G - 1}")
        if self.i_star + self.j_star < 2:  # the one-direction models see only distances 0 to i* + j*
            raise ConfigError(f"output cell ({self.i_star}, {self.j_star}) is too near the corner: a one-direction "
                              "model sees only the cells above-left of it, too few distances to fit a decay "
                              "over; choose i* + j* of at least 2")
        require_memory(sensitivity_bytes(self.G, self.H, self.D), "the sensitivity maps")


def sensitivity_bytes(G: int, H: int, D: int, itemsize: int = 8) -> int:
    """Largest working set: the four-direction MDLSTM batch of F = 4H copies, whose skewed
    states, cells and gates (7H numbers per slot) span (2G-1)(G+1) slots per sweep."""
    F = 4 * H
    return itemsize * F * ((2 * G - 1) * (G + 1) * 7 * H + G * G * (3 * F + D))


def sensitivity_map(net: GridNet, params: dict[str, Any], x: Any, i: int, j: int,
                    parts: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """S (R, C) for output cell (i, j) of ``net`` on one input ``x`` (1, R, C, D); for a
    four-direction net, each direction's own map also lands in ``parts`` (by corner), if given."""
    xp = namespace(x)
    _, R, C, _ = x.shape
    if not (0 <= i < R and 0 <= j < C):
        raise ConfigError(f"output cell ({i}, {j}) is outside the {R} x {C} grid")
    if net.recurrent and net.directions > 1:
        # Each direction's units see the input through that direction's sweep alone, so S² is the
        # sum over directions of one-direction maps, each swept from its own corner on the flipped
        # grid: a quarter of the copies (and of the work) of one batch with every unit.
        one = dataclasses.replace(net, directions=1)
        total = np.zeros((R, C))
        for corner in net.corners:
            axes = CORNERS[corner]
            part = {f"top-left.{name[len(corner) + 1:]}": a for name, a in params.items()
                    if name.startswith(corner + ".")}
            ii, jj = (R - 1 - i if 1 in axes else i), (C - 1 - j if 2 in axes else j)
            S = np.asarray(flip(sensitivity_map(one, part, flip(x, axes), ii, jj)[None], axes))[0]
            if parts is not None:
                parts[corner] = S
            total += S ** 2
        return np.sqrt(total)
    if net.recurrent and (i + 1 < R or j + 1 < C):
        # A sweep from the top-left corner reaches (i, j) from the cells above-left of it alone:
        # the map is that block's map, on a grid that ends at (i, j), and exactly zero elsewhere.
        S = np.zeros((R, C))
        S[:i + 1, :j + 1] = sensitivity_map(net, params, x[:, :i + 1, :j + 1], i, j)
        return S
    F = net.F
    # one adjoint per output unit: the MDLSTM reads one forward pass's states for all of them,
    # the other models run one copy of the input per unit
    X = x if net.model == "mdlstm" else x * xp.ones((F, 1, 1, 1), dtype=x.dtype)  # (1 or F, R, C, D)
    _, cache = net.forward(params, X)
    h_bar = xp.zeros((F, R, C, F), dtype=x.dtype)
    h_bar[:, i, j, :] = xp.eye(F, dtype=x.dtype)  # copy f asks for d h_f(i, j) / d x
    _, x_bar = net.backward(params, cache, h_bar, weights=False)  # (F, R, C, D)
    return np.sqrt(np.sum(to_numpy(x_bar) ** 2, axis=(0, 3)))


def context_mask(net: GridNet, R: int, C: int, i: int, j: int) -> np.ndarray:
    """Where the output cell (i, j) can see the input, by the models' structure (bool (R, C))."""
    rows, cols = np.meshgrid(np.arange(R), np.arange(C), indexing="ij")
    if net.model == "conv":
        r = net.L * (net.k // 2)  # half-width of the (L(k-1)+1)-wide window
        return (np.abs(rows - i) <= r) & (np.abs(cols - j) <= r)
    if net.directions == 4:
        return np.ones((R, C), dtype=bool)
    return (rows <= i) & (cols <= j)


def decay_profile(S: np.ndarray, i: int, j: int) -> tuple[np.ndarray, np.ndarray]:
    """(distance, largest S at that Manhattan distance from (i, j)); 0 where nothing is seen."""
    R, C = S.shape
    rows, cols = np.meshgrid(np.arange(R), np.arange(C), indexing="ij")
    dist = np.abs(rows - i) + np.abs(cols - j)
    ds = np.arange(int(dist.max()) + 1)
    return ds, np.array([S[dist == d].max() for d in ds])


def decay_rate(distance: np.ndarray, profile: np.ndarray) -> float:
    """Factor by which sensitivity changes per step of distance: exp of the least-squares
    slope of log S against distance, over distances >= 1 where S > 0 (< 1: it vanishes,
    > 1: it grows). NaN with fewer than two such points."""
    keep = (distance >= 1) & (profile > 0)
    if keep.sum() < 2:
        return float("nan")
    slope = np.polyfit(distance[keep].astype(float), np.log(profile[keep]), 1)[0]
    return float(math.exp(slope))


def sensitivity_nets(cfg: SensitivityConfig) -> dict[str, GridNet]:
    """The models shown side by side, by key."""
    common = dict(D=cfg.D, H=cfg.H)
    return {
        "mdrnn": GridNet("mdrnn", **common),
        "mdlstm": GridNet("mdlstm", cell=cfg.cell, forget_bias=cfg.forget_bias, **common),
        "mdrnn4": GridNet("mdrnn", directions=4, **common),
        "mdlstm4": GridNet("mdlstm", directions=4, cell=cfg.cell, forget_bias=cfg.forget_bias, **common),
        "conv": GridNet("conv", L=cfg.L, k=cfg.k, **common),
    }


@dataclass(frozen=True)
class ModelSensitivity:
    """One compared model's map for the output cell, and what it says."""

    label: str
    map: np.ndarray  # (G, G) S(i, j)
    context: np.ndarray  # (G, G) bool: where the model can see the input, by its structure
    seen_cells: int  # cells with S > 0
    context_cells: int
    matches_context: bool  # S > 0 exactly on the context
    distance: np.ndarray  # Manhattan distances 0 ..
    profile: np.ndarray  # largest S at each distance
    decay_per_step: float  # fitted factor per step of distance, this initialisation
    params: int
    macs: int
    steps: int
    receptive_field: str  # the context in words
    window: int | None  # the conv net's window width


@dataclass(frozen=True)
class DecayFactors:
    """One model's factor per step of distance over several random initialisations."""

    label: str
    factors: tuple[float, ...]  # one per seed
    mean: float
    low: float  # 95% bootstrap interval of the mean
    high: float


DECAY_MODELS = ("tanh", "graves", "stable", "conv")  # the models whose decay is compared, by key


@dataclass(frozen=True)
class SensitivityReport:
    G: int
    i_star: int
    j_star: int
    scale: float
    forget_bias: float
    models: dict[str, ModelSensitivity]  # the maps of sensitivity_nets, one initialisation
    decay: dict[str, DecayFactors]  # DECAY_MODELS over cfg.seeds initialisations
    against_tanh: dict[str, Difference]  # mean factor of graves, stable, conv minus the tanh MDRNN's, paired
    profiles: dict[str, tuple[np.ndarray, np.ndarray]]  # DECAY_MODELS' (distance, profile), first seed
    cell_state_max: dict[str, float]  # largest |c| over the grid, per MDLSTM cell


def decay_nets(cfg: SensitivityConfig, forget_bias: float | None = None) -> dict[str, GridNet]:
    """The one-direction models whose decay with distance is compared, and the conv net."""
    fb = cfg.forget_bias if forget_bias is None else forget_bias
    return {"tanh": GridNet("mdrnn", cfg.D, cfg.H),
            "graves": GridNet("mdlstm", cfg.D, cfg.H, cell="graves", forget_bias=fb),
            "stable": GridNet("mdlstm", cfg.D, cfg.H, cell="stable", forget_bias=fb),
            "conv": GridNet("conv", cfg.D, cfg.H, L=cfg.L, k=cfg.k)}


def sensitivity_report(cfg: SensitivityConfig, backend: Backend, seed: int = 0,
                       dtype: str = "float64") -> SensitivityReport:
    """Every compared model's map for (i*, j*), its context and decay; the decay factors of the
    tanh MDRNN, both MDLSTM cells and the conv net over ``cfg.seeds`` initialisations, compared
    with the tanh MDRNN's; the largest |c| of each cell."""
    with blas_threads(1):
        return _sensitivity_report(cfg, backend, seed, dtype)


def context_models(cfg: SensitivityConfig, backend: Backend, seed: int = 0,
                   dtype: str = "float64") -> dict[str, ModelSensitivity]:
    """Every compared model's map for (i*, j*) at one initialisation, its context and cost: what
    each model sees, without the decay study (a fraction of its work)."""
    with blas_threads(1):
        return _context_models(cfg, backend, seed, dtype)


def _input(cfg: SensitivityConfig, backend: Backend, seed: int, dtype: str) -> Any:
    return backend.randn((1, cfg.G, cfg.G, cfg.D), seed=seed + 17, dtype=dtype)


def _context_models(cfg: SensitivityConfig, backend: Backend, seed: int, dtype: str) -> dict[str, ModelSensitivity]:
    G, i, j = cfg.G, cfg.i_star, cfg.j_star
    x = _input(cfg, backend, seed, dtype)
    nets = sensitivity_nets(cfg)
    maps: dict[str, np.ndarray] = {}
    swept: dict[GridNet, np.ndarray] = {}  # one-direction net -> its map, from a four-direction net's sweep
    for key in sorted(nets, key=lambda k: -nets[k].directions):
        net = nets[key]
        if net in swept:  # its weights are the four-direction net's top-left ones (the same seed)
            maps[key] = swept[net]
            continue
        parts: dict[str, np.ndarray] = {}
        maps[key] = sensitivity_map(net, net.init(backend, seed, dtype, cfg.scale), x, i, j, parts=parts)
        if "top-left" in parts:
            swept[dataclasses.replace(net, directions=1)] = parts["top-left"]
    models = {}
    for key, net in nets.items():
        S = maps[key]
        mask = context_mask(net, G, G, i, j)
        dist, prof = decay_profile(S, i, j)
        models[key] = ModelSensitivity(
            label=net.label, map=S, context=mask, seen_cells=int((S > 0).sum()), context_cells=int(mask.sum()),
            matches_context=bool(np.array_equal(S > 0, mask)), distance=dist, profile=prof,
            decay_per_step=decay_rate(dist, prof), params=net.num_params(), macs=net.macs(G, G),
            steps=net.steps(G, G), receptive_field=context_description(net, G, G, i, j),
            window=cost.conv_receptive_field(net.L, net.k) if net.model == "conv" else None)
    return models


def _sensitivity_report(cfg: SensitivityConfig, backend: Backend, seed: int, dtype: str) -> SensitivityReport:
    G, i, j = cfg.G, cfg.i_star, cfg.j_star
    x = _input(cfg, backend, seed, dtype)
    models = _context_models(cfg, backend, seed, dtype)
    factors: dict[str, list[float]] = {k: [] for k in DECAY_MODELS}
    profiles: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    cell_state_max: dict[str, float] = {}
    nets = decay_nets(cfg)
    for n in range(cfg.seeds):
        xs = x if n == 0 else backend.randn((1, G, G, cfg.D), seed=seed + 17 + 7919 * n, dtype=dtype)
        for key, net in nets.items():
            params = net.init(backend, seed + 7919 * n, dtype, cfg.scale)
            dist, prof = decay_profile(sensitivity_map(net, params, xs, i, j), i, j)
            factors[key].append(decay_rate(dist, prof))
            if n == 0:
                profiles[key] = (dist, prof)
                if net.model == "mdlstm":
                    _, caches = net.forward(params, xs)  # one sweep: caches[0] is its MDLSTMCache
                    cell_state_max[net.cell] = float(np.max(np.abs(to_numpy(mdlstm.cell_states(caches[0])))))
    decay = {}
    for key, f in factors.items():
        mean, low, high = mean_interval(np.array(f))
        decay[key] = DecayFactors(nets[key].label, tuple(f), mean, low, high)
    tanh = np.array(factors["tanh"])
    against = {key: paired_difference(np.array(factors[key]), tanh) for key in DECAY_MODELS if key != "tanh"}
    return SensitivityReport(G=G, i_star=i, j_star=j, scale=cfg.scale, forget_bias=cfg.forget_bias,
                             models=models, decay=decay, against_tanh=against, profiles=profiles,
                             cell_state_max=cell_state_max)


FORGET_BIASES = (-2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0)  # the forget_bias_sweep's points


@dataclass(frozen=True)
class ForgetBiasSweep:
    forget_bias: tuple[float, ...]
    tanh: float  # the tanh MDRNN's factor (no gates): the reference line
    graves: tuple[float, ...]
    stable: tuple[float, ...]


def forget_bias_sweep(cfg: SensitivityConfig, backend: Backend, seed: int = 0, dtype: str = "float64",
                      biases: tuple[float, ...] = FORGET_BIASES) -> ForgetBiasSweep:
    """Decay per step of the one-direction MDLSTM cells against their forget-gate bias, with
    the tanh MDRNN (no gates) as the reference line, at the sizes and point of ``cfg``."""
    with blas_threads(1):
        G, i, j = cfg.G, cfg.i_star, cfg.j_star
        x = backend.randn((1, G, G, cfg.D), seed=seed + 17, dtype=dtype)

        def rate(net: GridNet) -> float:
            return decay_rate(*decay_profile(sensitivity_map(net, net.init(backend, seed, dtype, cfg.scale), x, i, j),
                                             i, j))

        rates = {cell: tuple(rate(decay_nets(cfg, bias)[cell]) for bias in biases) for cell in CELLS}
        return ForgetBiasSweep(forget_bias=tuple(biases), tanh=rate(decay_nets(cfg)["tanh"]), **rates)


def context_description(net: GridNet, R: int, C: int, i: int, j: int) -> str:
    """The context of output cell (i, j) in words, with its size in cells."""
    n = int(context_mask(net, R, C, i, j).sum())
    if net.model == "conv":
        w = cost.conv_receptive_field(net.L, net.k)
        return f"{w} x {w} window ({n} cells here)"
    if net.directions == 4:
        return f"whole grid ({n} cells)"
    return f"quadrant above-left ({n} cells here)"
