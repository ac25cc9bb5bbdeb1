"""Server defaults: localhost only, no usage statistics, XSRF protection on, no error details."""

from __future__ import annotations

import tomllib

from tests.harness import ROOT


def test_streamlit_config_defaults_are_safe():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["address"] == "localhost"
    assert cfg["server"]["enableXsrfProtection"] is True
    assert cfg["browser"]["gatherUsageStats"] is False
    assert cfg["client"]["showErrorDetails"] == "none"
    assert cfg["server"]["fileWatcherType"] == "none"  # no CPU spent watching source files


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "\nmake test\n" in readme and "\nmake test\n" in ci
