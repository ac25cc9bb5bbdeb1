"""``python -m core lstm ...``: JSON with the promised keys, one-line errors with status 2."""

from __future__ import annotations

import json

import pytest

from core.backend import cupy_status
from tests.harness import assert_one_line_error, run_cli


def run_json(*args: str) -> dict:
    out = run_cli("lstm", *args, "--json", "--quiet")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_gradcheck_json():
    out = run_json("gradcheck")
    assert out["ok"] is True and out["max_rel_error"] <= 1e-7
    assert out["checked"] == 174 and out["dtype"] == "float64"
    assert out["direction_check"]["rel_error"] <= 1e-12


def test_gradcheck_sizes_and_paths():
    out = run_json("gradcheck", "--T", "2", "--B", "1", "--D", "1", "--H", "1", "--loss", "last",
                   "--path", "standard", "--seed", "4")
    assert out["checked"] == 4 * 3 + 2 + 2 and out["path"] == "standard"
    assert out["max_rel_error"] <= 1e-7


def test_bench_json_with_and_without_torch():
    out = run_json("bench", "--T", "5", "--B", "2", "--D", "3", "--H", "4", "--repeat", "3",
                   "--dtype", "float64")
    assert out["seconds"] > 0 and out["repeat"] == 3 and out["sizes"] == {"T": 5, "B": 2, "D": 3, "H": 4}
    assert out["gemm_floor_seconds"] > 0 and out["seconds_fresh_buffers"] > 0 and out["path"] == "numpy"
    # a ratio, or the reason it was refused (at these tiny sizes the products take microseconds)
    assert (out["ratio_to_gemm_floor"] or 0) > 0 or out["ratio_to_gemm_floor_note"]
    try:
        import torch  # noqa: F401
    except ImportError:
        assert out["torch_seconds"] is None and "not installed" in out["torch_note"]
    else:  # same weights, same process: the outputs agree to rounding
        assert out["torch_seconds"] > 0 and out["torch_gemm_seconds"] > 0
        # a ratio of timings goes through the shared timer's checks: a number, or why not
        if out["floor_over_torch_lstm_note"] == "":
            assert out["floor_over_torch_lstm"] == pytest.approx(out["gemm_floor_seconds"] / out["torch_seconds"])
        else:
            assert out["floor_over_torch_lstm"] is None and "too" in out["floor_over_torch_lstm_note"]
        assert out["max_rel_diff_vs_torch"]["h"] < 1e-12 and out["max_rel_diff_vs_torch"]["W_h"] < 1e-12
    alone = run_json("bench", "--T", "3", "--B", "1", "--D", "1", "--H", "1", "--repeat", "1", "--no-torch",
                     "--threads", "1")
    assert alone["torch_seconds"] is None and alone["threads"] == 1
    bare = run_json("bench", "--T", "3", "--B", "1", "--D", "1", "--H", "1", "--repeat", "1", "--no-torch",
                    "--no-gemm-floor")
    assert bare["gemm_floor_seconds"] is None and bare["ratio_to_gemm_floor_note"] == "not asked for"


def test_run_and_seed_json():
    out = run_json("run", "--T", "6", "--H", "2", "--units")
    assert len(out["h_bar_norm"]) == len(out["c_bar_norm"]) == len(out["forget_product"]) == 6
    assert out["forget_product"][-1] == 1.0
    assert len(out["units"]["f"]) == 6 and len(out["units"]["f"][0]) == 2
    seed = run_json("seed", "--T", "6", "--step", "6", "--loss", "last")
    eqs = seed["equations"]
    assert [eqs[f"eq{n}"]["verdict"] for n in range(1, 10)] == [
        "incomplete", "right", "right", "right", "right", "right", "wrong", "right", "right"]
    assert eqs["eq1"]["seed_as_written"] == 0.0  # no step T+1 in the seed's sum
    assert seed["w_ix_bar_whole_recursion"]["as written: eqs (1)-(6), (9)"] == 0.0


@pytest.mark.parametrize("args,text", [
    (["run", "--T", "0"], "out of range"),
    (["run", "--T", "1000", "--B", "256", "--H", "512"], "memory budget"),
    (["run", "--T", "200", "--H", "32", "--B", "1", "--D", "1", "--weight-scale", "20",
      "--precision", "float32"], "lower the weight scale"),
    (["seed", "--T", "5", "--step", "9"], "choose t between 1 and 5"),
    (["gradcheck", "--H", "99"], "out of range"),
    (["bench", "--dtype", "float16"], "is not one of: float32, float64"),
    (["bench", "--T", "5000", "--B", "2048", "--H", "4096"], "memory budget"),
])
def test_bad_input_is_one_line_and_status_2(args, text):
    assert_one_line_error(run_cli("lstm", *args, "--quiet"), text)


@pytest.mark.skipif(cupy_status()[0], reason="a GPU is usable here")
def test_cupy_without_gpu_is_one_line():
    out = run_cli("lstm", "gradcheck", "--backend", "cupy")
    assert out.returncode == 2 and "backend 'cupy' is unavailable" in out.stderr


@pytest.mark.gpu
def test_gradcheck_and_bench_on_cupy():
    out = run_json("gradcheck", "--backend", "cupy", "--path", "standard")
    assert out["max_rel_error"] <= 1e-7 and out["backend"] == "cupy"
    bench = run_json("bench", "--backend", "cupy", "--T", "20", "--B", "8", "--D", "8", "--H", "16",
                     "--repeat", "3")
    assert bench["seconds"] > 0 and bench["backend"] == "cupy"
