"""Conv net comparator (core/convnet.py): im2col against a direct convolution, backward against
central finite differences, the im2col/col2im adjoint pair, and the array-API backends."""

from __future__ import annotations

import numpy as np
import pytest

from core import check
from core.backend import select_backend, to_numpy
from core.grid import convnet, cost
from core.limits import ConfigError

NP = select_backend("numpy")


def _direct_conv(y, W, b):
    """tanh of a 'same' convolution by explicit loops (the reference)."""
    B, R, C, F = y.shape
    k, H = W.shape[0], W.shape[3]
    p = k // 2
    pad = np.zeros((B, R + 2 * p, C + 2 * p, F))
    pad[:, p:p + R, p:p + C] = y
    out = np.zeros((B, R, C, H))
    for r in range(R):
        for c in range(C):
            out[:, r, c] = np.einsum("bijf,ijfh->bh", pad[:, r:r + k, c:c + k], W) + b
    return np.tanh(out)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_layer_equals_direct_convolution(k):
    params = convnet.init_params(NP, 2, 4, 1, k, seed=0)
    params["b0"] = NP.randn((4,), seed=3)
    x = NP.randn((2, 6, 5, 2), seed=1)
    y, _ = convnet.forward(params, x)
    np.testing.assert_allclose(y, _direct_conv(x, params["W0"], params["b0"]), rtol=0, atol=1e-13)


def test_im2col_and_col2im_are_adjoint():
    y = NP.randn((2, 5, 4, 3), seed=0)
    cols = convnet.im2col(y, 3)
    v = NP.randn(cols.shape, seed=1)
    assert np.isclose(np.sum(cols * v), np.sum(y * convnet.col2im(v, 3, 3)), rtol=1e-13)


def test_backward_matches_central_differences():
    params = convnet.init_params(NP, 2, 3, 2, 3, seed=0, scale=1.5)
    params = {k: v + 0.1 * NP.randn(v.shape, seed=5) if k.startswith("b") else v for k, v in params.items()}
    x = NP.randn((2, 4, 5, 2), seed=1)
    y, cache = convnet.forward(params, x)
    u = NP.randn(y.shape, seed=2)
    grads, x_bar = convnet.backward(params, cache, u)
    err = check.gradient_error(lambda a: float(np.sum(convnet.forward({k: a[k] for k in params}, a["x"])[0] * u)),
                               {**params, "x": x}, {**grads, "x": x_bar})
    assert err <= 1e-7


def test_same_numbers_on_every_backend(backend):
    p_np = convnet.init_params(NP, 2, 3, 3, 3, seed=0)
    p = convnet.init_params(backend, 2, 3, 3, 3, seed=0)
    x_np = NP.randn((2, 5, 5, 2), seed=1)
    y_np, c_np = convnet.forward(p_np, x_np)
    y, c = convnet.forward(p, backend.asarray(x_np))
    np.testing.assert_allclose(to_numpy(y), y_np, rtol=1e-12, atol=1e-14)
    g_np, xb_np = convnet.backward(p_np, c_np, y_np)
    g, xb = convnet.backward(p, c, y)
    np.testing.assert_allclose(to_numpy(xb), xb_np, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(to_numpy(g["W1"]), g_np["W1"], rtol=1e-12, atol=1e-14)


def test_read_out_weights_in_params_are_not_layers():
    params = convnet.init_params(NP, 1, 3, 2, 3, seed=0)
    params["W_out"] = np.zeros((3, 10))
    assert convnet.num_layers(params) == 2


def test_receptive_field_and_even_kernels():
    assert cost.conv_receptive_field(3, 3) == 7
    assert cost.conv_receptive_field(1, 1) == 1
    with pytest.raises(ConfigError, match="odd"):
        convnet.init_params(NP, 1, 2, 1, 4, seed=0)
