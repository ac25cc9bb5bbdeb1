"""The *Reproduce from a shell* box: on every page the shown command runs as shown (with this
interpreter for ``.venv/bin/python``) and prints the page's own numbers."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys

import pytest

from dashboard.site import PAGES
from tests.harness import ROOT, metrics, open_page, page_text


def shown_command(at, topic: str) -> list[str]:
    """The page's command for ``topic`` (``lstm run``, ...), with this test's interpreter."""
    code = next(c.value for c in at.code if c.value.startswith(f".venv/bin/python -m core {topic}"))
    argv = shlex.split(code)
    return [sys.executable, *argv[1:]]


def run_json(argv: list[str]) -> dict:
    out = subprocess.run([*argv, "--json", "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def number(text: str) -> float:
    return float(text.replace(",", "").rstrip("×%"))


TABS = {  # every tab that shows a number has a box
    "lstm": ["Forward pass", "Backward pass", "The seed's equations (1)-(9)", "Gradient check"],
    "mdrnn": ["Wavefront", "Cost against the models", "Scaling"],
    "mdrnn-vs-conv": ["Context", "Vanishing gradients", "Cost", "Warping test"],
    "reversible": ["Forward & inverse", "Reconstruction error", "Phase space", "Info buffer", "Hypergradients",
                   "Seed eqs (13)-(30)"],
}


@pytest.mark.parametrize("page, tab", [(p, t) for p, tabs in TABS.items() for t in tabs])
def test_every_tab_with_numbers_shows_a_runnable_command(page, tab):
    at = open_page(page, tab=tab)
    commands = [c.value for c in at.code if c.value.startswith(".venv/bin/python -m core ")]
    assert commands, f"{page} / {tab} has no Reproduce box"
    assert all("python -m core" in c and shlex.split(c) for c in commands)


def test_the_home_page_command_names_the_backend_the_sidebar_shows():
    at = open_page("home")
    info = run_json(shown_command(at, "info"))
    caption = next(c.value for c in at.sidebar.caption if c.value.startswith("Runs on:"))
    assert f"**{at.session_state['_shared'].run.backend}**" in caption
    assert json.dumps(info)  # it answered, machine-readable


def test_the_lstm_command_prints_the_pages_adjoints():
    link = {"lstm_T": "12", "lstm_loss": "last", "seed": "4"}
    at = open_page("lstm", link, tab="Backward pass")
    out = run_json(shown_command(at, "lstm run"))
    assert f"{out['h_bar_norm'][0] / out['h_bar_norm'][-1]:.2e}" == metrics(at)["|h̄(1)| / |h̄(T)|"]
    assert f"{out['forget_product'][0]:.2e}" == metrics(at)["Π f(s) over s = 2…T"]
    forward = open_page("lstm", link)
    assert f"Loss L = {out['loss']:.6g}" in page_text(forward)


def test_the_mdrnn_command_prints_the_wavefronts_steps():
    at = open_page("mdrnn", {"mdrnn_Gr": "6", "mdrnn_Gc": "9", "mdrnn_H": "4"}, tab="Wavefront")
    out = run_json([*shown_command(at, "mdrnn cost"), "--repeat", "1"])
    m = metrics(at)
    assert out["schedules"]["raster"]["steps"] == number(m["Raster steps"]) == 54
    assert out["schedules"]["wavefront"]["steps"] == number(m["Wavefront steps"]) == 14


def test_the_conv_net_command_prints_the_pages_decay_factors_and_costs():
    at = open_page("mdrnn-vs-conv", {"mvc_G": "8", "mvc_i_star": "6", "mvc_j_star": "5"}, tab="Vanishing gradients")
    out = run_json(shown_command(at, "mdrnn sensitivity"))
    table = next(d.value for d in at.dataframe if "factor per step (mean)" in d.value.columns).set_index("model")
    for decay in out["decay"].values():
        assert table.loc[decay["label"], "factor per step (mean)"] == pytest.approx(decay["mean"], rel=1e-9)
    cost = open_page("mdrnn-vs-conv", {"mvc_G": "8", "mvc_i_star": "6", "mvc_j_star": "5"}, tab="Cost")
    table = next(d.value for d in cost.dataframe if "parameters" in d.value.columns).set_index("model")
    for model in out["models"].values():
        assert table.loc[model["label"], "parameters"] == model["params"]
        assert table.loc[model["label"], "multiply-adds (one input)"] == model["macs"]


def test_the_momentum_command_comes_home_like_the_page():
    at = open_page("reversible", {"rev_steps": "500", "rev_beta": "0.8"})
    out = run_json(shown_command(at, "reversible run"))
    m = metrics(at)
    assert out["bit_exact"] and m["bit for bit"] == "yes"
    assert f"{out['loss_end']:.3g}" == m["loss J(θ(K))"]
    assert f"{out['max_abs_error']:.3g}" == m["max error back"]


def test_every_page_is_covered():
    assert set(TABS) | {"home"} == {p.url_path for p in PAGES}
