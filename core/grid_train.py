"""Seed problem 5 put to a test: train grid models on 8x8 digits, then warp the test digits.

The seed claims an MDRNN is "more robust to input warping" than a conv net. Here each model
(a one- or four-direction tanh MDRNN or MDLSTM, and a conv net of about the same number of
parameters) reads a digit as a grid of G x G = 8 x 8 cells with D = 1 feature, averages its
output features over the cells, and a linear read-out gives 10 class scores:

    z = W_out mean_ij h(i, j) + b_out,     loss = cross-entropy(softmax(z), label).

Training is plain Adam on mini-batches with the models' own backward passes
(``core.gridnets``). Then the held-out test digits are warped (``core.warp``) by shear,
rotation and elastic distortion of growing strength, and accuracy is measured at each
strength. The data are scikit-learn's bundled digits (1797 images, nothing downloaded).
Everything is deterministic given the seed.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core import cost, warp
from core.backend import Backend, namespace, to_numpy
from core.config import Config, param
from core.gridnets import GridNet, single_blas_thread
from core.limits import ConfigError, ProgressFn, no_progress
from core.mdlstm import CELLS

CLASSES = 10
LEARNED = 0.3  # clean accuracy below this (chance is 0.1): the model did not learn; no verdict on it
N_TEST = 500  # held-out digits (the rest, 1297, are available for training)


@dataclass(frozen=True)
class WarpTestConfig(Config):
    """One warping experiment: which models, their sizes, how long to train, which strengths."""

    cli_topic = "mdrnn warp-test"
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
    n_train: int = param(1000, 100, 1297, label="Training digits", advanced=True)
    levels: int = param(5, 2, 9, label="Warp strengths", help="strengths 0 to 1 in equal steps")

    def check(self) -> None:
        if not (self.mdrnn or self.mdlstm or self.conv):
            raise ConfigError("choose at least one model to train")


# --- data ------------------------------------------------------------------------------------

def load_digits_split(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test): 8x8 digits scaled to [0, 1], shuffled by ``seed``,
    the last N_TEST held out. x is (N, 8, 8)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = digits.images.astype(np.float64) / 16.0  # (1797, 8, 8)
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    x, y = x[order], y[order]
    return x[:-N_TEST], y[:-N_TEST], x[-N_TEST:], y[-N_TEST:]


# --- the classifier: a grid model, mean over cells, a linear read-out --------------------------

def readout_init(backend: Backend, F: int, seed: int, dtype: str) -> dict[str, Any]:
    return {"W_out": backend.randn((F, CLASSES), seed=seed + 4242, dtype=dtype, scale=1.0 / F**0.5),
            "b_out": backend.asarray([0.0] * CLASSES, dtype)}


def loss_and_grads(net: GridNet, params: dict[str, Any], x: Any, y_onehot: Any) -> tuple[float, dict, Any]:
    """Mean cross-entropy over the batch, its adjoints for every parameter, and the logits."""
    xp = namespace(x)
    B, R, C, _ = x.shape
    h, cache = net.forward(params, x)  # (B, R, C, F)
    feat = xp.mean(xp.reshape(h, (B, R * C, net.F)), axis=1)  # (B, F)
    z = feat @ params["W_out"] + params["b_out"]  # (B, 10)
    z = z - xp.max(z, axis=1, keepdims=True)
    logp = z - xp.log(xp.sum(xp.exp(z), axis=1, keepdims=True))  # log-softmax, no overflow
    loss = -float(to_numpy(xp.sum(logp * y_onehot))) / B
    z_bar = (xp.exp(logp) - y_onehot) / B  # (B, 10)
    grads = {"W_out": xp.matrix_transpose(feat) @ z_bar, "b_out": xp.sum(z_bar, axis=0)}
    feat_bar = z_bar @ xp.matrix_transpose(params["W_out"])  # (B, F)
    h_bar = xp.reshape(feat_bar, (B, 1, 1, net.F)) * xp.ones((1, R, C, 1), dtype=x.dtype) / (R * C)
    g, _ = net.backward(params, cache, h_bar)
    grads.update(g)
    return loss, grads, logp


def predict(net: GridNet, params: dict[str, Any], x: Any, batch: int = 250) -> np.ndarray:
    """Class of each input (N, R, C, D), in batches."""
    xp = namespace(x)
    out = []
    for s in range(0, x.shape[0], batch):
        xb = x[s:s + batch, ...]
        B, R, C, _ = xb.shape
        h, _ = net.forward(params, xb)
        feat = xp.mean(xp.reshape(h, (B, R * C, net.F)), axis=1)
        out.append(np.argmax(to_numpy(feat @ params["W_out"] + params["b_out"]), axis=1))
    return np.concatenate(out)


def accuracy(net: GridNet, params: dict[str, Any], backend: Backend, images: np.ndarray,
             labels: np.ndarray, dtype: str = "float64") -> float:
    """Fraction of ``images`` (N, R, C) classified as ``labels``."""
    return float(np.mean(predict(net, params, backend.asarray(images[..., None], dtype)) == labels))


@dataclass
class Adam:
    """Adam (Kingma and Ba 2015) on a dict of arrays, with the usual defaults."""

    lr: float
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    t: int = 0
    m: dict[str, Any] = field(default_factory=dict)
    v: dict[str, Any] = field(default_factory=dict)

    def step(self, params: dict[str, Any], grads: dict[str, Any]) -> None:
        self.t += 1
        c1, c2 = 1.0 - self.beta1**self.t, 1.0 - self.beta2**self.t
        for name, g in grads.items():
            xp = namespace(g)
            m = self.m.get(name, xp.zeros_like(g))
            v = self.v.get(name, xp.zeros_like(g))
            self.m[name] = m = self.beta1 * m + (1.0 - self.beta1) * g
            self.v[name] = v = self.beta2 * v + (1.0 - self.beta2) * g * g
            params[name] = params[name] - self.lr * (m / c1) / (xp.sqrt(v / c2) + self.eps)


@dataclass
class TrainResult:
    net: GridNet
    params: dict[str, Any]
    losses: list[float]  # mean training loss per epoch
    seconds: float
    diverged: str = ""  # why training stopped early ('' when it did not)


BLOWUP = 1e3  # a loss this many times its first value counts as diverged, finite or not


def train(net: GridNet, backend: Backend, x: np.ndarray, y: np.ndarray, *, epochs: int, batch: int,
          lr: float, seed: int, dtype: str = "float64", progress: ProgressFn = no_progress) -> TrainResult:
    """Train ``net`` + read-out on digits x (N, R, C), labels y (N,), by Adam on shuffled batches.
    Stops with ``diverged`` set at the first loss that is not finite or has blown up to
    BLOWUP times its first value (overflow inside a diverging run is expected, so NumPy's
    overflow warnings are silenced here and the run reports it instead)."""
    params = {**net.init(backend, seed, dtype), **readout_init(backend, net.F, seed, dtype)}
    opt = Adam(lr)
    rng = np.random.default_rng(seed + 1)
    onehot = np.eye(CLASSES)[y]
    N = len(y)
    nb = math.ceil(N / batch)
    losses: list[float] = []
    first = None
    t0 = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(epochs):
            order = rng.permutation(N)
            total = 0.0
            for b in range(nb):
                idx = order[b * batch:(b + 1) * batch]
                xb = backend.asarray(x[idx][..., None], dtype)  # (B, R, C, 1)
                loss, grads, _ = loss_and_grads(net, params, xb, backend.asarray(onehot[idx], dtype))
                first = loss if first is None else first
                if not math.isfinite(loss) or loss > BLOWUP * first:
                    return TrainResult(net, params, losses, time.perf_counter() - t0, diverged=(
                        f"{net.label}: the training loss became {loss:.3g} (it started at {first:.3g}) in "
                        f"epoch {epoch + 1}, batch {b + 1}: training diverged; lower the learning rate"))
                opt.step(params, grads)
                total += loss * len(idx)
                progress((epoch + (b + 1) / nb) / epochs, f"{net.label}: epoch {epoch + 1}/{epochs}")
            losses.append(total / N)
    backend.sync()
    return TrainResult(net, params, losses, time.perf_counter() - t0)


# --- the experiment --------------------------------------------------------------------------

def compared_nets(cfg: WarpTestConfig) -> dict[str, GridNet]:
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


def total_params(net: GridNet) -> int:
    """The grid model's parameters plus its read-out (F x 10 weights, 10 biases)."""
    return net.num_params() + cost.readout_weights(net.F, CLASSES)


