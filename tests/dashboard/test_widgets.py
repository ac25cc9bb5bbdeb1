"""dashboard.widgets: controls from configs, link checks, chart guards and downloads."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from core.config import RunConfig
from dashboard import widgets


def test_non_finite_values_are_counted():
    assert widgets.non_finite_count({"a": [1.0, np.nan, np.inf], "b": ["x", "y", "z"]}) == 2
    assert widgets.non_finite_count(pd.DataFrame({"a": [1, 2]})) == 0
    # a gap among numbers is a missing number too (the download shows it empty); ints are finite
    assert widgets.non_finite_count({"k": np.arange(3), "e": [0.5, None, 2.0], "t": ("a", None, "c")}) == 1
    assert widgets.non_finite_count({"a": np.array([1.0, -np.inf]), "b": (1, 2)}) == 1


def test_link_problem_names_the_allowed_values():
    assert widgets.link_problem(RunConfig, "seed", "12") == ""
    assert "allowed: 0 to 2147483647" in widgets.link_problem(RunConfig, "seed", "1e99")
    assert "allowed: auto, numpy, cupy" in widgets.link_problem(RunConfig, "backend", "tpu")
    assert widgets.link_problem(RunConfig, "seed", "abc") != ""


def _chart_script():
    import plotly.graph_objects as go

    from dashboard import widgets

    widgets.chart(go.Figure(go.Scatter(y=[1.0, float("nan")])), {"y": [1.0, float("nan")]}, "demo",
                  lecture=False)


def _chart_finite_script():
    import plotly.graph_objects as go

    from dashboard import widgets

    widgets.chart(go.Figure(go.Scatter(y=[1.0, 2.0])), {"y": [1.0, 2.0]}, "demo", lecture=True)


def test_a_chart_with_non_finite_data_carries_a_warning():
    at = AppTest.from_function(_chart_script).run()
    assert not at.exception
    assert any("not finite" in w.value for w in at.warning)
    assert len(at.get("download_button")) == 2


def test_a_finite_chart_has_no_warning_and_two_downloads():
    at = AppTest.from_function(_chart_finite_script).run()
    assert not at.exception and not at.warning
    labels = sorted(b.proto.label for b in at.get("download_button"))
    assert labels == ["CSV", "JSON"]


def test_download_files_hold_the_chart_numbers():
    csv, records = widgets.download_files({"k": [0, 1, 2], "error": [0.0, 1.5, float("nan")]})
    assert csv().splitlines() == ["k,error", "0,0.0", "1,1.5", "2,"]
    assert json.loads(records()) == [{"k": 0, "error": 0.0}, {"k": 1, "error": 1.5}, {"k": 2, "error": None}]
