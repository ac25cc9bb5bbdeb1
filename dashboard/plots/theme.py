"""The lab's look: palette, template, lecture-mode fonts, and the pieces every figure shares.

No ``st.*`` calls and no numerics here: a figure function receives finished numbers and only
draws them. Every figure uses :data:`TEMPLATE` (a colour-blind-safe palette).
"""

from __future__ import annotations

import base64
import functools
import json
from typing import Any

import numpy as np
import plotly.graph_objects as go
from _plotly_utils.utils import is_skipped_key, plotlyjsShortTypes, to_typed_array_spec
from plotly.colors import get_colorscale
from plotly.subplots import make_subplots

# Okabe & Ito (2008), "Color Universal Design": distinguishable under the common colour-vision
# deficiencies. Order: blue, orange, green, vermillion, purple, sky blue, yellow, black.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
# Perceptually uniform and colour-blind safe sequential / diverging scales.
SEQUENTIAL = "Viridis"
DIVERGING = "RdBu"

# Colours that read on a light and on a dark page alike: the template sets no background and no
# text colour, so Streamlit's chart theme fills them in from the active theme (light or dark, as
# the browser prefers or the sidebar's Theme says); grids, axes and blank cells are mid-grey.
GRID = "rgba(128, 128, 128, 0.28)"
AXIS = "rgba(128, 128, 128, 0.7)"
BLANK = "#9a9a9a"  # cells that hold nothing (exactly zero, not yet computed)
NEUTRAL = "#8c8c8c"  # reference lines and arrows

TEMPLATE = go.layout.Template(
    layout=go.Layout(
        colorway=list(PALETTE),
        font=dict(family="Source Sans Pro, Helvetica, Arial, sans-serif", size=14),
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        xaxis=dict(showgrid=True, gridcolor=GRID, zeroline=False, linecolor=AXIS, ticks="outside"),
        yaxis=dict(showgrid=True, gridcolor=GRID, zeroline=False, linecolor=AXIS, ticks="outside"),
        colorscale=dict(sequential=SEQUENTIAL, diverging=DIVERGING),
        legend=dict(bgcolor="rgba(0,0,0,0)"),
        margin=dict(l=60, r=20, t=50, b=50),
        hovermode="closest",
    )
)

LECTURE_FONT = 20  # px: every text of a figure in lecture mode (titles a little larger)
LECTURE_TITLE = 24


def styled(fig: go.Figure, title: str | None = None, height: int | None = None) -> go.Figure:
    """Apply the lab's template (and optionally a title and height) to ``fig``. The template
    is set as plotly sets its default one, without validating it again: it was validated when
    made, and validating it cost more than most figures' numbers (the title and height, checked
    here, likewise)."""
    if height is not None and not (isinstance(height, int) and height >= 10):
        raise ValueError(f"a figure's height is a whole number of pixels, at least 10: {height!r}")
    layout = fig.layout
    validate, layout._validate = layout._validate, False
    try:
        layout.template = TEMPLATE
        if title is not None:  # merged into what the figure's title already says (its font, say)
            old = layout._props.get("title")
            layout.title = {**(old if isinstance(old, dict) else {}), "text": str(title), "x": 0.0, "xanchor": "left"}
        if height is not None:
            layout.height = height
    finally:
        layout._validate = validate
    return fig


@functools.lru_cache(maxsize=32)
def _grid_layout(rows: int, cols: int, titles: tuple[str, ...], horizontal: float, vertical: float) -> str:
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=list(titles) or None, horizontal_spacing=horizontal,
                        vertical_spacing=vertical)
    return json.dumps(fig.to_dict())


@functools.lru_cache(maxsize=16)
def _colorscale(name: str) -> tuple[tuple[float, str], ...]:
    return tuple((float(x), str(c)) for x, c in get_colorscale(name))


def colorscale(name: str) -> list[list]:
    """The named colour scale as plotly.py spells it out (plotly.js's own named scales may
    differ), for a figure built as a dict: looked up once (plotly's lookup inspects every
    scale module, some 3 ms a call)."""
    return [[x, c] for x, c in _colorscale(name)]


def template_dict() -> dict:
    """:data:`TEMPLATE` as a plain dict (a fresh copy), for a figure built as a dict."""
    return TEMPLATE.to_plotly_json()


