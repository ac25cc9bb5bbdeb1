"""One timer for every benchmark: interleaved, warmed up, with the median and the spread.

A timing is a measurement, not a number to print. :func:`interleaved` runs one call of each
function per round (after warm-up calls), so background load on a shared machine falls on
all of them alike, and stops once the whole run has used its time budget. A
:class:`Timing` keeps every sample; :func:`compare` turns two of them into a ratio only when
both are well above the clock's resolution and their spread does not swamp the ratio, and
otherwise says why not.
"""

from __future__ import annotations

import functools
import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.limits import ConfigError, ProgressFn, no_progress

# A sample shorter than this is not a measurement of the work: the clock ticks, the Python call
# and the interpreter's own noise are of that order (perf_counter itself resolves ~1e-9 s here).
MIN_SECONDS = 20e-6
# A ratio is reported only when each side's relative spread (interquartile range over median)
# is below this.
MAX_SPREAD = 0.5


def _noop() -> None:
    pass


@dataclass(frozen=True)
class Timing:
    """Wall times (and process CPU times) of the timed calls of one function, in seconds."""

    seconds: tuple[float, ...]
    cpu_seconds: tuple[float, ...] = ()

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_seconds) if self.cpu_seconds else math.nan

    @property
    def spread(self) -> float:
        """Interquartile range over the median (0 with fewer than four samples: the range
        over the median is used instead)."""
        s = sorted(self.seconds)
        if len(s) < 2 or self.median <= 0:
            return 0.0
        if len(s) < 4:
            return (s[-1] - s[0]) / self.median
        q = statistics.quantiles(s, n=4)
        return (q[2] - q[0]) / self.median

    def summary(self) -> dict[str, float | int]:
        return {"median": self.median, "best": self.best, "spread": self.spread, "repeats": len(self.seconds)}


def interleaved(fns: dict[str, Callable[[], Any]], *, repeat: int, warmup: int = 1,
                max_seconds: float | None = None, sync: Callable[[], None] = _noop,
                progress: ProgressFn = no_progress) -> dict[str, Timing]:
    """Time each function ``repeat`` times, one call of each per round, after ``warmup``
    untimed rounds; ``sync`` (a GPU's synchronize) runs before and after each timed call.

    ``max_seconds`` bounds the timed rounds: once they have used that much wall time no new
    round starts (one round always runs), so a large ``repeat`` can never run away."""
    if not isinstance(repeat, int) or repeat < 1:
        raise ConfigError(f"repeat must be a positive integer, got {repeat!r}")
    if max_seconds is not None and not (math.isfinite(max_seconds) and max_seconds > 0):
        raise ConfigError(f"the time limit must be a positive, finite number of seconds, got {max_seconds!r}")
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    sync()
    wall: dict[str, list[float]] = {k: [] for k in fns}
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    start = time.perf_counter()
    for r in range(repeat):
        for name, fn in fns.items():
            sync()
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            sync()
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
        progress((r + 1) / repeat, f"repeat {r + 1} of {repeat}")
        if max_seconds is not None and time.perf_counter() - start > max_seconds:
            break
    return {k: Timing(tuple(wall[k]), tuple(cpu[k])) for k in fns}


def time_call(fn: Callable[[], Any], *, repeat: int = 5, warmup: int = 1, max_seconds: float | None = None,
              sync: Callable[[], None] = _noop) -> Timing:
    """:func:`interleaved` for one function."""
    return interleaved({"fn": fn}, repeat=repeat, warmup=warmup, max_seconds=max_seconds, sync=sync)["fn"]


@dataclass(frozen=True)
class Ratio:
    """num / den of two timings' medians, or why it cannot be trusted (``value`` is then nan)."""

    value: float
    low: float  # the ratio of the quartiles that make it smallest and largest
    high: float
    reason: str = ""  # empty when the ratio is a measurement

    @property
    def ok(self) -> bool:
        return not self.reason


def _quartiles(t: Timing) -> tuple[float, float]:
    s = sorted(t.seconds)
    if len(s) < 4:
        return s[0], s[-1]
    q = statistics.quantiles(s, n=4)
    return q[0], q[2]


def compare(num: Timing, den: Timing, what: str = "the ratio") -> Ratio:
    """The ratio of two medians with its quartile range, refused (value nan, with the reason)
    when a side is shorter than :data:`MIN_SECONDS` or spreads more than :data:`MAX_SPREAD`."""
    n_lo, n_hi = _quartiles(num)
    d_lo, d_hi = _quartiles(den)
    low, high = n_lo / d_hi if d_hi > 0 else math.nan, n_hi / d_lo if d_lo > 0 else math.nan
    for name, t in (("numerator", num), ("denominator", den)):
        if t.median < MIN_SECONDS:
            return Ratio(math.nan, low, high, f"{what}: the {name} takes {t.median * 1e6:.1f} µs, too short "
                                              f"to time (under {MIN_SECONDS * 1e6:.0f} µs): choose larger sizes")
        if t.spread > MAX_SPREAD:
            return Ratio(math.nan, low, high, f"{what}: the {name}'s times spread {100 * t.spread:.0f}% "
                                              "around their median, too noisy to compare: repeat on a "
                                              "quieter machine or with more repeats")
    return Ratio(num.median / den.median, low, high)


