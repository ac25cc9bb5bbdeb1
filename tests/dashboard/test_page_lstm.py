"""The LSTM page through AppTest: default view, links, the seed's equations, bad input, re-run."""

from __future__ import annotations

import functools
import json

import pytest

from core.backend import select_backend
from core.lstm.experiments import LSTMConfig, simulate
from tests import harness

PAGE = "dashboard/pages/lstm.py"


SEED_TAB = "The seed's equations (1)-(9)"


open_page = functools.partial(harness.open_page, "lstm")


def text(at) -> str:
    return " ".join(m.value for m in at.markdown) + " " + " ".join(c.value for c in at.caption)


def figures(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_default_view():
    at = open_page()
    assert not at.error and not at.warning
    assert at.title[0].value == "LSTM through time"
    assert ":green-badge[" in text(at) and "max rel. error" in text(at)
    assert [f["data"][0]["type"] for f in figures(at)] == ["heatmap"]  # only the open tab is drawn
    assert any(c.value.startswith(".venv/bin/python -m core lstm run") for c in at.code)
    for tab, kind, command in (("Backward pass", "scatter", "lstm run"), (SEED_TAB, "bar", "lstm seed"),
                               ("Gradient check", None, "lstm gradcheck")):
        at = open_page(tab=tab)
        assert [f["data"][0]["type"] for f in figures(at)] == ([kind] if kind else [])
        assert any(c.value.startswith(f".venv/bin/python -m core {command}") for c in at.code), tab


def test_the_page_shows_the_numbers_of_the_core():
    link = {"lstm_T": "12", "lstm_H": "3", "lstm_loss": "last", "seed": "5"}
    out = simulate(LSTMConfig(T=12, H=3, loss="last"), select_backend("numpy"), "float64", 5)
    assert f"Loss L = {out.loss:.6g}" in text(open_page(link))
    at = open_page(link, tab="Backward pass")
    backward = figures(at)[0]
    assert backward["data"][0]["y"] == pytest.approx(list(out.h_bar_norm), rel=1e-12)
    assert backward["layout"]["yaxis"]["type"] == "log"
    run = next(c.value for c in at.code if c.value.startswith(".venv/bin/python -m core lstm run"))
    assert "--T 12" in run and "--H 3" in run and "--loss last" in run and "--seed 5" in run


def test_a_single_unit_is_drawn_as_lines():
    at = open_page({"lstm_H": "1"})
    forward = figures(at)[0]
    assert [d["type"] for d in forward["data"]] == ["scatter"] * 6


def test_the_seeds_equations_are_marked():
    at = open_page({"lstm_step": "3", "lstm_weight_scale": "3"}, tab=SEED_TAB)
    body = text(at)
    assert body.count(":green-badge[") >= 8  # the gradient check and seven right equations
    assert body.count(":orange-badge[") == 1 and body.count(":red-badge[") == 1  # eq (1), eq (7)
    latex = " ".join(x.value for x in at.latex)
    assert r"\tan^2" in latex and r"\frac{\partial L}{\partial h^{(t)}}" in latex
    assert r"\overline{h^{(3)}}" in latex  # the step's numbers are filled in
    assert at.slider(key="lstm_step").value == 3


def test_lowering_T_below_the_step_keeps_the_page_working():
    at = open_page({"lstm_step": "9"}, tab=SEED_TAB)
    at.slider(key="lstm_T").set_value(5).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.slider(key="lstm_step").value <= 5
    assert not at.warning, [w.value for w in at.warning]
    at.slider(key="lstm_T").set_value(1).run()
    assert not at.exception and not at.error


def test_oversized_input_is_refused_with_a_message():
    at = open_page({"lstm_T": "1000", "lstm_B": "256", "lstm_H": "512"})
    assert any("memory budget" in e.value for e in at.error)
    assert not at.get("plotly_chart")


def test_an_exploding_setting_warns_what_to_change():
    at = open_page({"lstm_T": "200", "lstm_H": "32", "lstm_B": "1", "lstm_D": "1",
                    "lstm_weight_scale": "20", "precision": "float32"})
    assert any("lower the weight scale" in w.value for w in at.warning)
    assert not at.error


def test_rerunning_the_gradient_check_draws_new_entries():
    at = open_page(tab="Gradient check")
    before = next(c.value for c in at.code if "lstm gradcheck" in c.value)
    at.button(key="lstm_rerun_check").click().run()
    assert not at.exception
    after = next(c.value for c in at.code if "lstm gradcheck" in c.value)
    assert before.endswith("--seed 0") and after.endswith("--seed 1")
    assert ":green-badge[" in text(at)


def test_the_forget_gate_sentence_follows_the_numbers():
    """The backward tab says whether |c̄| follows Π f from the run it shows, in both regimes."""
    default = harness.page_text(open_page(tab="Backward pass"))
    assert "they do not agree" in default and "they agree to within" not in default
    cell_path = harness.page_text(open_page({"lstm_loss": "last", "lstm_weight_scale": "0.05"}, tab="Backward pass"))
    assert "they agree to within a factor of 2" in cell_path
