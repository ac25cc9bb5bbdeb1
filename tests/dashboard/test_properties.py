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
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from core.cli import build_parser, main
from dashboard import links
from dashboard.links import Bound
from dashboard.site import PAGES, PageSpec
from tests.harness import ROOT

SETTINGS = settings(max_examples=8, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@functools.cache
def page_bounds(spec: PageSpec) -> dict[str, Bound]:
    """Every URL parameter the page reads (each tab opened once, so the tabs' own controls too),
    from the registry the controls fill (``dashboard.links``)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page(spec.script).run()
    bounds = dict(at.session_state["_bound"])
    tabs = bounds.get(spec.tab_key)
    for label in tabs.options[1:] if tabs else ():
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.query_params = {spec.tab_key: label}
        at.run()
        at.switch_page(spec.script).run()
        bounds.update(at.session_state["_bound"])
    return {k: b for k, b in bounds.items() if b.page in (spec.url_path, "")}


# What a link shared in a class could hold: links, images and HTML that must stay inert text,
# a value far too long to echo, numbers that are not numbers, and nothing at all.
HOSTILE = ("[Your session expired: click here to log in](http://example.com/login)",
           "![x](http://example.com/x.png)", "<img src=http://example.com/y.png onerror=alert(1)>",
           "<script>alert(1)</script>", "A" * 5000, "nan", "inf", "-inf", "1e400", "10" + "0" * 400, "",
           "%00", "-1", "999999999999", "`:red[x]` $x$")


def link_values(bound: Bound, inside: bool) -> st.SearchStrategy[str]:
    """URL values for one parameter: inside what it allows, or anything a link could hold."""
    if bound.options:
        good = st.sampled_from(list(bound.options))
    elif isinstance(bound.default, int):
        good = st.integers(int(bound.lo), int(bound.hi)).map(str)
    elif isinstance(bound.default, float):
        good = st.floats(bound.lo, bound.hi, allow_nan=False).map(repr)
    else:
        good = st.text(max_size=8)
    return good if inside else st.one_of(good, st.sampled_from(HOSTILE))


def outside_code_spans(markdown: str) -> str:
    """``markdown`` with its code spans removed: what would be rendered as live markdown."""
    return re.sub(r"(`+)(?:(?!\1).)*?\1", "", markdown, flags=re.S)


@pytest.mark.parametrize("spec", PAGES, ids=[p.url_path for p in PAGES])
@SETTINGS
@given(data=st.data())
def test_every_link_renders_or_explains(spec, data):
    bounds = page_bounds(spec)
    inside = data.draw(st.booleans())
    query: dict[str, str | list[str]] = {}
    for key, bound in bounds.items():
        if data.draw(st.booleans()):
            query[key] = data.draw(link_values(bound, inside))
    if not inside and query and data.draw(st.booleans()):  # a parameter given twice
        twice = data.draw(st.sampled_from(sorted(query)))
        query[twice] = [query[twice], query[twice]]
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params = query
    at.run()
    at.switch_page(spec.script).run()
    assert not at.exception, (query, [e.value for e in at.exception])
    shown = at.get("plotly_chart") or at.error or at.info or at.get("dataframe") or at.metric
    assert shown, f"neither a result nor a message for {query}"
    warnings = [w.value for w in at.warning if w.value.startswith("The link's")]
    assert len(warnings) <= 1, warnings  # every refused value in one warning
    for text in [*warnings, *(e.value for e in at.error)]:
        live = outside_code_spans(text)
        assert "http" not in live and "<" not in live and "![" not in live, text  # echoed values are inert
    if warnings:
        assert len(warnings[0]) <= 200 * (links.MAX_NAMED + 1), len(warnings[0])  # short, however long the link


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
