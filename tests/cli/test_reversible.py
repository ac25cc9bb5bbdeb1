"""``python -m core reversible ...``: the JSON each command promises, and one-line errors."""

from __future__ import annotations

import json

import pytest

from tests.harness import assert_one_line_error, run_cli


def _json(*args):
    out = run_cli("reversible", *args, "--json", "--quiet")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_run_exact_and_float_have_the_same_keys():
    keys = {"max_abs_error", "bits_stored", "bits_bound", "seconds_forward", "seconds_reverse"}
    ex = _json("run", "--objective", "quadratic", "--D", "100", "--steps", "2000", "--alpha", "0.05",
               "--beta", "0.9", "--mode", "exact")
    fl = _json("run", "--D", "100", "--steps", "2000", "--mode", "float64")
    assert keys <= set(ex) and keys <= set(fl)
    assert ex["max_abs_error"] == 0.0 and ex["bit_exact"] is True
    assert ex["bits_stored"] <= ex["bits_bound"] + 64 * 100
    assert fl["max_abs_error"] > 0 and fl["bits_stored"] == 0


def test_jacobian_hypergrad_phase_order():
    jac = _json("jacobian", "--D", "10", "--beta", "0.9")
    assert jac["det"] == pytest.approx(jac["beta_pow_D"], rel=1e-12)
    hg = _json("hypergrad", "--steps", "20", "--fd-points", "3")
    assert hg["max_rel_error_vs_fd"] < 1e-5 and hg["reversed_exactly"] is True
    ph = _json("phase", "--steps", "10")
    assert ph["max_ratio_error"] < 1e-9
    order = _json("order", "--D", "5")
    assert order["error_seed_order"] > 1e6 * max(order["error_theta_first"], 1e-300) or \
        order["error_theta_first"] == 0


def test_bench_prints_a_ratio():
    out = _json("bench", "--D", "1000", "--steps", "10", "--repeat", "1")
    assert out["ratio_exact_over_float64"] > 0 and out["exact_bit_exact"] is True


@pytest.mark.parametrize("args, message", [
    (["run", "--alpha", "8"], "overflow the fixed-point range at step"),
    (["run", "--alpha", "8", "--mode", "float64", "--objective", "rosenbrock"], "diverged at step"),
    (["run", "--D", "1000000", "--steps", "100000"], "over the memory budget"),
    (["run", "--beta", "2"], "out of range"),
    (["jacobian", "--D", "300"], "D (parameters) = 300 is out of range: choose 1 to 200"),
    (["hypergrad", "--steps", "3", "--fd-points", "0"], "out of range"),
    (["run", "--seed", "-1"], "Random seed = -1 is out of range: choose 0 to 2147483647"),
    (["order", "--at", "-1"], "argument --at: step k undone = -1 is out of range: choose 0 to 10000"),
    (["bench", "--repeat", "0"], "argument --repeat: Timed repeats = 0 is out of range: choose 1 to 50"),
])
def test_bad_input_is_one_line_with_status_2(args, message):
    assert_one_line_error(run_cli("reversible", *args, "--quiet"), message)
