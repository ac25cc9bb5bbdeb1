"""core/grid/bench.py and core/grid/gradcheck.py: configs refuse bad sizes up front; measure,
sweep and grad_check report counted figures that match the models (timings are printed by the
CLI, never asserted)."""

from __future__ import annotations

import importlib.util
import math
import sys

import pytest

from core.backend import blas_threads, select_backend
from core.grid import bench as gb
from core.grid import cost
from core.grid.gradcheck import GradCheckConfig, grad_check
from core.grid.mdrnn import GridConfig
from core.grid.sweep import SweepConfig, sweep
from core.limits import ConfigError
from core.timing import Timing

NUMPY = select_backend("numpy")


def test_grid_config_bounds_and_memory_estimate():
    assert GridConfig().Gr == 16
    with pytest.raises(ConfigError, match="out of range"):
        GridConfig(Gr=0)
    with pytest.raises(ConfigError, match="H \\(hidden units\\) = 9999 is out of range"):
        GridConfig(H=9999)
    with pytest.raises(ConfigError, match=r"needs about .*GiB, over the memory budget"):
        GridConfig(Gr=512, Gc=512, H=512, B=64)


def test_sweep_points_and_memory_check():
    cfg = SweepConfig(axes="G,H,D", G_max=16, H_max=8, D_max=4, G=6, H=5, D=2)
    pts = cfg.points()
    assert [p["G"] for p in pts if p["axis"] == "G"] == [4, 8, 16]
    assert [p["H"] for p in pts if p["axis"] == "H"] == [4, 8]
    assert [p["D"] for p in pts if p["axis"] == "D"] == [1, 2, 4]
    assert all(p["G"] == 6 for p in pts if p["axis"] != "G")
    with pytest.raises(ConfigError, match="largest grid of this sweep"):
        SweepConfig(G_max=256, H=512, B=64)


def test_measure_counts_match_the_exact_model(backend):
    cfg = GridConfig(Gr=6, Gc=9, D=3, H=5, B=2)
    m = gb.measure(cfg, backend, timing_cfg=gb.CostConfig(repeat=1))
    assert m.weights == m.weights_formula == 3 * 5 + 2 * 25
    assert m.weights_with_bias == m.weights + 5
    assert m.macs_model_exact == cost.macs_exact(6, 9, 3, 5, 2)
    for s, r in m.schedules.items():
        assert r.macs == m.macs_model_exact, s
        assert r.macs_over_exact_model == 1.0
        assert r.seconds > 0
    assert m.schedules["raster"].steps == 54 and m.schedules["wavefront"].steps == 14
    assert m.max_abs_difference_raster_wavefront < 1e-12
    assert m.fused.macs == 6 * 9 * 2 * (3 + 10) * 5
    assert (m.fused.efficiency <= 1.0) if not m.fused.note else math.isnan(m.fused.efficiency)
    assert "two matrices" in m.verdict


def test_the_efficiency_never_reads_above_one_hundred_percent():
    """A fused product that took longer per multiply-add than the wavefront is no speed limit:
    the efficiency is refused with the reason, never shown above 100%; timings too short to
    measure are refused too."""
    slow_fused, fast_wave = Timing((1e-3,) * 5), Timing((1e-3,) * 5)
    high = gb.fused_run(slow_fused, fast_wave, fused_macs=1000, wave_macs=2000, shape="")
    assert math.isnan(high.efficiency) and "no speed limit" in high.note
    fine = gb.fused_run(Timing((1e-3,) * 5), Timing((4e-3,) * 5), fused_macs=1000, wave_macs=1000, shape="")
    assert fine.efficiency == pytest.approx(0.25) and not fine.note
    tiny = gb.fused_run(Timing((2e-6,) * 5), Timing((4e-3,) * 5), fused_macs=1000, wave_macs=1000, shape="")
    assert math.isnan(tiny.efficiency) and "too short to time" in tiny.note


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch not installed")
def test_torch_loop_computes_the_same_states():
    m = gb.measure(GridConfig(Gr=4, Gc=3, D=2, H=3), NUMPY, timing_cfg=gb.CostConfig(repeat=1, compare_torch=True),
                   fused=False)
    assert m.torch.max_abs_difference < 1e-12 and m.torch_note == ""
    # a ratio of timings, or why the shared timer refused it (one repeat has no spread to judge)
    assert m.torch.torch_over_wavefront > 0 or m.torch.torch_over_wavefront_note


def test_missing_torch_is_one_clear_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ConfigError, match="needs PyTorch"):
        gb.measure(GridConfig(Gr=2, Gc=2, D=1, H=2), NUMPY, timing_cfg=gb.CostConfig(repeat=1, compare_torch=True))


def test_a_grid_over_the_time_budget_is_refused_before_it_starts():
    with pytest.raises(ConfigError, match="over the budget of 1 s"):
        gb.measure(GridConfig(Gr=256, Gc=256, H=64), NUMPY, budget_seconds=1.0)


def test_sweep_slopes_of_the_counted_work():
    seen = []
    cfg = SweepConfig(axes="G,H", G_max=16, H_max=16, G=5, H=4, D=2, repeat=1)
    r = sweep(cfg, NUMPY, progress=lambda f, m: seen.append(f))
    assert len(r.rows) == 2 * len(cfg.points())
    assert seen[0] == 0 and seen[-1] == 1.0
    g = r.slopes["G"]
    assert g.raster.steps == pytest.approx(2.0)  # G^2 steps
    assert g.wavefront.steps == pytest.approx(cost.loglog_slope([4, 8, 16], [7, 15, 31]))
    assert g.wavefront.macs == pytest.approx(g.model_exact)
    assert g.model_seed == pytest.approx(2.0)
    assert r.slopes["H"].raster.steps == pytest.approx(0.0)
    assert {row["axis"] for row in r.table("H")} == {"H"}


def test_grad_check_passes_and_refuses_huge_work(backend):
    r = grad_check(GridConfig(Gr=3, Gc=2, D=2, H=2, B=1), backend, GradCheckConfig(max_entries=6))
    assert r.max_entrywise_relative_error <= 1e-7
    assert r.direction["relative_error"] <= 1e-7
    with pytest.raises(ConfigError, match="forward passes"):
        grad_check(GridConfig(Gr=128, Gc=128, D=3, H=128), backend)


def test_blas_threads_limits_and_refuses_nonsense():
    with blas_threads(None):
        pass
    with blas_threads(1):
        pass  # threadpoolctl present (it comes with scikit-learn)
    with pytest.raises(ConfigError, match="positive integer"):
        blas_threads(0)
