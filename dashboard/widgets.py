"""Controls that return frozen config dataclasses, bound to the URL; and the shared page parts.

Every control has a key and ``bind="query-params"``, so the address bar always holds the
view: a lecturer copies the link, a student opens the same page with the same settings.
Values in a link that are out of range are ignored by Streamlit (the default is used), and
cross-field checks of a config give a clear message, never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import shlex
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.config import Config, RunConfig, field_type, fmt, specs
from core.limits import ConfigError

C = TypeVar("C", bound=Config)

LECTURE_CSS = """
<style>
html, body, [data-testid="stAppViewContainer"] { font-size: 21px; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li { font-size: 1.2rem; }
[data-testid="stMetricValue"] { font-size: 2.6rem; }
.katex { font-size: 1.35em; }
</style>
"""


@dataclass(frozen=True)
class Shared:
    """The sidebar's settings, common to every page."""

    run: RunConfig
    lecture: bool


def link_problem(cls: type[Config], name: str, raw: str) -> str:
    """Why a URL value ``raw`` for field ``name`` cannot be used ('' when it can)."""
    spec = specs(cls)[name]
    kind = field_type(cls, name)
    allowed = (", ".join(map(str, spec.choices)) if spec.choices is not None
               else "true or false" if kind is bool else f"{fmt(spec.lo)} to {fmt(spec.hi)}")
    try:
        if spec.choices is not None:
            ok = raw in [str(c) for c in spec.choices]
        elif kind is bool:
            ok = raw.lower() in ("true", "false")
        elif kind in (int, float):
            value = kind(raw)
            ok = value == value and spec.lo <= value <= spec.hi
        else:
            ok = True
    except ValueError:
        ok = False
    return "" if ok else f"{spec.label} = {raw!r} (allowed: {allowed})"


def _control(container: Any, cls: type[Config], name: str, key: str) -> Any:
    """One Streamlit control for one config field, chosen by its type and :class:`Spec`.

    A value arriving in the link that is out of range is not trusted: Streamlit drops it and
    the control shows its default, and the page says which value was ignored."""
    spec = specs(cls)[name]
    default = cls.__dataclass_fields__[name].default
    kind = field_type(cls, name)
    raw = st.query_params.get(key)
    problem = link_problem(cls, name, raw) if raw is not None else ""
    if problem:
        container.warning(f"The link's value {problem} was ignored; using {default}.",
                          icon=":material/link_off:")
        del st.query_params[key]
    # A refused value must not reach Streamlit's URL seeding either: for an int number_input it
    # calls int() on what it parsed, and int(float("1e309")) raises. Unbound for this run only.
    common = dict(key=key, help=spec.help or None, bind=None if problem else "query-params")
    if spec.choices is not None:
        options = list(spec.choices)
        if len(options) <= 4 and all(len(str(o)) <= 12 for o in options):
            return container.radio(spec.label, options, index=options.index(default),
                                   horizontal=True, **common)
        return container.selectbox(spec.label, options, index=options.index(default), **common)
    if kind is bool:
        return container.toggle(spec.label, value=default, **common)
    if kind is int:
        lo, hi = int(spec.lo), int(spec.hi)
        if hi - lo > 2000:
            return int(container.number_input(spec.label, lo, hi, default, step=1, **common))
        return int(container.slider(spec.label, lo, hi, default, step=int(spec.step or 1), **common))
    if kind is float:
        lo, hi = float(spec.lo), float(spec.hi)
        if spec.log:
            return float(container.number_input(spec.label, lo, hi, float(default), format="%g",
                                                 **common))
        step = float(spec.step) if spec.step else (hi - lo) / 100
        return float(container.slider(spec.label, lo, hi, float(default), step=step, **common))
    return container.text_input(spec.label, value=default, **common)


def config_controls(cls: type[C], prefix: str, *, lecture: bool = False,
                    skip: Sequence[str] = (), container: Any = None, **fixed: Any) -> C:
    """Render one bound control per field of ``cls`` and return the validated config.

    Keys (and so URL parameters) are ``{prefix}_{field}``, or the bare field name when
    ``prefix`` is empty. Fields marked ``advanced`` go into
    an "Advanced" expander, which lecture mode keeps closed. Fields in ``skip`` take their
    default, fields in ``fixed`` take the given value. A config that fails its checks shows
    the message and stops the page before any work starts.
    """
    container = container or st
    registry = st.session_state.setdefault("_controls", {})
    registry[prefix] = cls  # read by the property tests
    values: dict[str, Any] = dict(fixed)
    fields = [n for n in specs(cls) if n not in skip and n not in fixed]
    basic = [n for n in fields if not specs(cls)[n].advanced]
    advanced = [n for n in fields if specs(cls)[n].advanced]
    key = (lambda name: f"{prefix}_{name}") if prefix else (lambda name: name)
    for name in basic:
        values[name] = _control(container, cls, name, key(name))
    if advanced:
        box = container.expander("Advanced settings", expanded=not lecture)
        for name in advanced:
            values[name] = _control(box, cls, name, key(name))
    with stop_on_error():
        return cls(**values)


def tabs(labels: Sequence[str], key: str) -> Sequence[Any]:
    """Tabs whose choice is kept in the link (``?{key}=<label>``); only the open tab is drawn.

    Use each as ``with tab: if tab.open: ...`` so a page computes and sends only what is seen."""
    st.session_state.setdefault("_tabs", {})[key] = tuple(labels)  # read by the property tests
    return st.tabs(list(labels), key=key, bind="query-params")


def sidebar() -> Shared:
    """The shared sidebar: backend (and the device it runs on), precision, seed, lecture mode."""
    from dashboard import compute

    bar = st.sidebar
    lecture = bar.toggle("Lecture mode", value=False, key="lecture", bind="query-params",
                         help="larger text and figures; advanced controls folded away")
    run = config_controls(RunConfig, "", lecture=lecture, container=bar)
    device = compute.backend_report(run.backend)
    if device["error"]:
        bar.warning(device["error"], icon=":material/memory:")
    bar.caption(f"Runs on: **{device['backend']}**, {device['summary']}")
    if lecture:
        st.html(LECTURE_CSS)
    shared = Shared(run=run.replace(backend=device["backend"]), lecture=lecture)
    st.session_state["_shared"] = shared
    return shared


def shared() -> Shared:
    """The sidebar settings for the page that is running (``app.py`` renders the sidebar)."""
    return st.session_state.get("_shared") or Shared(RunConfig(), False)


@contextlib.contextmanager
def stop_on_error(command: Sequence[str] | None = None) -> Iterator[None]:
    """Turn a :class:`ConfigError` into a clear message and stop the page (no traceback). With
    ``command`` (arguments of ``python -m core``) the message is followed by that command, so
    work refused for a page can be run from a shell."""
    try:
        yield
    except ConfigError as exc:
        st.error(str(exc), icon=":material/error:")
        if command is not None:
            reproduce(command, "The same work from a shell, where no page budget applies.", expanded=True)
        st.stop()


def _frame(data: pd.DataFrame | dict[str, Any]) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    return pd.DataFrame({k: pd.Series(v) for k, v in data.items()})


def downloads(data: pd.DataFrame | dict[str, Any], name: str) -> None:
    """CSV and JSON download buttons for the numbers behind a chart."""
    frame = _frame(data)
    left, right, _ = st.columns([1, 1, 4])
    left.download_button("CSV", frame.to_csv(index=False), file_name=f"{name}.csv",
                         mime="text/csv", key=f"dl_csv_{name}", on_click="ignore",
                         icon=":material/download:")
    right.download_button("JSON", json.dumps(json.loads(frame.to_json(orient="records")), indent=1),
                          file_name=f"{name}.json", mime="application/json",
                          key=f"dl_json_{name}", on_click="ignore", icon=":material/download:")


def non_finite_count(data: pd.DataFrame | dict[str, Any]) -> int:
    """How many numbers in a chart's data are NaN or infinite."""
    numbers = _frame(data).select_dtypes("number")
    return int((~np.isfinite(numbers.to_numpy(dtype=float))).sum()) if numbers.size else 0


def chart(fig: go.Figure, data: pd.DataFrame | dict[str, Any], name: str, *,
          lecture: bool | None = None) -> None:
    """Show a figure with downloads of its data; lecture mode enlarges its fonts.

    A non-finite number never reaches a chart silently: the chart is drawn with a warning."""
    lecture = shared().lecture if lecture is None else lecture
    if bad := non_finite_count(data):
        st.warning(f"{bad} value(s) in this chart are not finite (overflow or 0/0): they are "
                   "left out of the plot. Smaller weights, steps or sizes avoid them.",
                   icon=":material/warning:")
    if lecture:
        fig.update_layout(font=dict(size=20), title_font=dict(size=24))
    st.plotly_chart(fig, width="stretch", key=f"chart_{name}",
                    config={"displaylogo": False, "toImageButtonOptions": {"filename": name}})
    downloads(data, name)


def seed_table(rows: Sequence[Any], title: str) -> None:
    """The seed's equations of a page: each one's verdict and the figure that shows it."""
    st.subheader(title)
    st.dataframe(pd.DataFrame([{"eq": f"({r.equation.number})", "says": r.equation.says, "verdict": r.equation.verdict,
                                "evidence": r.figure, "what the evidence measures": r.measures} for r in rows]),
                 hide_index=True, width="stretch",
                 column_config={"evidence": st.column_config.NumberColumn(format="%.3g")})
    st.caption("All thirty of the seed's numbered equations are in README.md with the same verdicts; each figure "
               "is computed with the lab's own functions (core/equations.py).")


PYTHON = ".venv/bin/python"  # the interpreter `make run` and `make test` set up in the project folder


def reproduce(args: Sequence[str], note: str = "", expanded: bool = False) -> None:
    """The shell command that prints the same numbers as the page (``args`` from
    :func:`core.config.cli_command`), runnable as shown from the project folder."""
    command = shlex.join([PYTHON, "-m", "core", *args])
    with st.expander("Reproduce from a shell", icon=":material/terminal:", expanded=expanded):
        st.code(command, language="bash")
        st.caption(note or "Add --json for machine-readable output. Run from the project folder.")
