"""The sequential-steps timing (problem 5's disadvantage) and the sentence built from it."""

from __future__ import annotations

import math

from core.backend import select_backend
from core.grid import cost
from core.grid.claims import depth_summary
from core.grid.depth import DepthTiming, depth_timing


def test_depth_timing_counts_steps_and_fits_slopes():
    t = depth_timing(select_backend("numpy"), H=4, sizes=(4, 8), repeat=2)
    assert t.steps["mdrnn"] == (cost.steps_wavefront(4, 4), cost.steps_wavefront(8, 8)) == (7, 15)
    assert t.steps["conv"] == (3, 3)
    for key in ("mdrnn", "conv"):
        assert all(s > 0 for s in t.seconds[key])
        assert math.isfinite(t.slope[key])
        assert t.slope[key] == cost.loglog_slope(list(t.G), list(t.seconds[key]))


def _timing(mdrnn: tuple[float, ...], conv: tuple[float, ...]) -> DepthTiming:
    G = (8, 16, 32, 64)
    return DepthTiming(G=G, steps={"mdrnn": tuple(2 * g - 1 for g in G), "conv": (3,) * 4},
                       seconds={"mdrnn": mdrnn, "conv": conv},
                       slope={"mdrnn": cost.loglog_slope(list(G), list(mdrnn)),
                              "conv": cost.loglog_slope(list(G), list(conv))},
                       labels={"mdrnn": "MDRNN", "conv": "conv"})


def test_depth_sentence_follows_the_slopes_and_the_ratio():
    linear = tuple(1e-4 * g for g in (8, 16, 32, 64))
    square = tuple(1e-5 * g * g for g in (8, 16, 32, 64))
    s = depth_summary(_timing(linear, square))
    assert "G^1.00, closer to its step count" in s and "G^2.00, closer to its arithmetic" in s
    assert "the faster of the two here" in s  # 6.4 ms against 41 ms at G = 64
    s = depth_summary(_timing(square, linear))
    assert "G^2.00, closer to its arithmetic" in s and "G^1.00, closer to its step count" in s
    assert "6.4 times as long as the conv net" in s
