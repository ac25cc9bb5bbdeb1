"""core/lstm/bench.py: the products-alone floor runs exactly the LSTM's flops; the benchmark runs
on every backend and refuses to divide timings too short to measure."""

from __future__ import annotations

import math

import pytest

from core.lstm.bench import BenchConfig, bench, gemm_shapes
from core.lstm.model import lstm_flops


@pytest.mark.parametrize("T,B,D,H", [(1, 1, 1, 1), (100, 32, 32, 128), (50, 16, 8, 32), (7, 3, 5, 2)])
def test_gemm_floor_runs_exactly_the_lstm_flops(T, B, D, H):
    flops = sum(2 * a[0] * a[1] * b[1] * n for a, b, n in gemm_shapes(T, B, D, H))
    assert flops == lstm_flops(T, B, D, H)
    assert all(a[1] == b[0] for a, b, _ in gemm_shapes(T, B, D, H))


def test_bench_and_its_product_floor_run_on_every_backend(backend):
    out = bench(BenchConfig(T=4, B=2, D=3, H=5, dtype="float64", repeat=2, torch=False), backend)
    assert out.backend == backend.name and out.seconds > 0 and out.gemm_floor_seconds > 0
    assert math.isnan(out.torch_seconds) and out.torch_note == "not asked for"
    assert out.path == ("numpy" if backend.name == "numpy" else "standard")
