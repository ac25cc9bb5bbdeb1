"""The CLI front door: help at every level, JSON output, one-line errors with status 2."""

from __future__ import annotations

import json

import pytest

from core.backend import cupy_status
from core.cli import build_parser, main
from tests.harness import assert_one_line_error, run_cli


def test_help_lists_every_topic():
    out = run_cli("--help")
    assert out.returncode == 0
    for action in build_parser()._subparsers._group_actions:
        for topic in action.choices:
            assert topic in out.stdout


def test_every_command_has_help():
    parser = build_parser()
    for topic, sub in parser._subparsers._group_actions[0].choices.items():
        with pytest.raises(SystemExit) as exit_info:
            main([topic, "--help"])
        assert exit_info.value.code == 0
        nested = [a for a in sub._actions if a.__class__.__name__ == "_SubParsersAction"]
        for command in (nested[0].choices if nested else {}):
            with pytest.raises(SystemExit) as exit_info:
                main([topic, command, "--help"])
            assert exit_info.value.code == 0


def test_info_json():
    out = run_cli("info", "--json")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["backend"] == "numpy"
    assert info["backends"]["numpy"]["available"] is True
    assert "numpy" in info["packages"]
    assert info["device"]["kind"] == "cpu"


def test_info_text_output():
    out = run_cli("info")
    assert out.returncode == 0
    assert "backend: numpy" in out.stdout


@pytest.mark.skipif(cupy_status()[0], reason="a GPU is usable here")
def test_cupy_without_gpu_exits_2_with_one_line():
    out = run_cli("info", "--backend", "cupy")
    assert_one_line_error(out, "error: backend 'cupy' is unavailable")
    assert out.stdout == ""


@pytest.mark.parametrize("args", [
    ["no-such-topic"], ["info", "--seed", "many"], ["info", "--seed", "-1"], ["info", "--backend", "tpu"], [],
])
def test_bad_arguments_exit_2_with_one_line(args):
    assert_one_line_error(run_cli(*args))
