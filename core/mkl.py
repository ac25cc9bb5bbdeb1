"""Intel oneMKL's matrix products for the compiled LSTM sweeps, where it is installed.

The float32 LSTM at the benchmark's large size spends most of its time in small matrix products:
each step a (B, D+H+1) by (D+H+1, 4H) product forward and a (B, 4H) by (4H, D+H) one backward.
The BLAS that NumPy and SciPy bring (OpenBLAS) runs these at 100-120 GFLOP/s on one core here;
oneMKL, the library torch.nn.LSTM calls on Intel CPUs, at 170-180, and at about 200 through its
packed interface (``cblas_sgemm_pack``/``cblas_sgemm_compute``), which lays the weights out once
per sequence and reuses them at every step instead of repacking them in every call.

The same holds in float64 (``dgemm``), which the compiled sweeps also take.

oneMKL is optional: ``requirements-mkl.txt`` (Linux on x86-64; the ``mkl`` wheel is about 1 GB
installed). Without it the sweeps call SciPy's BLAS through Numba, as before. It is loaded with
ctypes from the wheel's own ``libmkl_rt`` with the sequential threading layer (one thread, as the
sweeps hold every BLAS to; no OpenMP runtime is loaded) and the LP64 interface (32-bit integers).

A PyTorch imported after this library is loaded finds its functions before its own: its matrix
products then run here, on one thread (torch.mm on 2000 x 2000 took 0.092 s instead of 0.046 on
two threads). Imported before, it keeps its own. ``lstm bench`` imports PyTorch first.
"""

from __future__ import annotations

import ctypes
import functools
from types import SimpleNamespace
from typing import Any

import numpy as np

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112  # CBLAS_LAYOUT, CBLAS_TRANSPOSE
PACKED, B_MATRIX = 151, 162  # cblas_sgemm_compute's "already packed" operand; CBLAS_IDENTIFIER of B
_SEQUENTIAL, _LP64 = 1, 0  # MKL_THREADING_SEQUENTIAL, MKL_INTERFACE_LP64
_ALIGN = 64  # bytes: oneMKL's advice for its operands


def _library_path() -> str:
    """The ``libmkl_rt`` that the ``mkl`` wheel installed (``importlib.metadata`` knows its files)."""
    import importlib.metadata as md

    dist = md.distribution("mkl")  # PackageNotFoundError where it is not installed
    for f in dist.files or ():
        if f.name.startswith("libmkl_rt.so"):
            return str(dist.locate_file(f).resolve())
    raise FileNotFoundError(f"the mkl {dist.version} wheel has no libmkl_rt.so (it is for Linux only here)")


@functools.cache
def _load() -> tuple[SimpleNamespace | None, str]:
    try:
        lib = ctypes.CDLL(_library_path())
        # both before any other call into the library, or they do not take
        lib.MKL_Set_Interface_Layer.restype = ctypes.c_int
        lib.MKL_Set_Threading_Layer.restype = ctypes.c_int
        if lib.MKL_Set_Interface_Layer(_LP64) != _LP64 or lib.MKL_Set_Threading_Layer(_SEQUENTIAL) != _SEQUENTIAL:
            raise OSError("oneMKL did not take the LP64 interface and sequential threading layers")
        fns = {}
        i, p = ctypes.c_int, ctypes.c_void_p
        for prefix, f in (("s", ctypes.c_float), ("d", ctypes.c_double)):  # float32, float64
            gemm = getattr(lib, f"cblas_{prefix}gemm")
            gemm.restype, gemm.argtypes = None, [i] * 6 + [f, p, i, p, i, f, p, i]
            pack_size = getattr(lib, f"cblas_{prefix}gemm_pack_get_size")
            pack_size.restype, pack_size.argtypes = ctypes.c_size_t, [i] * 4
            pack = getattr(lib, f"cblas_{prefix}gemm_pack")
            pack.restype, pack.argtypes = None, [i] * 6 + [f, p, i, p]
            compute = getattr(lib, f"cblas_{prefix}gemm_compute")
            compute.restype, compute.argtypes = None, [i] * 6 + [p, i, p, i, f, p, i]
            fns |= {f"{prefix}gemm": gemm, f"{prefix}pack_size": pack_size, f"{prefix}pack": pack,
                    f"{prefix}compute": compute}
        buf = ctypes.create_string_buffer(256)
        lib.MKL_Get_Version_String(buf, len(buf))
        version = buf.value.decode(errors="replace").strip()
        m = SimpleNamespace(**fns, version=version)
        for dtype in (np.float32, np.float64):
            _selftest(m, dtype)
        return m, ""
    except Exception as exc:  # not installed, no such file, or a library that does not behave
        return None, describe_error(exc)


