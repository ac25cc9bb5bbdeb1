"""Figures of the momentum-SGD page: trajectories, drift, phase area, bits, hypergradients."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.training.objectives import LossSurface
from dashboard.plots.theme import (
    NEUTRAL,
    PALETTE,
    SEQUENTIAL,
    animation_menus,
    colorscale,
    styled,
    template_dict,
    typed_array,
    with_frames,
)


def _frame_steps(K: int, frames: int) -> list[int]:
    """Inverse positions k shown by the animation: K (nothing undone) down to 0."""
    return sorted({round(x) for x in [K * (1 - i / max(frames - 1, 1)) for i in range(frames)]},
                  reverse=True)


def trajectory_extent(theta: np.ndarray, pad: float = 0.15, least: float = 0.2) -> list[tuple[float, float]]:
    """The view of each coordinate of a trajectory (K+1, m): its range, padded by ``pad`` of its
    width (at least ``least``) on both sides."""
    lo, hi = theta.min(axis=0), theta.max(axis=0)
    margin = pad * np.maximum(hi - lo, least)
    return [(float(lo[i] - margin[i]), float(hi[i] + margin[i])) for i in range(len(lo))]


HIDDEN = "rgba(0,0,0,0)"  # a segment of the inverse path not yet undone


def _segments(shown: list[int]) -> list[tuple[int, int]]:
    """The inverse path cut at the frames' steps: segment j runs from k = shown[j] down to
    shown[j + 1] (``shown`` descending), so frame i (k = shown[i]) shows segments 0 to i - 1."""
    return [(shown[j + 1], shown[j]) for j in range(len(shown) - 1)]


def trajectory_animation(k: np.ndarray, fwd: np.ndarray, inv: np.ndarray, *, surface: LossSurface | None = None,
                         coords: list[int] | None = None, frames: int = 50, title: str = "") -> go.Figure:
    """The forward trajectory (solid) and the inverse trajectory (dashed, drawn from step K back
    to 0 frame by frame). ``fwd``, ``inv``: (K+1, m) coordinates of theta by step k, NaN where
    the inverse never got back. With ``surface`` (x, y, J) the view is the (θ₁, θ₂) plane over
    the contours of J; otherwise each coordinate θᵢ is drawn against k.

    The dashed path is sent once, as one segment per frame interval; a frame only sets which
    segments are drawn (their line colour) and moves the markers. (Sent as the path so far in
    every frame, fifty frames of a 1,000-step run came to 800 KB.) Over the contours of J each
    frame is drawn with a redraw: without one, plotly drops the contour trace at the first frame.
    Built as a plain figure dict (plotly's validation of it, and of its fifty slider steps, cost
    several times the figure's numbers; a test validates the result)."""
    K = len(k) - 1
    shown = _frame_steps(K, frames)
    segments = _segments(shown)
    orange, blue = PALETTE[1], PALETTE[0]
    column = lambda a, i: np.ascontiguousarray(a[:, i], dtype=np.float64)  # noqa: E731
    dashed = dict(width=2.5, dash="dash")
    steps = np.asarray(k)  # integers: sent in the fewest bytes that hold them
    if surface is not None:
        J = np.asarray(surface.J)
        data = [dict(type="contour", x=np.asarray(surface.x, dtype=np.float64),
                     y=np.asarray(surface.y, dtype=np.float64), z=np.log10(J - J.min() + 1e-4),
                     colorscale=colorscale(SEQUENTIAL), ncontours=24, showscale=False, opacity=0.55,
                     contours=dict(showlines=True), hoverinfo="skip", name="log₁₀ J"),
                dict(type="scatter", x=column(fwd, 0), y=column(fwd, 1), mode="lines", name="forward θ(k)",
                     line=dict(color=blue, width=7), opacity=0.45)]
        paths = [(lambda lo, hi: column(inv[lo:hi + 1][::-1], 0), lambda lo, hi: column(inv[lo:hi + 1][::-1], 1),
                  "inverse θ(k)", orange)]

        def markers(kk: int) -> list[dict]:
            return [dict(type="scatter", x=[float(inv[kk, 0])], y=[float(inv[kk, 1])], mode="markers",
                         name=f"inverse at k = {kk}", showlegend=False,
                         marker=dict(size=14, color=orange, line=dict(width=2, color=NEUTRAL))),
                    dict(type="scatter", x=[float(fwd[kk, 0])], y=[float(fwd[kk, 1])], mode="markers",
                         name="forward at the same k", showlegend=False,
                         marker=dict(size=20, color="rgba(0,0,0,0)", line=dict(width=2, color=blue)))]

        axes = dict(xaxis=dict(title=dict(text="θ₁"), range=[float(surface.x[0]), float(surface.x[-1])]),
                    yaxis=dict(title=dict(text="θ₂"), range=[float(surface.y[0]), float(surface.y[-1])]))
    else:
        m = fwd.shape[1]
        names = [f"θ[{c}]" for c in (coords or range(m))]
        data = [dict(type="scatter", x=steps, y=column(fwd, i), mode="lines", name=f"forward {names[i]}",
                     line=dict(color=PALETTE[i % 3 * 2], width=7), opacity=0.4) for i in range(m)]
        at = steps.astype(np.float64)  # float64 vectors take the fast encoding (theme.typed_array)
        paths = [(lambda lo, hi: at[lo:hi + 1][::-1], lambda lo, hi, i=i: column(inv[lo:hi + 1][::-1], i),
                  f"inverse {names[i]}", PALETTE[i % 3 * 2 + 1]) for i in range(m)]

        def markers(kk: int) -> list[dict]:
            return [dict(type="scatter", x=[kk] * m, y=[float(v) for v in inv[kk]], mode="markers",
                         showlegend=False, name=f"inverse at k = {kk}",
                         marker=dict(size=11, color=orange, line=dict(width=1, color=NEUTRAL)))]

        axes = dict(xaxis=dict(title=dict(text="step k"), range=[-0.02 * K, 1.02 * K]),
                    yaxis=dict(title=dict(text="θᵢ(k)")))
    segments_of = []  # per path: its segments as plain traces (typed arrays), sent after the rest
    for xs, ys, name, colour in paths:  # a legend entry for each path
        data.append(dict(type="scatter", x=[None], y=[None], mode="lines", name=name, legendgroup=name,
                         line=dict(color=colour, **dashed)))
        segments_of.append([dict(type="scatter", x=typed_array(xs(lo, hi)), y=typed_array(ys(lo, hi)), mode="lines",
                                 name=name, legendgroup=name, showlegend=False, hoverinfo="skip",
                                 line=dict(color=colour, **dashed)) for lo, hi in segments])
    first_marker = len(data)
    data += markers(shown[-1])  # the picture before Play: everything undone
    tail = [trace for path in segments_of for trace in path]  # all drawn: everything undone
    traces = list(range(first_marker, len(data) + len(tail)))  # the markers, then the segments
    layout = dict(template=template_dict(), title=dict(text=title, x=0.0, xanchor="left"), height=600,
                  legend=dict(orientation="h", y=1.0, yanchor="bottom", x=0), margin=dict(t=110, b=150), **axes,
                  **animation_menus([str(kk) for kk in shown], prefix="undone back to k = ", duration=90,
                                    redraw=surface is not None, from_current=False, active=len(shown) - 1))
    on = [dict(line=dict(color=trace["line"]["color"])) for trace in tail]
    off = dict(line=dict(color=HIDDEN))  # shared by the frames: they are sent as they are

    def frame(i: int, kk: int) -> dict:
        lines = [on[n] if n % len(segments) < i else off for n in range(len(tail))]
        return dict(name=str(kk), data=markers(kk) + lines, traces=traces)

    return with_frames(dict(data=data, layout=layout), [frame(i, kk) for i, kk in enumerate(shown)],
                       plain=True, tail=tail)


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
                           align="left", bgcolor="rgba(128,128,128,0.15)", font=dict(color=PALETTE[2]))
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
