"""Link values: every URL parameter a page reads is declared, checked, and echoed only as inert text.

A link is shared in a class, so whatever it holds is untrusted. Each bound control declares a
:class:`Bound` (its key, label, default and how its text is read); :func:`check` reads the link's
value for it before the control is drawn. A value that cannot be used (out of range, not a
number, not one of the choices, given twice) is dropped from the URL, the control shows its
default, and the value is named in the page's one-line warning (:func:`warning`), cut to
:data:`ECHO_CHARS` characters, in a code span: no link, image, HTML or formula in it is ever live.
The registry of bounds is also what scenes reset and what the property tests draw links from.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from core.config import field_type, fmt, specs

ECHO_CHARS = 40  # a link's value is echoed cut to this many characters
MAX_NAMED = 4  # the warning names at most this many values (then "and N more")


@dataclass(frozen=True)
class Bound:
    """One URL parameter of a page: the control's key, its label, its default, and ``parse``,
    which turns the link's text into the control's value or raises ValueError."""

    key: str
    label: str
    default: Any
    allowed: str  # the allowed values in words, for the warning
    parse: Callable[[str], Any]
    page: str = ""  # url_path of the page that drew it ('' for the sidebar)
    options: tuple[str, ...] = ()  # the allowed texts, where they can be listed
    lo: float | None = None  # the range of a number
    hi: float | None = None


def inert(raw: str) -> str:
    """``raw`` as inert markdown: cut to :data:`ECHO_CHARS` characters, quoted with control
    characters escaped (``repr``), inside a code span fenced longer than any run of backticks."""
    text = raw if len(raw) <= ECHO_CHARS else raw[:ECHO_CHARS] + "…"
    text = repr(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {text} {fence}" if longest else f"`{text}`"


def field_bound(cls: type, name: str, key: str, default: Any) -> Bound:
    """The :class:`Bound` of one config field, from its declaration (``core.config.param``)."""
    spec, kind = specs(cls)[name], field_type(cls, name)
    if spec.choices is not None:
        allowed = ", ".join(map(str, spec.choices))
        by_text = {str(c): c for c in spec.choices}

        def parse(raw: str) -> Any:
            if raw not in by_text:
                raise ValueError(raw)
            return by_text[raw]

        return Bound(key, spec.label, default, allowed, parse, options=tuple(by_text))
    if kind is bool:
        allowed = "true or false"

        def parse(raw: str) -> Any:
            if raw.lower() not in ("true", "false"):
                raise ValueError(raw)
            return raw.lower() == "true"

        return Bound(key, spec.label, default, allowed, parse, options=("true", "false"))
    if kind in (int, float):
        allowed = f"{fmt(spec.lo)} to {fmt(spec.hi)}"

        def parse(raw: str) -> Any:
            value = kind(raw)  # int("2.5"), float("abc") raise ValueError
            if not (math.isfinite(value) and spec.lo <= value <= spec.hi):
                raise ValueError(raw)
            return value

        return Bound(key, spec.label, default, allowed, parse, lo=spec.lo, hi=spec.hi)

    def text(raw: str) -> Any:
        return raw

    return Bound(key, spec.label, default, "any text", text)


def choice_bound(key: str, label: str, options: Sequence[str]) -> Bound:
    """A parameter that holds one of ``options`` (the first is the default), e.g. a page's tab."""

    def parse(raw: str) -> str:
        if raw not in options:
            raise ValueError(raw)
        return raw

    return Bound(key, label, options[0], ", ".join(options), parse, options=tuple(options))


def int_bound(key: str, label: str, default: int, lo: int, hi: int) -> Bound:
    """A whole number from ``lo`` to ``hi``."""

    def parse(raw: str) -> int:
        value = int(raw)
        if not lo <= value <= hi:
            raise ValueError(raw)
        return value

    return Bound(key, label, default, f"{lo} to {hi}", parse, lo=lo, hi=hi)


def registry() -> dict[str, Bound]:
    """Every bound control drawn so far in this session, by key (scenes and tests read it)."""
    return st.session_state.setdefault("_bound", {})


def problems() -> list[str]:
    """The link values refused in this run (reset by the sidebar at the start of each run)."""
    return st.session_state.setdefault("_link_problems", [])


def refused() -> set[str]:
    """The keys whose link value was refused in this run (reset with :func:`problems`)."""
    return st.session_state.setdefault("_link_refused", set())


def check(bound: Bound) -> bool:
    """Register ``bound`` and check the link's value for it. Returns True when the value was
    refused: it is then dropped from the URL and named in the warning, and the control must not
    bind to the URL in this run (Streamlit would seed it from the refused text)."""
    bound = dataclasses.replace(bound, page=st.session_state.get("_page", ""))
    registry()[bound.key] = bound
    if bound.key in refused():  # checked earlier in this run (a control in a closed tab is checked up front)
        return True
    values = st.query_params.get_all(bound.key)
    if not values or bound.key in st.session_state:  # none, or written by the control itself
        return False
    problem = ""
    if len(values) > 1:
        problem = (f"{bound.label} given {len(values)} times ("
                   + ", ".join(inert(v) for v in values[:3]) + (", …" if len(values) > 3 else "") + ")")
    else:
        try:
            bound.parse(values[0])
        except (ValueError, OverflowError):
            problem = f"{bound.label} = {inert(values[0])} (allowed: {bound.allowed})"
    if not problem:
        return False
    if problem not in problems():
        problems().append(problem)
    refused().add(bound.key)
    del st.query_params[bound.key]
    return True


def warning() -> str:
    """The one-line warning that names every refused value of this run ('' when none)."""
    named = problems()
    if not named:
        return ""
    shown = named[:MAX_NAMED] + ([f"and {len(named) - MAX_NAMED} more"] if len(named) > MAX_NAMED else [])
    what = "value was" if len(named) == 1 else "values were"
    return f"The link's {what} ignored (defaults used): " + "; ".join(shown) + "."
