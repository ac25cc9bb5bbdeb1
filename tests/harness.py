"""What the tests share: the CLI in a subprocess, pages through AppTest, a running dashboard
driven by a real browser (headless Chromium), and the rounding budget of a float computation.

Chromium comes from Debian (``apt-get install chromium``); Playwright drives it with
``executable_path`` set, so no browser is downloaded. The classroom load test uses the server
and browser functions too.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-quic", "--no-first-run",
                 "--disable-sync", "--disable-dev-shm-usage"]
SCREENSHOTS = ROOT / "tests" / "artifacts" / "screenshots"
SERVER_PIDS: list[int] = []  # pids of the servers started by streamlit_server, newest last


def browser_unavailable() -> str:
    """Why the browser tests cannot run here ('' when they can)."""
    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium to run browser tests)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements-dev.txt)"
    return ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(timeout: float = 90.0, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Start ``streamlit run app.py`` on a free localhost port; yield its base URL."""
    port = free_port()
    env = {**os.environ, "STREAMLIT_CLIENT_SHOW_ERROR_DETAILS": "full", **(extra_env or {})}
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    (ROOT / "tests" / "artifacts").mkdir(parents=True, exist_ok=True)
    log = open(ROOT / "tests" / "artifacts" / f"server-{port}.log", "w")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    SERVER_PIDS.append(proc.pid)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not answer within {timeout:.0f} s")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


EPS64 = float(np.finfo(np.float64).eps)


def rounding(scale: float, terms: int = 1, steps: int = 1, eps: float = EPS64) -> float:
    """How far two float evaluations of one computation may part by rounding alone when they
    order its operations differently (another BLAS kernel, another schedule, another CPU):
    ``steps`` dependent steps, each a sum of ``terms`` products whose absolute values add up to
    at most ``scale``. A sum of n terms is within about n eps of its absolute sum (Higham's
    gamma_n), and each step hands the error before it on through a slope of at most one (tanh,
    a gate), so the steps add up; a factor of two covers the rounding of the step's own
    result. A tolerance for the claim "the same function", not the figure one machine measured."""
    return 2 * eps * scale * terms * steps


def preactivation_scale(*weights: Any, x: Any, bias: Any = None, state: float = 1.0) -> float:
    """The largest absolute sum of one pre-activation W_in x + W_W h + W_N h + b, for states of
    size at most ``state``: each weight matrix is (fan-in, units), the first one reads x."""
    w = [np.abs(np.asarray(a)) for a in weights]
    rows = w[0].sum(axis=0) * float(np.abs(np.asarray(x)).max()) + sum(a.sum(axis=0) for a in w[1:]) * state
    return float((rows + (0 if bias is None else np.abs(np.asarray(bias)))).max())


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m core ARGS`` in the project folder, as a user would run it."""
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def assert_one_line_error(out: subprocess.CompletedProcess, text: str = "") -> None:
    """Exit status 2 and exactly one line on stderr, "error: ..." containing ``text``; no traceback."""
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and text in lines[0], out.stderr
    assert "Traceback" not in out.stderr


def open_app(query: dict[str, str] | None = None, timeout: float = 120) -> Any:
    """The dashboard through Streamlit's AppTest, opened with a link's query parameters."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.query_params = dict(query or {})
    return at.run()


def open_page(url_path: str, query: dict[str, str] | None = None, tab: str | None = None) -> Any:
    """One page (by its URL path in ``dashboard.site.PAGES``) opened with a link's settings;
    ``tab`` opens that tab (pages draw only the open tab)."""
    from dashboard.site import PAGES

    spec = next(p for p in PAGES if p.url_path == url_path)
    at = open_app({**(query or {}), **({spec.tab_key: tab} if tab else {})})
    return at.switch_page(spec.script).run()


def page_text(at: Any) -> str:
    """Every markdown block and caption of a page, joined: what a reader sees as text."""
    return " ".join(m.value for m in at.markdown) + " " + " ".join(c.value for c in at.caption)


def metrics(at: Any) -> dict[str, str]:
    """The page's metrics, label to value."""
    return {m.label: m.value for m in at.metric}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far, all its threads (also those that ended),
    0 where unknown. Read from the process's CPU-time clock (Linux: the clock id that
    clock_getcpuclockid gives, to the nanosecond), else from /proc in clock ticks (10 ms)."""
    try:
        return time.clock_gettime(((~pid) << 3) | 2)  # CPUCLOCK_SCHED of the whole process
    except (OSError, OverflowError, ValueError):
        pass
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def launch_chromium(playwright):  # -> playwright Browser
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def page_url(base: str, url_path: str, default: bool, query: str = "") -> str:
    path = "" if default else url_path
    return f"{base}/{path}" + (f"?{query}" if query else "")
