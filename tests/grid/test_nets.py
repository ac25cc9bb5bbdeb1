"""The compared models behind one interface (core/gridnets.py): four-direction scanning by
flipping, gradients through every model, and parameter counts against core/cost.py."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.backend import select_backend, to_numpy
from core.grid import cost
from core.grid.nets import CORNERS, GridNet, flip
from core.limits import ConfigError

NP = select_backend("numpy")
NETS = [GridNet("mdrnn", 2, 3), GridNet("mdrnn", 2, 3, directions=4), GridNet("mdlstm", 2, 3, cell="graves"),
        GridNet("mdlstm", 2, 3, directions=4), GridNet("conv", 2, 3, L=2, k=3)]


@pytest.mark.parametrize("net", NETS, ids=lambda n: n.label)
def test_gradients_in_a_random_direction(net):
    """<u, J t> by central differences against <J^T u, t> from backward, parameters and input."""
    p = net.init(NP, seed=0, scale=1.3)
    x = NP.randn((2, 4, 5, 2), seed=1)
    h, cache = net.forward(p, x)
    assert h.shape == (2, 4, 5, net.F)
    u = NP.randn(h.shape, seed=2)
    grads, x_bar = net.backward(p, cache, u)
    assert sorted(grads) == sorted(p)
    t = {k: NP.randn(v.shape, seed=10 + n) for n, (k, v) in enumerate(p.items())}
    t_x = NP.randn(x.shape, seed=9)
    adjoint = sum(float(np.sum(grads[k] * t[k])) for k in p) + float(np.sum(x_bar * t_x))
    eps = 1e-6
    plus = net.forward({k: p[k] + eps * t[k] for k in p}, x + eps * t_x)[0]
    minus = net.forward({k: p[k] - eps * t[k] for k in p}, x - eps * t_x)[0]
    tangent = float(np.sum(u * (plus - minus))) / (2 * eps)
    assert abs(adjoint - tangent) <= 1e-7 * abs(tangent)


@pytest.mark.parametrize("model", ["mdrnn", "mdlstm"])
def test_each_direction_is_the_one_direction_model_on_the_flipped_grid(model):
    four = GridNet(model, 2, 3, directions=4)
    one = GridNet(model, 2, 3)
    p = four.init(NP, seed=0)
    x = NP.randn((2, 4, 5, 2), seed=1)
    h, _ = four.forward(p, x)
    for n, corner in enumerate(CORNERS):
        part = {"top-left." + k.split(".", 1)[1]: v for k, v in p.items() if k.startswith(corner + ".")}
        axes = CORNERS[corner]
        expected = flip(one.forward(part, flip(x, axes))[0], axes)
        np.testing.assert_array_equal(h[..., n * 3:(n + 1) * 3], expected)


@pytest.mark.parametrize("net", NETS, ids=lambda n: n.label)
def test_same_numbers_on_every_backend(backend, net):
    p_np, p = net.init(NP, seed=0), net.init(backend, seed=0)
    x = NP.randn((1, 3, 4, 2), seed=1)
    h_np, c_np = net.forward(p_np, x)
    h, c = net.forward(p, backend.asarray(x))
    np.testing.assert_allclose(to_numpy(h), h_np, rtol=1e-12, atol=1e-14)
    _, xb_np = net.backward(p_np, c_np, h_np)
    _, xb = net.backward(p, c, h)
    np.testing.assert_allclose(to_numpy(xb), xb_np, rtol=1e-12, atol=1e-14)


MORE = [GridNet("conv", 3, 5, L=4, k=5), GridNet("mdlstm", 1, 7, directions=4)]


@pytest.mark.parametrize("net", [*NETS, *MORE], ids=lambda n: n.label)
def test_parameter_counts_from_the_arrays_match_the_formulas(net):
    p = net.init(NP, seed=0)
    assert sum(math.prod(a.shape) for a in p.values()) == net.num_params()


def test_cost_formulas():
    # an MDLSTM cell is five tanh cells' worth of products, border zeros multiplied
    assert cost.mdlstm_macs(6, 7, 3, 4) == 5 * cost.macs_dense(6, 7, 3, 4)
    assert cost.mdlstm_weights(3, 4) == 5 * cost.weights_with_bias(3, 4)
    # a 1 x 1, one-layer conv net is a per-cell linear map
    assert cost.conv_macs(6, 7, 3, 4, 1, 1) == 6 * 7 * 3 * 4
    assert cost.conv_weights(3, 4, 1, 1) == 3 * 4 + 4
    assert cost.conv_steps(5) == 5 and cost.conv_receptive_field(3, 3) == 7
    assert GridNet("mdlstm", 1, 4, directions=4).steps(8, 8) == 15 == cost.steps_wavefront(8, 8)
    assert GridNet("conv", 1, 4, L=3).steps(8, 8) == 3
    assert cost.readout_weights(24, 10) == 250


def test_bad_models_are_refused():
    with pytest.raises(ConfigError, match="unknown model"):
        GridNet("transformer", 1, 2)
    with pytest.raises(ConfigError, match="choose 1 or 4"):
        GridNet("mdrnn", 1, 2, directions=2)
    with pytest.raises(ConfigError, match="unknown MDLSTM cell"):
        GridNet("mdlstm", 1, 2, cell="peephole")
