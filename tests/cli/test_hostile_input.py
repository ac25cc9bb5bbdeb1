"""The commands of issue 15, run as a user would: each answers (exit 0) or refuses with one short
line (exit 2); none hangs, crashes, echoes an input in full or prints a null it cannot explain."""

from __future__ import annotations

import json
import time

import pytest

from tests.harness import assert_one_line_error, run_cli

SHORT = 300  # characters: an error line longer than this did not cut what it echoed


def refused(*args: str, text: str = "") -> str:
    out = run_cli(*args)
    assert_one_line_error(out, text)
    assert out.stdout == "" and len(out.stderr) < SHORT, out.stderr[:SHORT]
    return out.stderr


def test_a_billion_repeats_are_refused_and_a_thousand_stop_at_the_time_limit():
    refused("mdrnn", "cost", "--repeat", "1000000000", text="Timed repeats = 1000000000 is out of range")
    start = time.monotonic()
    out = run_cli("mdrnn", "cost", "--G", "8", "--H", "4", "--repeat", "1000", "--max-seconds", "0.2", "--json",
                  "--quiet", timeout=120)
    assert out.returncode == 0, out.stderr
    repeats = json.loads(out.stdout)["schedules"]["wavefront"]["repeats"]
    assert 1 <= repeats < 1000  # the limit, not the count, ended the timed rounds
    assert time.monotonic() - start < 60  # a hang detector, not a speed target


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-1"])
def test_a_time_limit_must_be_positive_and_finite(value):
    refused("mdrnn", "cost", f"--max-seconds={value}", text="Time limit (s)")


@pytest.mark.parametrize("value, text", [("0", "out of range"), ("-0", "out of range"), ("nan", "not a"),
                                         ("inf", "finite"), ("1e400", "'1e400' is out of range")])
def test_grad_check_refuses_a_step_that_means_no_derivative(value, text):
    line = refused("mdrnn", "grad-check", f"--eps={value}")
    assert "finite-difference step" in line and (text in line or "finite number" in line)


def test_an_overflowing_phase_polygon_is_refused_with_what_to_change():
    line = refused("reversible", "phase", "--steps", "500", "--alpha", "10", "--beta", "1", "--curvature", "100",
                   "--radius", "2", "--vertices", "500", "--json")
    assert "lost to rounding" in line and "choose fewer steps, or a smaller alpha or curvature" in line


@pytest.mark.parametrize("args", [["info", "--backend"], ["lstm", "run", "--loss"], ["lstm", "bench", "--dtype"],
                                  ["mdrnn"]])
def test_a_hostile_string_is_echoed_cut_short(args):
    line = refused(*args, "x" * 100_000)
    assert "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…' (100,000 characters)" in line


def test_a_seed_of_ten_thousand_digits_is_out_of_range():
    line = refused("info", "--seed", "9" * 10_000, text="Random seed = '9999")
    assert "(10,000 characters) is out of range: choose 0 to 2147483647" in line


@pytest.mark.parametrize("arg, shown", [("--" + "y" * 100_000, "(100,002 characters)"),
                                        ("--json=" + "z" * 50_000, "(50,000 characters)")])
def test_argparse_own_messages_echo_cut_short(arg, shown):
    assert shown in refused("info", arg)


def test_exact_mode_refuses_settings_that_would_not_train_the_map():
    refused("reversible", "run", "--objective", "quadratic", "--D", "10", "--steps", "300", "--alpha", "0.05",
            "--beta", "0.9", "--fraction-bits", "16", "--beta-bits", "16", "--mode", "exact", "--json",
            text="exact mode would not train this map")


def test_exact_mode_warns_and_reports_its_distance_from_float64():
    out = run_cli("reversible", "run", "--objective", "quadratic", "--D", "10", "--steps", "300", "--alpha", "0.05",
                  "--beta", "0.9", "--fraction-bits", "24", "--beta-bits", "16", "--mode", "exact", "--json",
                  "--quiet")
    assert out.returncode == 0, out.stderr
    assert out.stderr.startswith("warning: each exact step may miss") and out.stderr.count("\n") == 1
    r = json.loads(out.stdout)
    assert r["bit_exact"] is True and r["exact_warning"] and r["loss_end_float64"] < r["loss_end"]
    assert 0 < r["theta_distance_to_float64"] < r["float64_drift_estimate"]


def test_a_float_run_explains_every_null_it_prints():
    out = run_cli("reversible", "run", "--D", "4", "--steps", "3000", "--beta", "0.5", "--mode", "float64", "--json",
                  "--errors", "--quiet")
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["error_at_step_0"] is None and "overflowed after undoing" in r["error_at_step_0_note"]
    assert None in r["error"] and r["error_note"]
    assert r["bits_stored_minus_bound_per_parameter"] is None and r["bits_stored_minus_bound_per_parameter_note"]