# Seconds per training digit per epoch (forward, backward and Adam, batch 32, one BLAS thread),
# measured on the 2-core test machine at the default sizes; the per-direction cost of the grid
# RNNs is about a quarter of the four-direction one. Only used for a time estimate.
SECONDS_PER_DIGIT = {"mdrnn": 0.16e-3, "mdlstm": 0.37e-3, "conv": 0.09e-3}


def estimate_seconds(cfg: WarpTestConfig) -> float:
    """Rough wall time of :func:`warp_test` (training dominates; testing adds about 10%)."""
    per_digit = sum(SECONDS_PER_DIGIT[k] * (1.0 if k == "conv" or cfg.directions == 4 else 0.3)
                    for k in ("mdrnn", "mdlstm", "conv") if getattr(cfg, k))
    return 1.1 * per_digit * cfg.epochs * cfg.n_train + 0.5


def warp_test(cfg: WarpTestConfig, backend: Backend, seed: int = 0, dtype: str = "float64",
              progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Train each chosen model, then its accuracy on the test digits warped by each kind at
    each strength. Returns plain numbers (see the CLI's ``mdrnn warp-test --json``)."""
    with single_blas_thread():
        return _warp_test(cfg, backend, seed, dtype, progress)


def _warp_test(cfg: WarpTestConfig, backend: Backend, seed: int, dtype: str,
               progress: ProgressFn) -> dict[str, Any]:
    x_train, y_train, x_test, y_test = load_digits_split(seed)
    x_train, y_train = x_train[:cfg.n_train], y_train[:cfg.n_train]
    strengths = np.linspace(0.0, 1.0, cfg.levels)
    nets = compared_nets(cfg)
    warped = {kind: [warp.warp(x_test, kind, float(s), seed=seed + 99) for s in strengths]
              for kind in warp.WARP_KINDS}
    out: dict[str, Any] = {
        "n_train": len(y_train), "n_test": len(y_test), "strengths": strengths,
        "amounts": {k: [warp.warp_amount(k, float(s)) for s in strengths] for k in warp.WARP_KINDS},
        "units": dict(warp.WARP_UNITS), "models": {}, "accuracy": {k: {} for k in warp.WARP_KINDS},
        "diverged": [],
    }
    share = 1.0 / len(nets)
    for n, (key, net) in enumerate(nets.items()):
        def report(f: float, msg: str, n: int = n) -> None:
            progress(share * (n + 0.95 * f), msg)

        res = train(net, backend, x_train, y_train, epochs=cfg.epochs, batch=cfg.batch, lr=cfg.lr,
                    seed=seed, dtype=dtype, progress=report)
        out["models"][key] = {
            "label": net.label, "H": net.H, "params": total_params(net), "macs": net.macs(8, 8),
            "steps": net.steps(8, 8), "losses": res.losses, "train_seconds": res.seconds,
            "diverged": res.diverged,
        }
        if res.diverged:
            out["diverged"].append(res.diverged)
            continue
        progress(share * (n + 0.97), f"{net.label}: testing on warped digits")
        out["models"][key]["train_accuracy"] = accuracy(net, res.params, backend, x_train, y_train, dtype)
        clean = accuracy(net, res.params, backend, x_test, y_test, dtype)  # strength 0: the identity
        for kind in warp.WARP_KINDS:
            out["accuracy"][kind][key] = [clean] + [accuracy(net, res.params, backend, w, y_test, dtype)
                                                    for w in warped[kind][1:]]
    progress(1.0, "done")
    return out


def sample_warps(seed: int = 0, n: int = 4, levels: int = 5) -> dict[str, Any]:
    """A few test digits under each warp at each strength, for showing: images (kind, level, n, 8, 8)."""
    _, _, x_test, y_test = load_digits_split(seed)
    strengths = np.linspace(0.0, 1.0, levels)
    # the whole test set is warped, as in warp_test, so the elastic fields are the same ones
    imgs = {kind: np.stack([warp.warp(x_test, kind, float(s), seed=seed + 99)[:n] for s in strengths])
            for kind in warp.WARP_KINDS}
    return {"strengths": strengths, "labels": y_test[:n], "images": imgs}


# --- what the numbers say about the seed's claim ---------------------------------------------

def _pct(p: float) -> str:
    return f"{100 * p:.1f}%"


def summarize(result: dict[str, Any]) -> list[str]:
    """Plain sentences computed from a :func:`warp_test` result: for each warp, how much of its
    accuracy each model kept, and whether that supports the seed's claim that the grid RNN is
    more robust to warping than the conv net.

    Robustness is the share of above-chance accuracy kept, (a_warped - 0.1) / (a_clean - 0.1),
    with a_warped averaged over the warped strengths: raw points lost would favour a weaker
    model, which has fewer to lose. A difference smaller than two standard errors (binomial
    errors of the test accuracies, carried through the ratio) is called no clear difference."""
    lines = [f"Training diverged: {msg}" for msg in result["diverged"]]
    models = {k: m for k, m in result["models"].items() if not m["diverged"]}
    n = result["n_test"]
    if "conv" not in models or not ({"mdrnn", "mdlstm"} & set(models)):
        lines.append("The claim compares a grid RNN with the conv net: train the conv net and at "
                     "least one grid RNN to test it.")
        return lines
    acc = result["accuracy"]
    clean = {k: acc["shear"][k][0] for k in models}
    lines.append("Clean test accuracy: " + ", ".join(f"{models[k]['label']} {_pct(clean[k])}"
                                                     for k in models) + f" ({n} test digits).")
    for k in models:
        if clean[k] < LEARNED:
            lines.append(f"The {models[k]['label']} is near chance ({_pct(clean[k])}, chance is 10%): it did "
                         "not learn the digits, so its robustness means nothing; train it longer.")
    spread = max(clean.values()) - min(clean.values())
    if spread > 0.05:
        lines.append(f"The clean accuracies differ by {100 * spread:.1f} points, so the verdicts compare the "
                     "share of above-chance accuracy each model keeps, not the points it loses (a weaker "
                     "model has fewer to lose).")
    se = lambda p, m: math.sqrt(max(p * (1 - p), 1e-12) / m)  # noqa: E731
    chance = 1.0 / CLASSES
    for kind in acc:
        amounts, unit = result["amounts"][kind], result["units"][kind]
        levels = len(acc[kind]["conv"]) - 1
        warped = {k: float(np.mean(acc[kind][k][1:])) for k in models}
        kept, kept_se = {}, {}
        for k in models:
            base = max(clean[k] - chance, 1e-9)
            kept[k] = (warped[k] - chance) / base
            kept_se[k] = math.sqrt(se(warped[k], n * levels) ** 2 + (kept[k] * se(clean[k], n)) ** 2) / base
        parts = []
        for key in ("mdrnn", "mdlstm"):
            if key not in models:
                continue
            if min(clean[key], clean["conv"]) < LEARNED:
                parts.append(f"no verdict for the {models[key]['label']}: it or the conv net is near chance")
                continue
            diff = kept[key] - kept["conv"]  # > 0: the grid RNN kept more
            noise = 2 * math.hypot(kept_se[key], kept_se["conv"])
            if diff > noise:
                verdict = "supports the claim"
            elif diff < -noise:
                verdict = "goes against the claim"
            else:
                verdict = "shows no clear difference"
            parts.append(f"the {models[key]['label']} kept {_pct(kept[key])} of its above-chance accuracy "
                         f"(lost {100 * (clean[key] - warped[key]):.1f} points) against the conv net's "
                         f"{_pct(kept['conv'])} (lost {100 * (clean['conv'] - warped['conv']):.1f}): this "
                         f"{verdict} (difference {100 * diff:+.1f} points of share, noise level "
                         f"±{100 * noise:.1f})")
        lines.append(f"{kind.capitalize()} up to {amounts[-1]:g} {unit}, averaged over the warped "
                     "strengths: " + "; ".join(parts) + ".")
    lines.append("The noise level covers only which digits happen to be in the test set, not the variation "
                 "between training runs, which is larger: this is one seed and one run per model, so rerun "
                 "with other seeds (--seed) before trusting a verdict.")
    return lines
