"""Shared fixtures: the ``xp`` backend fixture, GPU skipping, and the browser harness."""

from __future__ import annotations

import os

import pytest

from core import timing
from core.backend import cupy_status, select_backend
from tests import harness

GPU_OK, GPU_REASON = cupy_status()
# Time estimates at the reference machine's speed in every test (and the servers they start), so a
# refusal or a "run this?" button does not depend on this CPU; tests/test_timing.py measures it.
os.environ.setdefault(timing.CALIBRATE_ENV, "0")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_collection_modifyitems(config, items):
    skip_gpu = pytest.mark.skip(reason=f"no GPU: {GPU_REASON}")
    for item in items:
        if "gpu" in item.keywords and not GPU_OK:
            item.add_marker(skip_gpu)


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