def panel_dict(rows: int, cols: int, titles: tuple[str, ...] = (), horizontal: float = 0.09,
               vertical: float = 0.14) -> dict:
    """A grid of subplots as ``make_subplots`` lays it out (computed once per shape), as a plain
    figure dict (a fresh copy) to fill in before the figure is made (:class:`PlainFigure`): each
    ``add_trace`` or ``update_layout`` on a figure costs more than the numbers it holds. Panel n
    (from 1, row by row) is axes :func:`axis_names` (n); a test validates every figure built so."""
    return json.loads(_grid_layout(rows, cols, tuple(titles), horizontal, vertical))


def axis_names(n: int) -> tuple[str, str]:
    """The x and y axis references of subplot ``n`` (from 1), e.g. ("x2", "y2")."""
    return ("x", "y") if n == 1 else (f"x{n}", f"y{n}")


class PlainFigure(go.Figure):
    """A figure made from a plain dict of what plotly accepts, without plotly's validation, and
    sent without plotly's deep copy: ``to_dict`` gives what plotly's would (each NumPy array as
    its typed-array spec, :func:`_as_sent`), without plotly's questions about every value (for a
    few heatmaps, four times what the copy of their numbers costs). The browser tests draw these
    figures and a test validates each kind. ``tail``: more traces, plain too, sent after the
    figure's own: plotly makes an object of every trace of a figure, some 0.1 ms each."""

    def __init__(self, fig: go.Figure | dict, tail: list[dict] | None = None) -> None:
        super().__init__(fig if isinstance(fig, dict) else fig.to_dict(), _validate=False)
        self._lab_tail = tail or []

    def to_dict(self) -> dict[str, Any]:
        return {"data": _as_sent(self._data) + self._lab_tail, "layout": _as_sent(self._layout)}


class AnimatedFigure(PlainFigure):
    """A :class:`PlainFigure` whose animation frames stay plain dicts until it is sent: plotly
    turns every frame's every trace into a validated object (for a hundred frames, ten times
    what the numbers cost), then copies them all back into dicts for the browser. The frames
    hold the same kinds of traces as the figure; the browser tests draw every animation, and a
    test validates the frames of each one. Frames made ``plain`` (no NumPy arrays in them, only
    what JSON holds) are sent as they are; a frame counts the ``tail`` traces from
    ``len(fig.data)``."""

    def __init__(self, fig: go.Figure | dict, frames: list[dict], plain: bool = False,
                 tail: list[dict] | None = None) -> None:
        super().__init__(fig, tail)
        self._lab_frames = frames
        self._lab_plain = plain

    @property
    def animation_frames(self) -> list[dict]:
        """The frames as given (``fig.frames`` stays empty: they join the figure when it is sent)."""
        return self._lab_frames

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(),
                "frames": self._lab_frames if self._lab_plain else _as_sent(self._lab_frames)}


