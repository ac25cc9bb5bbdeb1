"""core.mdrnn: raster and wavefront agree, the counted cost matches the exact model, and the
backward pass matches finite differences (float64) on every backend."""

from __future__ import annotations

import types

import numpy as np
import pytest

from core import check
from core.backend import select_backend, to_numpy
from core.grid import cost, mdrnn
from core.grid.layout import skew, unskew
from tests.harness import preactivation_scale, rounding

SHAPES = [(1, 1), (1, 5), (5, 1), (3, 5), (5, 3), (4, 4)]


def setup(backend, Gr, Gc, D=3, H=4, B=2, seed=0, dtype="float64"):
    params = mdrnn.init_params(backend, D, H, seed=seed, dtype=dtype, scale=1.5)
    x = backend.randn((B, Gr, Gc, D), seed + 100, dtype)
    return params, x


def same_function(params, x):
    """Tolerance for two schedules of one grid (or two code paths) agreeing to rounding: each cell
    sums D + 2H + 1 terms, and a cell depends on Gr + Gc - 1 cells before it."""
    W_in, W_W, W_N, b = (to_numpy(a) for a in params.arrays().values())
    _, Gr, Gc, D = x.shape
    scale = preactivation_scale(W_in.T, W_W.T, W_N.T, x=to_numpy(x), bias=b)
    return dict(rtol=0, atol=rounding(scale, terms=D + 2 * W_in.shape[0] + 1, steps=Gr + Gc - 1))


def loop_reference(params, x):
    """An independent cell-by-cell loop in NumPy, column vectors as in the seed."""
    W_in, W_W, W_N, b = (to_numpy(a) for a in params.arrays().values())
    x = to_numpy(x)
    B, Gr, Gc, _ = x.shape
    h = np.zeros((B, Gr + 1, Gc + 1, W_in.shape[0]))  # padded: index 0 is outside the grid
    for n in range(B):
        for i in range(Gr):
            for j in range(Gc):
                a = W_in @ x[n, i, j] + W_W @ h[n, i + 1, j] + W_N @ h[n, i, j + 1] + b
                h[n, i + 1, j + 1] = np.tanh(a)
    return h[:, 1:, 1:]


@pytest.mark.parametrize("Gr,Gc", SHAPES)
def test_raster_and_wavefront_match_an_independent_loop(backend, Gr, Gc):
    params, x = setup(backend, Gr, Gc)
    ref = loop_reference(params, x)
    for schedule in mdrnn.SCHEDULES:
        h = to_numpy(mdrnn.forward(params, x, schedule).h)
        assert h.shape == (2, Gr, Gc, 4)
        np.testing.assert_allclose(h, ref, **same_function(params, x), err_msg=schedule)


def test_wavefront_equals_raster_on_a_larger_grid(backend):
    params, x = setup(backend, 13, 9, D=2, H=8, B=3)
    hr = to_numpy(mdrnn.forward(params, x, "raster").h)
    hw = to_numpy(mdrnn.forward(params, x, "wavefront").h)
    np.testing.assert_allclose(hw, hr, **same_function(params, x))
    assert np.abs(hr).max() > 0.3  # not a trivially small state


def test_numpy_fast_path_matches_the_standard_path():
    backend = select_backend("numpy")
    for Gr, Gc in [(6, 11), (11, 6), (7, 7), (1, 3)]:
        params, x = setup(backend, Gr, Gc, B=3)
        fast = mdrnn._wavefront(params, x, fast=True)
        std = mdrnn._wavefront(params, x, fast=False)
        np.testing.assert_allclose(fast.h, std.h, **same_function(params, x))
        assert fast.cost.macs == std.cost.macs and fast.cost.steps == std.cost.steps
        assert fast.cost.peak_state_bytes == std.cost.peak_state_bytes


def test_inplace_steps_on_a_skewed_copy_match_raster(monkeypatch):
    """The CuPy branch (skew a copy of the projected inputs, then step in place with the
    module's out= functions), run here with a stand-in module over NumPy."""
    calls = {"matmul": 0, "add": 0, "tanh": 0}

    def counted(name):
        def f(*args, **kwargs):
            calls[name] += 1
            assert "out" in kwargs  # in place: every call writes into a buffer it is given
            return getattr(np, name)(*args, **kwargs)
        return f

    stand_in = types.SimpleNamespace(empty=np.empty, **{k: counted(k) for k in calls})
    monkeypatch.setattr(mdrnn, "inplace_module", lambda xp: stand_in)
    backend = select_backend("numpy")
    shapes = [(6, 11), (11, 6), (1, 3)]
    for Gr, Gc in shapes:
        params, x = setup(backend, Gr, Gc, B=3)
        fast = mdrnn._wavefront(params, x, fast=True)
        np.testing.assert_allclose(fast.h, mdrnn.forward(params, x, "raster").h, **same_function(params, x))
        assert fast.cost.steps == Gr + Gc - 1
    assert calls["tanh"] == sum(Gr + Gc - 1 for Gr, Gc in shapes)  # one in-place tanh per step
    assert calls["add"] == calls["matmul"] > 0


