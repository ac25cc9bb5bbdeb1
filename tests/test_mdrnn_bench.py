"""core.mdrnn_bench: configs refuse bad sizes up front; measure, sweep and grad_check report
counted figures that match the models (timings are printed by the CLI, never asserted)."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from core import cost
from core import mdrnn_bench as mb
from core.backend import select_backend
from core.limits import ConfigError


def test_grid_config_bounds_and_memory_estimate():
    assert mb.GridConfig().Gr == 16
    with pytest.raises(ConfigError, match="out of range"):
        mb.GridConfig(Gr=0)
    with pytest.raises(ConfigError, match="H \\(hidden units\\) = 9999 is out of range"):
        mb.GridConfig(H=9999)
    with pytest.raises(ConfigError, match=r"needs about .*GiB, over the memory budget"):
        mb.GridConfig(Gr=512, Gc=512, H=512, B=64)


def test_sweep_points_and_memory_check():
    cfg = mb.SweepConfig(axes="G,H,D", G_max=16, H_max=8, D_max=4, G=6, H=5, D=2)
    pts = cfg.points()
    assert [p["G"] for p in pts if p["axis"] == "G"] == [4, 8, 16]
    assert [p["H"] for p in pts if p["axis"] == "H"] == [4, 8]
    assert [p["D"] for p in pts if p["axis"] == "D"] == [1, 2, 4]
    assert all(p["G"] == 6 for p in pts if p["axis"] != "G")
    with pytest.raises(ConfigError, match="largest grid of this sweep"):
        mb.SweepConfig(G_max=256, H=512, B=64)


def test_measure_counts_match_the_exact_model(backend):
    cfg = mb.GridConfig(Gr=6, Gc=9, D=3, H=5, B=2)
    m = mb.measure(cfg, backend, repeat=1)
    assert m["weights"] == m["weights_formula"] == 3 * 5 + 2 * 25
    assert m["weights_with_bias"] == m["weights"] + 5
    assert m["macs_model_exact"] == cost.macs_exact(6, 9, 3, 5, 2)
    for s, r in m["schedules"].items():
        assert r["macs"] == m["macs_model_exact"], s
        assert r["macs_over_exact_model"] == 1.0
        assert r["seconds"] > 0
    assert m["schedules"]["raster"]["steps"] == 54 and m["schedules"]["wavefront"]["steps"] == 14
    assert m["max_abs_difference_raster_wavefront"] < 1e-12
    assert m["fused"]["macs"] == 6 * 9 * 2 * (3 + 10) * 5
    assert m["fused"]["efficiency"] > 0
    assert "two matrices" in m["verdict"]


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch not installed")
def test_torch_loop_computes_the_same_states():
    m = mb.measure(mb.GridConfig(Gr=4, Gc=3, D=2, H=3), select_backend("numpy"), repeat=1,
                   fused=False, compare_torch=True)
    assert m["torch"]["max_abs_difference"] < 1e-12
    assert m["torch"]["torch_over_wavefront"] > 0


def test_missing_torch_is_one_clear_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ConfigError, match="needs PyTorch"):
        mb.measure(mb.GridConfig(Gr=2, Gc=2, D=1, H=2), select_backend("numpy"), repeat=1,
                   compare_torch=True)


def test_sweep_slopes_of_the_counted_work():
    seen = []
    cfg = mb.SweepConfig(axes="G,H", G_max=16, H_max=16, G=5, H=4, D=2, repeat=1)
    r = mb.sweep(cfg, select_backend("numpy"), progress=lambda f, m: seen.append(f))
    assert len(r["rows"]) == 2 * len(cfg.points())
    assert seen[0] == 0 and seen[-1] == 1.0
    g = r["slopes"]["G"]
    assert g["raster"]["steps"] == pytest.approx(2.0)  # G^2 steps
    assert g["wavefront"]["steps"] == pytest.approx(cost.loglog_slope([4, 8, 16], [7, 15, 31]))
    assert g["wavefront"]["macs"] == pytest.approx(g["model_exact"])
    assert g["model_seed"] == pytest.approx(2.0)
    assert r["slopes"]["H"]["raster"]["steps"] == pytest.approx(0.0)


def test_grad_check_passes_and_refuses_huge_work(backend):
    r = mb.grad_check(mb.GridConfig(Gr=3, Gc=2, D=2, H=2, B=1), backend, max_entries=6)
    assert r["max_entrywise_relative_error"] <= 1e-7
    assert r["direction"]["relative_error"] <= 1e-7
    with pytest.raises(ConfigError, match="forward passes"):
        mb.grad_check(mb.GridConfig(Gr=128, Gc=128, D=3, H=128), backend)


def test_blas_threads_limits_and_refuses_nonsense():
    with mb.blas_threads(None):
        pass
    with mb.blas_threads(1):
        pass  # threadpoolctl present (it comes with scikit-learn)
    with pytest.raises(ConfigError, match="at least 1"):
        mb.blas_threads(0)
