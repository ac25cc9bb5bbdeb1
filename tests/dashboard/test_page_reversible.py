"""The momentum-SGD page through AppTest: default view, links, controls, bad input."""

from __future__ import annotations

import functools

import pytest
from streamlit.testing.v1 import AppTest

from tests import harness

PAGE = "dashboard/pages/reversible.py"


open_page = functools.partial(harness.open_page, "reversible")


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_default_view_is_exact_and_comes_back_bit_for_bit():
    at = open_page()
    assert not at.exception and not at.error
    m = metrics(at)
    assert m["max error back"] == "0"
    assert m["bit for bit"] == "yes"
    assert ".venv/bin/python -m core reversible run" in " ".join(c.value for c in at.code)
    at = open_page(tab="Phase space")
    assert metrics(at)["det ∂s(k+1)/∂s(k) for D = 1"] == "0.9"
    assert "reversible phase" in " ".join(c.value for c in at.code)
    at = open_page(tab="Hypergradients")
    assert float(metrics(at)["max relative error vs finite differences"]) < 1e-5
    assert "reversible hypergrad" in " ".join(c.value for c in at.code)
    at = open_page(tab="Seed eqs (13)-(30)")
    assert "reversible jacobian" in " ".join(c.value for c in at.code)


def test_float_from_the_link_drifts_and_says_so():
    at = open_page({"rev_objective": "rosenbrock", "rev_arith": "float", "precision": "float32",
                    "rev_steps": "300"})
    assert not at.exception and not at.error
    m = metrics(at)
    assert m["bit for bit"] == "no"
    assert float(m["max error back"]) > 1.0
    assert any("overflowed after undoing" in w.value for w in at.warning)
    assert "--mode float32" in " ".join(c.value for c in at.code)
    assert "D = 2 is fixed by the objective." in " ".join(c.value for c in at.caption)


def test_switching_objective_and_schedules():
    at = open_page({"rev_steps": "40"})
    at.radio(key="rev_alpha_schedule").set_value("cosine").run()
    at.radio(key="rev_beta_schedule").set_value("ramp").run()
    assert not at.exception and not at.error
    assert metrics(at)["bit for bit"] == "yes"
    at.radio(key="rev_objective").set_value("digits").run()
    assert not at.exception and not at.error
    assert "rev_D" not in [n.key for n in at.number_input], "D belongs to the quadratic only"
    assert metrics(at)["bit for bit"] == "yes"


@pytest.mark.parametrize("query, message", [
    ({"rev_alpha": "8"}, "overflow the fixed-point range at step"),
    ({"rev_alpha": "8", "rev_arith": "float"}, "diverged at step"),
    ({"rev_D": "1000000", "rev_steps": "100000"}, "over the memory budget"),
    ({"rev_D": "200000", "rev_steps": "5000"}, "over the budget"),
])
def test_bad_input_is_a_message_not_a_traceback(query, message):
    at = open_page(query)
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]


def test_an_unusable_number_in_the_link_is_ignored_and_the_control_still_works():
    at = open_page({"rev_D": "1e309", "seed": "1e309"})
    assert not at.exception and not at.error
    assert any("D (parameters) = `'1e309'`" in w.value for w in at.warning)
    at.number_input(key="rev_D").set_value(3).run()
    assert not at.exception and not at.error
    assert at.number_input(key="rev_D").value == 3
    assert metrics(at)["bit for bit"] == "yes"
