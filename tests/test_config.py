"""core.config: bounded fields validate, round-trip through the CLI, and describe themselves."""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

import numpy as np
import pytest

from core.config import Config, RunConfig, add_arguments, from_namespace, param, parse_option, specs, to_cli_args
from core.limits import ConfigError, echo, format_bytes, missing_figures, optional, require_finite, require_memory


@dataclass(frozen=True)
class Example(Config):
    T: int = param(20, 1, 500, label="T (time steps)")
    scale: float = param(0.5, 0.0, 3.0, label="weight scale")
    loss: str = param("last", choices=("last", "every"), label="loss")
    bias: bool = param(True, label="use bias")

    def check(self) -> None:
        if self.T * self.scale > 1000:
            raise ConfigError("T * scale too large")


def test_defaults_and_specs():
    cfg = Example()
    assert (cfg.T, cfg.scale, cfg.loss, cfg.bias) == (20, 0.5, "last", True)
    assert specs(Example)["T"].hi == 500


@pytest.mark.parametrize("kwargs, message", [
    ({"T": 0}, "T (time steps) = 0 is out of range: choose 1 to 500"),
    ({"T": 501}, "out of range"),
    ({"scale": float("nan")}, "finite"),
    ({"loss": "sometimes"}, "not one of: last, every"),
    ({"T": True}, "expected int"),
    ({"T": "5"}, "expected int"),
    ({"T": 400, "scale": 2.9}, "too large"),
])
def test_bad_values_are_refused_with_a_clear_message(kwargs, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Example(**kwargs)


def test_numbers_are_coerced_to_the_declared_type():
    cfg = Example(T=7.0, scale=2)
    assert type(cfg.T) is int and type(cfg.scale) is float


def test_replace_validates_again():
    with pytest.raises(ConfigError):
        Example().replace(T=10_000)


def test_cli_roundtrip():
    cfg = Example(T=33, scale=1.25, loss="every", bias=False)
    parser = argparse.ArgumentParser()
    add_arguments(parser, Example)
    args = to_cli_args(cfg)
    assert args == ["--T", "33", "--scale", "1.25", "--loss", "every", "--no-bias"]
    assert from_namespace(Example, parser.parse_args(args)) == cfg
    assert from_namespace(Example, parser.parse_args([])) == Example()


def test_run_config_defaults():
    run = RunConfig()
    assert (run.backend, run.precision, run.seed) == ("auto", "float64", 0)


def test_memory_and_finiteness_guards():
    require_memory(1000, "a small thing", budget=2000)
    with pytest.raises(ConfigError, match=r"about 1\.0 MiB, over the memory budget of 1\.0 KiB"):
        require_memory(2**20, "the grid", budget=1024)
    with pytest.raises(ConfigError, match="lower the learning rate"):
        require_finite(float("inf"), "the loss", "lower the learning rate")
    assert format_bytes(1536) == "1.5 KiB"


def test_large_integer_bounds_print_as_integers():
    with pytest.raises(ConfigError, match="choose 0 to 2147483647"):
        RunConfig(seed=2**31)


def test_floats_reproduce_exactly_on_the_cli():
    @dataclass(frozen=True)
    class Rate(Config):
        alpha: float = param(0.1, 0.0, 1.0, label="alpha")

    assert to_cli_args(Rate(alpha=0.123456789012)) == ["--alpha", "0.123456789012"]


@pytest.mark.parametrize("text, message", [
    ("0", "T (time steps) = 0 is out of range: choose 1 to 500"),
    ("-0", "T (time steps) = 0 is out of range"),
    ("1" * 10_000, "(10,000 characters) is out of range: choose 1 to 500"),
    ("2.5", "must be a whole number, got '2.5'"),
    ("", "must be a whole number, got ''"),
    ("x" * 100_000, "(100,000 characters)"),
])
def test_typed_integers_are_checked_by_their_declaration(text, message):
    with pytest.raises(ConfigError) as info:
        parse_option(specs(Example)["T"], int, text)
    assert message in str(info.value) and len(str(info.value)) < 200


@pytest.mark.parametrize("text, message", [
    ("nan", "must be a finite number, got nan"), ("-inf", "must be a finite number, got -inf"),
    ("1e400", "weight scale = '1e400' is out of range: choose 0 to 3"),
    ("-0", None), ("3", None), ("abc", "must be a number, got 'abc'"),
])
def test_typed_floats_are_checked_by_their_declaration(text, message):
    if message is None:
        assert parse_option(specs(Example)["scale"], float, text) == float(text)
        return
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_option(specs(Example)["scale"], float, text)


def test_an_echoed_input_is_quoted_escaped_and_cut_short():
    assert echo("last") == "'last'" and echo(12) == "12" and echo(0.5) == "0.5"
    long = echo("[click here](http://example.com) " * 1000)
    assert long == "'[click here](http://example.com) [click …' (33,000 characters)"
    assert echo("\x1b[2J\u202e") == "'\\x1b[2J\\u202e'"  # control characters as inert escapes
    assert echo(10**5000) == "an integer of about 5,001 digits"  # str() would refuse it
    with pytest.raises(ConfigError, match="an integer of about 5,001 digits"):
        Example(T=10**5000)


@dataclass(frozen=True)
class _Result:
    ratio: float = optional("ratio_note", math.nan)
    ratio_note: str = ""
    seconds: float = 1.0


def test_a_missing_figure_must_say_why():
    assert missing_figures(_Result(ratio=2.0)) == []
    assert missing_figures(_Result()) == ["ratio"]  # nan with an empty note
    assert missing_figures(_Result(ratio_note="too short to time")) == []
    assert missing_figures(_Result(ratio=1.0, seconds=math.inf)) == ["seconds"]  # not declared optional
    assert missing_figures({"a": None, "b": [1.0, math.nan], "c": {"d": np.float64(np.nan)}}) == ["a", "b", "c.d"]
    assert missing_figures({"a": None, "a_note": "not asked for", "b": np.array([1.0, np.inf])}) == ["b"]
