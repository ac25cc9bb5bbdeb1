"""Pure functions that turn NumPy/pandas results into plotly figures.

No ``st.*`` calls and no numerics here: a figure function receives finished numbers and only
draws them. Every figure uses :data:`TEMPLATE` (a colour-blind-safe palette).
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

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
                           ayref="y", showarrow=True, arrowhead=2, arrowcolor="#444", text="")
        fig.add_annotation(x=t, y=0.78, ax=t, ay=0.22, xref="x", yref="y", axref="x", ayref="y",
                           showarrow=True, arrowhead=2, arrowcolor="#444", text="")

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
    fig.update_xaxes(title_text="j (column)", row=1, col=2)
    fig.update_yaxes(title_text="i (row)", row=1, col=2)
    fig.update_layout(legend=dict(orientation="h", x=0.7, y=-0.1))
    return styled(fig, height=330)


# --- LSTM through time ------------------------------------------------------------------------

LSTM_PANELS = {  # quantity -> (title, colour range); gates in (0, 1), g and h in (-1, 1)
    "i": ("input gate i(t)", (0.0, 1.0)), "f": ("forget gate f(t)", (0.0, 1.0)),
    "o": ("output gate o(t)", (0.0, 1.0)), "g": ("candidate g(t)", (-1.0, 1.0)),
    "c": ("cell c(t), scale below", None), "h": ("hidden h(t)", (-1.0, 1.0)),
}


def lstm_forward_heatmaps(panels: dict[str, list[list[float]]], units: int) -> go.Figure:
    """Six heatmaps over (step t, unit): the gates, c(t) and h(t) of one sequence. One colour bar
    for the gates in (0, 1), one for g and h in (-1, 1), and c(t) on its own scale."""
    names = list(LSTM_PANELS)
    fig = make_subplots(rows=2, cols=3, subplot_titles=[LSTM_PANELS[k][0] for k in names],
                        horizontal_spacing=0.09, vertical_spacing=0.14)
    bars = {"i": dict(x=1.0, y=0.79, len=0.42, title="gates"),  # shared by i, f, o
            "g": dict(x=1.0, y=0.21, len=0.42, title="g, h"),  # shared by g and h
            "c": dict(orientation="h", x=0.5, xanchor="center", y=-0.3, len=0.27)}  # under c's panel
    for n, k in enumerate(names):
        row, col = n // 3 + 1, n % 3 + 1
        z = [list(r) for r in zip(*panels[k], strict=True)]  # rows = units, columns = steps
        rng = LSTM_PANELS[k][1]
        scale = SEQUENTIAL if rng and rng[0] == 0.0 else DIVERGING
        fig.add_trace(go.Heatmap(
            z=z, x=list(range(1, len(panels[k]) + 1)), y=list(range(1, units + 1)), colorscale=scale,
            zmin=rng[0] if rng else None, zmax=rng[1] if rng else None, zmid=0.0 if not rng else None,
            showscale=k in bars, colorbar=dict(thickness=10, **bars[k]) if k in bars else None,
            hovertemplate=f"{k}: %{{z:.3f}}<br>t = %{{x}}, unit %{{y}}<extra></extra>"),
            row=row, col=col)
        fig.update_xaxes(title_text="t" if row == 2 else None, row=row, col=col)
        fig.update_yaxes(title_text="unit" if col == 1 else None, row=row, col=col)
    fig.update_layout(margin=dict(b=130))
    return styled(fig, height=580)


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
