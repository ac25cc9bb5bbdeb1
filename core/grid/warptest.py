"""Seed problem 5 put to a test: train grid models on 8x8 digits, then warp the test digits.

The seed claims an MDRNN is "more robust to input warping" than a conv net. Each model (a one-
or four-direction tanh MDRNN or MDLSTM, and a conv net of about the same number of
parameters) is trained on the digits (``core.grid.train``); then the held-out test digits are
warped (``core.grid.warp``) by shear, rotation and elastic distortion of growing strength, and
accuracy is measured at each strength. The data are scikit-learn's bundled digits, split by
``core.data`` (every fifth digit held out). Everything is deterministic given the seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from core import timing
from core.backend import Backend, blas_threads
from core.config import Config, param
from core.data import digits
from core.grid import warp
from core.grid.mdlstm import CELLS
from core.grid.nets import GridNet
from core.grid.train import accuracy, predicted, total_params, train
from core.limits import ConfigError, ProgressFn, no_progress, require_time

LEARNED = 0.3  # clean accuracy below this (chance is 0.1): the model did not learn; no verdict on it
N_TRAIN_MAX = 1437  # the training split of core.data


@dataclass(frozen=True)
class WarpTestConfig(Config):
    """One warping experiment: which models, their sizes, how long to train, which strengths."""

    cli_topic = "mdrnn warp-test"
    cli_run_options: ClassVar[tuple[str, ...]] = ("backend", "precision", "seed")
    directions: int = param(4, choices=(1, 4), label="Directions",
                            help="grid RNN sweeps: 1 (from the top-left) or 4 (from every corner)")
    H: int = param(6, 2, 16, label="H (MDLSTM width)",
                   help="hidden units per direction of the MDLSTM; the others are sized to match its "
                        "parameter count")
    cell: str = param("stable", choices=CELLS, label="MDLSTM cell",
                      help="graves: two forget gates (Graves 2007); stable: bounded cell (Leifert 2016)")
    mdrnn: bool = param(True, label="Train the tanh MDRNN")
    mdlstm: bool = param(True, label="Train the MDLSTM")
    conv: bool = param(True, label="Train the conv net")
    L: int = param(3, 1, 6, label="L (conv layers)", help="layers of the conv net")
    k: int = param(3, choices=(3, 5), label="k (conv kernel)", help="conv kernels are k x k")
    epochs: int = param(20, 1, 60, label="Epochs", help="passes over the training digits")
    batch: int = param(32, 8, 256, label="Batch size", advanced=True)
    lr: float = param(0.01, 1e-4, 0.1, log=True, label="Learning rate (Adam)", advanced=True)
    n_train: int = param(1000, 100, N_TRAIN_MAX, label="Training digits", advanced=True)
    levels: int = param(5, 2, 9, label="Warp strengths", help="strengths 0 to 1 in equal steps")

    def check(self) -> None:
        if not (self.mdrnn or self.mdlstm or self.conv):
            raise ConfigError("choose at least one model to train")


# --- the experiment --------------------------------------------------------------------------

def warp_test_nets(cfg: WarpTestConfig) -> dict[str, GridNet]:
    """The models to train: the MDLSTM at width H, and the others at the width whose parameter
    count (read-out included) comes closest to the MDLSTM's."""
    ref = GridNet("mdlstm", 1, cfg.H, cfg.directions, cfg.cell)
    target = total_params(ref)

    def matched(model: str, **kw: Any) -> GridNet:
        nets = [GridNet(model, 1, h, **kw) for h in range(1, 129)]
        return min(nets, key=lambda n: abs(total_params(n) - target))

    nets = {}
    if cfg.mdrnn:
        nets["mdrnn"] = matched("mdrnn", directions=cfg.directions)
    if cfg.mdlstm:
        nets["mdlstm"] = ref
    if cfg.conv:
        nets["conv"] = matched("conv", L=cfg.L, k=cfg.k)
    return nets


# Seconds per training digit per epoch (forward, backward and Adam, batch 32, one BLAS thread),
# measured on the 2-core test machine at the default sizes; the per-direction cost of the grid
# RNNs is about a quarter of the four-direction one. Only used for a time estimate.
SECONDS_PER_DIGIT = {"mdrnn": 0.16e-3, "mdlstm": 0.37e-3, "conv": 0.09e-3}


def warp_test_seconds(cfg: WarpTestConfig) -> float:
    """Rough wall time of :func:`warp_test` (training dominates; testing adds about 10%)."""
    per_digit = sum(SECONDS_PER_DIGIT[k] * (1.0 if k == "conv" or cfg.directions == 4 else 0.3)
                    for k in ("mdrnn", "mdlstm", "conv") if getattr(cfg, k))
    return (1.1 * per_digit * cfg.epochs * cfg.n_train + 0.5) * timing.speed().call  # small arrays: calls


@dataclass(frozen=True)
class TrainedModel:
    """One model of the warping test: its size, its training, its accuracy on training digits."""

    label: str
    H: int
    params: int  # with the read-out
    macs: int  # per digit
    steps: int  # sequential steps per digit
    losses: tuple[float, ...]  # mean training loss per epoch
    train_seconds: float
    diverged: str  # why training stopped early ('' when it did not)
    train_accuracy: float | None  # None where training diverged


