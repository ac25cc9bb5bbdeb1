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


# --------------------------------------------------------------------------- MDRNN (seed problems 3 and 4)


def schedule_animation(steps: list[list[int]], schedule: str, max_frames: int = 120) -> go.Figure:
    """The grid lighting up as a schedule runs: ``steps[i][j]`` is the step at which cell (i, j)
    is computed. Each frame shows the cells of the current step (orange), those already done
    (blue) and those still waiting (grey); play/pause buttons and a slider move through the
    steps. Long schedules show at most ``max_frames`` evenly spaced steps (the counter always
    gives the true step)."""
    n_steps = 1 + max(max(row) for row in steps)
    frames = min(n_steps, max_frames)
    shown = sorted({round(k * (n_steps - 1) / max(1, frames - 1)) for k in range(frames)})
    rows, cols = len(steps), len(steps[0])
    grey, blue, orange = "#e6e6e6", PALETTE[0], PALETTE[1]
    scale = [[0.0, grey], [0.33, grey], [0.34, blue], [0.66, blue], [0.67, orange], [1.0, orange]]
    text = steps if rows * cols <= 400 else None

    def state(k: int) -> list[list[int]]:
        return [[2 if s == k else 1 if s < k else 0 for s in row] for row in steps]

    def title(k: int) -> str:
        return f"{schedule}: step {k + 1} of {n_steps}"

    heat = dict(colorscale=scale, zmin=0, zmax=2, showscale=False, xgap=1 if cols <= 64 else 0,
                ygap=1 if rows <= 64 else 0, customdata=steps,
                hovertemplate="cell (%{y}, %{x}) computed at step %{customdata}<extra></extra>")
    fig = go.Figure(go.Heatmap(z=state(shown[0]), text=text, texttemplate="%{text}" if text else None,
                               **heat))
    fig.frames = [go.Frame(data=[go.Heatmap(z=state(k))], name=str(k), layout=dict(title_text=title(k)))
                  for k in shown]
    duration = max(30, min(400, 6000 // len(shown)))
    fig.update_layout(
        margin=dict(b=130),
        updatemenus=[dict(type="buttons", direction="left", x=0.0, y=-0.16, xanchor="left", yanchor="top",
                          showactive=False, buttons=[
                              dict(label="▶ Play", method="animate",
                                   args=[None, dict(frame=dict(duration=duration, redraw=True),
                                                    transition=dict(duration=0), fromcurrent=True)]),
                              dict(label="❚❚ Pause", method="animate",
                                   args=[[None], dict(frame=dict(duration=0, redraw=False),
                                                      mode="immediate")])])],
        sliders=[dict(active=0, x=0.2, len=0.8, y=-0.12, yanchor="top", currentvalue=dict(visible=False),
                      steps=[dict(label=str(k + 1), method="animate",
                                  args=[[str(k)], dict(mode="immediate", frame=dict(duration=0, redraw=True),
                                                       transition=dict(duration=0))])
                             for k in shown])])
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


def scaling_plot(rows: list[dict], axis: str, slopes: dict) -> go.Figure:
    """Left: seconds against the varied size on log-log axes, raster and wavefront, each with a
    dashed model line (time proportional to its counted multiply-adds, through its largest
    point); the wavefront also with a dotted line proportional to its sequential steps.
    Right: the speedup (raster time / wavefront time) at each size."""
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
                                 name=f"{s}: measured (slope {slopes[s]['time']:.2f})",
                                 line=dict(color=colour[s], width=3), marker=dict(size=9),
                                 hovertemplate=f"{axis}=%{{x}}: %{{y:.3g}} s<extra>{s}</extra>"),
                      row=1, col=1)
        model = [last["seconds"] * r["macs_model_exact"] / last["macs_model_exact"] for r in pts]
        fig.add_trace(go.Scatter(x=xs, y=model, mode="lines", line=dict(color=colour[s], dash="dash"),
                                 name=f"{s}: ∝ multiply-adds (slope {slopes['model_exact']:.2f})",
                                 hoverinfo="skip"), row=1, col=1)
        if s == "wavefront" and slopes[s]["steps"] > 0.01:
            model = [last["seconds"] * r["steps"] / last["steps"] for r in pts]
            fig.add_trace(go.Scatter(x=xs, y=model, mode="lines", line=dict(color=colour[s], dash="dot"),
                                     name=f"{s}: ∝ steps (slope {slopes[s]['steps']:.2f})",
                                     hoverinfo="skip"), row=1, col=1)
    pts = [r for r in rows if r["axis"] == axis and r["schedule"] == "wavefront"]
    fig.add_trace(go.Bar(x=[str(r[axis]) for r in pts], y=[r["speedup"] for r in pts],
                         marker_color=PALETTE[2], text=[f"{r['speedup']:.1f}×" for r in pts],
                         textposition="outside", name="raster time / wavefront time", showlegend=False,
                         hovertemplate=f"{axis}=%{{x}}: wavefront %{{y:.2f}}× faster<extra></extra>"),
                  row=1, col=2)
    fig.add_hline(y=1, line_dash="dot", line_color="#888", row=1, col=2)
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


