"""Array backends: NumPy, CuPy (optional, GPU) and array-api-strict (tests).

Code in ``core/`` never uses a global "current backend". Each array function asks
:func:`namespace` for the namespace of its arguments, so the caller decides where arrays
live by creating them with a :class:`Backend`. The public surface is small:

* :func:`select_backend` -- a :class:`Backend` by name (``auto``, ``numpy``, ``cupy``);
* :func:`describe_device` -- CPU model and threads, or GPU name and memory;
* :func:`to_numpy` -- any result as a NumPy array, for plotting and JSON;
* :func:`synchronize` -- wait for a GPU's queued work (timings live in :mod:`core.timing`);
* :func:`blas_threads` -- hold the CPU's BLAS to a number of threads.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import platform
from dataclasses import dataclass, field
from typing import Any

import array_api_compat
import numpy as np

from core.limits import ConfigError, echo

BACKEND_NAMES = ("auto", "numpy", "cupy")


class BackendUnavailable(ConfigError):
    """The backend that was asked for cannot run here (one line says why)."""


def namespace(*arrays: Any) -> Any:
    """The array namespace of ``arrays``: NumPy itself for NumPy arrays, else array-api-compat's."""
    if len(arrays) == 1 and type(arrays[0]) is np.ndarray:  # the common call, asked every step
        return np
    arrays = tuple(a for a in arrays if a is not None)
    if all(isinstance(a, np.ndarray | np.generic) for a in arrays):
        return np  # NumPy >= 2 implements the standard; skip the wrapper's per-call overhead
    return array_api_compat.array_namespace(*arrays)


def sigmoid(z: Any) -> Any:
    """σ(z) = ½ + ½ tanh(z/2) for an array of any namespace: the same function as 1/(1 + e^-z),
    without its overflow for large |z| (the LSTM's gates and the MDLSTM's)."""
    return 0.5 + 0.5 * namespace(z).tanh(0.5 * z)


def abs_max(x: Any) -> float:
    """max |x| as a Python float, NaN if x holds a NaN, with no temporary |x| (and, for NumPy,
    without the per-call cost of the function wrappers: asked at every training step). ``x``
    may also be a non-empty list of Python numbers (a training step of a few parameters)."""
    if type(x) is list:
        return _listed_abs_max(x)
    if type(x) is np.ndarray:
        if 0 < x.size <= 8:  # a few entries: Python's own max over them costs less than two reductions
            return _listed_abs_max(x.ravel().tolist())
        # the ufuncs' own reductions, below the methods' Python wrappers
        return max(float(np.maximum.reduce(x, axis=None)), -float(np.minimum.reduce(x, axis=None)))
    xp = namespace(x)
    return max(float(xp.max(x)), -float(xp.min(x)))


def _listed_abs_max(values: list[Any]) -> float:
    total = sum(values)  # NaN only if a NaN is among them (or both infinities are): then look
    if total != total and any(v != v for v in values):
        return math.nan
    return float(max(map(abs, values)))


def is_cupy(xp: Any) -> bool:
    return array_api_compat.is_cupy_namespace(xp)


def inplace_module(xp: Any) -> Any:
    """NumPy or CuPy's own module for a namespace of either (both take ``out=`` arguments, the
    array API does not), else None."""
    if xp is np or array_api_compat.is_numpy_namespace(xp):
        return np
    if is_cupy(xp):
        import cupy

        return cupy
    return None


def cupy_status() -> tuple[bool, str]:
    """(usable, reason): whether CuPy imports and sees at least one GPU."""
    try:
        import cupy
    except Exception as exc:  # ImportError, or a CUDA library that fails to load
        return False, f"CuPy is not installed ({type(exc).__name__}); install requirements-gpu.txt"
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return False, f"CuPy is installed but no CUDA device is usable ({str(exc).splitlines()[0]})"
    if n < 1:
        return False, "CuPy is installed but this machine has no GPU"
    return True, f"{n} GPU(s)"


@dataclass(frozen=True)
class Backend:
    """Where arrays live: its namespace ``xp`` and a note on how it was chosen."""

    name: str  # "numpy", "cupy" or "array_api_strict"
    xp: Any = field(repr=False, compare=False)
    note: str = ""  # e.g. why ``auto`` fell back to NumPy

    def asarray(self, a: Any, dtype: str | None = None) -> Any:
        """Move host data (NumPy or Python numbers) into this backend, optionally casting."""
        arr = self.xp.asarray(np.asarray(a) if not _is_backend_array(a) else a)
        return arr if dtype is None else self.xp.astype(arr, dtype_of(self.xp, dtype))

    def randn(self, shape: tuple[int, ...], seed: int | np.random.Generator, dtype: str = "float64",
              scale: float = 1.0) -> Any:
        """Standard normal samples drawn on the host (the same numbers on every backend)."""
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        return self.asarray(scale * rng.standard_normal(shape), dtype)

    def sync(self) -> None:
        synchronize(self.xp)

    def device(self) -> dict[str, Any]:
        return describe_device(self.name)


