"""The home page's picture of the three recurrences."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.plots.theme import NEUTRAL, PALETTE, SEQUENTIAL, styled


def recurrence_overview() -> go.Figure:
    """Three dependency pictures side by side: a chain through time, a grid swept by
    anti-diagonals, and training steps that can be run forward and inverted."""
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.08, subplot_titles=(
        "through time: h(t) reads h(t-1)",
        "through a grid: h(i,j) reads west and north",
        "through training: s(k+1) = f(s(k))",
    ))
    blue, orange, green = PALETTE[0], PALETTE[1], PALETTE[2]

    # 1. A chain of LSTM states with inputs below.
    n = 5
    fig.add_trace(go.Scatter(x=list(range(n)), y=[1] * n, mode="markers+text",
                             marker=dict(size=34, color=blue), text=[f"h{t}" for t in range(n)],
                             textfont=dict(color="white"), hoverinfo="skip", showlegend=False),
                  row=1, col=1)
    fig.add_trace(go.Scatter(x=list(range(1, n)), y=[0] * (n - 1), mode="markers+text",
                             marker=dict(size=28, color=orange, symbol="square"),
                             text=[f"x{t}" for t in range(1, n)], textfont=dict(color="black"),
                             hoverinfo="skip",
                             showlegend=False), row=1, col=1)
    for t in range(1, n):
        fig.add_annotation(x=t - 0.22, y=1, ax=t - 1 + 0.22, ay=1, xref="x", yref="y", axref="x",
                           ayref="y", showarrow=True, arrowhead=2, arrowcolor=NEUTRAL, text="")
        fig.add_annotation(x=t, y=0.78, ax=t, ay=0.22, xref="x", yref="y", axref="x", ayref="y",
                           showarrow=True, arrowhead=2, arrowcolor=NEUTRAL, text="")

    # 2. A G x G grid coloured by the wavefront step i + j at which each cell can be computed.
    G = 5
    steps = [[i + j for j in range(G)] for i in range(G)]
    fig.add_trace(go.Heatmap(z=steps, colorscale=SEQUENTIAL, showscale=False, xgap=3, ygap=3,
                             text=steps, texttemplate="%{text}",
                             hovertemplate="cell (%{y}, %{x}) computed at step %{z}<extra></extra>"),
                  row=1, col=2)
    fig.update_yaxes(autorange="reversed", row=1, col=2)

    # 3. A trajectory of states s(0) ... s(4), forward (solid) and inverse (dashed).
    k = list(range(5))
    fig.add_trace(go.Scatter(x=k, y=[1.0, 0.55, 0.3, 0.18, 0.1], mode="lines+markers+text",
                             line=dict(color=green, width=3), marker=dict(size=14),
                             text=[f"s{i}" for i in k], textposition="top center",
                             name="forward f", hoverinfo="skip"), row=1, col=3)
    fig.add_trace(go.Scatter(x=k, y=[1.0, 0.55, 0.3, 0.18, 0.1], mode="lines",
                             line=dict(color=PALETTE[3], width=2, dash="dash"),
                             name="inverse f⁻¹", hoverinfo="skip"), row=1, col=3)
    for col in (1, 3):
        fig.update_xaxes(visible=False, row=1, col=col)
        fig.update_yaxes(visible=False, row=1, col=col)
    fig.update_yaxes(range=[-0.6, 1.6], row=1, col=1)
    fig.update_yaxes(range=[0.0, 1.25], row=1, col=3)  # room above s0 for its label
    fig.update_xaxes(title_text="j (column)", row=1, col=2)
    fig.update_yaxes(title_text="i (row)", row=1, col=2)
    fig.update_layout(legend=dict(orientation="h", x=0.7, y=-0.1))
    return styled(fig, height=330)