# ------------------------------------------------------------- MDRNN against a conv net (seed problem 5)


def sensitivity_maps(logs: list[list[list[float | None]]], titles: list[str], i: int, j: int) -> go.Figure:
    """Side-by-side maps of log10 |d h(i*, j*) / d x(i, j)|; None marks cells where it is exactly
    zero (the output cannot see them), left blank. The output cell is ringed."""
    n = len(logs)
    finite = [v for m in logs for row in m for v in row if v is not None]
    lo, hi = (min(finite), max(finite)) if finite else (-1.0, 0.0)
    R, C = len(logs[0]), len(logs[0][0])
    fig = make_subplots(rows=1, cols=n, subplot_titles=titles, horizontal_spacing=0.02)
    for k, z in enumerate(logs):
        # light grey under the map: the cells left blank (S exactly zero) show as grey squares
        fig.add_shape(type="rect", x0=-0.5, x1=C - 0.5, y0=-0.5, y1=R - 0.5, fillcolor="#dddddd",
                      line=dict(width=0), layer="below", row=1, col=k + 1)
        fig.add_trace(go.Heatmap(z=z, zmin=lo, zmax=hi, colorscale=SEQUENTIAL, showscale=k == n - 1,
                                 colorbar=dict(title="log₁₀ S"), xgap=1, ygap=1,
                                 hovertemplate="x(%{y}, %{x}): log₁₀ S = %{z:.2f}<extra></extra>"),
                      row=1, col=k + 1)
        fig.add_trace(go.Scatter(x=[j], y=[i], mode="markers", showlegend=False, hoverinfo="skip",
                                 marker=dict(symbol="circle-open", size=14, color=PALETTE[3],
                                             line=dict(width=3))), row=1, col=k + 1)
        fig.update_xaxes(range=[-0.5, C - 0.5], constrain="domain", showgrid=False, zeroline=False,
                         row=1, col=k + 1)
        fig.update_yaxes(range=[R - 0.5, -0.5], scaleanchor=f"x{k + 1 if k else ''}", constrain="domain",
                         showgrid=False,
                         zeroline=False, showticklabels=k == 0, row=1, col=k + 1)
    fig.update_annotations(font_size=12)
    fig.update_layout(plot_bgcolor="white")
    return styled(fig, f"Sensitivity of output cell ({i}, {j}) to each input (grey: exactly zero)",
                  height=360)


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
    fig.add_hline(y=1.0, line_dash="dot", line_color="#888")
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
    fig.add_hline(y=0.1, line_dash="dot", line_color="#888", annotation_text="chance")
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


# ---- reversible: momentum SGD through training ---------------------------------------------
# (the import stays with the section, so that sections added by other pages merge cleanly)
import numpy as np  # noqa: E402


def _frame_steps(K: int, frames: int) -> list[int]:
    """Inverse positions k shown by the animation: K (nothing undone) down to 0."""
    return sorted({round(x) for x in [K * (1 - i / max(frames - 1, 1)) for i in range(frames)]},
                  reverse=True)


def _animation_controls(fig: go.Figure, names: list[str], prefix: str) -> None:
    play = dict(label="▶ Play", method="animate",
                args=[None, {"frame": {"duration": 90, "redraw": False}, "fromcurrent": False,
                             "transition": {"duration": 0}, "mode": "immediate"}])
    pause = dict(label="❚❚ Pause", method="animate",
                 args=[[None], {"frame": {"duration": 0, "redraw": False}, "mode": "immediate"}])
    steps = [dict(method="animate", label=name,
                  args=[[name], {"frame": {"duration": 0, "redraw": False}, "mode": "immediate",
                                 "transition": {"duration": 0}}]) for name in names]
    fig.update_layout(
        updatemenus=[dict(type="buttons", direction="left", buttons=[play, pause], x=0.0, y=-0.2,
                          xanchor="left", yanchor="top", pad=dict(t=0, r=10), showactive=False)],
        sliders=[dict(steps=steps, active=len(steps) - 1, x=0.2, y=-0.2, len=0.8, xanchor="left",
                      yanchor="top", currentvalue=dict(prefix=prefix, xanchor="right"), pad=dict(t=0))])


