"""Property-based tests over every page's settings and every CLI command's arguments.

Whatever a link or a shell asks for, the answer is a rendered page (or result) or a clear
message: no exception escapes, no traceback is printed. The settings are drawn from the
bounds each config declares (``core.config.param``), plus values outside them.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from core.cli import build_parser, main
from core.config import field_type, specs
from dashboard.site import PAGES
from tests.harness import ROOT

SETTINGS = settings(max_examples=8, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@functools.cache
def page_controls(script: str) -> tuple[dict[str, type], dict[str, tuple[str, ...]]]:
    """({prefix: config class}, {tab key: labels}) of what a page renders (it registers them)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page(script).run()
    tabs = at.session_state["_tabs"] if "_tabs" in at.session_state else {}
    return dict(at.session_state["_controls"]), dict(tabs)


def field_values(cls: type, name: str, inside: bool) -> st.SearchStrategy[str]:
    """URL values for one field: inside its declared bounds, or anything a link could hold."""
    spec, kind = specs(cls)[name], field_type(cls, name)
    if spec.choices is not None:
        good = st.sampled_from([str(c) for c in spec.choices])
    elif kind is bool:
        good = st.sampled_from(["true", "false"])
    elif kind is int:
        good = st.integers(int(spec.lo), int(spec.hi)).map(str)
    elif kind is float:
        good = st.floats(spec.lo, spec.hi, allow_nan=False).map(repr)
    else:
        good = st.text(max_size=8)
    if inside:
        return good
    bad = st.sampled_from(["-1", "1e309", "nan", "inf", "", "%00", "<script>", "999999999999"])
    return st.one_of(good, bad)


def link_for(draw, controls: dict[str, type], inside: bool) -> dict[str, str]:
    query = {}
    for prefix, cls in controls.items():
        for name in specs(cls):
            if draw(st.booleans()):
                key = f"{prefix}_{name}" if prefix else name
                query[key] = draw(field_values(cls, name, inside))
    return query


@pytest.mark.parametrize("spec", PAGES, ids=[p.url_path for p in PAGES])
@SETTINGS
@given(data=st.data())
def test_every_link_renders_or_explains(spec, data):
    controls, tabs = page_controls(spec.script)
    query = link_for(data.draw, controls, inside=data.draw(st.booleans()))
    for key, labels in tabs.items():
        query[key] = data.draw(st.sampled_from(labels))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params = query
    at.run()
    at.switch_page(spec.script).run()
    assert not at.exception, (query, [e.value for e in at.exception])
    shown = at.get("plotly_chart") or at.error or at.info or at.get("dataframe") or at.metric
    assert shown, f"neither a result nor a message for {query}"


def leaf_commands() -> list[tuple[list[str], argparse.ArgumentParser]]:
    """Every runnable command of the CLI with its parser."""
    out = []

    def walk(prefix: list[str], parser: argparse.ArgumentParser) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            out.append((prefix, parser))
        for sub in subs:
            for name, child in sub.choices.items():
                walk([*prefix, name], child)

    walk([], build_parser())
    return out


COMMANDS = leaf_commands()


def option_values(action: argparse.Action) -> st.SearchStrategy[list[str]]:
    """Values for one option: small valid ones, and ones the command must refuse."""
    flag = action.option_strings[-1]
    if action.choices is not None:
        return st.sampled_from([[flag, str(c)] for c in action.choices] + [[flag, "nonsense"]])
    if action.nargs == 0:
        return st.just([flag])
    spec = getattr(action, "spec", None)
    if spec is not None and spec.choices is not None:
        return st.sampled_from([[flag, str(c)] for c in spec.choices] + [[flag, "nonsense"]])
    if spec is not None and spec.lo is not None:
        lo = spec.lo
        small = (st.integers(int(lo), int(lo) + 2).map(str) if action.type is int
                 else st.floats(lo, lo + (spec.hi - lo) / 10).map(repr))
        outside = st.sampled_from([repr(spec.hi * 10 + 1), repr(lo - 1), "nan"])
        return st.one_of(small, outside).map(lambda v: [flag, v])
    if action.type in (int, float):
        return st.sampled_from([[flag, "-1"], [flag, "abc"], [flag, "1e400"]])
    return st.sampled_from([[flag, "x"]])


@pytest.mark.parametrize("command, parser", COMMANDS, ids=[" ".join(c) for c, _ in COMMANDS])
@SETTINGS
@given(data=st.data())
def test_every_command_answers_or_refuses_in_one_line(command, parser, data):
    options = [a for a in parser._actions if a.option_strings and a.dest not in ("help", "json")]
    argv = list(command) + ["--quiet"] * any(a.dest == "quiet" for a in options)
    for action in options:
        if action.dest != "quiet" and data.draw(st.booleans()):
            argv += data.draw(option_values(action))
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse refusing an argument
            code = exc.code
    assert code in (0, 2), (argv, code, stderr.getvalue()[-2000:])
    if code == 2:
        lines = [line for line in stderr.getvalue().splitlines() if line.startswith("error")]
        assert len(lines) == 1 and "Traceback" not in stderr.getvalue(), (argv, stderr.getvalue())
