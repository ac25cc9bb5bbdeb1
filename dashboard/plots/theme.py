"""The lab's look: palette, template, and the pieces every figure shares.

No ``st.*`` calls and no numerics here: a figure function receives finished numbers and only
draws them. Every figure uses :data:`TEMPLATE` (a colour-blind-safe palette).
"""

from __future__ import annotations

import plotly.graph_objects as go

# Okabe & Ito (2008), "Color Universal Design": distinguishable under the common colour-vision
# deficiencies. Order: blue, orange, green, vermillion, purple, sky blue, yellow, black.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
# Perceptually uniform and colour-blind safe sequential / diverging scales.
SEQUENTIAL = "Viridis"
DIVERGING = "RdBu"

TEMPLATE = go.layout.Template(
    layout=go.Layout(
        colorway=list(PALETTE),
        font=dict(family="Source Sans Pro, Helvetica, Arial, sans-serif", size=14, color="#222"),
        paper_bgcolor="white",
        plot_bgcolor="white",
        xaxis=dict(showgrid=True, gridcolor="#e5e5e5", zeroline=False, linecolor="#888",
                   ticks="outside"),
        yaxis=dict(showgrid=True, gridcolor="#e5e5e5", zeroline=False, linecolor="#888",
                   ticks="outside"),
        colorscale=dict(sequential=SEQUENTIAL, diverging=DIVERGING),
        legend=dict(bgcolor="rgba(255,255,255,0.8)"),
        margin=dict(l=60, r=20, t=50, b=50),
        hovermode="closest",
    )
)


def styled(fig: go.Figure, title: str | None = None, height: int | None = None) -> go.Figure:
    """Apply the lab's template (and optionally a title and height) to ``fig``."""
    fig.update_layout(template=TEMPLATE)
    if title is not None:
        fig.update_layout(title=dict(text=title, x=0.0, xanchor="left"))
    if height is not None:
        fig.update_layout(height=height)
    return fig


def animation_controls(fig: go.Figure, names: list[str], *, labels: list[str] | None = None,
                       prefix: str = "", duration: int = 90, redraw: bool = False,
                       from_current: bool = True, active: int = 0, y: float = -0.2) -> None:
    """Play/pause buttons and a step slider under an animated figure whose frames are ``names``.

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
    fig.update_layout(
        updatemenus=[dict(type="buttons", direction="left", buttons=[play, pause], x=0.0, y=y,
                          xanchor="left", yanchor="top", pad=dict(t=0, r=10), showactive=False)],
        sliders=[dict(steps=steps, active=active, x=0.2, y=y, len=0.8, xanchor="left", yanchor="top",
                      currentvalue=dict(prefix=prefix, xanchor="right", visible=bool(prefix)),
                      pad=dict(t=0))])
