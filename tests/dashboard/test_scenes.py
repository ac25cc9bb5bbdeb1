"""Every scene opens from its link and its claim holds, read off the page's own numbers; the pages'
scene buttons set the same view; the home page's lecture plan lists every scene in the seed's order."""

from __future__ import annotations

import base64
import itertools
import json

import numpy as np
import pandas as pd
import pytest

from dashboard import scenes
from dashboard.scenes import BY_KEY, SCENES
from dashboard.site import PAGES, PROBLEMS
from tests.harness import metrics, open_app, open_page, page_text


def open_scene(key: str):
    """The app opened with the scene's link (``?scene=<key>``), as a lecturer's click would."""
    at = open_app({"scene": key})
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == next(p.title for p in PAGES if p.url_path == BY_KEY[key].page)
    return at


def frame_of(at, title: str) -> pd.DataFrame:
    """The dataframe shown on the page that has a column ``title``."""
    return next(d.value for d in at.dataframe if title in d.value.columns)


def _decoded(value):
    """Plotly sends arrays as base64 typed arrays ({"dtype", "bdata"}): back to a list."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).tolist()
    return value


def chart_traces(at) -> dict[str, dict]:
    """Every trace of the page's charts by name, with its x and y as lists."""
    return {t.get("name", ""): {**t, "x": _decoded(t.get("x")), "y": _decoded(t.get("y"))}
            for c in at.get("plotly_chart") for t in json.loads(c.proto.spec)["data"]}


def number(text: str) -> float:
    return float(text.replace(",", "").rstrip("×%"))


def claim_shown(at, key: str) -> bool:
    return any(f"**Scene: {BY_KEY[key].name}.**" in i.value for i in at.info)


def test_scenes_are_declared_for_every_problem_and_page():
    assert len({s.key for s in SCENES}) == len(SCENES)
    assert {s.problem for s in SCENES} == set(PROBLEMS)
    assert {s.page for s in SCENES} == {p.url_path for p in PAGES[1:]}
    assert [s.problem for s in scenes.lecture_plan()] == sorted(s.problem for s in SCENES)
    for minimum in ("vanishing", "exploding", "eq1-incomplete", "raster-wavefront", "cost-model", "time-grows",
                    "what-one-cell-sees", "gradients-vanish", "float-drifts", "exact-comes-home", "det-beta-d",
                    "hypergradients"):
        assert minimum in BY_KEY


@pytest.mark.parametrize("scene", SCENES, ids=[s.key for s in SCENES])
def test_a_scene_sets_only_known_controls_away_from_their_defaults(scene):
    at = open_scene(scene.key)
    bound = at.session_state["_bound"]
    for key, value in scene.query.items():
        assert key in bound, f"{key} is not a control of {scene.page}"
        parsed = bound[key].parse(value)
        assert parsed == scenes.literal(value) and type(parsed) is type(scenes.literal(value)), key
        assert parsed != bound[key].default, f"{key}={value} is the default already"
        assert at.session_state[key] == parsed, key
    assert claim_shown(at, scene.key), "the page states the scene's claim"


def test_lecture_plan_on_the_home_page_links_every_scene_in_order():
    at = open_app()
    plan = [el.proto for el in at.get("page_link") if "scene=" in el.proto.query_string]
    assert [p.query_string for p in plan] == [f"scene={s.key}" for s in scenes.lecture_plan()]
    text = " ".join(m.value for m in at.markdown)
    for n, words in PROBLEMS.items():
        assert f"**Problem {n}:** {words} (*" in text


@pytest.mark.parametrize("key, page, control, moved_to", [
    ("vanishing", "lstm", "lstm_T", 20), ("cost-model", "mdrnn", "mdrnn_H", 16),
    ("gradients-vanish", "mdrnn-vs-conv", "mvc_G", 12), ("det-beta-d", "reversible", "rev_beta", 0.8)])
def test_a_scene_button_sets_the_same_view_as_its_link_and_moving_a_control_leaves_it(key, page, control,
                                                                                     moved_to):
    at = open_page(page, {"seed": "3"})
    at.button(key=f"scene_{key}").click().run()
    assert not at.exception and claim_shown(at, key)
    linked = open_scene(key)
    for k in BY_KEY[key].query:
        assert at.session_state[k] == linked.session_state[k], k
    assert at.number_input(key="seed").value == 3, "a scene keeps the lecturer's seed"
    at.slider(key=control).set_value(moved_to).run()
    assert not at.exception and not claim_shown(at, key), f"moving {control} leaves the scene"


# --- each scene's claim, from the page's own numbers -------------------------------------------


def test_eq1_incomplete():
    at = open_scene("eq1-incomplete")
    text = page_text(at)
    assert text.count(":orange-badge[:material/error: incomplete]") == 1
    chained = frame_of(at, "w̄_ix").set_index("eqs (1)-(6) then (9)")["w̄_ix"]
    assert chained["as written: eqs (1)-(6), (9)"] == 0.0
    assert chained["hand BPTT"] != 0.0
    assert chained["corrected: ∂L/∂h(t), tanh, biases"] == pytest.approx(chained["hand BPTT"], rel=1e-6)


def test_vanishing_vanishes():
    at = open_scene("vanishing")
    assert number(metrics(at)["|h̄(1)| / |h̄(T)|"]) < 1e-12
    h_bar = chart_traces(at)["|h̄(t)|"]["y"]
    assert h_bar[0] < 1e-12 * h_bar[-1]