def test_skew_round_trips_and_puts_each_diagonal_in_one_slice(backend):
    xp = backend.xp
    Gr, Gc = 4, 6
    a = backend.asarray(np.arange(Gr * Gc * 2, dtype=np.float64).reshape(Gr, Gc, 2))
    for pad in (0, 1):
        s = skew(a, pad)
        assert s.shape == (Gr + Gc - 1 + pad, Gr + pad, 2)
        np.testing.assert_array_equal(to_numpy(unskew(s, Gr, Gc, pad)), to_numpy(a))
        host, s_np = to_numpy(a), to_numpy(s)
        for d in range(Gr + Gc - 1):
            lo, hi = cost.diagonal_rows(d, Gr, Gc)
            cells = np.stack([host[i, d - i] for i in range(lo, hi)])
            np.testing.assert_array_equal(s_np[d + pad, lo + pad:hi + pad], cells)
        assert float(xp.sum(s)) == float(xp.sum(a))  # everything off the grid is zero


def test_numpy_skew_matches_the_loop_of_slices():
    a = np.random.default_rng(3).standard_normal((5, 3, 2, 4))
    strict = select_backend("array_api_strict")
    for pad in (0, 1):
        np.testing.assert_array_equal(skew(a, pad), to_numpy(skew(strict.asarray(a), pad)))


@pytest.mark.parametrize("Gr,Gc", [*SHAPES, (8, 3)])
def test_counted_cost_matches_the_exact_model(backend, Gr, Gc):
    D, H, B = 3, 4, 2
    params, x = setup(backend, Gr, Gc, D, H, B)
    exact = cost.macs_exact(Gr, Gc, D, H, B)
    for schedule in mdrnn.SCHEDULES:
        c = mdrnn.forward(params, x, schedule).cost
        assert c.macs == exact, schedule
        assert c.macs_input == B * Gr * Gc * D * H
        assert c.macs_recurrent == B * H * H * (2 * Gr * Gc - Gr - Gc)
    raster = mdrnn.forward(params, x, "raster").cost
    wave = mdrnn.forward(params, x, "wavefront").cost
    assert raster.steps == cost.steps_raster(Gr, Gc) == Gr * Gc
    assert wave.steps == cost.steps_wavefront(Gr, Gc) == Gr + Gc - 1
    assert raster.peak_state_bytes == cost.state_bytes_raster(Gr, Gc, H, B)
    assert wave.peak_state_bytes == cost.state_bytes_wavefront(Gr, Gc, H, B)
    assert wave.products < raster.products or min(Gr, Gc) == 1  # a line is one cell per diagonal
    for schedule in mdrnn.SCHEDULES:  # the timed runs count nothing and compute the same states
        quiet = mdrnn.forward(params, x, schedule, count=False)
        assert quiet.cost.macs == quiet.cost.steps == quiet.cost.products == 0
        assert np.array_equal(to_numpy(quiet.h), to_numpy(mdrnn.forward(params, x, schedule).h))


def test_seed_eq11_misses_one_of_the_two_recurrent_products():
    """G^2(DH + H^2) counts one H x H product per cell; there are two (W_W and W_N)."""
    backend = select_backend("numpy")
    G, D, H = 16, 3, 32
    params, x = setup(backend, G, G, D, H, B=1)
    measured = mdrnn.forward(params, x, "wavefront").cost.macs
    seed = cost.macs_seed(G, G, D, H)
    dense = cost.macs_dense(G, G, D, H)
    assert measured == dense - 2 * G * H * H  # dense minus the boundary products skipped
    assert measured / seed == pytest.approx(1.8)  # (DH + 2H^2 - 2H^2/G) / (DH + H^2) here
    assert measured / seed == pytest.approx((D * H + 2 * H * H - 2 * H * H / G) / (D * H + H * H))


def test_weights_of_the_real_arrays_against_eq10(backend):
    for D, H in [(3, 32), (1, 1), (7, 5)]:
        params = mdrnn.init_params(backend, D, H)
        assert params.count(bias=False) == cost.weights_seed(D, H) == D * H + 2 * H * H
        assert params.count() == cost.weights_with_bias(D, H)
        assert (params.D, params.H) == (D, H)


def test_problem4_step_counts():
    for G in range(1, 9):
        assert cost.steps_wavefront(G, G) == 2 * G - 1
        assert sum(cost.diagonal_lengths(G, G)) == G * G
        assert max(cost.diagonal_lengths(G, G)) == G
    assert cost.diagonal_lengths(2, 4) == [1, 2, 2, 2, 1]


