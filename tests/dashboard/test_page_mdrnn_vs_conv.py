"""The page MDRNN against a conv net through AppTest: default view, links, the warping test."""

from __future__ import annotations

import functools

from streamlit.testing.v1 import AppTest

from tests import harness

PAGE = "dashboard/pages/mdrnn_vs_conv.py"
TINY = {"mvcw_epochs": "2", "mvcw_n_train": "200", "mvcw_levels": "2"}


open_page = functools.partial(harness.open_page, "mdrnn-vs-conv")


def _text(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


def test_default_view_shows_context_and_decay():
    at = open_page()
    assert not at.exception and not at.error
    text = _text(at)
    assert "quadrant above-left" in text and "exactly zero elsewhere" in text
    assert len(at.get("plotly_chart")) == 1  # the maps: only the open tab is drawn
    at = open_page(tab="Vanishing gradients")
    assert "tanh MDRNN ×" in _text(at)
    assert len(at.get("plotly_chart")) == 2  # decay, forget bias
    at = open_page(tab="Warping test")
    assert len(at.get("plotly_chart")) == 1  # warped digits, before any training
    assert any("Press *Train and test*" in i.value for i in at.info)


def test_link_sets_the_view_and_bad_cell_is_a_message():
    at = open_page({"mvc_G": "8", "mvc_i_star": "3", "mvc_j_star": "4"})
    assert not at.exception
    assert at.slider(key="mvc_G").value == 8
    assert "Output cell (3, 4) of a 8 x 8 grid" in _text(at)
    at = open_page({"mvc_G": "4", "mvc_i_star": "9"})
    assert not at.exception
    assert any("outside the 4 x 4 grid" in e.value for e in at.error)


def test_warping_test_runs_on_the_button_and_says_what_it_found():
    at = open_page(TINY, tab="Warping test")
    at.button(key="mvcw_go").click().run()
    assert not at.exception and not at.error
    text = _text(at)
    assert "What this says about the seed's claim" in text and "Clean test accuracy" in text
    at.run()  # a rerun keeps the result (cached)
    assert "Clean test accuracy" in _text(at)


def test_oversized_training_is_refused_before_it_starts():
    at = open_page({"mvcw_epochs": "60", "mvcw_n_train": "1437"}, tab="Warping test")
    at.button(key="mvcw_go").click().run()
    assert not at.exception
    assert any("over the budget" in e.value for e in at.error)
    assert any("mdrnn warp-test --epochs 60 --n-train 1437" in c.value for c in at.code)


def test_cost_tab_shows_the_depth_timing_and_its_command():
    at = open_page({"seed": "4", "mvc_H": "4"}, tab="Cost")
    assert not at.exception and not at.error
    assert "closer to its step count" in _text(at) or "closer to its arithmetic" in _text(at)
    commands = [c.value for c in at.code]
    depth = [c for c in commands if " mdrnn depth " in f"{c} "]
    assert depth and "--H 4" in depth[0] and "--seed 4" in depth[0] and "--G" not in depth[0]
    out = harness.run_cli(*depth[0].split()[3:], "--json", "--quiet")  # after "python -m core"
    assert out.returncode == 0, out.stderr