def trajectory_animation(k: np.ndarray, fwd: np.ndarray, inv: np.ndarray, *, surface: dict | None = None,
                         coords: list[int] | None = None, frames: int = 50, title: str = "") -> go.Figure:
    """The forward trajectory (solid) and the inverse trajectory (dashed, drawn from step K back
    to 0 frame by frame). ``fwd``, ``inv``: (K+1, m) coordinates of theta by step k, NaN where
    the inverse never got back. With ``surface`` (x, y, J) the view is the (θ₁, θ₂) plane over
    the contours of J; otherwise each coordinate θᵢ is drawn against k."""
    K = len(k) - 1
    shown = _frame_steps(K, frames)
    orange, blue = PALETTE[1], PALETTE[0]
    fig = go.Figure()
    if surface is not None:
        J = np.asarray(surface["J"])
        fig.add_trace(go.Contour(x=surface["x"], y=surface["y"], z=np.log10(J - J.min() + 1e-4),
                                 colorscale=SEQUENTIAL, ncontours=24, showscale=False, opacity=0.55,
                                 contours=dict(showlines=True), hoverinfo="skip", name="log₁₀ J"))
        fig.add_trace(go.Scatter(x=fwd[:, 0], y=fwd[:, 1], mode="lines", name="forward θ(k)",
                                 line=dict(color=blue, width=7), opacity=0.45))

        def dynamic(kk: int) -> list[go.Scatter]:
            part = inv[kk:][::-1]
            return [go.Scatter(x=part[:, 0], y=part[:, 1], mode="lines", name="inverse θ(k)",
                               line=dict(color=orange, width=2.5, dash="dash")),
                    go.Scatter(x=[inv[kk, 0]], y=[inv[kk, 1]], mode="markers", name=f"inverse at k = {kk}",
                               marker=dict(size=14, color=orange, line=dict(width=2, color="black")),
                               showlegend=False),
                    go.Scatter(x=[fwd[kk, 0]], y=[fwd[kk, 1]], mode="markers", name="forward at the same k",
                               marker=dict(size=20, color="rgba(0,0,0,0)", line=dict(width=2, color=blue)),
                               showlegend=False)]

        first_dynamic = 2
        fig.update_xaxes(title_text="θ₁", range=[float(surface["x"][0]), float(surface["x"][-1])])
        fig.update_yaxes(title_text="θ₂", range=[float(surface["y"][0]), float(surface["y"][-1])])
    else:
        m = fwd.shape[1]
        names = [f"θ[{c}]" for c in (coords or range(m))]
        for i in range(m):
            fig.add_trace(go.Scatter(x=k, y=fwd[:, i], mode="lines", name=f"forward {names[i]}",
                                     line=dict(color=PALETTE[i % 3 * 2], width=7), opacity=0.4))

        def dynamic(kk: int) -> list[go.Scatter]:
            out = [go.Scatter(x=k[kk:], y=inv[kk:, i], mode="lines", name=f"inverse {names[i]}",
                              line=dict(color=PALETTE[i % 3 * 2 + 1], width=2.5, dash="dash"))
                   for i in range(m)]
            out.append(go.Scatter(x=[kk] * m, y=inv[kk], mode="markers", showlegend=False,
                                  marker=dict(size=11, color=orange, line=dict(width=1, color="black")),
                                  name=f"inverse at k = {kk}"))
            return out

        first_dynamic = m
        fig.update_xaxes(title_text="step k", range=[-0.02 * K, 1.02 * K])
        fig.update_yaxes(title_text="θᵢ(k)")
    for trace in dynamic(shown[-1]):  # the picture before Play: everything undone
        fig.add_trace(trace)
    n_dyn = len(fig.data) - first_dynamic
    fig.frames = [go.Frame(name=str(kk), data=dynamic(kk),
                           traces=list(range(first_dynamic, first_dynamic + n_dyn))) for kk in shown]
    _animation_controls(fig, [str(kk) for kk in shown], "undone back to k = ")
    fig = styled(fig, title, height=600)
    fig.update_layout(legend=dict(orientation="h", y=1.0, yanchor="bottom", x=0), margin=dict(t=110, b=150))
    return fig


