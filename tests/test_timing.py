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


def test_the_calibration_measures_each_kind_of_work_once_per_process(monkeypatch):
    monkeypatch.setenv(timing.CALIBRATE_ENV, "1")
    timing.speed.cache_clear()
    try:
        s = timing.speed()
        for kind in ("call", "vector", "matmul"):
            value = getattr(s, kind)
            assert math.isfinite(value) and value > 0, kind
        assert 0 < s.seconds < 5  # a short probe, not a benchmark
        assert timing.speed() is s  # measured once
    finally:
        timing.speed.cache_clear()


def test_the_calibration_can_be_pinned_to_the_reference(monkeypatch):
    monkeypatch.setenv(timing.CALIBRATE_ENV, "0")
    timing.speed.cache_clear()
    try:
        assert timing.speed() == timing.REFERENCE
    finally:
        timing.speed.cache_clear()


def test_every_estimator_follows_the_machines_speed(monkeypatch):
    """A machine twice as slow at every kind of work gets estimates twice as long."""
    from core.grid import cost, warptest
    from core.lstm import experiments
    from core.training import hypergrad, momentum, roundtrip

    estimates = {
        "mdrnn forward": lambda: cost.forward_seconds(32, 32, 3, 16, 1, "wavefront"),
        "warping test": lambda: warptest.warp_test_seconds(warptest.WarpTestConfig()),
        "round trip": lambda: roundtrip.roundtrip_seconds(momentum.TrainConfig(objective="digits")),
        "hypergradients": lambda: hypergrad.hypergrad_seconds(hypergrad.HypergradConfig()),
        "lstm": lambda: experiments.lstm_seconds(30, 4, 4, 8),
    }
    monkeypatch.setattr(timing, "speed", lambda: timing.REFERENCE)
    base = {k: f() for k, f in estimates.items()}
    monkeypatch.setattr(timing, "speed", lambda: timing.Speed(call=2.0, vector=2.0, matmul=2.0))
    for name, f in estimates.items():
        assert f() == pytest.approx(2 * base[name], rel=1e-12), name


def test_progress_says_the_time_left_and_does_not_flood():
    now = [0.0]
    seen: list[tuple[float, str]] = []
    report = timing.with_time_left(lambda f, m: seen.append((f, m)), min_interval=0.2, clock=lambda: now[0])
    now[0] = 1.0
    report(0.25, "epoch 5/20")  # a quarter done after 1 s: 3 s left
    report(0.26, "epoch 5/20")  # within 0.2 s of the last report: dropped
    now[0] = 2.0
    report(1.0, "done")
    assert seen == [(0.25, "epoch 5/20 · about 3 s left"), (1.0, "done (2 s)")]
