"""core/equations.py: all thirty of the seed's equations, each evaluated or said to have nothing to
evaluate, and the evidence computed with the lab's functions supports each verdict."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from core import equations
from core.lstm.seed import VERDICT

EVIDENCE = equations.evidence()
ROUNDING = 1e-9  # 'right' means right to rounding: far below any real error here


def test_all_thirty_are_listed_in_order_and_each_is_placed():
    assert [e.number for e in equations.EQUATIONS] == list(range(1, 31))
    for e in equations.EQUATIONS:
        assert e.says and e.verdict and e.where and e.page in ("lstm", "mdrnn", "reversible"), e
        assert (e.number in EVIDENCE) == e.evaluated, e


def test_the_lstm_verdicts_are_the_seed_checks_own():
    for n in range(1, 10):
        assert equations.equation(n).verdict.split(":")[0].split(" ")[0] == VERDICT.get(n, "right")


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6, 8, 9, 10, 14, 15, 16, 25, 30])
def test_a_right_equation_agrees_to_rounding(n):
    assert equations.equation(n).verdict.startswith("right")
    assert abs(EVIDENCE[n][0]) <= ROUNDING, EVIDENCE[n]


def test_the_block_equations_agree_with_finite_differences():
    value, _ = EVIDENCE[26]
    assert EVIDENCE[27] == EVIDENCE[26] and value <= 1e-7  # a finite-difference Jacobian, step 1e-6


def test_a_wrong_or_incomplete_equation_is_wrong_by_far_more_than_rounding():
    assert EVIDENCE[1][0] == 0.0 and "BPTT gives" in EVIDENCE[1][1]  # as written nothing ever reaches w̄_ix
    assert EVIDENCE[7][0] == pytest.approx(1 - math.tan(1.0) ** 2) and EVIDENCE[7][0] < 0 < 1 - math.tanh(1.0) ** 2
    assert EVIDENCE[11][0] > 1.5  # the seed's model undercounts what runs
    assert EVIDENCE[13][0] > 1e-6 and EVIDENCE[14][0] <= ROUNDING  # the order, not the equation, is wrong
    assert EVIDENCE[28][0] > 1e-3 and EVIDENCE[29] == EVIDENCE[28]


def test_the_equations_with_nothing_to_evaluate_say_why():
    for n in (12, *range(17, 25)):
        e = equations.equation(n)
        assert e.verdict in ("definition", "restates the question") and e.where.startswith("nothing to evaluate")


def test_readme_holds_the_table():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert equations.table_markdown() in readme