def _as_sent(value: Any, key: str = "") -> Any:
    """A copy of ``value`` with each NumPy array as plotly's typed-array spec, the form
    ``to_dict`` gives the figure's own traces (the same keys skipped). The frames themselves
    are not touched. (plotly's own pass asks pandas and narwhals about every value, strings
    too: for the frames of one animation, most of what the figure cost.)"""
    if isinstance(value, np.ndarray):
        return value if is_skipped_key(key) else typed_array(value)
    if isinstance(value, dict):
        return {k: _as_sent(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_as_sent(v) for v in value]
    return value


def typed_array(a: np.ndarray) -> Any:
    """plotly.js's typed-array spec of ``a``, as ``to_typed_array_spec`` makes it: a numeric array
    encoded directly (int64 narrowed as plotly narrows it), for plotly's own function first
    copies it and asks narwhals what it is (0.1 ms an array, most of an animation's cost);
    anything else through plotly's function. A test holds the two to the same output."""
    if not a.size or a.dtype.kind not in "iuf":
        return to_typed_array_spec(a)
    if a.dtype == np.int64:
        lo, hi = int(a.min()), int(a.max())
        narrow = next((t for t in (np.int8, np.int16, np.int32) if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max),
                      None)
        if narrow is None:
            return to_typed_array_spec(a)
        a = a.astype(narrow)
    code = plotlyjsShortTypes.get(a.dtype.name)
    if code is None or a.dtype.byteorder == ">":
        return to_typed_array_spec(a)
    spec = {"dtype": code, "bdata": base64.b64encode(np.ascontiguousarray(a)).decode("ascii")}
    if a.ndim > 1:
        spec["shape"] = str(a.shape)[1:-1]
    return spec


def with_frames(fig: go.Figure | dict, frames: list[dict], *, plain: bool = False,
                tail: list[dict] | None = None) -> AnimatedFigure:
    """``fig`` (a figure, or a plain figure dict of what plotly accepts) with animation
    ``frames`` given as plain dicts (``data``, ``name``, ``layout``, ``traces``), kept as they
    are until the figure is sent (:class:`AnimatedFigure`); ``plain``: the frames hold no NumPy
    arrays, only what JSON holds; ``tail``: plain traces sent after the figure's own."""
    return AnimatedFigure(fig, frames, plain, tail)


def animation_controls(fig: go.Figure, names: list[str], **options: Any) -> None:
    """Play/pause buttons and a step slider under an animated figure whose frames are ``names``
    (the options of :func:`animation_menus`)."""
    fig.update_layout(animation_menus(names, **options))


def animation_menus(names: list[str], *, labels: list[str] | None = None, prefix: str = "", duration: int = 90,
                    redraw: bool = False, from_current: bool = True, active: int = 0, y: float = -0.2) -> dict:
    """The layout entries (``updatemenus``, ``sliders``) of Play/pause buttons and a step slider
    under an animated figure whose frames are ``names``, as a plain dict.

    ``redraw`` must be True for heatmap frames (plotly redraws them only then)."""
    play = dict(label="▶ Play", method="animate",
                args=[None, dict(frame=dict(duration=duration, redraw=redraw), fromcurrent=from_current,
                                 transition=dict(duration=0), mode="immediate")])
    pause = dict(label="❚❚ Pause", method="animate",
                 args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate")])
    steps = [dict(method="animate", label=label,
                  args=[[name], dict(frame=dict(duration=0, redraw=redraw), mode="immediate",
                                     transition=dict(duration=0))])
             for name, label in zip(names, labels or names, strict=True)]
    return dict(
        updatemenus=[dict(type="buttons", direction="left", buttons=[play, pause], x=0.0, y=y,
                          xanchor="left", yanchor="top", pad=dict(t=0, r=10), showactive=False)],
        sliders=[dict(steps=steps, active=active, x=0.2, y=y, len=0.8, xanchor="left", yanchor="top",
                      currentvalue=dict(prefix=prefix, xanchor="right", visible=bool(prefix)),
                      pad=dict(t=0))])


def lecture_fonts(fig: go.Figure, size: int = LECTURE_FONT, title: int = LECTURE_TITLE) -> go.Figure:
    """Every text of ``fig`` at least ``size`` px, for a projector: the base font, each axis's
    ticks and title, legends, annotations (subplot titles too), colour bars, animation buttons
    and sliders, and text drawn on traces. (Streamlit's chart theme sets tick fonts of its own,
    so each is set explicitly.)"""
    fig.update_layout(font_size=size, title_font_size=title, legend_font_size=size,
                      legend_title_font_size=size, hoverlabel_font_size=size)
    fig.update_xaxes(tickfont_size=size, title_font_size=size)
    fig.update_yaxes(tickfont_size=size, title_font_size=size)
    for note in fig.layout.annotations or ():
        note.font.size = max(size, note.font.size or 0)
    for menu in fig.layout.updatemenus or ():
        menu.font.size = size
    for slider in fig.layout.sliders or ():
        slider.font.size = size
        slider.currentvalue.font.size = size
    for trace in fig.data:
        if "colorbar" in trace:
            trace.colorbar.tickfont.size = size
            trace.colorbar.title.font.size = size
        if "textfont" in trace and trace.type != "heatmap":
            trace.textfont.size = size
    fig.update_traces(textfont_size=size, selector=dict(type="heatmap"))
    if fig.layout.height:
        fig.update_layout(height=max(fig.layout.height, 360))
    return fig
