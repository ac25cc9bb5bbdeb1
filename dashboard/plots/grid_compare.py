"""Figures of the MDRNN-against-a-conv-net page: context, decay, warping test."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.plots.theme import (
    BLANK,
    NEUTRAL,
    PALETTE,
    SEQUENTIAL,
    PlainFigure,
    axis_names,
    colorscale,
    panel_dict,
    styled,
)


def sensitivity_maps(maps: list[np.ndarray], titles: list[str], i: int, j: int) -> go.Figure:
    """Side-by-side maps of |d h(i*, j*) / d x(i, j)| on a log colour scale; cells where it is
    exactly zero (the output cannot see them) are left blank. The output cell is ringed."""
    n = len(maps)
    with np.errstate(divide="ignore"):
        logs = [np.where(m > 0, np.log10(np.where(m > 0, m, 1.0)), np.nan) for m in maps]
    finite = np.concatenate([m[np.isfinite(m)] for m in logs])
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 0.0)
    R, C = logs[0].shape
    d = panel_dict(1, n, tuple(titles), horizontal=0.02)
    layout, data, shapes = d["layout"], [], []
    scale = colorscale(SEQUENTIAL)
    for k, z in enumerate(logs):
        xa, ya = axis_names(k + 1)
        # light grey under the map: the cells left blank (S exactly zero) show as grey squares
        shapes.append(dict(type="rect", x0=-0.5, x1=C - 0.5, y0=-0.5, y1=R - 0.5, fillcolor=BLANK,
                           line=dict(width=0), layer="below", xref=xa, yref=ya))
        data.append(dict(type="heatmap", z=z, zmin=lo, zmax=hi, colorscale=scale, showscale=k == n - 1,
                         colorbar=dict(title=dict(text="log₁₀ S")), xgap=1, ygap=1, xaxis=xa, yaxis=ya,
                         hovertemplate="x(%{y}, %{x}): log₁₀ S = %{z:.2f}<extra></extra>"))
        data.append(dict(type="scatter", x=[j], y=[i], mode="markers", showlegend=False, hoverinfo="skip",
                         xaxis=xa, yaxis=ya, marker=dict(symbol="circle-open", size=14, color=PALETTE[3],
                                                         line=dict(width=3))))
        layout["xaxis" + xa[1:]].update(range=[-0.5, C - 0.5], constrain="domain", showgrid=False, zeroline=False)
        layout["yaxis" + ya[1:]].update(range=[R - 0.5, -0.5], scaleanchor=xa, constrain="domain", showgrid=False,
                                        zeroline=False, showticklabels=k == 0)
    for note in layout.get("annotations", []):  # the maps' own titles
        note.setdefault("font", {})["size"] = 12
    layout.update(shapes=shapes, margin=dict(t=95))  # the title above the maps' own titles
    fig = PlainFigure(dict(data=data, layout=layout))
    return styled(fig, f"Sensitivity of output cell ({i}, {j}) to each input (grey: exactly zero)",
                  height=380)


def decay_plot(profiles: dict[str, tuple[list[int], list[float]]]) -> go.Figure:
    """Largest sensitivity at each Manhattan distance from the output cell, log scale."""
    fig = go.Figure()
    for k, (label, (dist, prof)) in enumerate(profiles.items()):
        fig.add_trace(go.Scatter(x=dist, y=[p if p > 0 else None for p in prof], mode="lines+markers",
                                 name=label, line=dict(color=PALETTE[k % len(PALETTE)], width=3),
                                 hovertemplate="distance %{x}: S = %{y:.3g}<extra>" + label + "</extra>"))
    fig.update_xaxes(title_text="distance |i − i*| + |j − j*| (cells)")
    fig.update_yaxes(type="log", title_text="largest S at that distance", exponentformat="power")
    fig.update_layout(legend=dict(orientation="h", y=-0.22))
    return styled(fig, "Sensitivity against distance (log scale): vanishing or not", height=420)


def forget_bias_plot(biases: list[float], rates: dict[str, list[float]], tanh: float) -> go.Figure:
    """Fitted sensitivity factor per step against the MDLSTM forget-gate bias, tanh MDRNN dashed."""
    fig = go.Figure()
    for k, (label, ys) in enumerate(rates.items()):
        fig.add_trace(go.Scatter(x=biases, y=ys, mode="lines+markers", name=label,
                                 line=dict(color=PALETTE[(k + 1) % len(PALETTE)], width=3),
                                 hovertemplate="bias %{x}: ×%{y:.3f} per step<extra>" + label + "</extra>"))
    fig.add_hline(y=tanh, line_dash="dash", line_color=PALETTE[0],
                  annotation_text=f"tanh MDRNN ×{tanh:.3f}", annotation_position="bottom right")
    fig.add_hline(y=1.0, line_dash="dot", line_color=NEUTRAL)
    fig.update_xaxes(title_text="forget-gate bias at initialisation")
    fig.update_yaxes(title_text="sensitivity factor per step")
    fig.update_layout(legend=dict(orientation="h", y=-0.22))
    return styled(fig, "MDLSTM: sensitivity factor per step against the forget-gate bias", height=400)


def warp_accuracy(amounts: dict[str, list[float]], units: dict[str, str],
                  accuracy: dict[str, dict[str, list[float]]], labels: dict[str, str]) -> go.Figure:
    """Test accuracy against warp strength, one panel per warp, one line per model."""
    kinds = list(amounts)
    fig = make_subplots(rows=1, cols=len(kinds), shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=[k.capitalize() for k in kinds])
    for c, kind in enumerate(kinds):
        for k, (key, label) in enumerate(labels.items()):
            if key not in accuracy[kind]:
                continue
            fig.add_trace(go.Scatter(x=amounts[kind], y=accuracy[kind][key], mode="lines+markers",
                                     name=label, legendgroup=key, showlegend=c == 0,
                                     line=dict(color=PALETTE[k % len(PALETTE)], width=3),
                                     hovertemplate="%{x:g}: %{y:.1%}<extra>" + label + "</extra>"),
                          row=1, col=c + 1)
        fig.update_xaxes(title_text=units[kind], row=1, col=c + 1)
    fig.add_hline(y=0.1, line_dash="dot", line_color=NEUTRAL, annotation_text="chance")
    fig.update_yaxes(title_text="test accuracy", tickformat=".0%", range=[0, 1.02], row=1, col=1)
    fig.update_layout(legend=dict(orientation="h", y=-0.25))
    return styled(fig, "Accuracy on warped test digits", height=430)


def loss_curves(losses: dict[str, list[float]]) -> go.Figure:
    """Mean training loss per epoch for each model."""
    fig = go.Figure()
    for k, (label, ys) in enumerate(losses.items()):
        fig.add_trace(go.Scatter(x=list(range(1, len(ys) + 1)), y=ys, mode="lines+markers", name=label,
                                 line=dict(color=PALETTE[k % len(PALETTE)], width=3)))
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text="training loss (cross-entropy)")
    fig.update_layout(legend=dict(orientation="h", y=-0.25))
    return styled(fig, "Training loss", height=360)


def warped_digits(images: dict[str, list], amounts: dict[str, list[float]], units: dict[str, str],
                  digit: int = 0) -> go.Figure:
    """One test digit under each warp (rows) at each strength (columns)."""
    kinds = list(images)
    levels = len(amounts[kinds[0]])
    titles = [f"{kind} {amounts[kind][c]:g}" for kind in kinds for c in range(levels)]
    fig = make_subplots(rows=len(kinds), cols=levels, horizontal_spacing=0.01, vertical_spacing=0.08,
                        subplot_titles=titles)
    for r, kind in enumerate(kinds):
        for c in range(levels):
            fig.add_trace(go.Heatmap(z=images[kind][c][digit], colorscale="Greys", zmin=0, zmax=1,
                                     showscale=False, hovertemplate="%{z:.2f}<extra></extra>"),
                          row=r + 1, col=c + 1)
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    fig.update_annotations(font_size=11)
    units_text = ", ".join(f"{k}: {u}" for k, u in units.items())
    return styled(fig, f"A test digit, warped ({units_text})", height=150 * len(kinds) + 80)


def depth_plot(G: tuple[int, ...], seconds: dict[str, tuple[float, ...]], steps: dict[str, tuple[int, ...]],
               labels: dict[str, str]) -> go.Figure:
    """Forward time against G for each model (log-log), each point labelled with its sequential steps."""
    fig = go.Figure()
    for n, (key, secs) in enumerate(seconds.items()):
        fig.add_trace(go.Scatter(x=list(G), y=[1e3 * v for v in secs], mode="lines+markers+text", name=labels[key],
                                 text=[f"{s} steps" for s in steps[key]], textposition="top center",
                                 line=dict(color=PALETTE[n % len(PALETTE)], width=3)))
    fig.update_xaxes(type="log", title_text="G (grid of G x G cells)", tickvals=list(G))
    fig.update_yaxes(type="log", title_text="forward time (ms)", exponentformat="power")
    return styled(fig, "Sequential steps against time: one forward pass, growing G", height=400)
