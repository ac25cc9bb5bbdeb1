"""core/lstm_jit.py: the compiled float32 sweeps, their tanh, and the fallback without Numba.
(That they equal the standard path: test_lstm.py::test_numpy_sweep_equals_standard_path.)"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

from core import jit_tanh, lstm_jit
from core.backend import select_backend
from core.limits import ConfigError
from core.lstm import JIT_MIN_FLOPS, MKL_MIN_FLOPS, loss, lstm_backward, lstm_forward
from core.lstm_lab import BenchConfig, bench, lstm_flops, make_problem

NUMPY = select_backend("numpy")
LECTURE = {"T": 50, "B": 16, "D": 8, "H": 32}  # 2.5e7 flops: the compiled sweeps' by default


@pytest.fixture
def jit(jit_available):
    if not jit_available:
        pytest.skip(f"Numba is not available here: {lstm_jit.unavailable_reason()}")


def test_tanh32_is_as_close_to_tanh_as_numpys_float32_tanh(jit):
    x = np.linspace(-12.0, 12.0, 4_000_001, dtype=np.float32)
    x = np.concatenate([x, np.float32(2.0) ** -np.arange(1, 140, dtype=np.float32)])  # down to subnormals
    y, ref = lstm_jit.tanh32(x), np.tanh(x.astype(np.float64))
    err = np.abs(y - ref)
    # rounded once from float64: half a float32 unit of the result, plus the fit's 6e-9
    excess = err - (0.5 * np.spacing(np.abs(y)) + 1e-8)
    assert excess.max() <= 0, f"error {err[excess.argmax()]:.3g} at x = {x[excess.argmax()]}"
    assert err.max() <= 1.0001 * np.abs(np.tanh(x) - ref).max()  # no worse than NumPy's float32 tanh
    small = (np.abs(x) < 1e-3) & (x != 0)  # near 0, tanh x ~ x: relative error is what counts there
    assert np.max(err[small] / np.abs(ref[small])) <= np.finfo(np.float32).eps
    beyond = np.abs(x) >= jit_tanh.TANH_CLIP
    assert np.abs(y).max() == 1.0 and np.all(y[beyond] == np.sign(x[beyond]))
    np.testing.assert_array_equal(lstm_jit.tanh32(-x), -y)  # odd, exactly
    assert np.all(np.diff(lstm_jit.tanh32(np.linspace(-12, 12, 200_001, dtype=np.float32))) >= 0)  # monotone


def test_tanh32_passes_nan_and_saturates_at_infinity(jit):
    y = lstm_jit.tanh32(np.array([np.nan, np.inf, -np.inf, 0.0, -0.0], dtype=np.float32))
    assert np.isnan(y[0]) and y[1] == 1.0 and y[2] == -1.0
    assert y[3] == 0.0 and np.signbit(y[4])


def test_the_tanh_coefficients_are_what_the_fit_gives():
    p, q, err = jit_tanh.fit_tanh()
    np.testing.assert_allclose(p, jit_tanh.TANH_P, rtol=1e-6)
    np.testing.assert_allclose(q, jit_tanh.TANH_Q, rtol=1e-6)
    assert err < 1e-8  # the float64 fit is far better than float32 can hold


def test_numpy_arrays_take_the_compiled_sweep_from_jit_min_flops_on_or_when_asked(jit):
    for dtype in ("float32", "float64"):
        pr = make_problem(NUMPY, 3, 2, 4, 5, seed=1, dtype=dtype)  # 7,200 flops
        assert lstm_forward(pr.p, pr.x, pr.h0, pr.c0)[1].path == "numpy"
        assert lstm_forward(pr.p, pr.x, pr.h0, pr.c0, jit=True)[1].path == "jit"
        pr = make_problem(NUMPY, 50, 16, 8, 32, seed=1, dtype=dtype)  # the lecture size: 2.5e7 flops
        assert lstm_forward(pr.p, pr.x, pr.h0, pr.c0)[1].path == "jit"
        assert lstm_forward(pr.p, pr.x, pr.h0, pr.c0, jit=False)[1].path == "numpy"
    assert lstm_flops(50, 16, 8, 32) >= JIT_MIN_FLOPS > lstm_flops(49, 16, 8, 1)


def test_tanh64_is_within_two_units_in_the_last_place_of_numpys(jit):
    x = np.concatenate([np.linspace(-25.0, 25.0, 2_000_001), np.geomspace(1e-310, 25.0, 20_001),
                        np.linspace(0.62, 0.63, 100_001)])  # the seam of its two formulas at 0.625
    x = np.concatenate([x, -x])
    y, ref = lstm_jit.tanh64(x), np.tanh(x)
    ulps = np.abs(y - ref) / np.spacing(np.abs(ref))
    assert ulps.max() <= 2.0, f"{ulps.max()} units at x = {x[ulps.argmax()]}"  # NumPy's own is within ~1
    assert np.mean(ulps) < 0.2
    np.testing.assert_array_equal(lstm_jit.tanh64(-x), -y)  # odd, exactly
    beyond = np.abs(x) >= 20.0
    assert np.all(y[beyond] == np.sign(x[beyond]))
    grid = np.linspace(-25.0, 25.0, 2_000_001)
    assert np.all(np.diff(lstm_jit.tanh64(grid)) >= 0)  # monotone
    special = lstm_jit.tanh64(np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 5e-324]))
    assert np.isnan(special[0]) and special[1] == 1.0 and special[2] == -1.0
    assert special[3] == 0.0 and np.signbit(special[4]) and special[5] == 5e-324


def test_without_numba_float32_runs_on_the_numpy_sweep(monkeypatch):
    monkeypatch.setattr(lstm_jit, "available", lambda dtype=None: False)
    pr = make_problem(NUMPY, 4, 3, 2, 5, seed=2, dtype="float32", random_state=True)
    h, cache = lstm_forward(pr.p, pr.x, pr.h0, pr.c0)
    assert cache.path == "numpy"
    g = lstm_backward(pr.p, cache, loss("sequence", h, pr.y)[1])
    assert g.W_h.dtype == np.float32 and np.all(np.isfinite(g.W_h))


def test_a_nan_input_gives_nan_states_not_numbers(jit):
    pr = make_problem(NUMPY, 5, 2, 3, 4, seed=3, dtype="float32")
    x = pr.x.copy()
    x[2, 1, 0] = np.nan
    h, cache = lstm_forward(pr.p, x, pr.h0, pr.c0, jit=True)
    assert cache.path == "jit"
    assert np.all(np.isnan(h[2:, 1])) and np.all(np.isfinite(h[:2])) and np.all(np.isfinite(h[:, 0]))
    g = lstm_backward(pr.p, cache, np.ones_like(h))
    assert np.isnan(g.W_h).any()


def test_kernels_that_fail_to_compile_fall_back_with_a_reason(monkeypatch):
    def broken():
        raise ImportError("No module named 'numba'")

    monkeypatch.setattr(lstm_jit, "_build", broken)
    lstm_jit._reset()
    try:
        assert not lstm_jit.available() and not lstm_jit.mkl_available()
        assert lstm_jit.unavailable_reason() == "ImportError: No module named 'numba'"
        with pytest.raises(RuntimeError, match="not available here"):
            lstm_jit.tanh32(np.zeros(3, dtype=np.float32))
        pr = make_problem(NUMPY, 3, 2, 2, 3, seed=1, dtype="float64")
        assert lstm_forward(pr.p, pr.x, pr.h0, pr.c0)[1].path == "numpy"
    finally:
        lstm_jit._reset()


def test_a_kernel_that_computes_nonsense_is_not_taken(jit, monkeypatch):
    k = lstm_jit._kernels()[0]
    real = k["forward"]

    def off_by_a_bit(W, xh, gates, c, tanh_c, z, blas):
        real(W, xh, gates, c, tanh_c, z, blas)
        xh[1:] *= 1.01

    monkeypatch.setitem(k, "forward", off_by_a_bit)
    lstm_jit._ready.cache_clear()
    try:
        assert not lstm_jit.available(np.float64)
        assert lstm_jit.unavailable_reason(np.float64).startswith("ArithmeticError: the compiled float64 sweep")
    finally:
        monkeypatch.setitem(k, "forward", real)
        lstm_jit._ready.cache_clear()
    assert lstm_jit.available()


def test_bench_says_which_sweep_it_timed(jit):
    for dtype in ("float32", "float64"):
        out = bench(BenchConfig(T=4, B=2, D=3, H=5, dtype=dtype, repeat=2, torch=False, gemm_floor=False), NUMPY)
        assert out["path"] == "numpy"  # below JIT_MIN_FLOPS
        out = bench(BenchConfig(**LECTURE, dtype=dtype, repeat=2, torch=False, gemm_floor=False), NUMPY)
        assert out["path"] == "jit"


def test_the_sweeps_hold_every_blas_to_one_thread(jit):
    from threadpoolctl import threadpool_info

    def blas_threads():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    with lstm_jit._kernels()[0]["one_thread"]():
        assert blas_threads() and set(blas_threads()) == {1}
    assert blas_threads() == before


def test_a_bench_thread_limit_covers_the_blas_the_sweeps_call(jit, monkeypatch):
    lstm_jit.mkl_available()  # every variant loaded (and tried) before the sweeps are watched
    k = lstm_jit._kernels()[0]
    real, seen = k["one_thread"], []

    def recorded():
        seen.append(real())
        return seen[-1]

    monkeypatch.setitem(k, "one_thread", recorded)
    cfg = BenchConfig(**LECTURE, dtype="float32", repeat=1, torch=False, gemm_floor=False, threads=1)
    assert bench(cfg, NUMPY)["path"] == "jit"
    # every BLAS already on one thread: the sweeps had nothing to set and restore
    assert seen and all(isinstance(c, contextlib.nullcontext) for c in seen)


@pytest.fixture
def with_mkl(jit, mkl_available):
    if not mkl_available:
        pytest.skip(f"oneMKL is not installed here: {lstm_jit.mkl_unavailable_reason()}")


GRADS = ("W_x", "W_h", "b", "x", "h0", "c0", "h_bar", "c_bar", "gates_bar")


def _run(T, B, D, H, dtype, blas, seed=4):
    pr = make_problem(NUMPY, T, B, D, H, seed=seed, dtype=dtype, random_state=True)
    h, cache = lstm_forward(pr.p, pr.x, pr.h0, pr.c0, jit=True, blas=blas)
    dl = np.random.default_rng(seed + 1).standard_normal((T, B, H)).astype(dtype)
    return h, cache, lstm_backward(pr.p, cache, dl)


# T below, at, and not a multiple of Z_BAR_BLOCK (8), so every way a block of z_bar can end is run
@pytest.mark.parametrize("T,B,D,H", [(3, 2, 4, 5), (8, 1, 1, 1), (13, 3, 2, 7), (30, 4, 6, 16)])
@pytest.mark.parametrize("dtype,tol", [("float32", 2e-6), ("float64", 1e-14)])
def test_the_sweeps_on_onemkl_and_without_it_equal_the_standard_path(with_mkl, T, B, D, H, dtype, tol):
    pr = make_problem(NUMPY, T, B, D, H, seed=4, dtype="float64", random_state=True)
    dl = np.random.default_rng(5).standard_normal((T, B, H))
    h64, cache64 = lstm_forward(pr.p, pr.x, pr.h0, pr.c0, fast=False)  # float64, the equations as written
    g64 = lstm_backward(pr.p, cache64, dl)
    for blas in ("mkl", "default"):
        h, cache, g = _run(T, B, D, H, dtype, blas)
        assert (cache.path, cache.blas) == ("jit", "mkl" if blas == "mkl" else "")
        np.testing.assert_allclose(h, h64, atol=tol)
        for name in GRADS:
            want = getattr(g64, name)
            err = np.max(np.abs(getattr(g, name) - want)) / max(np.max(np.abs(want)), 1e-30)
            assert err < tol, (blas, name, err)


def test_blocks_of_z_bar_of_any_size_give_the_same_gradients(jit, monkeypatch):
    _, _, ref = _run(11, 2, 3, 4, "float64", "auto")
    for block in (1, 2, 3, 11, 50):  # 11 and 50: the whole sequence in one block
        monkeypatch.setattr(lstm_jit, "Z_BAR_BLOCK", block)
        _, _, g = _run(11, 2, 3, 4, "float32", "auto")
        for name in ("W_x", "W_h", "b"):
            np.testing.assert_allclose(getattr(g, name), getattr(ref, name), rtol=2e-5, atol=2e-6)


def test_auto_takes_onemkl_where_it_is_installed_and_the_work_is_large_enough(with_mkl):
    for dtype in ("float32", "float64"):
        assert _run(50, 16, 16, 64, dtype, "auto")[1].blas == "mkl"  # 9.8e7 flops
        assert _run(50, 16, 16, 64, dtype, "default")[1].blas == ""
        assert _run(50, 16, 8, 32, dtype, "auto")[1].blas == ""  # 2.5e7: packing costs more than it saves
        assert _run(4, 2, 3, 5, dtype, "mkl")[1].blas == "mkl"  # asked for, at any size
    assert lstm_flops(50, 16, 8, 32) < MKL_MIN_FLOPS <= lstm_flops(50, 16, 16, 64)


def test_onemkl_asked_for_where_it_cannot_serve_is_a_clear_error(jit, monkeypatch):
    pr = make_problem(NUMPY, 4, 2, 3, 5, seed=4, dtype="float64")
    with pytest.raises(ConfigError, match="compiled sweeps on NumPy arrays only"):
        lstm_forward(pr.p, pr.x, pr.h0, pr.c0, jit=False, blas="mkl")
    with pytest.raises(ConfigError, match="blas must be one of auto, mkl, default"):
        _run(4, 2, 3, 5, "float32", "openblas")
    monkeypatch.setattr(lstm_jit, "mkl_available", lambda dtype=None: False)
    monkeypatch.setattr(lstm_jit, "mkl_unavailable_reason", lambda dtype=None: "PackageNotFoundError: mkl")
    with pytest.raises(ConfigError, match=r"not available here \(PackageNotFoundError: mkl\); install it with: "
                                          r"pip install -r requirements-mkl.txt"):
        _run(4, 2, 3, 5, "float32", "mkl")
    assert _run(4, 2, 3, 5, "float32", "auto")[1].blas == ""  # auto quietly does without
    with pytest.raises(ConfigError, match="requirements-mkl"):  # before any timing
        bench(BenchConfig(T=2, B=1, D=1, H=1, dtype="float64", blas="mkl", repeat=1, torch=False), NUMPY)


def test_the_compiled_sweeps_leave_the_gate_adjoints_until_they_are_read(jit):
    g = _run(6, 2, 3, 4, "float32", "default")[2]
    assert callable(g.gate_adjoints) and "gates_bar" not in vars(g)
    first = g.gates_bar
    assert g.gates_bar is first and first.shape == (6, 2, 16) and first.dtype == np.float32
    pr = make_problem(NUMPY, 6, 2, 3, 4, seed=4, dtype="float32", random_state=True)
    std = lstm_backward(pr.p, lstm_forward(pr.p, pr.x, pr.h0, pr.c0, fast=False)[1],
                        np.random.default_rng(5).standard_normal((6, 2, 4)).astype(np.float32))
    np.testing.assert_allclose(first, std.gates_bar, rtol=1e-5, atol=1e-6)


def test_bench_says_which_blas_ran_the_products(with_mkl):
    cfg = BenchConfig(T=50, B=16, D=16, H=64, dtype="float32", repeat=2, torch=False, gemm_floor=True)
    out = bench(cfg, NUMPY)
    assert out["blas"].startswith("oneMKL 20") and out["gemm_floor"]["mkl_seconds"] > 0
    out = bench(BenchConfig(**LECTURE, dtype="float32", repeat=2, torch=False, blas="default"), NUMPY)
    assert out["blas"] == "the BLAS SciPy brings, through Numba" and "mkl_seconds" not in out["gemm_floor"]
