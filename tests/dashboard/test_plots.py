"""dashboard.plots: the shared template and palette, and the figures that use them."""

from __future__ import annotations

import json

import plotly.graph_objects as go

from core.training.objectives import LossSurface
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


def _array(value):
    """A figure's array, as NumPy: plotly keeps NumPy arrays as base64 typed arrays."""
    import base64

    import numpy as np

    if isinstance(value, dict):
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        if "shape" not in value:  # a vector
            return flat
        return flat.reshape(tuple(int(n) for n in str(value["shape"]).split(",")))
    return np.asarray(value)


def _as_sent(fig: go.Figure) -> go.Figure:
    """What the browser receives (``to_dict``, as Streamlit sends it), validated by plotly
    property by property, animation frames included: raises if anything is not plotly's."""
    return go.Figure(fig.to_dict())


def test_schedule_animation_frames_light_each_step_in_turn():
    import numpy as np

    from core.grid import layout

    steps = layout.cell_steps(3, 4, "wavefront")
    fig = _as_sent(plots.schedule_animation(steps, "wavefront"))
    assert [f.name for f in fig.frames] == [str(k) for k in range(6)]  # 3 + 4 - 1 steps
    for k, frame in enumerate(fig.frames):
        z = _array(frame.data[0].z)
        assert np.array_equal(z == 2, steps == k) and np.array_equal(z == 1, steps < k)
        assert frame.layout.title.text == f"wavefront: step {k + 1} of 6"
    assert np.array_equal(_array(fig.data[0].text), steps + 1)  # cells numbered from 1
    assert len(fig.layout.sliders[0].steps) == 6
    long = _as_sent(plots.schedule_animation(layout.cell_steps(20, 20, "raster"), "raster", max_frames=50))
    assert len(long.frames) == 50 and long.frames[-1].name == "399"


def test_figures_built_without_validation_are_valid():
    """The figures drawn from plain dicts (theme.PlainFigure, theme.with_frames) hold only what plotly
    accepts: validating the whole figure afterwards raises nothing."""
    import numpy as np
    import plotly.io as pio

    rng = np.random.default_rng(0)
    maps = [np.abs(rng.standard_normal((6, 6))) * (rng.random((6, 6)) > 0.3) for _ in range(5)]
    k = np.arange(31)
    fwd = np.cumsum(rng.standard_normal((31, 2)), axis=0)
    surface = LossSurface(x=np.linspace(-1, 1, 9), y=np.linspace(-1, 1, 9), J=rng.random((9, 9)))
    figures = [plots.sensitivity_maps(maps, list("abcde"), 2, 3),
               plots.lstm_forward_heatmaps({q: rng.random((7, 3)).tolist() for q in "ifogch"}, 3),
               plots.trajectory_animation(k, fwd, fwd, surface=surface, frames=6),
               plots.trajectory_animation(k, fwd, fwd, frames=6)]
    for fig in figures:  # the figure's own traces and layout are sent as plotly's to_dict sends them
        ours, plotlys = (json.loads(pio.to_json(d, validate=False)) for d in (fig.to_dict(), go.Figure.to_dict(fig)))
        assert ours["data"][:len(plotlys["data"])] == plotlys["data"] and ours["layout"] == plotlys["layout"]
    figures = [_as_sent(fig) for fig in figures]
    for fig in figures:
        pio.to_json(fig, validate=True)
    maps_fig = figures[0]
    assert [a.text for a in maps_fig.layout.annotations] == list("abcde")
    assert [t.xaxis for t in maps_fig.data if t.type == "heatmap"] == ["x", "x2", "x3", "x4", "x5"]
    assert maps_fig.layout.yaxis3.scaleanchor == "x3" and len(maps_fig.layout.shapes) == 5
    assert len(figures[2].frames) == 6 and figures[2].frames[0].name == "30"  # nothing undone first


