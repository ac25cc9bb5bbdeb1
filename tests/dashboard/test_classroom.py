"""A classroom at once: bounded caches, per-session state, safe defaults, and the load script."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.limits import CACHE_MAX_ENTRIES
from dashboard import compute
from dashboard.site import PAGES
from tests import harness
from tests.harness import ROOT

APP_CODE = [ROOT / "app.py", *sorted((ROOT / "core").rglob("*.py")),
            *sorted((ROOT / "dashboard").rglob("*.py"))]


def cached_functions() -> dict[str, object]:
    return {name: fn for name, fn in vars(compute).items()
            if type(fn).__name__ == "CachedFunc"}


def test_every_cache_is_bounded():
    fns = cached_functions()
    assert fns, "compute.py caches its results"
    for name, fn in fns.items():
        info = fn._info
        assert info.max_entries is not None or info.ttl is not None, f"{name} grows without bound"
        assert info.max_entries is None or info.max_entries <= CACHE_MAX_ENTRIES, name


CACHE_PROBE = r"""
import json, sys
from streamlit.testing.v1 import AppTest
from streamlit.runtime.caching import cache_data_api
from dashboard.site import PAGES
for spec in PAGES:
    for seed in range(5):
        at = AppTest.from_file("app.py", default_timeout=120)
        at.query_params = {"seed": str(seed), "backend": ("numpy", "auto", "cupy")[seed % 3]}
        at.run()
        at.switch_page(spec.script).run()
        assert not at.exception, (spec.url_path, [e.value for e in at.exception])
sizes = {}
for caches in cache_data_api._data_caches._function_caches.values():
    for cache in caches.values():
        sizes[cache.display_name] = [cache.storage._mem_cache.currsize, cache.max_entries]
print(json.dumps(sizes))
"""


def test_caches_stay_within_their_bound_over_many_settings():
    """Every page opened with many different links: no cache holds more than its bound."""
    env = {**os.environ, "RECURRENCE_LAB_CACHE_ENTRIES": "2"}
    out = subprocess.run([sys.executable, "-c", CACHE_PROBE], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stderr[-3000:]
    sizes = json.loads(out.stdout.strip().splitlines()[-1])
    assert "dashboard.compute.backend_report" in sizes
    for name, (size, bound) in sizes.items():
        assert bound is not None and size <= bound, f"{name}: {size} entries, bound {bound}"
    bounded_by_setting = [v for k, v in sizes.items() if v[1] == 2]
    assert all(size <= 2 for size, _ in bounded_by_setting)


def _calls(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call):
            f = node.func
            names.append(f.id if isinstance(f, ast.Name) else
                         f"{getattr(f.value, 'id', '?')}.{f.attr}" if isinstance(f, ast.Attribute) else "?")
            if any(k.arg == "shell" and getattr(k.value, "value", False) is True for k in node.keywords):
                names.append("shell=True")
        if isinstance(node, ast.Import | ast.ImportFrom):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            names += [f"import {m}" for m in mods]
    return names


@pytest.mark.parametrize("path", APP_CODE, ids=[str(p.relative_to(ROOT)) for p in APP_CODE])
def test_no_user_input_can_reach_eval_pickle_or_a_shell(path):
    forbidden = {"eval", "exec", "compile", "os.system", "os.popen", "shell=True", "pickle.loads",
                 "pickle.load", "import pickle", "import subprocess", "import marshal",
                 "import shelve", "__import__"}
    found = forbidden.intersection(_calls(path))
    assert not found, f"{path.name} uses {sorted(found)}"


@pytest.mark.browser
def test_the_load_script_runs_a_small_classroom_without_errors():
    if reason := harness.browser_unavailable():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"browser tests must run in CI: {reason}")
        pytest.skip(reason)
    out = subprocess.run([sys.executable, "-m", "tests.load_classroom", "--sessions", "3",
                          "--browsers", "1", "--json"], cwd=ROOT, capture_output=True, text=True,
                         timeout=900)
    report = json.loads(out.stdout)
    assert out.returncode == 0 and report["sessions_with_errors"] == 0, report["errors"]
    assert report["chart_after_open_s"]["count"] == 3 * len(PAGES)
    assert report["chart_after_move_s"]["count"] == 3 * len(PAGES)
    by_page = report["by_page_median_s"]
    assert list(by_page) == [p.url_path for p in PAGES]
    assert all(m["open"] > 0 and m["move"] > 0 for m in by_page.values())
    assert min(m["open"] for m in by_page.values()) <= report["chart_after_open_s"]["median"]
