"""core.roundtrip: forward K steps and back; exact comes home bit for bit, floats drift."""

from __future__ import annotations

import numpy as np
import pytest

from core.backend import select_backend, to_numpy
from core.training.bench import benchmark
from core.training.momentum import TrainConfig, inverse_order_check
from core.training.observers import Recorder
from core.training.roundtrip import roundtrip, snapshot_stride
from tests.harness import rounding

NP = select_backend("numpy")


@pytest.mark.slow
@pytest.mark.parametrize("objective, D", [("quadratic", 100), ("rosenbrock", 2), ("digits", 650)])
def test_exact_reversal_is_bit_exact_after_10000_steps(objective, D):
    cfg = TrainConfig(objective=objective, D=D, steps=10_000, alpha=0.05, beta=0.9, mode="exact")
    res = roundtrip(cfg, NP, snapshots=False)
    assert res.bit_exact, "theta(0) and p(0) came back equal bit for bit and the buffer emptied"
    assert res.max_abs_error == 0.0 and res.D == D
    # bits: the buffer holds the information bound, and stores at most 64 bits more per parameter
    assert res.bits_information == pytest.approx(res.bits_bound, rel=1e-6)
    assert res.bits_bound < res.bits_stored <= res.bits_bound + 64 * D
    assert res.bits_bound == pytest.approx(10_000 * D * np.log2(65536 / 58982))


def test_exact_error_is_zero_at_every_step_and_schedules_work():
    cfg = TrainConfig(objective="digits", steps=300, alpha=0.5, alpha_schedule="cosine", beta=0.95,
                      beta_schedule="ramp", mode="exact")
    res = roundtrip(cfg, NP, trace_bits=True)
    assert res.bit_exact and len(res.ks) == 301 and (res.error == 0).all()
    stored, info, bound = res.bits_trace.T
    assert len(bound) == 301 and bound[0] == 0 and stored[0] == 64 * 650
    assert np.all(np.diff(bound) > 0) and np.all(info <= bound + 1e-6 * bound.max() + 1)
    assert np.all(stored <= bound + 64 * 650)


def test_float64_reversal_does_not_round_trip_and_drifts_like_beta_to_the_minus_k():
    """The control (hypergrad's habit): plain floats do NOT come back."""
    beta = 0.8
    res = roundtrip(TrainConfig(D=20, steps=150, beta=beta, mode="float64"), NP)
    assert not res.bit_exact and res.max_abs_error > 0
    j = res.steps - res.ks  # steps undone
    assert res.error[j == 1][0] < 1e-14  # one step back is almost right ...
    assert res.error[j == 100][0] > 1e3 * res.error[j == 10][0]  # ... and the error grows geometrically
    growth = res.growth_per_step()
    assert growth == pytest.approx(1 / beta, rel=0.1)


def test_float32_drifts_sooner_than_float64():
    kw = dict(D=10, steps=200, beta=0.85)
    f32, f64 = (roundtrip(TrainConfig(mode=m, **kw), NP) for m in ("float32", "float64"))
    j = f64.steps - f64.ks
    k = (j == 50)
    assert f32.error[k][0] > 1e6 * f64.error[k][0] > 0


def test_float_overflow_of_the_drift_is_counted_not_raised():
    res = roundtrip(TrainConfig(D=4, steps=3000, beta=0.5, mode="float64"), NP)
    assert res.finite_steps < 3000
    assert np.isinf(res.error[0]) and np.isfinite(res.max_abs_error)
    assert res.summary()["steps_undone_before_overflow"] == res.finite_steps


def test_summary_has_the_cli_keys():
    for mode in ("exact", "float64", "float32"):
        out = roundtrip(TrainConfig(D=3, steps=30, mode=mode), NP).summary()
        for key in ("max_abs_error", "bits_stored", "bits_bound", "seconds_forward", "seconds_reverse"):
            assert key in out
        assert (out["bits_stored"] > 0) == (mode == "exact")


