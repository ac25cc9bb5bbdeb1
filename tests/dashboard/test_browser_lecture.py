"""Lecture mode in a real browser (headless Chromium) on a projector's screen, light and dark:
the sidebar folds away, a chart starts on the first screen, plot text is at least 18 px, labels
are never broken inside a word, metrics are larger than their labels, nothing is cut off. A
screenshot of each page lands in tests/artifacts/screenshots/ (lecture-<page>-<scheme>.png)."""

from __future__ import annotations

import json

import pytest

from dashboard.site import PAGES
from tests import harness
from tests.dashboard.lecture_probe import MEASURE, luminance

pytestmark = pytest.mark.browser
MIN_PLOT_TEXT = 18  # px
MIN_VISIBLE = 150  # px of a chart on the first screen
FIGURES = harness.ROOT / "tests" / "artifacts" / "lecture-figures.json"


def open_view(browser, server_url, spec, *, size=(1280, 720), scheme="light", query="lecture=true"):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, color_scheme=scheme)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(harness.page_url(server_url, spec.url_path, spec is PAGES[0], query))
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=90_000)
    page.wait_for_timeout(1500)  # fonts and the last deltas settle
    return context, page, errors


def record(name: str, values: dict) -> None:
    """The figures the lecture tests measured, kept for the notes (tests/artifacts/)."""
    data = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    data[name] = values
    FIGURES.write_text(json.dumps(data, indent=1, sort_keys=True))


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)], ids=["1280x720", "1920x1080"])
@pytest.mark.parametrize("spec", PAGES, ids=[p.url_path for p in PAGES])
def test_lecture_mode_fits_a_projector(browser, server_url, spec, size):
    context, page, errors = open_view(browser, server_url, spec, size=size)
    try:
        m = page.evaluate(MEASURE)
        assert m["sidebar"] == "folded", "the sidebar starts folded away"
        top = min(m["charts"])
        assert top <= size[1] - MIN_VISIBLE, f"the first chart starts at y = {top:.0f}"
        smallest = min(t["size"] for t in m["texts"])
        assert smallest >= MIN_PLOT_TEXT, [t for t in m["texts"] if t["size"] < MIN_PLOT_TEXT][:5]
        for metric in m["metrics"]:
            assert metric["value"] > metric["label"], metric
        assert not m["cut"], f"cut off: {m['cut']}"
        assert not m["equations"], f"equations overflow: {m['equations']}"
        assert m["wide"] == 0, "a table runs past the right edge"
        if size == (1280, 720):
            page.screenshot(path=str(harness.SCREENSHOTS / f"lecture-{spec.url_path}-light.png"))
        settings = page.get_by_role("button", name="Settings")
        if settings.count():
            settings.first.click()
            page.wait_for_timeout(800)
            m = page.evaluate(MEASURE)
            assert m["labels"], "the settings panel shows the controls"
        for label in m["labels"]:
            assert label["width"] + 0.5 >= label["longest"], f"{label['text']!r} is broken inside a word"
        assert not page.evaluate(MEASURE)["cut"]
        page.get_by_role("button", name="About").first.click()  # the introduction and its equation
        page.wait_for_timeout(1000)
        about = page.evaluate(MEASURE)
        assert not about["equations"], f"equations overflow the About panel: {about['equations']}"
        assert not errors, errors
        record(f"{spec.url_path} {size[0]}x{size[1]}", {"chart_top_px": round(top), "smallest_plot_text_px": smallest,
                                                         "labels_checked": len(m["labels"])})
    finally:
        context.close()


@pytest.mark.parametrize("spec", PAGES, ids=[p.url_path for p in PAGES])
def test_the_dark_preference_gives_a_dark_page_and_light_plot_text(browser, server_url, spec):
    context, page, errors = open_view(browser, server_url, spec, scheme="dark")
    try:
        m = page.evaluate(MEASURE)
        assert luminance(m["background"]) < 0.3, m["background"]
        ticks = [t for t in m["texts"] if t["axis"]]
        assert ticks and all(luminance(t["fill"]) > 0.5 for t in ticks), ticks[:3]
        assert min(t["size"] for t in m["texts"]) >= MIN_PLOT_TEXT
        page.screenshot(path=str(harness.SCREENSHOTS / f"lecture-{spec.url_path}-dark.png"))
        assert not errors, errors
    finally:
        context.close()


@pytest.mark.parametrize("spec", PAGES, ids=[p.url_path for p in PAGES])
def test_at_a_desk_equations_fit_and_nothing_is_cut(browser, server_url, spec):
    context, page, errors = open_view(browser, server_url, spec, size=(1440, 900), query="")
    try:
        m = page.evaluate(MEASURE)
        assert m["sidebar"] == "open"
        assert not m["equations"] and not m["cut"] and m["wide"] == 0
        for label in m["labels"]:
            assert label["width"] + 0.5 >= label["longest"], f"{label['text']!r} is broken inside a word"
        page.screenshot(path=str(harness.SCREENSHOTS / f"desk-{spec.url_path}.png"))
        assert not errors, errors
    finally:
        context.close()


