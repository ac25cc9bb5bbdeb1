"""Controls that return frozen config dataclasses, bound to the URL; and the shared page parts:
tabs, charts with their downloads, the shell command that reproduces a tab.

Every control has a key and ``bind="query-params"``, so the address bar always holds the
view: a lecturer copies the link, a student opens the same page with the same settings.
Values in a link that cannot be used are dropped and named in one warning
(:mod:`dashboard.links`), and cross-field checks of a config give a clear message, never a
traceback. The page around the controls (sidebar, title, scenes, lecture mode) is
:mod:`dashboard.frame`.
"""

from __future__ import annotations

import contextlib
import json
import shlex
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.config import Config, RunConfig, field_type, specs
from core.limits import ConfigError
from dashboard import links, plots

C = TypeVar("C", bound=Config)

@dataclass(frozen=True)
class Shared:
    """The sidebar's settings, common to every page."""

    run: RunConfig
    lecture: bool
    theme: str = "browser"


def shared() -> Shared:
    """The sidebar settings for the page that is running (``app.py`` renders the sidebar)."""
    return st.session_state.get("_shared") or Shared(RunConfig(), False)


def link_problem(cls: type[Config], name: str, raw: str) -> str:
    """Why a URL value ``raw`` for field ``name`` cannot be used ('' when it can), with the
    value echoed as inert text (:func:`dashboard.links.inert`)."""
    bound = links.field_bound(cls, name, name, cls.__dataclass_fields__[name].default)
    try:
        bound.parse(raw)
    except (ValueError, OverflowError):
        return f"{bound.label} = {links.inert(raw)} (allowed: {bound.allowed})"
    return ""


def _control(container: Any, cls: type[Config], name: str, key: str, default: Any) -> Any:
    """One Streamlit control for one config field, chosen by its type and :class:`Spec`.

    A value arriving in the link that cannot be used is not trusted: it is dropped, the control
    shows its default, and the page's one-line warning names it (:mod:`dashboard.links`)."""
    spec = specs(cls)[name]
    kind = field_type(cls, name)
    refused = links.check(links.field_bound(cls, name, key, default))
    # A refused value must not reach Streamlit's URL seeding either: for an int number_input it
    # calls int() on what it parsed, and int(float("1e309")) raises. Unbound for this run only.
    common = dict(key=key, help=spec.help or None, bind=None if refused else "query-params")
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


def config_controls(cls: type[C], prefix: str, *, lecture: bool = False, skip: Sequence[str] = (),
                    container: Any = None, defaults: dict[str, Any] | None = None, columns: int = 1,
                    **fixed: Any) -> C:
    """Render one bound control per field of ``cls`` and return the validated config.

    Keys (and so URL parameters) are ``{prefix}_{field}``, or the bare field name when
    ``prefix`` is empty. Fields marked ``advanced`` go into an "Advanced" expander, which
    lecture mode keeps closed. Fields in ``skip`` take their default (they do not apply to the
    chosen setting, so they are not shown), fields in ``fixed`` take the given value, fields in
    ``defaults`` start from the page's own default instead of the config's. ``columns`` > 1 lays
    the controls out in that many columns (lecture mode's settings panel). A config that fails
    its checks shows the message and stops the page before any work starts.
    """
    container = container or st
    defaults = dict(defaults or {})
    values: dict[str, Any] = dict(fixed)
    fields = [n for n in specs(cls) if n not in skip and n not in fixed]
    basic = [n for n in fields if not specs(cls)[n].advanced]
    advanced = [n for n in fields if specs(cls)[n].advanced]
    key = (lambda name: f"{prefix}_{name}") if prefix else (lambda name: name)

    def draw(where: Any, names: list[str]) -> None:
        cells = where.columns(columns) if columns > 1 and len(names) > 1 else [where]
        for n, name in enumerate(names):
            default = defaults.get(name, cls.__dataclass_fields__[name].default)
            values[name] = _control(cells[n % len(cells)], cls, name, key(name), default)

    draw(container, basic)
    for name in skip:
        values.setdefault(name, defaults.get(name, cls.__dataclass_fields__[name].default))
    if advanced:
        draw(container.expander("Advanced settings", expanded=not lecture), advanced)
    with stop_on_error():
        return cls(**values)


