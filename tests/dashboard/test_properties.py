"""Property-based tests over every page's settings and every CLI command's arguments.

Whatever a link or a shell asks for, the answer is a rendered page (or result) or a clear
message: no exception escapes, no traceback is printed. The settings are drawn from the
bounds each config declares (``core.config.param``), plus values outside them.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import importlib
import io
import json
import pkgutil
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

import core
from core.cli import build_parser, main
from core.config import fmt
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
# What a shell can hand any option: zero of both signs, non-finite and overlong numbers, a
# 10,000-digit integer, a 100,000-character string, nothing at all.
HOSTILE = ("0", "-0", "nan", "inf", "-inf", "1e400", "-1", "1" * 10_000, "x" * 100_000, "")
LONGEST_LINE = 300  # an error line longer than this did not cut what it echoed


def option_values(action: argparse.Action, hostile: bool) -> st.SearchStrategy[list[str]]:
    """Values for one option: a hostile one, or a valid one that keeps the work small (sizes
    near their lower bound, rates and scales anywhere up to their upper bound, the largest
    repeat count and the smallest time limit, so that huge repeats meet a small limit)."""
    flag = action.option_strings[0]
    if action.nargs == 0:
        return st.sampled_from([[f] for f in action.option_strings])
    spec = action.spec  # every option is declared (core.config.add_arguments)
    if hostile:
        valid = st.sampled_from(HOSTILE)
    elif spec.choices is not None:
        valid = st.sampled_from([str(c) for c in spec.choices[:2]])
    elif action.dest == "max_seconds":
        valid = st.just(fmt(spec.lo))
    elif action.dest == "repeat":
        valid = st.sampled_from([fmt(spec.lo), fmt(spec.hi)])
    elif action.type.__name__ == "int":
        valid = st.integers(int(spec.lo), int(spec.lo) + 2).map(str)
    elif action.type.__name__ == "float":
        valid = st.one_of(st.sampled_from([fmt(spec.lo), fmt(spec.hi)]), st.floats(spec.lo, spec.hi).map(repr))
    else:
        valid = st.text(max_size=8)
    return valid.map(lambda v: [f"{flag}={v}"])  # so that "-inf" is a value, not an option


@functools.cache
def declared_notes() -> dict[str, frozenset[str]]:
    """Result fields declared optional (``core.limits.optional``) in any core module: field name
    to the names of the notes that may explain it."""
    notes: dict[str, set[str]] = {}
    for info in pkgutil.walk_packages(core.__path__, "core."):
        if info.name.endswith("__main__"):  # running it would run the CLI
            continue
        for obj in vars(importlib.import_module(info.name)).values():
            if dataclasses.is_dataclass(obj) and isinstance(obj, type):
                for f in dataclasses.fields(obj):
                    if f.metadata.get("note"):
                        notes.setdefault(f.name, set()).add(f.metadata["note"])
    return {k: frozenset(v) for k, v in notes.items()}


def unexplained_nulls(value, path="") -> list[str]:
    """Paths of nulls in JSON output that neither a ``key_note`` beside them nor a declared
    note of their field explains."""
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            notes = {f"{k}_note"} | declared_notes().get(k, frozenset())
            if not any(value.get(n) for n in notes):
                out += unexplained_nulls(v, f"{path}.{k}")
        return out
    if isinstance(value, list):
        return [p for v in value for p in unexplained_nulls(v, f"{path}[]")][:1]
    return [path] if value is None else []


@pytest.mark.parametrize("command, parser", COMMANDS, ids=[" ".join(c) for c, _ in COMMANDS])
@SETTINGS
@given(data=st.data())
def test_every_command_answers_or_refuses_in_one_line(command, parser, data):
    """Whatever its options hold, a command answers (exit 0, JSON without an unexplained null)
    or refuses (exit 2, one short line on stderr): never a traceback, an exit 1 or a hang past
    its time limit."""
    options = [a for a in parser._actions if a.option_strings and a.dest not in ("help", "json", "quiet")]
    valued = [a.dest for a in options if a.nargs != 0]
    hostile = data.draw(st.one_of(st.none(), st.sampled_from(valued)), label="hostile")  # half the runs: none
    argv = [*command, "--quiet"] + (["--json"] if data.draw(st.booleans(), label="json") else [])
    for action in options:
        if action.dest in (hostile, "max_seconds") or data.draw(st.booleans(), label=action.dest):
            argv += data.draw(option_values(action, action.dest == hostile), label=action.dest)
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse refusing an argument
            code = exc.code
    shown = [a if len(a) < 50 else a[:20] + f"...({len(a)} chars)" for a in argv]
    err = stderr.getvalue()
    assert code in (0, 2), (shown, code, err[-2000:])
    assert "Traceback" not in err, (shown, err[-2000:])
    if code == 2:
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error"), (shown, err[:2000])
        assert len(lines[0]) < LONGEST_LINE, (shown, lines[0][:2000])
    elif "--json" in argv and "--csv" not in argv:
        assert unexplained_nulls(json.loads(stdout.getvalue())) == [], shown
