"""The matrix products of the LSTM's compiled sweeps (``core/lstm_jit.py``): NumPy's ``np.dot``
(the BLAS SciPy brings) or Intel oneMKL's (``core/mkl.py``).

:func:`step` and :func:`add_at_b` are chosen by the type of their first argument, ``blas``: None
takes ``np.dot``, :data:`MKL` (an integer) oneMKL's packed and plain gemm. The choice is made when
Numba types a kernel, so each kernel is compiled (and cached) once per choice, and only the
oneMKL one refers to oneMKL's functions, by names that :func:`link_mkl` gives LLVM. (Passing the
ctypes functions as arguments worked too, but sent every kernel call through Numba's slow
dispatch: 0.28 ms a call.)
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from core import mkl
from core.mkl import NO_TRANS, PACKED, ROW_MAJOR, TRANS

MKL = 1  # the kernels' ``blas`` argument for oneMKL (None: np.dot)
SYMBOLS = {f"{p}{f}": f"recurrence_lab_mkl_{p}gemm{'_compute' if f == 'compute' else ''}"
           for p in "sd" for f in ("compute", "gemm")}  # names for LLVM of oneMKL's functions


def step(blas: Any, a: Any, w: Any, out: Any) -> None:
    """out = a @ w in compiled code; with oneMKL, w is :func:`core.mkl.pack_b`'s packed buffer."""
    raise NotImplementedError("step is for compiled code")


def add_at_b(blas: Any, a: Any, b: Any, out: Any, first: bool) -> None:
    """out = a^T b if first, else out += a^T b, in compiled code."""
    raise NotImplementedError("add_at_b is for compiled code")


@functools.cache
def register() -> None:
    """Give :func:`step` and :func:`add_at_b` their implementations; once per process."""
    from numba import types
    from numba.extending import overload

    i32, vp = types.int32, types.voidptr
    ext = {}  # (dtype, "compute" or "gemm"): oneMKL's function, as an external symbol for LLVM
    for prefix, f in (("s", types.float32), ("d", types.float64)):
        ext[f, "compute"] = types.ExternalFunction(SYMBOLS[prefix + "compute"], types.void(
            i32, i32, i32, i32, i32, i32, vp, i32, vp, i32, f, vp, i32))
        ext[f, "gemm"] = types.ExternalFunction(SYMBOLS[prefix + "gemm"], types.void(
            i32, i32, i32, i32, i32, i32, f, vp, i32, vp, i32, f, vp, i32))

    @overload(step, jit_options={"cache": True})
    def _step(blas, a, w, out):
        if isinstance(blas, types.NoneType):
            return lambda blas, a, w, out: np.dot(a, w, out)
        compute, zero = ext[a.dtype, "compute"], np.dtype(str(a.dtype)).type(0.0)

        def impl(blas, a, w, out):
            m, k = a.shape
            n = out.shape[1]
            compute(ROW_MAJOR, NO_TRANS, PACKED, m, n, k, a.ctypes.data, k, w.ctypes.data, n, zero,
                    out.ctypes.data, n)
        return impl

    @overload(add_at_b, jit_options={"cache": True})
    def _add_at_b(blas, a, b, out, first):
        if isinstance(blas, types.NoneType):
            def impl_np(blas, a, b, out, first):
                if first:
                    np.dot(a.T, b, out)
                else:
                    out += np.dot(a.T, b)
            return impl_np
        gemm, dt = ext[a.dtype, "gemm"], np.dtype(str(a.dtype)).type
        zero, one = dt(0.0), dt(1.0)

        def impl(blas, a, b, out, first):
            r, m = a.shape
            n = b.shape[1]
            gemm(ROW_MAJOR, TRANS, NO_TRANS, m, n, r, one, a.ctypes.data, m, b.ctypes.data, n,
                 zero if first else one, out.ctypes.data, n)
        return impl


def link_mkl() -> None:
    """Tell LLVM where oneMKL's functions are, under the names the kernels call them by
    (before a kernel that calls them is compiled or loaded from Numba's cache)."""
    import ctypes

    import llvmlite.binding

    lib = mkl.library()
    for key, name in SYMBOLS.items():
        llvmlite.binding.add_symbol(name, ctypes.cast(getattr(lib, key), ctypes.c_void_p).value)
