"""Context and sensitivity (core/context.py): each model sees exactly its context, maps agree
with finite differences, decay rates and the computed summary."""

from __future__ import annotations

import numpy as np
import pytest

from core import check
from core.backend import select_backend
from core.grid import claims, context
from core.grid.context import SensitivityConfig, context_mask, decay_profile, decay_rate, sensitivity_map
from core.grid.nets import GridNet
from core.limits import ConfigError

NP = select_backend("numpy")
POINTS = [(0, 0), (3, 5), (7, 2), (7, 7), (4, 0)]


@pytest.mark.parametrize("net", [GridNet("mdrnn", 2, 3), GridNet("mdlstm", 2, 3, cell="graves"),
                                 GridNet("mdlstm", 2, 3), GridNet("mdrnn", 2, 3, directions=4),
                                 GridNet("mdlstm", 2, 3, directions=4), GridNet("conv", 2, 3, L=2, k=3),
                                 GridNet("conv", 2, 3, L=1, k=5), GridNet("conv", 2, 3, L=3, k=1)],
                         ids=lambda n: n.label)
def test_sensitivity_is_nonzero_exactly_on_the_context(net):
    """One direction: the quadrant above-left, zeros elsewhere; four: the whole grid; conv:
    the (L(k-1)+1)-wide window, clipped at the border."""
    p = net.init(NP, seed=0)
    x = NP.randn((1, 8, 8, 2), seed=1)
    for i, j in POINTS:
        S = sensitivity_map(net, p, x, i, j)
        mask = context_mask(net, 8, 8, i, j)
        np.testing.assert_array_equal(S > 0, mask)
        assert np.all(S[~mask] == 0.0)
    rows, cols = np.nonzero(context_mask(net, 8, 8, 3, 5))
    if net.model == "conv":
        half = net.L * (net.k // 2)
        assert rows.max() - rows.min() + 1 == min(8, 3 + half + 1) - max(0, 3 - half)
        assert (net.L * (net.k - 1) + 1) == 2 * half + 1
    elif net.directions == 1:
        assert rows.max() == 3 and cols.max() == 5 and len(rows) == 4 * 6
    else:
        assert len(rows) == 64


@pytest.mark.parametrize("net", [GridNet("mdlstm", 2, 3), GridNet("mdlstm", 2, 3, directions=4),
                                 GridNet("mdrnn", 2, 3, directions=4)], ids=lambda n: n.label)
def test_map_equals_the_jacobian_norm_by_finite_differences(net):
    """Four directions are mapped one corner at a time on the flipped grid: the same Jacobian."""
    p = net.init(NP, seed=0)
    x = NP.randn((1, 5, 5, 2), seed=1)
    S = sensitivity_map(net, p, x, 3, 4)
    for r, c in [(3, 4), (0, 0), (2, 3), (3, 1)]:
        def h_at(s, d, r=r, c=c):
            moved = x.copy()
            moved[0, r, c, d] += s
            return net.forward(p, moved)[0][0, 3, 4]

        J = np.stack([check.central(lambda s, d=d: h_at(s, d), 1e-6) for d in range(2)], axis=1)  # (F, D)
        assert S[r, c] == pytest.approx(np.linalg.norm(J), rel=1e-7)


def test_decay_profile_and_rate():
    S = np.zeros((6, 6))
    for r in range(6):
        for c in range(6):
            S[r, c] = 0.5 ** (abs(r - 5) + abs(c - 5))
    dist, prof = decay_profile(S, 5, 5)
    np.testing.assert_array_equal(dist, np.arange(11))
    np.testing.assert_allclose(prof, 0.5 ** dist)
    assert decay_rate(dist, prof) == pytest.approx(0.5)
    assert np.isnan(decay_rate(np.array([0, 1]), np.array([1.0, 0.0])))


def test_report_and_summary():
    cfg = SensitivityConfig(G=8, H=4, i_star=5, j_star=6, seeds=3)
    report = context.sensitivity_report(cfg, NP)
    assert all(m.matches_context for m in report.models.values())
    assert report.models["mdrnn"].seen_cells == 6 * 7
    assert report.models["mdrnn4"].seen_cells == 64
    assert report.models["conv"].seen_cells == 6 * 5  # rows 2..7, columns 3..7 of the 7 x 7 window
    assert report.models["mdrnn"].steps == 15 and report.models["conv"].steps == 3
    assert report.cell_state_max["stable"] <= 1.0
    assert set(report.decay) == set(context.DECAY_MODELS) and all(len(d.factors) == 3 for d in report.decay.values())
    assert set(report.against_tanh) == {"graves", "stable", "conv"}
    for d in report.decay.values():
        assert d.low <= d.mean <= d.high
    sweep = context.forget_bias_sweep(cfg, NP, biases=(-2.0, 2.0, 5.0))
    assert sweep.stable[0] < sweep.stable[1] < sweep.stable[2]  # the forget gate carries further
    text = " ".join(claims.sensitivity_summary(report, sweep))
    assert "quadrant above-left" in text and "exactly zero elsewhere" in text and "needs the four directions" in text
    assert f"×{report.decay['tanh'].mean:.3f}" in text
    assert "rising with the bias" in text
    # the context alone (one initialisation): the same maps and the same first two sentences
    ctx = claims.context_study(cfg, NP)
    assert set(ctx.models) == set(report.models)
    for key, m in ctx.models.items():
        assert np.array_equal(m.map, report.models[key].map) and m.seen_cells == report.models[key].seen_cells
    assert ctx.summary == claims.sensitivity_summary(report, sweep)[:2]


@pytest.mark.parametrize("scale, verdicts", [
    (1.0, {"graves": "neither supported nor refuted", "stable": "makes them worse"}),
    (0.5, {"graves": "relieves vanishing gradients", "stable": "relieves vanishing gradients"}),
    (2.5, {"graves": "tames the growth", "stable": "tames the growth"}),
])
def test_the_lstm_verdict_follows_the_seeds_and_changes_with_the_weight_scale(scale, verdicts):
    """Over eight initialisations: at the page's defaults the stable cell fades faster than the
    tanh MDRNN and Graves' cell shows no clear difference; at weight scale 0.5 the tanh MDRNN fades
    so fast that both cells relieve it; at 2.5 the tanh MDRNN explodes and both cells hold it down.
    The verdict is the interval's, per cell."""
    report = context.sensitivity_report(SensitivityConfig(scale=scale), NP)
    lines = claims.sensitivity_summary(report)
    for cell, text in verdicts.items():
        name = "Graves' cell" if cell == "graves" else "The stable cell"
        line = next(x for x in lines if x.startswith(name + "'s sensitivity"))
        assert text in line, line
        d = report.against_tanh[cell]
        call = "higher" if "relieves" in text else "unclear" if "neither" in text else "lower"
        assert d.call == call


def test_an_exploding_tanh_mdrnn_is_called_so():
    report = context.sensitivity_report(SensitivityConfig(scale=2.5), NP)
    assert report.decay["tanh"].low > 1
    assert any("explode rather than vanish" in line for line in claims.sensitivity_summary(report))


def test_config_refuses_an_output_cell_outside_the_grid():
    with pytest.raises(ConfigError, match="outside the 8 x 8 grid"):
        SensitivityConfig(G=8, i_star=8)
    with pytest.raises(ConfigError, match="outside"):
        sensitivity_map(GridNet("conv", 1, 2), GridNet("conv", 1, 2).init(NP, 0), NP.randn((1, 4, 4, 1), 0),
                        4, 0)


@pytest.mark.parametrize("cell", ["stable", "graves"])
def test_the_one_direction_maps_taken_from_the_four_direction_sweeps_are_their_own(cell):
    """The page's one-direction grid RNN and MDLSTM share their weights with the four-direction
    nets' top-left sweeps (the same seed), so their maps come from those sweeps: here each is
    held, bit for bit, to the map computed for that net on its own."""
    cfg = SensitivityConfig(G=7, H=3, i_star=4, j_star=5, cell=cell)
    be = select_backend("numpy")
    models = context.context_models(cfg, be, seed=3)
    x = be.randn((1, cfg.G, cfg.G, cfg.D), seed=3 + 17, dtype="float64")
    for key, net in context.sensitivity_nets(cfg).items():
        alone = sensitivity_map(net, net.init(be, 3, "float64", cfg.scale), x, cfg.i_star, cfg.j_star)
        np.testing.assert_array_equal(models[key].map, alone, err_msg=key)


@pytest.mark.parametrize("net", [GridNet("mdrnn", 2, 3), GridNet("mdlstm", 2, 3, cell="graves"),
                                 GridNet("mdlstm", 2, 3)], ids=lambda n: n.label)
def test_a_one_direction_map_swept_on_the_block_above_left_is_the_whole_grids(net):
    """The one-direction map is computed on the grid that ends at the output cell (the sweep
    reaches it from there alone): the map of the same backward sweep over the whole grid, to
    rounding, with the same exact zeros."""
    p = net.init(NP, seed=2)
    x = NP.randn((1, 7, 6, 2), seed=3)
    for i, j in [(0, 0), (3, 2), (6, 0), (0, 5), (4, 4), (6, 5)]:
        X = x if net.model == "mdlstm" else np.repeat(x, net.F, axis=0)
        _, cache = net.forward(p, X)
        h_bar = np.zeros((net.F, 7, 6, net.F))
        h_bar[:, i, j, :] = np.eye(net.F)
        _, x_bar = net.backward(p, cache, h_bar, weights=False)
        whole = np.sqrt(np.sum(x_bar ** 2, axis=(0, 3)))
        S = sensitivity_map(net, p, x, i, j)
        np.testing.assert_array_equal(S == 0, whole == 0)
        np.testing.assert_allclose(S, whole, rtol=1e-12, atol=0)
        assert (S > 0).sum() == (i + 1) * (j + 1)
