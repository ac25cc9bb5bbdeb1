"""MDLSTM (core/mdlstm.py): wavefront against the raster reference, backward against central
finite differences, bounded cells for the stable variant, and the array-API backends."""

from __future__ import annotations

import numpy as np
import pytest

from core import check
from core.backend import select_backend, to_numpy
from core.grid import mdlstm
from core.limits import ConfigError
from tests.harness import preactivation_scale, rounding

NP = select_backend("numpy")


def _setup(backend, cell, R=4, C=5, D=2, H=3, B=2, scale=1.5, forget_bias=1.0, seed=1):
    p = mdlstm.init_params(backend, D, H, seed, "float64", scale, forget_bias, cell)
    x = backend.randn((B, R, C, D), seed=seed + 10)
    return p, x


def _fd_check(cell, eps=1e-5, at=None):
    """Every entry of every adjoint against central differences of L = <u, h> (u nonzero only
    at cell ``at`` if given: the sweep then starts at that cell's diagonal)."""
    p, x = _setup(NP, cell)
    h, cache = mdlstm.forward(p, x, cell)
    u = NP.randn(h.shape, seed=5)
    if at is not None:
        u = np.where((np.arange(4)[:, None] == at[0]) & (np.arange(5)[None, :] == at[1]), u.transpose(0, 3, 1, 2),
                     0.0).transpose(0, 2, 3, 1)
        assert np.count_nonzero(u) == u.shape[0] * u.shape[3]
    grads, x_bar = mdlstm.backward(p, cache, u)
    return check.gradient_error(lambda a: float(np.sum(mdlstm.forward({k: a[k] for k in p}, a["x"], cell)[0] * u)),
                                {**p, "x": x}, {**grads, "x": x_bar}, h=eps)


@pytest.mark.parametrize("cell", mdlstm.CELLS)
def test_backward_matches_central_differences(cell):
    assert _fd_check(cell) <= 1e-7


@pytest.mark.parametrize("cell", mdlstm.CELLS)
@pytest.mark.parametrize("at", [(1, 2), (0, 0), (3, 4)])
def test_backward_from_one_cell_matches_central_differences(cell, at):
    """Adjoints seeded at one cell: the diagonals after it are not visited (nothing is sent back
    from them), and every adjoint still matches the differences of the whole forward pass."""
    assert _fd_check(cell, at=at) <= 1e-7