@dataclass(frozen=True)
class WarpTest:
    """Accuracy of each trained model on the test digits warped by each kind at each strength."""

    n_train: int
    n_test: int
    strengths: np.ndarray  # (levels,) in [0, 1]; 0 is the clean test set
    amounts: dict[str, list[float]]  # kind: the warp at each strength, in its unit
    units: dict[str, str]
    models: dict[str, TrainedModel]
    accuracy: dict[str, dict[str, list[float]]]  # kind: model: accuracy at each strength
    diverged: list[str]
    # kind: model: (levels, n_test) bool, digit by digit, for the paired verdict (core.grid.claims)
    correct: dict[str, dict[str, np.ndarray]] = field(repr=False)


def warp_test(cfg: WarpTestConfig, backend: Backend, seed: int = 0, dtype: str = "float64",
              progress: ProgressFn = no_progress, budget_seconds: float | None = None) -> WarpTest:
    """Train each chosen model, then classify the test digits warped by each kind at each
    strength. ``budget_seconds`` refuses, before any work, a run estimated to take longer."""
    if budget_seconds is not None:
        require_time(warp_test_seconds(cfg), "this training run", budget_seconds,
                     hint="choose fewer epochs, fewer training digits or fewer models, or run the command below")
    with blas_threads(1):
        return _warp_test(cfg, backend, seed, dtype, progress)


def _warp_test(cfg: WarpTestConfig, backend: Backend, seed: int, dtype: str, progress: ProgressFn) -> WarpTest:
    data = digits()
    order = np.random.default_rng(seed).permutation(len(data.train_labels))[:cfg.n_train]
    x_train, y_train = data.train_images[order], data.train_labels[order]
    x_test, y_test = data.test_images, data.test_labels
    strengths = np.linspace(0.0, 1.0, cfg.levels)
    nets = warp_test_nets(cfg)
    warped = {kind: [warp.warp(x_test, kind, float(s), seed=seed + 99) for s in strengths]
              for kind in warp.WARP_KINDS}
    models: dict[str, TrainedModel] = {}
    correct: dict[str, dict[str, np.ndarray]] = {k: {} for k in warp.WARP_KINDS}
    diverged: list[str] = []
    share = 1.0 / len(nets)
    for n, (key, net) in enumerate(nets.items()):
        def report(f: float, msg: str, n: int = n) -> None:
            progress(share * (n + 0.95 * f), msg)

        res = train(net, backend, x_train, y_train, epochs=cfg.epochs, batch=cfg.batch, lr=cfg.lr,
                    seed=seed, dtype=dtype, progress=report)
        train_acc = None
        if res.diverged:
            diverged.append(res.diverged)
        else:
            progress(share * (n + 0.97), f"{net.label}: testing on warped digits")
            train_acc = accuracy(net, res.params, backend, x_train, y_train, dtype)
            clean = predicted(net, res.params, backend, x_test, dtype) == y_test  # strength 0: the identity
            for kind in warp.WARP_KINDS:
                correct[kind][key] = np.stack([clean] + [predicted(net, res.params, backend, w, dtype) == y_test
                                                         for w in warped[kind][1:]])
        models[key] = TrainedModel(label=net.label, H=net.H, params=total_params(net), macs=net.macs(8, 8),
                                   steps=net.steps(8, 8), losses=tuple(res.losses), train_seconds=res.seconds,
                                   diverged=res.diverged, train_accuracy=train_acc)
    progress(1.0, "done")
    return WarpTest(n_train=len(y_train), n_test=len(y_test), strengths=strengths,
                    amounts={k: [warp.warp_amount(k, float(s)) for s in strengths] for k in warp.WARP_KINDS},
                    units=dict(warp.WARP_UNITS), models=models,
                    accuracy={kind: {key: [float(v) for v in c.mean(axis=1)] for key, c in per.items()}
                              for kind, per in correct.items()},
                    diverged=diverged, correct=correct)


@dataclass(frozen=True)
class WarpSamples:
    """A few test digits under each warp at each strength, for showing."""

    strengths: np.ndarray  # (levels,)
    labels: np.ndarray  # (n,)
    images: dict[str, np.ndarray]  # kind: (levels, n, 8, 8)
    amounts: dict[str, list[float]]  # kind: the warp at each strength, in its unit
    units: dict[str, str]


def sample_warps(seed: int = 0, n: int = 4, levels: int = 5) -> WarpSamples:
    """The first ``n`` test digits under each warp at each of ``levels`` strengths."""
    data = digits()
    x_test, y_test = data.test_images, data.test_labels
    strengths = np.linspace(0.0, 1.0, levels)
    # the whole test set is warped, as in warp_test, so the elastic fields are the same ones
    imgs = {kind: np.stack([warp.warp(x_test, kind, float(s), seed=seed + 99)[:n] for s in strengths])
            for kind in warp.WARP_KINDS}
    return WarpSamples(strengths=strengths, labels=y_test[:n], images=imgs,
                       amounts={k: [warp.warp_amount(k, float(x)) for x in strengths] for k in imgs},
                       units=dict(warp.WARP_UNITS))
