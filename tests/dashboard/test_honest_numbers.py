"""Badges and metrics that say what they know: vanished gradients named, a number float32 cannot
hold said so, no efficiency above 100 % and none from a size too small to time, only the controls
that apply, and defaults that show the idea."""

from __future__ import annotations

import re

import pytest

from tests.harness import metrics, open_page, page_text


def keys(at) -> set[str]:
    return {w.key for w in at.main if getattr(w, "key", None)} | {
        w.key for kind in ("slider", "number_input", "radio", "selectbox", "toggle") for w in at.get(kind)}


def test_the_gradient_check_badge_counts_the_vanished_entries():
    at = open_page("lstm", {"lstm_loss": "last"}, tab="Gradient check")
    text = page_text(at)
    badge = re.search(r":green-badge\[[^\]]*BPTT vs finite differences[^\]]*\]", text)
    assert badge, "green: no entry failed"
    named = int(re.search(r"(\d+) vanished", badge.group(0)).group(1))
    table = next(d.value for d in at.dataframe if "vanished" in d.value.columns)
    assert named == table["vanished"].sum() > 0 and table["failed"].sum() == 0


def test_a_forget_product_float32_cannot_hold_is_said_to_be_float64():
    at = open_page("lstm", {"lstm_T": "200", "lstm_weight_scale": "20.0", "precision": "float32"},
                   tab="Backward pass")
    shown = float(metrics(at)["Π f(s) over s = 2…T"])
    assert shown < 1.2e-38  # below float32's smallest normal number
    assert "is below the smallest float32 number (1.2e-38): it is computed in float64" in page_text(at)
    at = open_page("lstm", {"lstm_T": "200", "lstm_weight_scale": "20.0"}, tab="Backward pass")
    assert "smallest float64 number" not in page_text(at)  # float64 holds it: nothing to say


def test_a_grid_too_small_to_time_shows_no_efficiency_and_says_why():
    at = open_page("mdrnn", {"mdrnn_Gr": "1", "mdrnn_Gc": "1", "mdrnn_H": "1", "mdrnn_D": "1"},
                   tab="Cost against the models")
    m = metrics(at)
    assert m["Wavefront efficiency"] == "—"  # one fused 1 x 1 product takes a few µs: below the clock's floor
    assert any("too short to time" in c.value for c in at.caption if c.value.startswith("Not shown, the efficiency"))


@pytest.mark.parametrize("G", [4, 20, 48])
def test_an_efficiency_is_never_above_100_percent(G):
    at = open_page("mdrnn", {"mdrnn_Gr": str(G), "mdrnn_Gc": str(G)}, tab="Cost against the models")
    shown = metrics(at)["Wavefront efficiency"]
    if shown == "—":
        assert any(c.value.startswith("Not shown, the efficiency") for c in at.caption), "and says why"
    else:
        assert 0 < float(shown.rstrip("%")) <= 100


@pytest.mark.parametrize("query, shown, hidden", [
    ({}, {"rev_D", "rev_cond", "rev_fraction_bits"}, {"rev_l2"}),
    ({"rev_objective": "rosenbrock"}, {"rev_fraction_bits"}, {"rev_D", "rev_cond", "rev_l2"}),
    ({"rev_objective": "digits"}, {"rev_l2"}, {"rev_D", "rev_cond"}),
    ({"rev_arith": "float"}, {"rev_D", "rev_cond"}, {"rev_fraction_bits", "rev_l2"}),
])
def test_only_the_controls_that_apply_are_shown(query, shown, hidden):
    at = open_page("reversible", query)
    present = keys(at)
    assert shown <= present and not hidden & present, (present & hidden, shown - present)


def test_the_info_buffer_grows_at_the_pages_defaults():
    at = open_page("reversible", tab="Info buffer")
    stored = int(metrics(at)["bits stored"].replace(",", ""))
    assert stored > 2 * 64 * 2  # more than the two parameters' heads: whole words were spilled
