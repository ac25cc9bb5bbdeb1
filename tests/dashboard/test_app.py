"""The dashboard through Streamlit's AppTest: every page opens, links reopen the same view."""

from __future__ import annotations

import pytest

from dashboard.site import PAGES
from tests.harness import open_app


@pytest.mark.parametrize("spec", PAGES, ids=[p.url_path for p in PAGES])
def test_every_page_opens_without_exception(spec):
    at = open_app()
    at.switch_page(spec.script).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title or at.header, "the page shows a title"


def test_home_page_lists_every_other_page():
    at = open_app()
    labels = [el.proto.label for el in at.get("page_link")]
    text = " ".join(m.value for m in at.markdown)
    for spec in PAGES[1:]:
        assert spec.summary in text
        assert labels.count(spec.title) == 1, spec.title


def test_sidebar_settings_come_from_the_link():
    at = open_app({"lecture": "true", "seed": "12", "precision": "float32"})
    assert not at.exception
    assert at.toggle(key="lecture").value is True
    assert at.number_input(key="seed").value == 12
    assert at.radio(key="precision").value == "float32"
    assert any("font-size" in h.proto.body for h in at.get("html")), "lecture CSS applied"
    assert at.session_state["_shared"].lecture


def test_out_of_range_link_values_fall_back_to_defaults():
    at = open_app({"seed": "-5", "precision": "float16", "backend": "quantum"})
    assert not at.exception
    assert at.number_input(key="seed").value == 0
    assert at.radio(key="precision").value == "float64"
    assert at.radio(key="backend").value == "auto"


def test_missing_gpu_is_a_warning_not_an_error():
    at = open_app({"backend": "cupy"})
    assert not at.exception
    from core.backend import cupy_status

    if not cupy_status()[0]:
        assert any("Running on NumPy instead" in w.value for w in at.sidebar.warning)
    assert any("Runs on:" in c.value for c in at.sidebar.caption)


def test_bad_link_values_are_named_in_one_warning_not_trusted():
    at = open_app({"seed": "-5", "precision": "float16"})
    assert not at.exception
    assert len(at.warning) == 1
    warning = at.warning[0].value
    assert warning.startswith("The link's values were ignored (defaults used): ")
    assert "Random seed = `'-5'` (allowed: 0 to 2147483647)" in warning
    assert "Precision = `'float16'` (allowed: float64, float32)" in warning


def test_controls_register_their_link_parameters_for_scenes_and_the_property_tests():
    at = open_app()
    bound = at.session_state["_bound"]
    assert {"lecture", "theme", "backend", "precision", "seed"} <= set(bound)
    assert bound["seed"].default == 0 and bound["seed"].parse("12") == 12


@pytest.mark.parametrize(("url_path", "key", "value", "named"), [
    ("lstm", "lstm_step", "999", "Step t = `'999'` (allowed: 1 to 30)"),
    ("mdrnn", "mdrnn_sweep_repeat", "1e400", "`'1e400'`"),
    ("mdrnn-vs-conv", "mvcw_epochs", "[x](http://example.com)", "`'[x](http://example.com)'`"),
    ("mdrnn-vs-conv", "mvcw_digit", "7", "Test digit shown = `'7'`"),
])
def test_a_bad_value_for_a_closed_tabs_control_is_named_at_once(url_path, key, value, named):
    """The control sits in a tab the link does not open; its value is still checked, dropped and
    named in the page's warning (before, it waited unnamed until that tab was opened)."""
    from tests.harness import open_page

    at = open_page(url_path, {key: value})
    assert not at.exception
    warnings = [w.value for w in at.warning if w.value.startswith("The link's")]
    assert len(warnings) == 1 and named in warnings[0], warnings
    assert key not in at.query_params