def _is_backend_array(a: Any) -> bool:
    return array_api_compat.is_array_api_obj(a) and not isinstance(a, np.ndarray | np.generic)


def dtype_of(xp: Any, name: str) -> Any:
    """``xp.float32`` / ``xp.float64`` from a name; ConfigError for anything else."""
    if name not in ("float32", "float64"):
        raise ConfigError(f"precision {echo(name)} is not supported: choose float32 or float64")
    return getattr(xp, name)


def select_backend(name: str = "auto") -> Backend:
    """A backend by name. ``cupy`` without CuPy or a GPU raises :class:`BackendUnavailable`;
    ``auto`` takes CuPy when it is usable and otherwise falls back to NumPy, saying so."""
    if name == "numpy":
        return Backend("numpy", np)
    if name == "array_api_strict":  # for tests: anything outside the standard fails loudly
        import array_api_strict

        return Backend("array_api_strict", array_api_strict)
    if name in ("cupy", "auto"):
        ok, reason = cupy_status()
        if ok:
            import cupy

            return Backend("cupy", array_api_compat.array_namespace(cupy.empty(0)))
        if name == "cupy":
            raise BackendUnavailable(f"backend 'cupy' is unavailable: {reason}")
        return Backend("numpy", np, note=f"auto chose NumPy: {reason}")
    raise ConfigError(f"unknown backend {echo(name)}: choose one of {', '.join(BACKEND_NAMES)}")


def available_backends() -> dict[str, dict[str, Any]]:
    """Which backends can run here, and why not where one cannot."""
    ok, reason = cupy_status()
    out = {"numpy": {"available": True, "detail": f"NumPy {np.__version__}"},
           "cupy": {"available": ok, "detail": reason}}
    try:
        import array_api_strict

        out["array_api_strict"] = {"available": True, "detail": array_api_strict.__version__}
    except ImportError:
        out["array_api_strict"] = {"available": False, "detail": "not installed (tests only)"}
    return out


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def describe_device(name: str = "numpy") -> dict[str, Any]:
    """The device a backend computes on, as a dict with a one-line ``summary``."""
    if name == "cupy":
        import cupy

        dev = cupy.cuda.Device()
        props = cupy.cuda.runtime.getDeviceProperties(dev.id)
        gpu = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
        mem = dev.mem_info[1] / 2**30
        return {"kind": "gpu", "name": gpu, "memory_gib": round(mem, 1),
                "summary": f"GPU {gpu}, {mem:.0f} GiB"}
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    model = _cpu_model()
    return {"kind": "cpu", "name": model, "threads": threads,
            "summary": f"CPU {model}, {threads} thread{'s' if threads != 1 else ''}"}


def to_numpy(x: Any) -> np.ndarray:
    """Any backend array (or nested result) as NumPy, for plotting, JSON and comparisons."""
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, int | float | np.generic):
        return np.asarray(x)
    if array_api_compat.is_cupy_array(x):
        return x.get()
    try:
        return np.from_dlpack(x)
    except (TypeError, BufferError, RuntimeError):
        return np.asarray(x)


def synchronize(xp: Any) -> None:
    """Wait for queued GPU work (a no-op on the CPU), so timings measure the work itself."""
    if is_cupy(xp):
        import cupy

        cupy.cuda.get_current_stream().synchronize()


@functools.cache
def hold_blas_threads(n: int) -> bool:
    """Hold NumPy's BLAS to ``n`` threads for the rest of the process (once; later calls do
    nothing): what the dashboard server does, whose sessions are its parallelism and whose
    products are small (see :func:`blas_threads`). False where threadpoolctl is missing."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return False
    threadpool_limits(limits=n, user_api="blas")
    return True


def blas_threads(n: int | None) -> contextlib.AbstractContextManager:
    """A context that holds NumPy's BLAS (OpenBLAS, MKL) to ``n`` threads; nothing for None.

    The lab's products are small (8 x 8 grids, H of a few dozen, one step of a recurrence):
    a multi-threaded BLAS spends longer waking its threads than multiplying, and on a busy
    machine a thread that loses its core makes every product wait for it. threadpoolctl comes
    with scikit-learn; without it this does nothing."""
    if n is None:
        return contextlib.nullcontext()
    if not isinstance(n, int) or n < 1:
        raise ConfigError(f"BLAS threads must be a positive integer, got {echo(n)}")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas")
