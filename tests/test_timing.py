"""core/timing.py: the one interleaved timer and the ratios it allows (no figure asserted)."""

from __future__ import annotations

import math
import time

import pytest

from core import timing
from core.limits import ConfigError


def test_interleaved_runs_warmup_then_rounds_and_synchronises():
    calls, syncs = {"a": 0, "b": 0}, []

    def a():
        calls["a"] += 1

    def b():
        calls["b"] += 1

    out = timing.interleaved({"a": a, "b": b}, repeat=4, warmup=2, sync=lambda: syncs.append(1))
    assert calls == {"a": 6, "b": 6}
    assert len(out["a"].seconds) == len(out["b"].seconds) == 4 and len(out["a"].cpu_seconds) == 4
    assert len(syncs) == 1 + 2 * 4 * 2  # after warm-up, then before and after each timed call
    t = out["a"]
    assert t.best <= t.median and t.spread >= 0


def test_a_huge_repeat_stops_at_the_time_limit():
    start = time.perf_counter()
    out = timing.interleaved({"x": lambda: time.sleep(0.01), "y": lambda: None}, repeat=10**9, warmup=0,
                             max_seconds=0.05)
    assert time.perf_counter() - start < 5
    assert 1 <= len(out["x"].seconds) < 50 and len(out["x"].seconds) == len(out["y"].seconds)


@pytest.mark.parametrize("bad", [dict(repeat=0), dict(repeat=1.5), dict(repeat=3, max_seconds=math.nan),
                                 dict(repeat=3, max_seconds=math.inf), dict(repeat=3, max_seconds=0.0)])
def test_nonsense_settings_are_refused(bad):
    with pytest.raises(ConfigError):
        timing.interleaved({"x": lambda: None}, **bad)


def test_a_ratio_needs_timings_long_and_steady_enough():
    steady = timing.Timing((1e-3, 1.01e-3, 0.99e-3, 1e-3, 1e-3))
    twice = timing.Timing((2e-3,) * 5)
    r = timing.compare(twice, steady)
    assert r.ok and r.value == pytest.approx(2.0) and r.low <= r.value <= r.high
    short = timing.compare(timing.Timing((1e-6,) * 5), steady, "the speedup")
    assert not short.ok and math.isnan(short.value) and "too short to time" in short.reason
    noisy = timing.compare(timing.Timing((1e-3, 5e-3, 1e-3, 9e-3, 2e-3)), steady)
    assert not noisy.ok and "too noisy" in noisy.reason


def test_spread_with_few_samples_is_the_range():
    assert timing.Timing((1.0, 3.0)).spread == pytest.approx(1.0)
    assert timing.Timing((2.0,)).spread == 0.0
