"""Figures of the MDRNN page: the schedule animated, counted cost, scaling, states."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.grid.sweep import AxisFit
from dashboard.plots.theme import BLANK, NEUTRAL, PALETTE, SEQUENTIAL, animation_controls, styled, with_frames


def schedule_animation(steps: np.ndarray, schedule: str, max_frames: int = 120) -> go.Figure:
    """The grid lighting up as a schedule runs: ``steps[i, j]`` is the step (from 0) at which cell
    (i, j) is computed. Each frame shows the cells of the current step (orange), those already
    done (blue) and those still waiting (grey); play/pause buttons and a slider move through the
    steps. Long schedules show at most ``max_frames`` evenly spaced steps (the counter always
    gives the true step)."""
    steps = np.asarray(steps)
    n_steps = 1 + int(steps.max())
    frames = min(n_steps, max_frames)
    shown = sorted({round(k * (n_steps - 1) / max(1, frames - 1)) for k in range(frames)})
    rows, cols = steps.shape
    grey, blue, orange = BLANK, PALETTE[0], PALETTE[1]
    scale = [[0.0, grey], [0.33, grey], [0.34, blue], [0.66, blue], [0.67, orange], [1.0, orange]]
    # cells are labelled by the step that computes them, counted from 1 like the title and the slider
    numbered = (steps + 1).tolist()
    text = numbered if rows * cols <= 400 else None

    def state(k: int) -> np.ndarray:  # 0 waiting, 1 done, 2 computed at step k
        return np.where(steps == k, 2, steps < k).astype(np.uint8)

    def title(k: int) -> str:
        return f"{schedule}: step {k + 1} of {n_steps}"

    heat = dict(colorscale=scale, zmin=0, zmax=2, showscale=False, xgap=1 if cols <= 64 else 0,
                ygap=1 if rows <= 64 else 0, customdata=numbered,
                hovertemplate="cell (%{y}, %{x}) computed at step %{customdata}<extra></extra>")
    fig = go.Figure(go.Heatmap(z=state(shown[0]), text=text, texttemplate="%{text}" if text is not None else None,
                               **heat))
    fig = with_frames(fig, [dict(data=[dict(type="heatmap", z=state(k))], name=str(k),
                                 layout=dict(title=dict(text=title(k)))) for k in shown])
    fig.update_layout(margin=dict(b=130))
    animation_controls(fig, [str(k) for k in shown], labels=[str(k + 1) for k in shown],
                       duration=max(30, min(400, 6000 // len(shown))), redraw=True, y=-0.12)
    fig.update_xaxes(title_text="j (column)", constrain="domain")
    fig.update_yaxes(title_text="i (row)", autorange="reversed", scaleanchor="x")
    return styled(fig, title(shown[0]), height=620)


def cost_bars(labels: list[str], macs: list[int], kinds: list[str]) -> go.Figure:
    """Multiply-adds: measured per schedule against the models (colour by kind)."""
    colour = {"measured": PALETTE[0], "model (seed)": PALETTE[3], "model (exact)": PALETTE[2],
              "model (dense)": PALETTE[4]}
    fig = go.Figure()
    for kind in dict.fromkeys(kinds):
        idx = [k for k, v in enumerate(kinds) if v == kind]
        fig.add_trace(go.Bar(x=[labels[k] for k in idx], y=[macs[k] for k in idx], name=kind,
                             marker_color=colour.get(kind, PALETTE[5]),
                             text=[f"{macs[k]:,}" for k in idx], textposition="outside",
                             hovertemplate="%{x}: %{y:,} multiply-adds<extra></extra>"))
    fig.update_yaxes(title_text="multiply-adds")
    fig.update_layout(barmode="group", uniformtext_minsize=9, legend=dict(orientation="h", y=-0.15))
    return styled(fig, "Multiply-adds: counted while running against the models", height=420)


def scaling_plot(rows: list[dict], axis: str, slopes: AxisFit) -> go.Figure:
    """Left: seconds against the varied size on log-log axes, raster and wavefront, each with a
    dashed model line (time proportional to its counted multiply-adds, through its largest
    point); the wavefront also with a dotted line proportional to its sequential steps.
    Right: the speedup (raster time / wavefront time) at each size ("—" where its timings were
    too short or too noisy to divide: the row's speedup_note says which)."""
    fig = make_subplots(rows=1, cols=2, column_widths=[0.62, 0.38], horizontal_spacing=0.1,
                        subplot_titles=(f"time against {axis} (log-log)", "wavefront speedup"))
    colour = {"raster": PALETTE[3], "wavefront": PALETTE[0]}
    for s in ("raster", "wavefront"):
        pts = [r for r in rows if r["axis"] == axis and r["schedule"] == s]
        if not pts:
            continue
        xs = [r[axis] for r in pts]
        last = pts[-1]
        fig.add_trace(go.Scatter(x=xs, y=[r["seconds"] for r in pts], mode="lines+markers",
                                 name=f"{s}: measured (slope {slopes.of(s).time:.2f})",
                                 line=dict(color=colour[s], width=3), marker=dict(size=9),
                                 hovertemplate=f"{axis}=%{{x}}: %{{y:.3g}} s<extra>{s}</extra>"),
                      row=1, col=1)
        model = [last["seconds"] * r["macs_model_exact"] / last["macs_model_exact"] for r in pts]
        fig.add_trace(go.Scatter(x=xs, y=model, mode="lines", line=dict(color=colour[s], dash="dash"),
                                 name=f"{s}: ∝ multiply-adds (slope {slopes.model_exact:.2f})",
                                 hoverinfo="skip"), row=1, col=1)
        if s == "wavefront" and slopes.of(s).steps > 0.01:
            model = [last["seconds"] * r["steps"] / last["steps"] for r in pts]
            fig.add_trace(go.Scatter(x=xs, y=model, mode="lines", line=dict(color=colour[s], dash="dot"),
                                     name=f"{s}: ∝ steps (slope {slopes.of(s).steps:.2f})",
                                     hoverinfo="skip"), row=1, col=1)
    pts = [r for r in rows if r["axis"] == axis and r["schedule"] == "wavefront"]
    labels = [f"{r['speedup']:.1f}×" if r["speedup_note"] == "" else "—" for r in pts]
    fig.add_trace(go.Bar(x=[str(r[axis]) for r in pts], y=[r["speedup"] for r in pts],
                         marker_color=PALETTE[2], text=labels,
                         textposition="outside", name="raster time / wavefront time", showlegend=False,
                         hovertemplate=f"{axis}=%{{x}}: wavefront %{{y:.2f}}× faster<extra></extra>"),
                  row=1, col=2)
    fig.add_hline(y=1, line_dash="dot", line_color=NEUTRAL, row=1, col=2)
    fig.update_xaxes(type="log", title_text=axis, dtick=0.30103, tickformat="d", row=1, col=1)
    fig.update_yaxes(type="log", title_text="seconds (median)", exponentformat="power", row=1, col=1)
    fig.update_xaxes(title_text=axis, type="category", row=1, col=2)
    fig.update_yaxes(title_text="raster / wavefront", rangemode="tozero", row=1, col=2)
    fig.update_layout(legend=dict(orientation="h", y=-0.22, x=0))
    return styled(fig, None, height=470)


def state_heatmap(h_abs: list[list[float]]) -> go.Figure:
    """Mean |h(i, j)| over the hidden units, over the grid."""
    fig = go.Figure(go.Heatmap(z=h_abs, colorscale=SEQUENTIAL, colorbar=dict(title="mean |h|"),
                               hovertemplate="cell (%{y}, %{x}): mean |h| = %{z:.3f}<extra></extra>"))
    fig.update_xaxes(title_text="j (column)", constrain="domain")
    fig.update_yaxes(title_text="i (row)", autorange="reversed", scaleanchor="x")
    return styled(fig, "States over the grid: mean |h(i, j)|", height=480)
