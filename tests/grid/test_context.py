"""Context and sensitivity (core/context.py): each model sees exactly its context, maps agree
with finite differences, decay rates and the computed summary."""

from __future__ import annotations

import numpy as np
import pytest

from core.backend import select_backend
from core.grid import context
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


def test_map_equals_the_jacobian_norm_by_finite_differences():
    net = GridNet("mdlstm", 2, 3)
    p = net.init(NP, seed=0)
    x = NP.randn((1, 5, 5, 2), seed=1)
    S = sensitivity_map(net, p, x, 3, 4)
    eps = 1e-6
    for r, c in [(3, 4), (0, 0), (2, 3), (3, 1)]:
        J = np.zeros((net.F, 2))
        for d in range(2):
            xp_, xm = x.copy(), x.copy()
            xp_[0, r, c, d] += eps
            xm[0, r, c, d] -= eps
            J[:, d] = (net.forward(p, xp_)[0][0, 3, 4] - net.forward(p, xm)[0][0, 3, 4]) / (2 * eps)
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
    cfg = SensitivityConfig(G=8, H=4, i_star=5, j_star=6)
    report = context.sensitivity_report(cfg, NP)
    assert all(m["matches_context"] for m in report["models"].values())
    assert report["models"]["mdrnn"]["seen_cells"] == 6 * 7
    assert report["models"]["mdrnn4"]["seen_cells"] == 64
    assert report["models"]["conv"]["seen_cells"] == 6 * 5  # rows 2..7, columns 3..7 of the 7 x 7 window
    assert report["models"]["mdrnn"]["steps"] == 15 and report["models"]["conv"]["steps"] == 3
    assert report["cell_state_max"]["stable"] <= 1.0
    sweep = context.forget_bias_sweep(cfg, NP, biases=(-2.0, 2.0, 5.0))
    assert sweep["stable"][0] < sweep["stable"][1] < sweep["stable"][2]  # the forget gate carries further
    text = " ".join(context.sensitivity_summary(report, sweep, cfg.forget_bias))
    assert "quadrant above-left" in text and "exactly zero elsewhere" in text
    assert f"×{report['decay']['tanh']['decay_per_step']:.3f}" in text


def test_config_refuses_an_output_cell_outside_the_grid():
    with pytest.raises(ConfigError, match="outside the 8 x 8 grid"):
        SensitivityConfig(G=8, i_star=8)
    with pytest.raises(ConfigError, match="outside"):
        sensitivity_map(GridNet("conv", 1, 2), GridNet("conv", 1, 2).init(NP, 0), NP.randn((1, 4, 4, 1), 0),
                        4, 0)
