"""The MDRNN page through AppTest: links set the grid, bad sizes get a message before any work,
the schedule switch redraws the animation, and the numbers match the CLI's."""

from __future__ import annotations

import functools
import json

from core.cli import main
from tests import harness

PAGE = "dashboard/pages/mdrnn.py"


open_page = functools.partial(harness.open_page, "mdrnn")


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_default_view_counts_match_the_models():
    at = open_page()
    assert not at.exception and not at.error
    m = metrics(at)
    assert m["Raster steps"] == "256" and m["Wavefront steps"] == "31"
    at = open_page(tab="Cost against the models")
    m = metrics(at)
    assert m["Counted in the arrays (W_in, W_W, W_N)"] == m["DH + 2H² (eq (10))"] == "2,144"
    assert any("Which model is right" in md.value for md in at.markdown)


def test_a_link_sets_a_rectangular_grid_and_the_raster_animation():
    at = open_page({"mdrnn_Gr": "5", "mdrnn_Gc": "9", "mdrnn_H": "4", "mdrnn_schedule": "raster"})
    assert not at.exception and not at.error
    assert at.slider(key="mdrnn_Gr").value == 5 and at.radio(key="mdrnn_schedule").value == "raster"
    m = metrics(at)
    assert m["Raster steps"] == "45" and m["Wavefront steps"] == "13"


def test_switching_the_schedule_reruns_cleanly():
    at = open_page({"mdrnn_Gr": "6", "mdrnn_Gc": "6"})
    at.radio(key="mdrnn_schedule").set_value("raster").run()
    assert not at.exception and not at.error
    assert at.radio(key="mdrnn_schedule").value == "raster"


def test_oversized_grid_gets_a_memory_message_before_work():
    at = open_page({"mdrnn_Gr": "512", "mdrnn_Gc": "512", "mdrnn_H": "512", "mdrnn_B": "64"})
    assert not at.exception
    assert any("over the memory budget" in e.value and "GiB" in e.value for e in at.error)


def test_a_grid_too_slow_for_a_page_is_refused_with_the_command(monkeypatch):
    from dashboard import compute

    # within the memory budget every grid times in under the default 20 s: a tighter budget
    monkeypatch.setattr(compute, "TIME_BUDGET_SECONDS", 2.0)
    at = open_page({"mdrnn_Gr": "160", "mdrnn_Gc": "160", "mdrnn_H": "512"})
    assert not at.exception
    assert any("over the budget" in e.value and "command below" in e.value for e in at.error)
    assert any(c.value.endswith("mdrnn cost --Gr 160 --Gc 160 --H 512 --backend numpy --precision float64 "
                                "--seed 0 --states --blas-threads 1") for c in at.code)


def test_a_long_sweep_waits_for_a_click():
    at = open_page({"mdrnn_Gr": "4", "mdrnn_Gc": "4", "mdrnn_sweep_G_max": "256", "mdrnn_sweep_repeat": "9"},
                   tab="Scaling")
    assert not at.exception and not at.error
    assert any(b.label.startswith("Run this sweep") for b in at.button)


def test_page_numbers_match_the_cli(capsys):
    at = open_page({"mdrnn_Gr": "7", "mdrnn_Gc": "7", "mdrnn_H": "5"}, tab="Cost against the models")
    main(["mdrnn", "cost", "--G", "7", "--H", "5", "--json", "--quiet", "--repeat", "1"])
    cli = json.loads(capsys.readouterr().out)
    table = at.dataframe[0].value
    measured = table.loc[table["what"] == "measured: wavefront", "multiply-adds"].item()
    seed = table.loc[table["what"].str.startswith("seed"), "multiply-adds"].item()
    assert measured == cli["schedules"]["wavefront"]["macs"] == cli["macs_model_exact"]
    assert seed == cli["macs_model_seed"]