def test_the_inverse_path_is_sent_once_and_each_frame_draws_the_steps_undone():
    """Each frame of the momentum animation draws, of the inverse path's segments, exactly the
    points from K back to its k (NaN where the inverse never got back, as before), hides the
    others, and puts the marker at its k. The frames hold only JSON's types and the path is sent
    once, in both views (θ₁ against θ₂, and each coordinate against k)."""
    import json

    import numpy as np

    from dashboard.plots.reversible import HIDDEN

    rng = np.random.default_rng(2)
    K = 37
    k = np.arange(K + 1)
    fwd = np.cumsum(rng.standard_normal((K + 1, 2)), axis=0)
    inv = fwd + 1e-3 * rng.standard_normal(fwd.shape)
    inv[:4] = np.nan  # the inverse overflowed before it got back to k = 3
    surface = LossSurface(x=np.linspace(-9, 9, 5), y=np.linspace(-9, 9, 5), J=rng.random((5, 5)))
    for plane in (True, False):
        fig = plots.trajectory_animation(k, fwd, inv, surface=surface if plane else None, frames=8)
        sent = fig.to_dict()
        json.dumps(sent["frames"])  # plain: nothing but JSON's types
        data = sent["data"]
        tail = [i for i, t in enumerate(data) if t.get("hoverinfo") == "skip" and t["type"] == "scatter"]
        per_path = len(sent["frames"]) - 1
        paths = [tail[n:n + per_path] for n in range(0, len(tail), per_path)]
        assert len(paths) == (1 if plane else 2) and len(tail) == len(paths) * per_path
        wanted = [(inv[:, 0], inv[:, 1])] if plane else [(k.astype(float), inv[:, i]) for i in range(2)]
        for frame in sent["frames"]:
            kk = int(frame["name"])
            update = dict(zip(frame["traces"], frame["data"], strict=True))
            for segments, (want_x, want_y) in zip(paths, wanted, strict=True):
                drawn = [i for i in segments if update[i]["line"]["color"] != HIDDEN]
                assert drawn == segments[:len(drawn)], "the segments next to K are drawn first"
                if kk == K:
                    assert not drawn
                    continue
                for axis, want in (("x", want_x), ("y", want_y)):
                    parts = [_array(data[i][axis]) for i in drawn]
                    got = np.concatenate([parts[0]] + [p[1:] for p in parts[1:]])  # joints once
                    np.testing.assert_array_equal(got, want[kk:][::-1])
            marker = next(d for d in frame["data"] if d.get("mode") == "markers")
            np.testing.assert_array_equal(marker["x"][0], inv[kk, 0] if plane else kk)
        assert len(json.dumps(sent["frames"])) < 60 * len(tail) * len(sent["frames"]) + 2000 * len(sent["frames"])


def test_typed_arrays_are_plotlys_own_encoding():
    """An animation's frames are encoded without plotly's per-array checks: the result is the
    spec plotly's to_typed_array_spec gives, for the vectors the frames hold and the rest."""
    import numpy as np
    from _plotly_utils.utils import to_typed_array_spec

    from dashboard.plots.theme import typed_array

    path = np.cumsum(np.random.default_rng(1).standard_normal((40, 2)), axis=0)
    cases = [path[:, 0], path[5:, 1][::-1], np.array([1.0, np.nan, -np.inf]), np.arange(7),
             np.ones((3, 4)), np.array([], dtype=np.float64), np.linspace(0, 1, 5, dtype=np.float32),
             path, path.T, path[::3].astype(np.float32), np.arange(12).reshape(3, 4) - 6,  # 2-D, strided, int64
             np.array([0, 300]), np.array([-70_000, 5]), np.array([0, 2**40]), np.arange(4, dtype=np.uint8),
             np.arange(6, dtype=np.uint64).reshape(2, 3), np.array([True, False]), np.array(["a", "b"]),
             np.arange(24.0).reshape(2, 3, 4)]
    for a in cases:
        got, want = typed_array(a), to_typed_array_spec(a)
        if isinstance(want, dict):
            assert got == want
        else:
            np.testing.assert_array_equal(got, want)


def test_charts_are_encoded_by_orjson_to_the_same_values():
    """requirements.txt brings orjson, which plotly takes for its JSON when installed ("auto"):
    the figure the browser gets holds the same values as with the standard library's encoder
    (NaN as null in both)."""
    import json

    import numpy as np
    import orjson
    import plotly.io as pio

    assert pio.json.config.default_engine in ("auto", "orjson") and orjson.dumps([1.5]) == b"[1.5]"
    rng = np.random.default_rng(2)
    k = np.arange(38)
    fwd = np.cumsum(rng.standard_normal((38, 2)), axis=0)
    inv = fwd.copy()
    inv[:4] = np.nan
    fig = plots.trajectory_animation(k, fwd, inv, frames=8)
    fast, plain = (json.loads(pio.to_json(fig, validate=False, engine=e)) for e in ("orjson", "json"))
    assert fast == plain and fast["frames"][-1]["data"][0]["y"][0] is None