def describe_error(exc: BaseException) -> str:
    """One line for a reason something optional cannot run here: the exception's type and the
    first line of its message."""
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")


def _selftest(m: SimpleNamespace, dtype: Any) -> None:
    """Both interfaces on a small product, against NumPy, so a broken library shows here."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(s).astype(dtype) for s in ((5, 7), (7, 3)))
    want = a.astype(np.float64) @ b
    got = matmul(a, b, lib=m)
    got_packed, packed = np.empty((5, 3), dtype), pack_b(b, 5, lib=m)  # held while in use
    _fn(m, dtype, "compute")(ROW_MAJOR, NO_TRANS, PACKED, 5, 3, 7, a.ctypes.data, 7, packed.ctypes.data, 3, 0.0,
                             got_packed.ctypes.data, 3)
    for g in (got, got_packed):
        if not np.allclose(g, want, rtol=1e-5, atol=1e-5):
            raise ArithmeticError(f"oneMKL's {np.dtype(dtype)} gemm disagrees with NumPy on a 5 x 7 by 7 x 3 product")


def _fn(lib: SimpleNamespace, dtype: Any, name: str) -> Any:
    """``lib``'s function ``name`` ("gemm", "pack_size", "pack", "compute") for ``dtype``."""
    return getattr(lib, {np.dtype(np.float32): "s", np.dtype(np.float64): "d"}[np.dtype(dtype)] + name)


def available() -> bool:
    """Whether oneMKL is installed and loads here."""
    return _load()[0] is not None


def unavailable_reason() -> str:
    return _load()[1]


def library() -> SimpleNamespace:
    """The loaded functions (``sgemm``, ``spack_size``, ``spack``, ``scompute`` and their float64
    ``d`` twins) and ``version``."""
    m, why = _load()
    if m is None:
        raise RuntimeError(f"oneMKL is not available here ({why}); pip install -r requirements-mkl.txt")
    return m


def aligned_empty(n: int, dtype: Any = np.float32) -> np.ndarray:
    """An uninitialised 1-D array of ``n`` items whose data start on a 64-byte boundary."""
    item = np.dtype(dtype).itemsize
    raw = np.empty(n * item + _ALIGN, dtype=np.uint8)
    start = -raw.ctypes.data % _ALIGN
    return raw[start:start + n * item].view(dtype)


def _check(*arrays: np.ndarray) -> None:
    dtype = arrays[0].dtype
    for a in arrays:
        if a.dtype not in (np.float32, np.float64) or a.dtype != dtype or not a.flags.c_contiguous:
            raise TypeError("oneMKL's products here take C-contiguous float32 or float64 arrays, all of one dtype")


def pack_b(b: np.ndarray, m: int, *, lib: SimpleNamespace | None = None) -> np.ndarray:
    """``b`` (K, N) in oneMKL's packed layout for ``m``-row products a (m, K) @ b, as the buffer
    that ``compute(..., PACKED, ...)`` takes in place of ``b``."""
    lib = lib or library()
    _check(b)
    k, n = b.shape
    out = aligned_empty(-(-_fn(lib, b.dtype, "pack_size")(B_MATRIX, m, n, k) // b.itemsize), b.dtype)
    _fn(lib, b.dtype, "pack")(ROW_MAJOR, B_MATRIX, NO_TRANS, m, n, k, 1.0, b.ctypes.data, n, out.ctypes.data)
    return out


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None, *, trans_a: bool = False,
           lib: SimpleNamespace | None = None) -> np.ndarray:
    """``a @ b`` (or ``a.T @ b``) for C-contiguous float32 or float64 matrices, on oneMKL."""
    lib = lib or library()
    _check(a, b)
    m, k = a.shape[::-1] if trans_a else a.shape
    if b.shape[0] != k:
        raise ValueError(f"cannot multiply {a.shape}{'^T' if trans_a else ''} by {b.shape}")
    n = b.shape[1]
    if out is None:
        out = np.empty((m, n), a.dtype)
    _check(a, out)
    if out.shape != (m, n):
        raise ValueError(f"out has shape {out.shape}, the product {(m, n)}")
    _fn(lib, a.dtype, "gemm")(ROW_MAJOR, TRANS if trans_a else NO_TRANS, NO_TRANS, m, n, k, 1.0, a.ctypes.data,
                              a.shape[1], b.ctypes.data, n, 0.0, out.ctypes.data, n)
    return out
