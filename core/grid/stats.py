"""How sure a problem-5 verdict is: a bootstrap interval of a mean difference.

The verdicts on seed problem 5 compare two models by a number measured on a sample: the
decay factor per step over random initialisations (``core.grid.context``), the share of
accuracy kept under warping over the test digits (``core.grid.warptest``). Each verdict comes
from :func:`compare`: the difference of the two statistics with a 95% percentile bootstrap
interval over the sample (resampled the same way for both models, so the comparison is
paired), and a call that follows from the interval alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

RESAMPLES = 2000  # bootstrap resamples: the interval's ends move by well under its width between seeds
LEVEL = 0.95


@dataclass(frozen=True)
class Difference:
    """statistic(a) − statistic(b) over one sample, with its bootstrap interval."""

    value: float
    low: float
    high: float
    n: int  # sample size (seeds, or test digits)

    @property
    def call(self) -> str:
        """'higher' when the interval lies above 0, 'lower' below it, else 'unclear'."""
        if self.low > 0:
            return "higher"
        if self.high < 0:
            return "lower"
        return "unclear"


def sample_mean(samples: np.ndarray) -> np.ndarray:
    """The mean of each sample: (..., n) -> (...)."""
    return samples.mean(axis=-1)


def paired_difference(a: np.ndarray, b: np.ndarray, statistic: Callable[[np.ndarray], np.ndarray] = sample_mean,
            seed: int = 0) -> Difference:
    """statistic(a) − statistic(b) for paired samples a, b (same first axis: seeds or digits),
    with a 95% percentile interval from RESAMPLES paired bootstrap resamples of that axis.

    ``statistic`` maps samples of shape (..., n, *rest) to (...): it is applied to all resamples at
    once, (RESAMPLES, n, *rest), and to the sample itself, (n, *rest). The default is the mean of
    one-dimensional samples."""
    a, b = np.asarray(a), np.asarray(b)
    if len(a) != len(b) or len(a) == 0:
        raise ValueError(f"paired samples must have the same, non-zero length: {len(a)} and {len(b)}")
    n = len(a)
    picks = np.random.default_rng(seed).integers(0, n, size=(RESAMPLES, n))
    diffs = statistic(a[picks]) - statistic(b[picks])
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(diffs, [tail, 100 - tail])
    return Difference(float(statistic(a) - statistic(b)), float(low), float(high), n)


def mean_interval(x: np.ndarray, seed: int = 0) -> tuple[float, float, float]:
    """(mean, low, high) of a sample, the interval from the same bootstrap."""
    d = paired_difference(np.asarray(x), np.zeros(len(x)), seed=seed)
    return d.value, d.low, d.high
