"""core.backend: choosing backends, moving results to NumPy, device descriptions, timing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core import backend as bk
from core.limits import ConfigError


def test_roundtrip_to_numpy_is_bit_exact(backend):
    host = np.random.default_rng(1).standard_normal((3, 4))
    dev = backend.asarray(host)
    back = bk.to_numpy(dev)
    assert isinstance(back, np.ndarray)
    assert back.dtype == np.float64
    np.testing.assert_array_equal(back, host)


def test_namespace_comes_from_the_arrays(backend, xp):
    a = backend.asarray(np.eye(3), "float32")
    ns = bk.namespace(a)
    assert ns.__name__.split(".")[-1] in (backend.name, "numpy", "cupy")
    # Standard functions work through the namespace taken from the array itself.
    out = ns.matmul(a, ns.ones((3, 2), dtype=ns.float32))
    assert bk.to_numpy(out).dtype == np.float32
    np.testing.assert_array_equal(bk.to_numpy(out), np.ones((3, 2), np.float32))


def test_numpy_arrays_get_plain_numpy():
    assert bk.namespace(np.zeros(2), np.ones(1)) is np


def test_inplace_module_is_numpy_or_cupy_itself(backend):
    """The module whose functions take out= (NumPy's or CuPy's own), and none for the array API."""
    mod = bk.inplace_module(bk.namespace(backend.asarray(np.eye(2), "float64")))
    if backend.name == "array_api_strict":
        assert mod is None
        return
    assert mod.__name__ == backend.name
    a = backend.asarray(np.eye(2), "float64")
    out = mod.empty((2, 2), dtype=a.dtype)
    assert mod.matmul(a, a + 1, out=out) is out
    np.testing.assert_array_equal(bk.to_numpy(out), [[2.0, 1.0], [1.0, 2.0]])


def test_randn_gives_the_same_numbers_on_every_backend(backend):
    ref = np.random.default_rng(7).standard_normal((2, 5)) * 0.5
    got = bk.to_numpy(backend.randn((2, 5), seed=7, scale=0.5))
    np.testing.assert_array_equal(got, ref)


def test_precision_names(backend, xp):
    assert bk.dtype_of(xp, "float32") == xp.float32
    with pytest.raises(ConfigError, match="float16"):
        bk.dtype_of(xp, "float16")


def test_unknown_backend_is_refused():
    with pytest.raises(ConfigError, match="unknown backend 'tpu'"):
        bk.select_backend("tpu")


def test_cupy_without_gpu_is_one_clear_line(monkeypatch):
    monkeypatch.setattr(bk, "cupy_status", lambda: (False, "CuPy is not installed"))
    with pytest.raises(bk.BackendUnavailable) as info:
        bk.select_backend("cupy")
    assert "\n" not in str(info.value)
    assert "cupy" in str(info.value) and "not installed" in str(info.value)


def test_auto_falls_back_to_numpy_and_says_so(monkeypatch):
    monkeypatch.setattr(bk, "cupy_status", lambda: (False, "no GPU here"))
    chosen = bk.select_backend("auto")
    assert chosen.name == "numpy" and chosen.xp is np
    assert "NumPy" in chosen.note and "no GPU here" in chosen.note


def test_cpu_description_names_model_and_threads():
    d = bk.describe_device("numpy")
    assert d["kind"] == "cpu" and d["threads"] >= 1
    assert d["name"] in d["summary"] and "thread" in d["summary"]


def test_available_backends_lists_numpy_and_cupy():
    av = bk.available_backends()
    assert av["numpy"]["available"] is True
    assert set(av["cupy"]) == {"available", "detail"}


@pytest.mark.gpu
def test_gpu_description():
    d = bk.describe_device("cupy")
    assert d["kind"] == "gpu" and d["memory_gib"] > 0


def test_abs_max_is_the_largest_magnitude_and_nan_stays_nan():
    from core.backend import abs_max

    assert abs_max(np.array([[1.0, -3.0], [2.0, 0.5]])) == 3.0
    assert abs_max(np.array([5, -7], dtype=np.int64)) == 7.0
    assert abs_max(np.float64(-2.5) * np.ones(3)) == 2.5
    assert math.isnan(abs_max(np.array([1.0, np.nan, -4.0])))  # a diverged state is never "small"
    assert math.isnan(abs_max(np.array([1.0, -4.0, np.nan])))  # wherever the NaN is
    assert abs_max(np.array([np.inf, -np.inf])) == math.inf


@pytest.mark.parametrize("size", [1, 2, 8, 9, 100])  # a few entries are read in Python, more by reductions
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "uint64"])
def test_abs_max_is_the_same_through_python_and_through_reductions(size, dtype):
    from core.backend import abs_max

    rng = np.random.default_rng(size)
    if dtype.startswith("float"):
        x = rng.standard_normal(size).astype(dtype) * 1e30
        cases = [x, np.where(np.arange(size) == size - 1, np.nan, x).astype(dtype)]
    else:
        info = np.iinfo(dtype)
        x = rng.integers(info.min, info.max, size, dtype=dtype, endpoint=True)
        x[-1] = info.min if dtype == "int64" else info.max
        cases = [x]
    for a in cases:
        want = max(float(np.max(a)), -float(np.min(a)))  # NumPy's reductions: NaN if any NaN
        got, listed = abs_max(a), abs_max(a.tolist())  # a training step of a few parameters hands lists
        assert (math.isnan(got) and math.isnan(want)) or got == want
        assert (math.isnan(listed) and math.isnan(want)) or listed == want
