"""The conv net that seed problem 5 holds the MDRNN against: L layers of k x k convolutions.

Each layer maps a (B, R, C, C_in) grid to (B, R, C, H) with the same hidden width H as the
grid RNNs, "same" zero padding and stride 1, so the output is again one H-vector per cell:

    z_l = conv(y_{l-1}, W_l) + b_l,    y_l = tanh(z_l),    y_0 = x,   l = 1 .. L.

A cell of y_L therefore depends on the (L(k-1)+1) x (L(k-1)+1) window of inputs centred on it
(clipped at the border), and the whole map is computed in L sequential steps, against the
MDRNN's 2G-1 (seed problem 4) -- see ``core.grid.cost``.

The convolution is a matrix product on an im2col view: the k^2 shifted copies of the padded
input are concatenated along channels, (B, R, C, k^2 C_in) @ (k^2 C_in, H). Its backward is the
transposed product, with the k^2 shifted slices added back into the padded input's adjoint.
Written against the array API standard, like every core model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.backend import Backend, namespace
from core.limits import ConfigError


@dataclass(frozen=True)
class ConvCache:
    """What the backward pass needs: each layer's im2col input and its output."""

    cols: tuple[Any, ...]  # per layer (B, R, C, k^2 C_in)
    ys: tuple[Any, ...]  # per layer (B, R, C, H), after tanh
    k: int
    D: int  # input channels of the first layer


def init_params(backend: Backend, D: int, H: int, L: int, k: int, seed: int,
                dtype: str = "float64", scale: float = 1.0) -> dict[str, Any]:
    """Weights ``W{l}`` (k, k, C_in, H) ~ N(0, scale^2 / (k^2 C_in)) and zero biases ``b{l}``."""
    if k % 2 != 1:
        raise ConfigError(f"kernel size k = {k} must be odd, so the 'same' padding is symmetric")
    params: dict[str, Any] = {}
    for layer in range(L):
        c_in = D if layer == 0 else H
        fan_in = k * k * c_in
        params[f"W{layer}"] = backend.randn((k, k, c_in, H), seed=seed + 7919 * layer, dtype=dtype,
                                            scale=scale / fan_in**0.5)
        params[f"b{layer}"] = backend.asarray([0.0] * H, dtype)
    return params


def num_layers(params: dict[str, Any]) -> int:
    return sum(1 for name in params if name[:1] == "W" and name[1:].isdigit())


def im2col(y: Any, k: int) -> Any:
    """(B, R, C, F) -> (B, R, C, k^2 F): the k x k neighbourhood of each cell, zero padded."""
    xp = namespace(y)
    B, R, C, F = y.shape
    p = k // 2
    pad = xp.zeros((B, R + 2 * p, C + 2 * p, F), dtype=y.dtype)
    pad[:, p:p + R, p:p + C, :] = y
    # offsets in (row, column) order, matching W.reshape(k * k * F, H)
    return xp.concat([pad[:, a:a + R, b:b + C, :] for a in range(k) for b in range(k)], axis=-1)


def col2im(cols_bar: Any, k: int, F: int) -> Any:
    """Adjoint of :func:`im2col`: (B, R, C, k^2 F) -> (B, R, C, F), summing the shifted slices."""
    xp = namespace(cols_bar)
    B, R, C, _ = cols_bar.shape
    p = k // 2
    pad = xp.zeros((B, R + 2 * p, C + 2 * p, F), dtype=cols_bar.dtype)
    for n, (a, b) in enumerate((a, b) for a in range(k) for b in range(k)):
        pad[:, a:a + R, b:b + C, :] += cols_bar[..., n * F:(n + 1) * F]
    return pad[:, p:p + R, p:p + C, :]


def conv_layer(y: Any, W: Any, b: Any) -> tuple[Any, Any]:
    """One layer: (cols, tanh(cols @ W + b)) with cols = im2col(y)."""
    xp = namespace(y, W, b)
    k, _, F, H = W.shape
    B, R, C, _ = y.shape
    cols = im2col(y, k)  # (B, R, C, k^2 F)
    z = xp.reshape(cols, (B * R * C, k * k * F)) @ xp.reshape(W, (k * k * F, H)) + b  # (B R C, H)
    return cols, xp.reshape(xp.tanh(z), (B, R, C, H))


def conv_layer_backward(y_bar: Any, cols: Any, y: Any, W: Any) -> tuple[Any, Any, Any]:
    """Adjoints (input_bar, W_bar, b_bar) of :func:`conv_layer` given its output adjoint."""
    xp = namespace(y_bar, cols, W)
    k, _, F, H = W.shape
    z_bar = y_bar * (1.0 - y * y)  # tanh' = 1 - tanh^2
    z_flat = xp.reshape(z_bar, (-1, H))  # (B R C, H)
    W_bar = xp.reshape(xp.matrix_transpose(xp.reshape(cols, (-1, k * k * F))) @ z_flat, (k, k, F, H))
    b_bar = xp.sum(z_flat, axis=0)
    cols_bar = xp.reshape(z_flat @ xp.matrix_transpose(xp.reshape(W, (k * k * F, H))),
                          cols.shape)  # (B, R, C, k^2 F)
    return col2im(cols_bar, k, F), W_bar, b_bar


def forward(params: dict[str, Any], x: Any) -> tuple[Any, ConvCache]:
    """x (B, R, C, D) -> y_L (B, R, C, H) and the cache for :func:`backward`."""
    cols, ys = [], []
    y = x
    for layer in range(num_layers(params)):
        c, y = conv_layer(y, params[f"W{layer}"], params[f"b{layer}"])
        cols.append(c)
        ys.append(y)
    k = params["W0"].shape[0]
    return y, ConvCache(tuple(cols), tuple(ys), k, x.shape[-1])


def backward(params: dict[str, Any], cache: ConvCache, y_bar: Any) -> tuple[dict[str, Any], Any]:
    """Given y_L's adjoint (B, R, C, H): the weight adjoints and x_bar (B, R, C, D)."""
    grads: dict[str, Any] = {}
    for layer in reversed(range(num_layers(params))):
        y_bar, grads[f"W{layer}"], grads[f"b{layer}"] = conv_layer_backward(
            y_bar, cache.cols[layer], cache.ys[layer], params[f"W{layer}"])
    return grads, y_bar