def test_recorders_see_the_trajectory_both_ways():
    fwd, inv = Recorder(2), Recorder(2)
    res = roundtrip(TrainConfig(objective="rosenbrock", steps=50), NP, observer=fwd, inverse_observer=inv)
    assert res.bit_exact
    np.testing.assert_array_equal(inv.theta[::-1], fwd.theta)
    np.testing.assert_allclose(fwd.theta[0], [-1.2, 1.0], atol=2.0**-47)  # on the 2^-48 grid


def test_snapshot_stride_keeps_memory_bounded():
    assert snapshot_stride(10_000, 100) == 1
    stride = snapshot_stride(1000, 100_000, budget=2**24)
    assert 1000 / stride * 2 * 100_000 * 8 <= 2**24 * 1.1


def test_inverse_order_check():
    out = inverse_order_check(TrainConfig(D=10), NP)
    at_rounding = rounding(2.5 + out.p_norm, terms=4)  # theta(0) ~ N(0, 1) here: |theta| < 2.5
    assert out.error_theta_first < at_rounding < 1e-6 < out.error_seed_order
    assert out.error_seed_order == pytest.approx(out.predicted_alpha_H_p_over_beta, rel=1e-6)
    assert out.error_seed_order_theta < at_rounding


def test_benchmark_reports_a_ratio():
    out = benchmark(TrainConfig(D=500, steps=20), NP, repeat=1)
    assert out.exact_bit_exact and (out.ratio_of_best_times > 0 or out.ratio_note)
    assert out.ratio_exact_over_float64 > 0 or out.ratio_note
    assert len(out.times_exact) == 1


def drift_bound(cfg: TrainConfig) -> float:
    """How far apart two exact runs of ``cfg`` may drift in theta once their gradients round
    differently at some step (another backend's reductions, say): from then on their buffers
    differ, so the digits each step pops into p (fewer than 2^s units of 2^-F) differ too. Summed
    through the momentum (1 / (1 - beta)) over K steps: K 2^(s - F) / (1 - beta), where nothing
    amplifies the difference (these objectives contract). A wrong gradient or a lost bit would
    move theta by far more."""
    return cfg.steps * 2.0 ** (cfg.beta_bits - cfg.fraction_bits) / (1 - cfg.beta)


def assert_same_run(theta: np.ndarray, theta_ref: np.ndarray, cfg: TrainConfig) -> float:
    gap = float(np.abs(theta - theta_ref).max())
    assert gap <= drift_bound(cfg), f"the runs drifted {gap:.3g} apart, beyond {drift_bound(cfg):.3g}"
    return gap


class _NudgedGradient:
    """An objective whose every gradient comes out one unit in the last place higher, as another
    backend's sums may round it."""

    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def grad(self, theta, out=None):
        g = self._inner.grad(theta, out)
        return np.nextafter(g, np.inf, out=g)


def test_a_gradient_rounded_differently_changes_the_run_not_its_reversal(monkeypatch):
    import core.training.roundtrip as rt

    cfg = TrainConfig(D=1000, steps=500, mode="exact")
    ref_rec, rec = Recorder(5), Recorder(5)
    ref = roundtrip(cfg, NP, observer=ref_rec)
    make = rt.make_objective
    monkeypatch.setattr(rt, "make_objective", lambda *a, **k: _NudgedGradient(make(*a, **k)))
    res = roundtrip(cfg, NP, observer=rec)
    assert ref.bit_exact and res.bit_exact, "each run comes home bit for bit"
    assert res.bits_bound < res.bits_stored <= res.bits_bound + 64 * cfg.D
    gap = assert_same_run(rec.theta, ref_rec.theta, cfg)
    # the nudge does change the run (quantized steps flip, then the popped digits differ): how many
    # coordinates and by how much depends on the CPU's rounding, that it differs does not
    assert gap > 0 and np.count_nonzero(rec.theta != ref_rec.theta) > 0