# --- calibration: the estimators' speeds, measured on the running machine ---------------------
#
# Every time estimate in the lab (``core.grid.cost.forward_seconds``, ``core.grid.warptest.
# warp_test_seconds``, ``core.training.roundtrip.roundtrip_seconds``, ``core.lstm.experiments.
# lstm_seconds``) counts three kinds of work: Python-level calls on small arrays, elementwise
# arithmetic on long vectors, and matrix products. Their constants were measured on the reference
# machine; :func:`speed` times one small probe of each kind here (about 0.1 s, once per process)
# and scales them, so that the shown estimate follows this machine and its load at start-up.


@dataclass(frozen=True)
class Speed:
    """Seconds of work here per second of the same work on the reference machine (> 1: slower)."""

    call: float  # small NumPy calls: the overhead of each Python-level step
    vector: float  # elementwise arithmetic over long vectors
    matmul: float  # float64 matrix products on one thread
    seconds: float = 0.0  # how long the calibration took

    def summary(self) -> dict[str, float]:
        return {"call": self.call, "vector": self.vector, "matmul": self.matmul, "seconds": self.seconds}


REFERENCE = Speed(call=1.0, vector=1.0, matmul=1.0)
# Best seconds of each probe on the reference machine (the 2-core build machine, quiet), against
# which :func:`speed` scales. The best of several repeats, not the median: a probe of a few
# milliseconds sees a neighbour's burst of work, which a job of seconds averages away.
REFERENCE_PROBE_SECONDS = {"call": 1.22e-3, "vector": 1.34e-3, "matmul": 1.14e-3}
CALIBRATE_ENV = "RECURRENCE_LAB_CALIBRATE"  # "0": use the reference speeds (tests pin estimates)


def _probes() -> dict[str, Callable[[], Any]]:
    import numpy as np

    rng = np.random.default_rng(0)
    small, bias = rng.standard_normal((8, 8)), rng.standard_normal(8)
    long = rng.standard_normal(100_000)
    a, b = rng.standard_normal((160, 160)), rng.standard_normal((160, 160))

    def call() -> Any:  # 1,000 steps of the shape of one recurrence step on tiny arrays
        h = bias
        for _ in range(1000):
            h = np.tanh(small @ h + bias)
        return h

    def vector() -> Any:  # a momentum step's arithmetic over 100,000 entries, five times
        p = long
        for _ in range(5):
            p = 0.9 * p - 0.05 * long
        return p

    def matmul() -> Any:  # eight 160 x 160 products (66 MFLOP)
        c = a
        for _ in range(8):
            c = a @ b
        return c

    return {"call": call, "vector": vector, "matmul": matmul}


@functools.cache
def speed() -> Speed:
    """This machine's :class:`Speed`, measured once per process (best of interleaved repeats,
    BLAS held to one thread). With ``RECURRENCE_LAB_CALIBRATE=0`` the reference speeds."""
    if os.environ.get(CALIBRATE_ENV, "1") == "0":
        return REFERENCE
    from core.backend import blas_threads

    t0 = time.perf_counter()
    with blas_threads(1):
        t = interleaved(_probes(), repeat=15, warmup=2, max_seconds=0.5)
    ratio = {k: max(t[k].best / REFERENCE_PROBE_SECONDS[k], 0.05) for k in t}
    return Speed(seconds=time.perf_counter() - t0, **ratio)


# --- progress with the time left ---------------------------------------------------------------


def with_time_left(progress: ProgressFn, *, min_interval: float = 0.2,
                   clock: Callable[[], float] = time.perf_counter) -> ProgressFn:
    """A progress callback that adds the time left (from the time spent so far and the fraction
    done) to each message, passing on at most one report per ``min_interval`` seconds (and
    always the last one), so a fast loop does not flood its listener."""
    start = clock()
    last = [-math.inf]

    def report(fraction: float, message: str) -> None:
        now = clock()
        if fraction < 1.0 and now - last[0] < min_interval:
            return
        last[0] = now
        elapsed = now - start
        if fraction >= 1.0:
            text = f"{message} ({elapsed:.0f} s)"
        elif fraction < 0.02 or elapsed < 0.5:
            text = f"{message} · estimating the time left"
        else:
            text = f"{message} · about {elapsed * (1.0 - fraction) / fraction:.0f} s left"
        progress(fraction, text)

    return report
