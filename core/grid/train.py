"""Training the grid models on the 8 x 8 digits: a read-out on top, cross-entropy, Adam.

Each model (``core.grid.nets``: a one- or four-direction tanh MDRNN or MDLSTM, or a conv net)
reads a digit as a grid of 8 x 8 cells with D = 1 feature, averages its output features over
the cells, and a linear read-out gives 10 class scores:

    z = W_out mean_ij h(i, j) + b_out,     loss = cross-entropy(softmax(z), label).

Training is plain Adam on mini-batches with the models' own backward passes. Everything is
deterministic given the seed. The warping test that uses it is ``core.grid.warptest``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.backend import Backend, namespace, to_numpy
from core.data import CLASSES
from core.grid import cost
from core.grid.nets import GridNet
from core.limits import ProgressFn, no_progress


def total_params(net: GridNet) -> int:
    """The grid model's parameters plus its read-out (F x 10 weights, 10 biases)."""
    return net.num_params() + cost.readout_weights(net.F, CLASSES)


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


def predicted(net: GridNet, params: dict[str, Any], backend: Backend, images: np.ndarray,
              dtype: str = "float64") -> np.ndarray:
    """The class given to each of ``images`` (N, R, C)."""
    return predict(net, params, backend.asarray(images[..., None], dtype))


def accuracy(net: GridNet, params: dict[str, Any], backend: Backend, images: np.ndarray,
             labels: np.ndarray, dtype: str = "float64") -> float:
    """Fraction of ``images`` (N, R, C) classified as ``labels``."""
    return float(np.mean(predicted(net, params, backend, images, dtype) == labels))


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
