"""``python -m core mdrnn``: the JSON the issue asks for, CSV sweeps, one-line errors."""

from __future__ import annotations

import csv
import io
import json

import pytest

from core.backend import cupy_status
from core.cli import main
from tests.harness import assert_one_line_error, run_cli


def run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cost_json_has_the_promised_fields(capsys):
    code, out, _ = run(capsys, "mdrnn", "cost", "--G", "8", "--D", "3", "--H", "6", "--B", "1",
                       "--json", "--repeat", "2", "--quiet")
    assert code == 0
    r = json.loads(out)
    for key in ("weights", "weights_formula", "macs_model_seed", "macs_model_exact", "schedules", "fused"):
        assert key in r
    for s in ("raster", "wavefront"):
        assert {"seconds", "steps", "macs"} <= set(r["schedules"][s])
    assert r["schedules"]["raster"]["steps"] == 64 and r["schedules"]["wavefront"]["steps"] == 15
    assert r["weights"] == r["weights_formula"] == 3 * 6 + 2 * 36
    assert r["config"]["Gr"] == r["config"]["Gc"] == 8


def test_cost_on_a_rectangular_grid_in_text(capsys):
    code, out, _ = run(capsys, "mdrnn", "cost", "--Gr", "3", "--Gc", "7", "--H", "4", "--repeat", "1",
                       "--precision", "float32")
    assert code == 0
    assert "steps: 9" in out and "steps: 21" in out
    assert "precision: float32" in out


def test_sweep_csv(capsys):
    code, out, err = run(capsys, "mdrnn", "sweep", "--axes", "G", "--G-max", "8", "--H", "4",
                         "--repeat", "1", "--csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["G"], r["schedule"]) for r in rows] == [("4", "raster"), ("4", "wavefront"),
                                                       ("8", "raster"), ("8", "wavefront")]
    assert "slopes against G" in err and "100.0%" in err


def test_grad_check_json(capsys):
    code, out, _ = run(capsys, "mdrnn", "grad-check", "--Gr", "3", "--Gc", "2", "--H", "2", "--json",
                       "--max-entries", "5")
    assert code == 0
    assert json.loads(out)["max_entrywise_relative_error"] <= 1e-7


@pytest.mark.parametrize("args,message", [
    (["--G", "0"], "out of range"),
    (["--H", "100000"], "out of range"),
    (["--G", "512", "--H", "512", "--B", "64"], "over the memory budget"),
    (["--G", "many"], "must be a whole number, got 'many'"),
])
def test_bad_input_exits_2_with_one_line(args, message):
    out = run_cli("mdrnn", "cost", *args)
    assert_one_line_error(out, message)
    assert out.stdout == ""


@pytest.mark.skipif(cupy_status()[0], reason="a GPU is usable here")
def test_cupy_without_gpu_is_one_line(capsys):
    code, out, err = run(capsys, "mdrnn", "cost", "--G", "4", "--backend", "cupy")
    assert code == 2 and out == ""
    assert err.strip().startswith("error: backend 'cupy' is unavailable") and err.count("\n") == 1


@pytest.mark.gpu
def test_cost_on_cupy(capsys):
    code, out, _ = run(capsys, "mdrnn", "cost", "--G", "16", "--H", "16", "--backend", "cupy", "--json",
                       "--repeat", "2", "--quiet")
    assert code == 0
    r = json.loads(out)
    assert r["config"]["backend"] == "cupy"
    assert r["schedules"]["wavefront"]["macs"] == r["macs_model_exact"]
    assert r["max_abs_difference_raster_wavefront"] < 1e-12


def test_sweep_text_is_a_table_then_the_slopes(capsys):
    code, out, _ = run(capsys, "mdrnn", "sweep", "--axes", "G", "--G-max", "8", "--H", "3", "--repeat", "1",
                       "--quiet")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["axis", "G", "H", "D", "schedule", "seconds", "steps", "macs", "speedup"]
    assert len([ln for ln in lines if ln.strip().startswith("G ")]) == 4
    assert "slopes:" in out


def test_cost_with_one_blas_thread(capsys):
    code, out, _ = run(capsys, "mdrnn", "cost", "--G", "5", "--H", "3", "--repeat", "1", "--json", "--quiet",
                       "--blas-threads", "1")
    assert code == 0 and json.loads(out)["config"]["blas_threads"] == 1