def reconstruction_errors(curves: dict[str, tuple[np.ndarray, np.ndarray]],
                          references: dict[str, tuple[np.ndarray, np.ndarray]], note: str = "",
                          title: str = "") -> go.Figure:
    """max |reconstructed − forward| against the number of steps undone, log scale, with the
    ε β⁻ʲ growth drawn for each precision."""
    fig = go.Figure()
    colours = {"float32": PALETTE[3], "float64": PALETTE[0], "exact": PALETTE[2]}
    for name, (j, err) in curves.items():
        err = np.where(np.asarray(err) > 0, err, np.nan)
        fig.add_trace(go.Scatter(x=j, y=err, mode="lines", name=name,
                                 line=dict(color=colours.get(name, PALETTE[4]), width=2.5)))
    for name, (j, ref) in references.items():
        fig.add_trace(go.Scatter(x=j, y=ref, mode="lines", name=f"{name}: ε β⁻ʲ",
                                 line=dict(color=colours.get(name, PALETTE[4]), width=1.5, dash="dot")))
    if note:
        fig.add_annotation(text=note, xref="paper", yref="paper", x=0.01, y=0.02, showarrow=False,
                           align="left", bgcolor="rgba(255,255,255,0.85)", font=dict(color=PALETTE[2]))
    fig.update_xaxes(title_text="steps undone j = K − k")
    fig.update_yaxes(type="log", title_text="reconstruction error", exponentformat="power")
    return styled(fig, title, height=460)


def phase_polygons(p: np.ndarray, theta: np.ndarray, ratio: np.ndarray, beta_pow_k: np.ndarray,
                   shown: list[int], title: str = "") -> go.Figure:
    """Left: a polygon of states (p, θ) at a few steps k. Right: its area over A(0) against k,
    with βᵏ (det = β per step for D = 1)."""
    fig = make_subplots(rows=1, cols=2, column_widths=[0.55, 0.45], horizontal_spacing=0.12,
                        subplot_titles=("states (p, θ) pushed forward", "area A(k) / A(0)"))
    for i, k in enumerate(shown):
        colour = PALETTE[i % len(PALETTE[:6])]
        fig.add_trace(go.Scatter(x=np.append(p[k], p[k][0]), y=np.append(theta[k], theta[k][0]),
                                 fill="toself", mode="lines", line=dict(color=colour), opacity=0.6,
                                 name=f"k = {k}"), row=1, col=1)
    k = np.arange(len(ratio))
    fig.add_trace(go.Scatter(x=k, y=ratio, mode="markers", name="measured area ratio",
                             marker=dict(color=PALETTE[0], size=7)), row=1, col=2)
    fig.add_trace(go.Scatter(x=k, y=beta_pow_k, mode="lines", name="βᵏ", line=dict(color=PALETTE[3])),
                  row=1, col=2)
    fig.update_xaxes(title_text="p", row=1, col=1)
    fig.update_yaxes(title_text="θ", row=1, col=1)
    fig.update_xaxes(title_text="step k", row=1, col=2)
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=2)
    return styled(fig, title, height=440)


def buffer_bits(k: np.ndarray, stored: np.ndarray, information: np.ndarray, bound: np.ndarray, D: int,
                title: str = "") -> go.Figure:
    """The information buffer: memory used and information held against the bound, per step."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=k, y=bound, mode="lines", name="bound Σ D log₂(1/β)",
                             line=dict(color=PALETTE[3], width=3)))
    fig.add_trace(go.Scatter(x=k, y=bound + 64 * D, mode="lines", name="bound + 64 D",
                             line=dict(color=PALETTE[3], dash="dot")))
    fig.add_trace(go.Scatter(x=k, y=information, mode="lines", name="information held",
                             line=dict(color=PALETTE[2], width=2, dash="dash")))
    fig.add_trace(go.Scatter(x=k, y=stored, mode="lines", name="bits stored (words + heads)",
                             line=dict(color=PALETTE[0], width=2, shape="hv")))
    fig.update_xaxes(title_text="step k")
    fig.update_yaxes(title_text="bits")
    return styled(fig, title, height=420)


def hypergradient_plot(alpha_bar: np.ndarray, beta_bar: np.ndarray, fd_steps: np.ndarray,
                       fd_alpha: np.ndarray, fd_beta: np.ndarray, title: str = "") -> go.Figure:
    """d(validation loss)/dα(k) and d/dβ(k) across k (reverse mode), with finite differences."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    k = np.arange(len(alpha_bar))
    for row, (bar, fd, sym) in enumerate([(alpha_bar, fd_alpha, "α"), (beta_bar, fd_beta, "β")], start=1):
        fig.add_trace(go.Scatter(x=k, y=bar, mode="lines", name=f"∂L/∂{sym}(k), reverse mode",
                                 line=dict(color=PALETTE[0] if row == 1 else PALETTE[2], width=2)),
                      row=row, col=1)
        fig.add_trace(go.Scatter(x=fd_steps, y=fd, mode="markers", name=f"∂L/∂{sym}(k), finite differences",
                                 marker=dict(color=PALETTE[3], size=9, symbol="circle-open",
                                             line=dict(width=2))), row=row, col=1)
        fig.update_yaxes(title_text=f"∂L_val/∂{sym}(k)", row=row, col=1, exponentformat="power")
    fig.update_xaxes(title_text="step k", row=2, col=1)
    return styled(fig, title, height=520)
