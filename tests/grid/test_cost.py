"""core.cost: the models as formulas, the step counts of problem 4, slopes, and the Tally."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.backend import select_backend
from core.grid import cost, layout, mdrnn

NP = select_backend("numpy")


def test_weight_counts_eq10_and_the_bias():
    assert cost.weights_seed(3, 32) == 3 * 32 + 2 * 32 * 32 == 2144
    assert cost.weights_with_bias(3, 32) == 2144 + 32


def test_arithmetic_models_on_a_worked_example():
    G, D, H = 64, 3, 32
    assert cost.macs_seed(G, G, D, H) == 64 * 64 * (96 + 1024) == 4_587_520
    assert cost.macs_dense(G, G, D, H) == 64 * 64 * (96 + 2048) == 8_781_824
    # Exact: dense less the first column's west and the first row's north products.
    assert cost.macs_exact(G, G, D, H) == cost.macs_dense(G, G, D, H) - 2 * G * H * H == 8_650_752
    assert cost.macs_exact(3, 5, 2, 4, B=7) == 7 * (15 * 8 + 16 * (3 * 4 + 2 * 5))
    assert cost.macs_backward_exact(3, 5, 2, 4) == 2 * cost.macs_exact(3, 5, 2, 4)
    assert cost.recurrent_products(1, 1) == (0, 0)  # a single cell reads only zero states


@pytest.mark.parametrize("Gr,Gc", [(1, 1), (1, 7), (7, 1), (3, 8), (8, 3), (6, 6)])
def test_diagonals_cover_every_cell_once(Gr, Gc):
    seen = []
    for d in range(cost.steps_wavefront(Gr, Gc)):
        lo, hi = layout.diagonal_rows(d, Gr, Gc)
        assert hi > lo
        seen += [(i, d - i) for i in range(lo, hi)]
    assert sorted(seen) == [(i, j) for i in range(Gr) for j in range(Gc)]
    assert sum(cost.diagonal_lengths(Gr, Gc)) == cost.steps_raster(Gr, Gc)


def test_loglog_slope():
    xs = [4, 8, 16, 32]
    assert cost.loglog_slope(xs, [3 * x**2 for x in xs]) == pytest.approx(2.0)
    assert cost.loglog_slope(xs, [5.0] * 4) == pytest.approx(0.0)
    assert math.isnan(cost.loglog_slope([4], [1.0]))
    assert math.isnan(cost.loglog_slope([4, 4], [1.0, 2.0]))


def test_tally_counts_products_steps_and_peak_memory(backend):
    xp = backend.xp
    t = cost.Tally("demo")
    a, b = xp.ones((5, 3)), xp.ones((3, 4))
    out = t.mm(a, b, "input")
    assert out.shape == (5, 4)
    t.mm(out, xp.ones((4, 2)), "recurrent")
    t.step(2)
    t.hold(a, b)
    t.release(b)
    t.hold(xp.ones((2,), dtype=xp.float32))
    r = t.result()
    assert (r.macs_input, r.macs_recurrent, r.macs, r.products, r.steps) == (60, 40, 100, 2, 2)
    assert r.peak_state_bytes == (15 + 12) * 8
    with pytest.raises(ValueError, match="do not match"):
        t.mm(a, a, "other")


def test_nbytes_of_any_backend(backend):
    assert cost.nbytes(backend.xp.zeros((3, 4), dtype=backend.xp.float32)) == 48
    assert cost.nbytes(select_backend("numpy").xp.zeros(5)) == 40


def test_memory_estimates_grow_with_the_grid():
    small = cost.forward_bytes_estimate(8, 8, 3, 16)
    assert cost.forward_bytes_estimate(16, 16, 3, 16) > 3.5 * small
    assert cost.backward_bytes_estimate(8, 8, 3, 16) > small
    assert cost.measure_bytes_estimate(8, 8, 3, 16) > small
    assert cost.state_bytes_wavefront(8, 8, 4) > cost.state_bytes_raster(8, 8, 4)
    assert cost.state_bytes_raster(8, 8, 4, B=2, itemsize=4) == 2 * 64 * 4 * 2 * 4
    assert np.isclose(cost.state_bytes_wavefront(100, 100, 1) / cost.state_bytes_raster(100, 100, 1), 1.51)


def test_cell_steps_pictures_the_two_schedules():
    r = layout.cell_steps(2, 3, "raster")
    w = layout.cell_steps(2, 3, "wavefront")
    assert r.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert w.tolist() == [[0, 1, 2], [1, 2, 3]]
    assert w.max() + 1 == cost.steps_wavefront(2, 3) and r.max() + 1 == cost.steps_raster(2, 3)
    with pytest.raises(ValueError):
        layout.cell_steps(2, 2, "spiral")
    assert cost.forward_seconds(64, 64, 3, 32, 1, "raster") > cost.forward_seconds(64, 64, 3, 32, 1,
                                                                                      "wavefront")


@pytest.mark.parametrize("Gr, Gc, D, H, B", [(1, 1, 1, 1, 1), (4, 5, 3, 2, 2), (7, 7, 2, 6, 1), (3, 9, 1, 4, 3)])
def test_flops_additions_and_tanh_are_counted_not_assumed(Gr, Gc, D, H, B):
    """Problem 3 in floating-point operations: two per multiply-add, plus the additions beside
    the products (bias, neighbour sums), tanh apart; both schedules run exactly what the formulas
    say, and the FLOPs are about twice the seed's 'multiplications and additions' count in MACs."""
    params = mdrnn.init_params(NP, D, H, seed=0)
    x = NP.randn((B, Gr, Gc, D), 1)
    for schedule in mdrnn.SCHEDULES:
        c = mdrnn.forward(params, x, schedule).cost
        assert c.additions == cost.additions_exact(Gr, Gc, H, B)
        assert c.tanh == cost.tanh_count(Gr, Gc, H, B)
        assert c.flops == cost.flops_exact(Gr, Gc, D, H, B) == 2 * c.macs + c.additions
    macs = cost.macs_exact(Gr, Gc, D, H, B)
    assert 2 * macs < cost.flops_exact(Gr, Gc, D, H, B) <= 2 * macs + 3 * B * Gr * Gc * H


@pytest.mark.parametrize("Gr, Gc", [(1, 1), (3, 3), (4, 7), (16, 16), (9, 2)])
def test_two_g_minus_one_is_a_lower_bound_found_by_walking_the_dependencies(Gr, Gc):
    """The longest chain of cells that wait for each other, walked cell by cell, is Gr + Gc - 1:
    the wavefront's count is also the fewest steps any schedule can take (problem 4)."""
    assert layout.longest_chain(Gr, Gc) == cost.steps_wavefront(Gr, Gc) == Gr + Gc - 1


@pytest.mark.parametrize("G", [2, 3, 8, 17])
def test_a_wavefront_step_is_five_arithmetic_calls(G):
    """Every diagonal after the first holds cells with a west and cells with a north neighbour:
    two products, two additions and one tanh. Diagonal 0 (the corner cell, no neighbour inside
    the grid) is one tanh, and the input projection of all cells with its bias comes once, up
    front, outside the steps. On a GPU each call is a kernel launch."""
    c = mdrnn.forward(mdrnn.init_params(NP, 3, 4), NP.randn((1, G, G, 3), 1), "wavefront").cost
    assert c.steps == 2 * G - 1
    assert c.calls == 2 + 1 + 5 * (c.steps - 1)
    assert c.products == 1 + 2 * (c.steps - 1)
