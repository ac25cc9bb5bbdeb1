"""core/grid/stats.py: the paired bootstrap behind the problem-5 verdicts."""

from __future__ import annotations

import numpy as np
import pytest

from core.grid import stats


def test_a_clear_difference_gets_an_interval_that_excludes_zero():
    rng = np.random.default_rng(0)
    b = rng.normal(0.0, 1.0, 200)
    a = b + 0.5 + rng.normal(0.0, 0.1, 200)  # paired: the same draws plus a shift
    d = stats.paired_difference(a, b)
    assert d.low <= d.value <= d.high and d.low > 0 and d.call == "higher" and d.n == 200
    assert stats.paired_difference(b, a).call == "lower"


def test_no_difference_is_called_unclear_and_pairing_matters():
    rng = np.random.default_rng(1)
    shared = rng.normal(0.0, 5.0, 40)
    a, b = shared + rng.normal(0.0, 0.1, 40), shared + rng.normal(0.0, 0.1, 40) + 0.2
    assert stats.paired_difference(a, b).call == "lower"  # paired: the shared spread cancels
    unpaired = stats.paired_difference(a, rng.permutation(b))
    assert unpaired.call == "unclear" and unpaired.high - unpaired.low > 10 * (0.2 / 2)


def test_the_interval_is_deterministic_and_a_statistic_can_be_any_function():
    a = np.arange(10.0)
    assert stats.paired_difference(a, a * 0) == stats.paired_difference(a, a * 0)
    d = stats.paired_difference(a, a * 0, statistic=lambda x: np.median(x, axis=-1))
    assert d.value == pytest.approx(4.5) and d.low < 4.5 < d.high
    mean, low, high = stats.mean_interval(a)
    assert low < mean == 4.5 < high
    with pytest.raises(ValueError, match="same, non-zero length"):
        stats.paired_difference(a, a[:3])
