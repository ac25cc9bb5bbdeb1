"""Figures of the LSTM page: gates and states over time, adjoints, the seed's equations."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from dashboard.plots.theme import (
    DIVERGING,
    PALETTE,
    SEQUENTIAL,
    PlainFigure,
    axis_names,
    colorscale,
    panel_dict,
    styled,
)

LSTM_PANELS = {  # quantity -> (title, colour range); gates in (0, 1), g and h in (-1, 1)
    "i": ("input gate i(t)", (0.0, 1.0)), "f": ("forget gate f(t)", (0.0, 1.0)),
    "o": ("output gate o(t)", (0.0, 1.0)), "g": ("candidate g(t)", (-1.0, 1.0)),
    "c": ("cell c(t), scale below", None), "h": ("hidden h(t)", (-1.0, 1.0)),
}


def lstm_forward_heatmaps(panels: dict[str, list[list[float]]], units: int) -> go.Figure:
    """Six heatmaps over (step t, unit): the gates, c(t) and h(t) of one sequence. One colour bar
    for the gates in (0, 1), one for g and h in (-1, 1), and c(t) on its own scale. Built as a
    plain dict and sent as one (:class:`PlainFigure`): plotly's validation of six traces cost
    four times their numbers."""
    names = list(LSTM_PANELS)
    d = panel_dict(2, 3, tuple(LSTM_PANELS[k][0] for k in names), horizontal=0.09, vertical=0.14)
    layout, data = d["layout"], []
    bars = {"i": dict(x=1.0, y=0.79, len=0.42, title=dict(text="gates")),  # shared by i, f, o
            "g": dict(x=1.0, y=0.21, len=0.42, title=dict(text="g, h")),  # shared by g and h
            "c": dict(orientation="h", x=0.5, xanchor="center", y=-0.3, len=0.27)}  # under c's panel
    for n, k in enumerate(names):
        row, col = n // 3 + 1, n % 3 + 1
        xa, ya = axis_names(n + 1)
        z = np.asarray(panels[k], dtype=float).T  # rows = units, columns = steps
        rng = LSTM_PANELS[k][1]
        scale = colorscale(SEQUENTIAL if rng and rng[0] == 0.0 else DIVERGING)
        trace = dict(type="heatmap", z=z, x=np.arange(1, z.shape[1] + 1), y=np.arange(1, units + 1),
                     colorscale=scale, showscale=k in bars, xaxis=xa, yaxis=ya,
                     hovertemplate=f"{k}: %{{z:.3f}}<br>t = %{{x}}, unit %{{y}}<extra></extra>")
        trace.update(dict(zmin=rng[0], zmax=rng[1]) if rng else dict(zmid=0.0))
        if k in bars:
            trace["colorbar"] = dict(thickness=10, **bars[k])
        data.append(trace)
        # steps are read off the bottom row: tick labels on the top row would meet its titles
        layout["xaxis" + xa[1:]].update(showticklabels=row == 2, **(dict(title=dict(text="t")) if row == 2 else {}))
        if col == 1:
            layout["yaxis" + ya[1:]].update(title=dict(text="unit"))
    layout.update(margin=dict(b=130))
    return styled(PlainFigure(dict(data=data, layout=layout)), height=580)


def lstm_forward_lines(series: dict[str, list[float]]) -> go.Figure:
    """The gates, c(t) and h(t) of a single unit (H = 1) against the step t."""
    fig = go.Figure()
    for n, (k, v) in enumerate(series.items()):
        fig.add_trace(go.Scatter(x=list(range(1, len(v) + 1)), y=list(v), mode="lines+markers",
                                 name=LSTM_PANELS[k][0], line=dict(color=PALETTE[n % len(PALETTE)])))
    fig.update_xaxes(title_text="step t")
    fig.update_yaxes(title_text="value")
    return styled(fig, "Forward pass, one unit (H = 1)", height=420)


def lstm_adjoint_norms(h_bar: list[float], c_bar: list[float], forget_product: list[float]) -> go.Figure:
    """|h̄(t)|, |c̄(t)| and the running product of forget gates on a log scale against t."""
    t = list(range(1, len(h_bar) + 1))
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=t, y=list(h_bar), mode="lines+markers", name="|h̄(t)|",
                             line=dict(color=PALETTE[0])))
    fig.add_trace(go.Scatter(x=t, y=list(c_bar), mode="lines+markers", name="|c̄(t)|",
                             line=dict(color=PALETTE[1])))
    fig.add_trace(go.Scatter(x=t, y=list(forget_product), mode="lines", name="Π f(s), s = t+1…T (mean)",
                             line=dict(color=PALETTE[2], dash="dash")))
    fig.update_xaxes(title_text="step t (the backward pass runs from T down to 1)")
    fig.update_yaxes(type="log", title_text="norm over batch and units", exponentformat="power")
    fig.update_layout(legend=dict(orientation="h", y=-0.22))
    return styled(fig, "Backward pass: adjoints per step", height=440)


def lstm_seed_values(labels: list[str], seed: list[float], true: list[float]) -> go.Figure:
    """Each seed equation as written next to its true value (grouped bars)."""
    fig = go.Figure()
    fig.add_trace(go.Bar(x=labels, y=list(seed), name="seed, as written", marker_color=PALETTE[3]))
    fig.add_trace(go.Bar(x=labels, y=list(true), name="true (BPTT = finite differences)",
                         marker_color=PALETTE[0]))
    fig.update_layout(barmode="group", legend=dict(orientation="h", y=-0.2))
    fig.update_yaxes(title_text="value at this step")
    return styled(fig, "The seed's right-hand sides against the true values", height=380)
