"""``python -m core mdrnn sensitivity`` and ``warp-test``: JSON output and one-line errors."""

from __future__ import annotations

import json

import pytest

from tests.harness import assert_one_line_error, run_cli


def test_sensitivity_json():
    out = run_cli("mdrnn", "sensitivity", "--G", "6", "--H", "3", "--i-star", "3", "--j-star", "2", "--json")
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert set(r["models"]) == {"mdrnn", "mdlstm", "mdrnn4", "mdlstm4", "conv"}
    assert all(m["matches_context"] for m in r["models"].values())
    assert r["models"]["mdrnn"]["seen_cells"] == 4 * 3
    assert len(r["models"]["conv"]["map"]) == 6 and len(r["models"]["conv"]["map"][0]) == 6
    assert r["models"]["mdlstm4"]["steps"] == 11 and r["models"]["conv"]["steps"] == 3
    assert set(r["decay_per_step"]) == {"tanh", "graves", "stable", "conv"}
    assert set(r["against_tanh"]) == {"graves", "stable", "conv"} and r["against_tanh"]["conv"]["n"] == 8
    assert r["summary"] and r["cell_state_max"]["stable"] <= 1.0


def test_warp_test_json():
    out = run_cli("mdrnn", "warp-test", "--no-mdrnn", "--no-mdlstm", "--epochs", "1", "--n-train", "100",
                  "--levels", "3", "--json", "--quiet")
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert set(r["models"]) == {"conv"}
    for kind in ("shear", "rotation", "elastic"):
        assert len(r["accuracy"][kind]["conv"]) == 3
        assert len(r["amounts"][kind]) == 3
    assert r["summary"] and out.stderr == ""


@pytest.mark.parametrize("args, message", [
    (["sensitivity", "--G", "4", "--i-star", "5"], "outside the 4 x 4 grid"),
    (["sensitivity", "--k", "4"], "is not one of"),
    (["sensitivity", "--G", "4", "--i-star", "1", "--j-star", "0"], "too near the corner"),
    (["warp-test", "--epochs", "0"], "out of range"),
    (["warp-test", "--no-mdrnn", "--no-mdlstm", "--no-conv"], "at least one model"),
])
def test_bad_input_exits_2_with_one_line(args, message):
    assert_one_line_error(run_cli("mdrnn", *args), message)


def test_depth_json():
    out = run_cli("mdrnn", "depth", "--H", "2", "--json", "--quiet")
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["steps"]["mdrnn"] == [2 * G - 1 for G in r["G"]] and set(r["steps"]["conv"]) == {3}
    assert all(s > 0 for s in r["seconds"]["mdrnn"] + r["seconds"]["conv"])
    assert f"G^{r['slope']['mdrnn']:.2f}" in r["summary"][0]