def check_links(cls: type[Config], prefix: str) -> None:
    """Check the link's values for the controls of ``cls`` before its tab decides whether they are
    drawn: a value a closed tab's control would refuse is named in this run's warning (and dropped)
    now, not only once a student opens that tab. Keys and defaults as :func:`config_controls` has
    them for a config drawn without page defaults."""
    for name in specs(cls):
        key = f"{prefix}_{name}" if prefix else name
        links.check(links.field_bound(cls, name, key, cls.__dataclass_fields__[name].default))


def tabs(labels: Sequence[str], key: str) -> Sequence[Any]:
    """Tabs whose choice is kept in the link (``?{key}=<label>``); only the open tab is drawn.

    Use each as ``with tab: if tab.open: ...`` so a page computes and sends only what is seen."""
    links.check(links.choice_bound(key, "Tab", list(labels)))  # a refused tab is dropped: the first opens
    return st.tabs(list(labels), key=key, bind="query-params")


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


def download_files(data: pd.DataFrame | dict[str, Any]) -> tuple[Callable[[], str], Callable[[], str]]:
    """The CSV and JSON files of a chart's numbers, each written when called: Streamlit calls them
    when a download button is pressed, not on every rerun (a page draws many charts and most are
    never downloaded)."""
    def csv() -> str:
        return _frame(data).to_csv(index=False)

    def records() -> str:
        return json.dumps(json.loads(_frame(data).to_json(orient="records")), indent=1)

    return csv, records


def downloads(data: pd.DataFrame | dict[str, Any], name: str) -> None:
    """CSV and JSON download buttons for the numbers behind a chart (side by side, each as wide
    as its label: never cut)."""
    csv, records = download_files(data)
    row = st.container(horizontal=True)
    row.download_button("CSV", csv, file_name=f"{name}.csv", mime="text/csv", key=f"dl_csv_{name}",
                        on_click="ignore", icon=":material/download:")
    row.download_button("JSON", records, file_name=f"{name}.json", mime="application/json",
                        key=f"dl_json_{name}", on_click="ignore", icon=":material/download:")


# printf-style formats of st.column_config and the same as Python format strings (lecture tables)
_FORMATS = {"localized": "{:,}", "percent": "{:.0%}"}


def table(data: pd.DataFrame, formats: dict[str, str] | None = None) -> None:
    """A table that is never cut off: at a desk an interactive dataframe as wide as its column
    (it scrolls and sorts), in lecture mode a plain table whose cells wrap to the screen.
    ``formats``: column -> "localized", "percent" or a printf format such as "%.3f"."""
    formats = formats or {}
    if shared().lecture:
        python = {k: _FORMATS.get(f) or "{:" + f.lstrip("%") + "}" for k, f in formats.items()}
        st.table(data.style.format(python, na_rep="—").hide(axis="index"))
    else:
        st.dataframe(data, hide_index=True, width="stretch",
                     column_config={k: st.column_config.NumberColumn(format=f) for k, f in formats.items()})


def non_finite_count(data: pd.DataFrame | dict[str, Any]) -> int:
    """How many numbers in a chart's data are NaN or infinite."""
    if isinstance(data, pd.DataFrame):
        numbers = data.select_dtypes("number")
        return int((~np.isfinite(numbers.to_numpy(dtype=float))).sum()) if numbers.size else 0
    count = 0
    for values in data.values():  # column by column, as the downloaded table would type them
        column = np.asarray(values)
        if column.dtype.kind not in "biufc":  # None among numbers, or text: let pandas decide
            series = pd.Series(values)
            if not pd.api.types.is_numeric_dtype(series):
                continue
            column = series.to_numpy(dtype=float)
        count += int((~np.isfinite(column)).sum()) if column.dtype.kind in "fc" else 0
    return count


def chart(fig: go.Figure, data: pd.DataFrame | dict[str, Any], name: str, *,
          lecture: bool | None = None) -> None:
    """Show a figure with downloads of its data; lecture mode enlarges its fonts.

    A non-finite number never reaches a chart silently: the chart is drawn with a warning."""
    lecture = shared().lecture if lecture is None else lecture
    if bad := non_finite_count(data):
        st.warning(f"{bad} value(s) in this chart are not finite (overflow or 0/0): they are "
                   "left out of the plot. Smaller weights, steps or sizes avoid them.",
                   icon=":material/warning:")
    if lecture and not getattr(fig, "_lab_ready", False):  # a shared figure came styled for its mode
        plots.lecture_fonts(fig)
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
