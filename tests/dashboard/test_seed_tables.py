"""Every page that concerns the seed's numbered equations shows them, with their verdicts."""

from __future__ import annotations

import pytest

from core import equations
from tests import harness


@pytest.mark.parametrize("url_path, tab", [("lstm", "The seed's equations (1)-(9)"),
                                           ("mdrnn", "Cost against the models"),
                                           ("reversible", "Seed eqs (13)-(30)")])
def test_the_page_shows_its_equations_and_verdicts(url_path, tab):
    at = harness.open_page(url_path, tab=tab)
    assert not at.exception
    shown = next(df.value for df in at.dataframe if "verdict" in df.value.columns and "eq" in df.value.columns)
    want = equations.rows(url_path)
    assert list(shown["eq"]) == [f"({e.number})" for e in want]
    assert list(shown["verdict"]) == [e.verdict for e in want]


def test_together_the_pages_show_all_thirty():
    assert sorted(e.number for page in ("lstm", "mdrnn", "reversible") for e in equations.rows(page)) == \
        list(range(1, 31))