def test_exploding_overflows_and_says_so():
    at = open_scene("exploding")
    assert any("overflowed" in w.value and "lower the weight scale" in w.value for w in at.warning)
    assert at.session_state["_shared"].run.precision == "float32"
    assert "T = 200 and H = 32" in page_text(at)  # the page's own recipe is this scene


def test_gradient_check_names_vanished_entries_and_fails_none():
    at = open_scene("gradient-check")
    text = page_text(at)
    assert ":green-badge[" in text and "vanished (below the noise level" in text
    table = frame_of(at, "vanished")
    assert table["failed"].sum() == 0 and table["vanished"].sum() > 0
    assert table.set_index("array").loc[["h0", "c0"], "vanished"].sum() > 0


def test_cost_model_measured_equals_the_exact_model_not_the_seeds():
    at = open_scene("cost-model")
    table = frame_of(at, "measured / this").set_index("what")
    exact = next(w for w in table.index if w.startswith("exact"))
    seed = next(w for w in table.index if w.startswith("seed"))
    assert table.loc[exact, "measured / this"] == 1.0
    assert table.loc["measured: raster", "multiply-adds"] == table.loc[exact, "multiply-adds"]
    assert table.loc[seed, "measured / this"] > 1.0


def test_raster_against_wavefront_counts_g_squared_and_2g_minus_1():
    m = metrics(open_scene("raster-wavefront"))
    assert number(m["Raster steps"]) == 8**2 and number(m["Wavefront steps"]) == 2 * 8 - 1


def test_time_grows_like_the_counted_work():
    at = open_scene("time-grows")
    slopes = frame_of(at, "counted multiply-adds").set_index(["against", "schedule"])
    for s in ("raster", "wavefront"):
        assert slopes.loc[("G", s), "counted multiply-adds"] == pytest.approx(2.0, abs=0.15)
        assert slopes.loc[("G", s), "exact model"] == pytest.approx(slopes.loc[("G", s), "counted multiply-adds"])
    assert slopes.loc[("G", "raster"), "steps"] == pytest.approx(2.0, abs=0.01)
    assert slopes.loc[("G", "wavefront"), "steps"] == pytest.approx(1.0, abs=0.15)


def test_what_one_cell_sees_is_exactly_each_models_context():
    at = open_scene("what-one-cell-sees")
    table = frame_of(at, "exactly its context").set_index("model")
    assert table["exactly its context"].all()
    seen = table["cells seen (S > 0)"]
    assert seen[seen.index.str.contains("4 dir")].eq(16 * 16).all()  # four directions: the whole grid
    one = seen[seen.index.str.contains("1 dir")]
    assert one.eq(9 * 6).all()  # one direction: the quadrant above-left of (8, 5), rows 0-8, columns 0-5
    assert seen[seen.index.str.startswith("conv")].item() == 7 * 7  # L(k - 1) + 1 = 7


def test_gradients_vanish_for_the_tanh_mdrnn_and_the_mdlstm_keeps_them():
    at = open_scene("gradients-vanish")
    factors = frame_of(at, "factor per step (mean)").set_index("model")["factor per step (mean)"]
    tanh = factors[factors.index.str.contains("(tanh)", regex=False)].item()
    stable = factors[factors.index.str.contains("(stable)", regex=False)].item()
    assert tanh < 2 / 3 and stable > 0.9


def test_float_drifts_and_does_not_come_home():
    m = metrics(open_scene("float-drifts"))
    assert m["bit for bit"] == "no" and number(m["max error back"]) > 1e-3


def test_exact_comes_home_bit_for_bit():
    at = open_scene("exact-comes-home")
    m = metrics(at)
    assert m["bit for bit"] == "yes" and m["max error back"] == "0"
    assert "650" in page_text(at)  # the digits' 650 parameters


def test_the_buffer_grows_by_words_along_its_bound():
    at = open_scene("buffer-grows")
    traces = chart_traces(at)
    stored, bound = traces["bits stored (words + heads)"]["y"], traces["bound Σ D log₂(1/β)"]["y"]
    D = 2
    assert stored[0] == 64 * D and stored[-1] >= stored[0] + 10 * 32
    assert all((b - a) % 32 == 0 for a, b in itertools.pairwise(stored))
    assert all(s >= b and s - b <= 64 * D for s, b in zip(stored, bound, strict=True))


def test_det_is_beta_to_the_d():
    at = open_scene("det-beta-d")
    m = metrics(at)
    ratio = next(v for k, v in m.items() if k.startswith("area after"))
    assert number(ratio) == pytest.approx(1.0, abs=1e-6)
    assert number(m["det ∂s(k+1)/∂s(k) for D = 1"]) == 0.9


def test_hypergradients_agree_with_finite_differences_and_land_exactly():
    m = metrics(open_scene("hypergradients"))
    assert number(m["max relative error vs finite differences"]) < 1e-4
    assert m["reverse pass landed on θ(0) exactly"] == "yes"


# --- the page text's own "try this" -------------------------------------------------------------


@pytest.mark.parametrize("precision, steps, leaves", [("float32", 200, True), ("float64", 400, True),
                                                      ("float64", 100, False)])
def test_the_float_inverse_leaves_when_the_page_says(precision, steps, leaves):
    """"float32 after about 200 steps, float64 after about 400" (the trajectory's caption)."""
    at = open_page("reversible", {"rev_arith": "float", "precision": precision, "rev_steps": str(steps)})
    assert "float32 after about 200 steps, float64 after about 400" in page_text(at)
    error = number(metrics(at)["max error back"])
    assert (error > 1e-2) if leaves else (error < 1e-6)
