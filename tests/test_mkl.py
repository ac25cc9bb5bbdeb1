"""core/mkl.py: oneMKL's products through ctypes, against NumPy in float64, and its absence."""

from __future__ import annotations

import numpy as np
import pytest

from core import mkl

EPS32 = float(np.finfo(np.float32).eps)


@pytest.fixture
def lib(mkl_available):
    if not mkl.available():
        pytest.skip(f"oneMKL is not installed here: {mkl.unavailable_reason()}")
    return mkl.library()


def _ab(m, k, n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)


def _close(got, a64, b64, eps=EPS32):
    want = a64 @ b64
    # sums of k products, rounded: a few units of eps times |a| |b|, which bounds each sum
    bound = 8 * eps * np.sqrt(a64.shape[1]) * (np.abs(a64) @ np.abs(b64))
    assert np.all(np.abs(got - want) <= bound), float(np.max(np.abs(got - want) / bound))


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (5, 7, 3), (32, 161, 512), (161, 300, 64)])
def test_matmul_matches_numpy(lib, m, k, n):
    a, b = _ab(m, k, n)
    _close(mkl.matmul(a, b), a.astype(np.float64), b.astype(np.float64))
    out = np.full((m, n), np.nan, dtype=np.float32)
    assert mkl.matmul(a, b, out) is out
    _close(out, a.astype(np.float64), b.astype(np.float64))


def test_matmul_of_a_transpose_matches_numpy(lib):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((300, 40)).astype(np.float32)  # a^T b with a as stored: (40, 300) by (300, 50)
    b = rng.standard_normal((300, 50)).astype(np.float32)
    got = mkl.matmul(a, b, trans_a=True)
    assert got.shape == (40, 50)
    _close(got, a.T.astype(np.float64), b.astype(np.float64))


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (3, 41, 128), (32, 512, 160)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_packed_product_matches_numpy(lib, m, k, n, dtype):
    a, b = (v.astype(dtype) for v in _ab(m, k, n, seed=3))
    packed = mkl.pack_b(b, m)
    assert packed.ctypes.data % 64 == 0 and packed.dtype == dtype
    out = np.empty((m, n), dtype)
    compute = lib.scompute if dtype == np.float32 else lib.dcompute
    compute(mkl.ROW_MAJOR, mkl.NO_TRANS, mkl.PACKED, m, n, k, a.ctypes.data, k, packed.ctypes.data, n, 0.0,
            out.ctypes.data, n)
    _close(out, a.astype(np.float64), b.astype(np.float64), eps=np.finfo(dtype).eps)


def test_float64_products_are_float64(lib):
    a, b = (v.astype(np.float64) for v in _ab(40, 300, 20, seed=5))
    _close(mkl.matmul(a, b), a, b, eps=np.finfo(np.float64).eps)
    _close(mkl.matmul(a.T.copy(), b, trans_a=True), a, b, eps=np.finfo(np.float64).eps)


def test_bad_operands_are_refused_before_the_library_sees_them(lib):
    a, b = _ab(4, 5, 6)
    with pytest.raises(TypeError, match="C-contiguous float32 or float64 arrays, all of one dtype"):
        mkl.matmul(a.astype(np.float64), b)
    with pytest.raises(TypeError, match="C-contiguous"):
        mkl.matmul(a, np.asfortranarray(b))
    with pytest.raises(TypeError, match="float32 or float64"):
        mkl.matmul(a.astype(np.int32), b.astype(np.int32))
    with pytest.raises(ValueError, match="cannot multiply"):
        mkl.matmul(a, b.T.copy())
    with pytest.raises(ValueError, match="out has shape"):
        mkl.matmul(a, b, np.empty((4, 5), np.float32))


@pytest.mark.parametrize("n,dtype", [(1, np.float32), (1000, np.float32), (7, np.float64), (3, np.uint8)])
def test_aligned_empty_starts_on_64_bytes(n, dtype):
    a = mkl.aligned_empty(n, dtype)
    assert a.shape == (n,) and a.dtype == dtype and a.ctypes.data % 64 == 0


def test_without_the_wheel_it_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(mkl, "_load", lambda: (None, "PackageNotFoundError: No package metadata was found for mkl"))
    assert not mkl.available()
    assert "PackageNotFoundError" in mkl.unavailable_reason()
    with pytest.raises(RuntimeError, match=r"pip install -r requirements-mkl\.txt"):
        mkl.matmul(*_ab(2, 2, 2))
