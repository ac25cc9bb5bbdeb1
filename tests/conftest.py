"""Shared fixtures: the ``xp`` backend fixture, GPU skipping, and the browser harness."""

from __future__ import annotations

import os

import pytest

from core.backend import cupy_status, select_backend
from tests import harness

GPU_OK, GPU_REASON = cupy_status()
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_collection_modifyitems(config, items):
    skip_gpu = pytest.mark.skip(reason=f"no GPU: {GPU_REASON}")
    for item in items:
        if "gpu" in item.keywords and not GPU_OK:
            item.add_marker(skip_gpu)


@pytest.fixture(scope="session")
def jit_available():
    """Whether the compiled float32 LSTM sweeps run here. requirements.txt installs Numba, so in
    CI their absence is a failure, not a skip."""
    from core import lstm_jit

    ok = lstm_jit.available()
    if not ok and IN_CI:
        pytest.fail(f"the compiled LSTM sweeps must run in CI: {lstm_jit.unavailable_reason()}")
    return ok


@pytest.fixture(scope="session")
def mkl_available(jit_available):
    """Whether the compiled sweeps run on oneMKL here. requirements-dev.txt installs it on Linux
    x86-64, so in CI there its absence is a failure, not a skip."""
    import platform
    import sys

    from core import lstm_jit

    ok = jit_available and lstm_jit.mkl_available()
    if not ok and IN_CI and sys.platform == "linux" and platform.machine() == "x86_64":
        pytest.fail(f"the LSTM sweeps must run on oneMKL in CI: {lstm_jit.mkl_unavailable_reason()}")
    return ok


@pytest.fixture(params=["numpy", "array_api_strict", pytest.param("cupy", marks=pytest.mark.gpu)])
def backend(request):
    """Each array backend in turn: NumPy, array-api-strict (standard only), CuPy (GPU)."""
    return select_backend(request.param)


@pytest.fixture
def xp(backend):
    """The array namespace of :func:`backend`."""
    return backend.xp


@pytest.fixture(scope="session")
def server_url():
    """A dashboard served on a free localhost port for the whole session."""
    reason = harness.browser_unavailable()
    if reason:
        if IN_CI:
            pytest.fail(f"browser tests must run in CI: {reason}")
        pytest.skip(reason)
    harness.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with harness.streamlit_server() as url:
        yield url


@pytest.fixture(scope="session")
def browser(server_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = harness.launch_chromium(p)
        yield b
        b.close()