def test_the_theme_control_switches_by_hand_and_stays_in_the_link(browser, server_url):
    context, page, errors = open_view(browser, server_url, PAGES[1], query="")
    try:
        assert luminance(page.evaluate(MEASURE)["background"]) > 0.7
        page.get_by_text("dark", exact=True).click()
        page.wait_for_function("() => new URLSearchParams(location.search).get('theme') === 'dark'", timeout=30_000)
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=90_000)
        page.wait_for_timeout(1500)
        assert luminance(page.evaluate(MEASURE)["background"]) < 0.3
        page.reload()
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=90_000)
        page.wait_for_timeout(1500)
        assert luminance(page.evaluate(MEASURE)["background"]) < 0.3, "the link reopens in the dark"
        assert not errors, errors
    finally:
        context.close()


def test_pausing_the_wavefront_animation_raises_no_error(browser, server_url):
    spec = next(p for p in PAGES if p.url_path == "mdrnn")
    context, page, errors = open_view(browser, server_url, spec, size=(1400, 1000), query="mdrnn_Gr=8&mdrnn_Gc=8")
    try:
        assert page.locator(".gtitle").first.text_content() == "wavefront: step 1 of 15"
        assert page.locator(".js-plotly-plot .heatmaplayer text").first.text_content() == "1"
        buttons = page.locator(".updatemenu-button")
        for _ in range(2):
            buttons.nth(0).click()  # ▶ Play
            page.wait_for_timeout(500)
            buttons.nth(1).click()  # ❚❚ Pause
            page.wait_for_timeout(500)
        assert not errors, errors
    finally:
        context.close()


# the dashed inverse path's segments, as drawn: their stroke opacity (0: not undone yet)
SEGMENTS = """() => Array.from(document.querySelectorAll('.scatterlayer .trace'))
    .map(t => t.querySelector('.js-line')).filter(l => l && l.style.strokeDasharray)
    .map(l => Number(getComputedStyle(l).strokeOpacity))"""


def test_the_momentum_animation_undoes_the_path_frame_by_frame(browser, server_url):
    """The inverse path is drawn once, in segments; the slider's frames show only the steps
    undone so far: none at k = K, about half at k = K/2, all at k = 0; the contours of J stay
    (plotly drops a contour trace from frames drawn without a redraw)."""
    spec = next(p for p in PAGES if p.url_path == "reversible")
    context, page, errors = open_view(browser, server_url, spec, size=(1400, 1000), query="")
    try:
        drawn = page.evaluate(SEGMENTS)  # before Play: everything undone
        assert len(drawn) >= 40 and all(o == 1 for o in drawn), drawn
        ticks = page.locator(".js-plotly-plot .slider-tick-rect")  # k = K first, 0 last
        touch = page.locator(".js-plotly-plot .slider-rail-touch-rect").first

        def choose(n: int) -> None:  # press the slider's rail where its n-th step lies
            touch.scroll_into_view_if_needed()
            rail, tick = touch.bounding_box(), ticks.nth(n).bounding_box()
            page.mouse.click(tick["x"] + tick["width"] / 2, rail["y"] + rail["height"] / 2)
            page.wait_for_timeout(500)

        choose(0)
        none = page.evaluate(SEGMENTS)
        assert not any(none), f"nothing is undone at k = K: {none}"
        choose(ticks.count() // 2)
        half = page.evaluate(SEGMENTS)
        assert 0.3 < sum(half) / len(half) < 0.7, half
        assert half[:sum(half)] == [1] * sum(half), "the segments next to k = K come first"
        assert page.locator(".js-plotly-plot .contourlayer path").count() > 10, "the contours of J are still drawn"
        assert not errors, errors
    finally:
        context.close()


def test_long_work_shows_a_progress_bar_with_the_step_and_the_time_left(browser, server_url):
    spec = next(p for p in PAGES if p.url_path == "mdrnn-vs-conv")
    query = "lecture=true&compare_tab=Warping+test&mvcw_epochs=8&mvcw_n_train=400&seed=7"
    context, page, errors = open_view(browser, server_url, spec, query=query)
    try:
        page.get_by_role("button", name="Train and test").click()
        bar = page.wait_for_selector('[data-testid="stProgress"]:has-text("s left")', timeout=60_000)
        text = bar.inner_text()
        assert "epoch" in text and "about" in text, text  # the step, and the time left
        page.wait_for_selector("text=What this says about the seed's claim", timeout=120_000)
        assert page.query_selector('[data-testid="stProgress"]') is None, "the bar goes when the work is done"
        assert not errors, errors
    finally:
        context.close()