def test_outside_the_grid_is_the_zero_state(backend):
    params, x = setup(backend, 3, 3, B=1)
    h = to_numpy(mdrnn.forward(params, x, "wavefront").h)
    W_in, b = to_numpy(params.W_in), to_numpy(params.b)
    np.testing.assert_allclose(h[0, 0, 0], np.tanh(W_in @ to_numpy(x)[0, 0, 0] + b), rtol=1e-14)


def test_float32_runs_and_stays_close_to_float64(backend):
    p64, x64 = setup(backend, 6, 5)
    p32, x32 = setup(backend, 6, 5, dtype="float32")
    h32 = mdrnn.forward(p32, x32, "wavefront").h
    assert to_numpy(h32).dtype == np.float32
    np.testing.assert_allclose(to_numpy(h32), to_numpy(mdrnn.forward(p64, x64).h), atol=1e-5)


def test_bad_inputs_are_refused_with_a_clear_message(backend):
    params, x = setup(backend, 3, 3)
    with pytest.raises(ValueError, match="unknown schedule 'zigzag'"):
        mdrnn.forward(params, x, "zigzag")
    with pytest.raises(ValueError, match="D = 2 features"):
        mdrnn.forward(params, backend.randn((1, 3, 3, 2), 0))
    with pytest.raises(ValueError, match=r"\(B, Gr, Gc, D\)"):
        mdrnn.forward(params, backend.randn((3, 3, 3), 0))


# --------------------------------------------------------------------------- backward


def _linear_loss_problem(backend, sizes, seed):
    """A grid's parameters and input as NumPy arrays by name, the analytic gradients of the linear
    loss <c, h> there, and that loss as a function of such arrays (for the finite differences)."""
    Gr, Gc, D, H, B = sizes
    params, x = setup(backend, Gr, Gc, D, H, B)
    c = backend.randn((B, Gr, Gc, H), seed)
    _, grads = mdrnn.linear_loss_and_grads(params, x, c)
    inputs = {k: to_numpy(v) for k, v in {**params.arrays(), "x": x}.items()}

    def loss(a):
        arrays = {k: backend.asarray(v) for k, v in a.items()}
        xx = arrays.pop("x")
        return float(to_numpy(mdrnn.linear_loss_and_grads(mdrnn.MDRNNParams(**arrays), xx, c)[0]))

    return inputs, {k: to_numpy(v) for k, v in grads.arrays().items()}, loss


def test_backward_matches_central_differences_entrywise(backend):
    """Every entry of every adjoint against (L(θ + ε e) - L(θ - ε e)) / 2ε, float64."""
    inputs, grads, loss = _linear_loss_problem(backend, (3, 4, 2, 3, 2), 7)
    for name in inputs:  # each adjoint on its own, so a failure names it
        rel = check.gradient_error(lambda a, name=name: loss({**inputs, name: a[name]}), {name: inputs[name]},
                                   {name: grads[name]}, h=1e-6)
        assert rel <= 1e-7, f"{name}: relative error {rel:.2e}"


def test_backward_in_a_random_direction_on_a_larger_grid(backend):
    """<grad, t> against the directional derivative (L(θ + εt) - L(θ - εt)) / 2ε."""
    inputs, grads, loss = _linear_loss_problem(backend, (11, 8, 3, 6, 3), 8)
    t = check.random_direction(inputs, np.random.default_rng(9))  # unit length: the step along t is h
    fd = check.along(loss, inputs, t, h=1e-5)
    analytic = check.inner(grads, t)
    assert check.relative_difference(analytic, fd) <= 1e-7


def test_backward_cost_is_twice_the_forward(backend):
    Gr, Gc, D, H, B = 5, 7, 3, 4, 2
    params, x = setup(backend, Gr, Gc, D, H, B)
    fwd = mdrnn.forward(params, x, "raster")
    grads, c = mdrnn.backward(params, x, fwd.h, backend.randn((B, Gr, Gc, H), 1))
    assert c.macs == cost.macs_backward_exact(Gr, Gc, D, H, B) == 2 * fwd.cost.macs
    assert c.steps == Gr + Gc - 1
    assert grads.x.shape == x.shape and grads.W_in.shape == params.W_in.shape


def test_backward_is_the_same_from_either_schedule():
    backend = select_backend("numpy")
    params, x = setup(backend, 6, 4)
    c = backend.randn((2, 6, 4, 4), 3)
    a = mdrnn.backward(params, x, mdrnn.forward(params, x, "raster").h, c)[0]
    b = mdrnn.backward(params, x, mdrnn.forward(params, x, "wavefront").h, c)[0]
    for name in a.arrays():
        np.testing.assert_allclose(a.arrays()[name], b.arrays()[name], rtol=1e-13, atol=1e-15)