def test_one_forward_pass_serves_a_batch_of_adjoints():
    """A cache of one input read against three adjoints gives what three copies of the input
    give (to rounding: the products of the forward pass have other shapes), with the same exact
    zeros; weight adjoints need one input per adjoint."""
    p, x = _setup(NP, "graves", B=1)
    _, one = mdlstm.forward(p, x, "graves")
    _, copies = mdlstm.forward(p, np.repeat(x, 3, axis=0), "graves")
    u = np.zeros((3, 4, 5, 3))
    u[:, 2, 1, :] = np.eye(3)
    grads, xb = mdlstm.backward(p, one, u, weights=False)
    _, xb_ref = mdlstm.backward(p, copies, u)
    assert grads == {} and xb.shape == xb_ref.shape == (3, 4, 5, 2)
    np.testing.assert_allclose(xb, xb_ref, rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(xb == 0, xb_ref == 0)
    assert (xb[:, :3, :2] != 0).all() and (xb[:, 3:] == 0).all() and (xb[:, :, 2:] == 0).all()
    with pytest.raises(ConfigError, match="one each"):
        mdlstm.backward(p, one, u)


@pytest.mark.parametrize("cell", mdlstm.CELLS)
@pytest.mark.parametrize("shape", [(4, 5), (5, 3), (1, 6), (6, 1), (1, 1)])
def test_wavefront_equals_raster(backend, cell, shape):
    p, x = _setup(backend, cell, R=shape[0], C=shape[1])
    h, cache = mdlstm.forward(p, x, cell)
    h_ref, c_ref = mdlstm.forward_raster(p, x, cell)
    # the same function to rounding: each gate sums D + 2H + 1 terms, a cell waits on R + C - 1
    # cells before it, and the cell state adds the two neighbours' cells (scaled by gates <= 1)
    D, H = p["W_in"].shape[0], p["W_W"].shape[0]
    c_max = max(1.0, float(np.abs(to_numpy(c_ref)).max()))
    scale = preactivation_scale(*(to_numpy(p[k]) for k in ("W_in", "W_W", "W_N")), x=to_numpy(x),
                                bias=to_numpy(p["b"])) * c_max
    tol = dict(rtol=0, atol=rounding(scale, terms=D + 2 * H + 3, steps=shape[0] + shape[1] - 1))
    np.testing.assert_allclose(to_numpy(h), to_numpy(h_ref), **tol)
    np.testing.assert_allclose(to_numpy(mdlstm.cell_states(cache)), to_numpy(c_ref), **tol)


@pytest.mark.parametrize("cell", mdlstm.CELLS)
def test_backward_is_the_same_on_every_backend(backend, cell):
    p_np, x_np = _setup(NP, cell)
    p, x = _setup(backend, cell)
    u = NP.randn((2, 4, 5, 3), seed=7)
    g_np, xb_np = mdlstm.backward(p_np, mdlstm.forward(p_np, x_np, cell)[1], u)
    g, xb = mdlstm.backward(p, mdlstm.forward(p, x, cell)[1], backend.asarray(u))
    np.testing.assert_allclose(to_numpy(xb), xb_np, rtol=1e-12, atol=1e-14)
    for name in g_np:
        np.testing.assert_allclose(to_numpy(g[name]), g_np[name], rtol=1e-12, atol=1e-14)


def test_random_direction_check_on_a_larger_grid():
    """<u, J t> by central differences against <J^T u, t> from the backward pass (G = 10, H = 8)."""
    p, x = _setup(NP, "stable", R=10, C=10, D=3, H=8, B=3)
    h, cache = mdlstm.forward(p, x, "stable")
    u = NP.randn(h.shape, seed=3)
    t = {k: NP.randn(v.shape, seed=11 + n) for n, (k, v) in enumerate(p.items())}
    t_x = NP.randn(x.shape, seed=99)
    grads, x_bar = mdlstm.backward(p, cache, u)
    adjoint = sum(float(np.sum(grads[k] * t[k])) for k in p) + float(np.sum(x_bar * t_x))
    eps = 1e-6
    plus = mdlstm.forward({k: p[k] + eps * t[k] for k in p}, x + eps * t_x, "stable")[0]
    minus = mdlstm.forward({k: p[k] - eps * t[k] for k in p}, x - eps * t_x, "stable")[0]
    tangent = float(np.sum(u * (plus - minus))) / (2 * eps)
    assert abs(adjoint - tangent) <= 1e-7 * abs(tangent)


def test_stable_cell_stays_bounded_where_graves_cell_grows():
    """Control first: with forget gates near 1, Graves' two forget paths add up to nearly 2 per
    step and |c| grows along the diagonals; the stable cell mixes them, so |c| <= 1."""
    for cell, bounded in (("graves", False), ("stable", True)):
        p, x = _setup(NP, cell, R=12, C=12, D=2, H=4, B=2, scale=3.0, forget_bias=4.0)
        _, cache = mdlstm.forward(p, x, cell)
        c_max = float(np.max(np.abs(mdlstm.cell_states(cache))))
        if bounded:
            assert c_max <= 1.0
        else:
            assert c_max > 100.0


def test_bad_input_is_refused():
    p, x = _setup(NP, "stable")
    with pytest.raises(ConfigError, match="unknown MDLSTM cell"):
        mdlstm.forward(p, x, "peephole")
    with pytest.raises(ConfigError, match="D=2"):
        mdlstm.forward(p, x[..., :1], "stable")