@pytest.mark.gpu
def test_exact_on_cupy_comes_home_bit_for_bit_and_follows_numpy():
    gpu = select_backend("cupy")
    cfg = TrainConfig(D=1000, steps=500, mode="exact")
    fwd_np, fwd_gpu = Recorder(5), Recorder(5)
    a = roundtrip(cfg, NP, observer=fwd_np)
    b = roundtrip(cfg, gpu, observer=fwd_gpu)
    assert a.bit_exact and b.bit_exact
    assert b.bits_bound < b.bits_stored <= b.bits_bound + 64 * cfg.D
    # the GPU's sums round some gradients differently: the same run as NumPy's, not the same bits
    # (on an H100 the first five coordinates drifted about 4e-9 apart in 500 steps; the bound is 1.2e-6)
    assert_same_run(to_numpy(fwd_gpu.theta), fwd_np.theta, cfg)


@pytest.mark.parametrize("objective", ["quadratic", "rosenbrock", "digits"])
def test_round_trip_on_every_backend_matches_numpy(backend, objective):
    cfg = TrainConfig(objective=objective, D=5, steps=60, beta=0.7, mode="exact")
    rec, rec_np = Recorder((0, 1)), Recorder((0, 1))
    res = roundtrip(cfg, backend, observer=rec, trace_bits=True)
    ref = roundtrip(cfg, NP, observer=rec_np, trace_bits=True)
    assert res.bit_exact
    if backend.name == "cupy":  # its reductions may round a gradient differently: same run, not same bits
        assert res.bits_stored <= res.bits_bound + 64 * res.D
        assert_same_run(rec.theta, rec_np.theta, cfg)
    else:  # array-api-strict computes with NumPy underneath: the very same bits
        assert res.bits_stored == ref.bits_stored
        np.testing.assert_array_equal(res.bits_trace, ref.bits_trace)
        np.testing.assert_allclose(rec.theta, rec_np.theta, rtol=1e-13, atol=1e-15)
    f64 = roundtrip(cfg.replace(mode="float64"), backend)
    assert not f64.bit_exact and 0 < f64.max_abs_error < 1e-6


def test_exact_mode_says_how_far_it_trained_from_float64():
    """Bit for bit is a claim about the inverse; the distance to float64 training of the same
    schedule is the claim about what was trained. With F = 48 it trains the float64 map; with
    F = 24, s = 16 it still reverses bit for bit but ends measurably elsewhere, within the
    guard's estimate."""
    from core.training import exact

    kw = dict(objective="quadratic", D=10, steps=300, alpha=0.05, beta=0.9, mode="exact")
    good = roundtrip(TrainConfig(**kw), NP)
    coarse_cfg = TrainConfig(**kw, fraction_bits=24)
    coarse = roundtrip(coarse_cfg, NP)
    f64 = roundtrip(TrainConfig(**{**kw, "mode": "float64"}), NP)
    assert good.bit_exact and coarse.bit_exact  # both reverse exactly ...
    assert good.loss_end_float64 == pytest.approx(f64.loss_end, rel=1e-12) == coarse.loss_end_float64
    assert good.loss_end == pytest.approx(f64.loss_end, rel=1e-6)  # ... one trains the float64 map ...
    estimate = coarse_cfg.exact_precision().float64_drift_estimate
    assert good.theta_distance_to_float64 < 1e-6 < estimate / 20 < coarse.theta_distance_to_float64 < estimate
    assert coarse.theta_distance_to_float64 >= coarse.theta_distance_to_float64_end > 0
    assert good.float64_note == coarse.float64_note == ""
    assert f64.theta_distance_to_float64 == 0.0 and f64.loss_end_float64 == f64.loss_end
    n = exact.beta_fraction(0.9, 16)[0]
    assert coarse_cfg.exact_precision().step_error_bound == (n + 1) * 2.0**-24


def test_without_snapshots_the_distance_is_not_measured_and_says_so():
    res = roundtrip(TrainConfig(D=5, steps=20), NP, snapshots=False)
    s = res.summary()
    assert s["theta_distance_to_float64"] != s["theta_distance_to_float64"]  # nan
    assert s["theta_distance_to_float64_note"].startswith("not measured")
