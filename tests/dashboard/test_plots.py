"""dashboard.plots: the shared template and palette, and the figures that use them."""

from __future__ import annotations

import plotly.graph_objects as go

from dashboard import plots


def _relative_luminance(hex_colour: str) -> float:
    r, g, b = (int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def test_palette_is_okabe_ito_and_distinct():
    assert plots.PALETTE[:3] == ("#0072B2", "#E69F00", "#009E73")
    assert len(set(plots.PALETTE)) == len(plots.PALETTE) == 8
    # The first three series differ in luminance too, so they survive greyscale printing.
    lum = sorted(_relative_luminance(c) for c in plots.PALETTE[:3])
    assert lum[1] - lum[0] > 0.04 and lum[2] - lum[1] > 0.04


def test_template_carries_the_palette():
    fig = plots.styled(go.Figure(), title="t", height=300)
    assert list(fig.layout.template.layout.colorway) == list(plots.PALETTE)
    assert fig.layout.height == 300 and fig.layout.title.text == "t"


def test_overview_figure():
    fig = plots.recurrence_overview()
    assert len(fig.data) == 5
    heat = next(t for t in fig.data if isinstance(t, go.Heatmap))
    # The grid panel colours cell (i, j) by its anti-diagonal step i + j.
    assert heat.z[2][3] == 5 and heat.z[0][0] == 0
    assert fig.layout.template.layout.colorway == plots.TEMPLATE.layout.colorway
