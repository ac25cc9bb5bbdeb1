"""Every page in a real browser (headless Chromium): it renders, its main chart draws, and
no Streamlit exception shows. A screenshot per page lands in tests/artifacts/screenshots/."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from dashboard.site import PAGES
from tests import harness

pytestmark = pytest.mark.browser
# The lab must work offline in a lecture hall: no font, script or icon from the internet.
LOCAL = {"127.0.0.1", "localhost", "data", "blob"}


def _host(url: str) -> str:
    parsed = urlparse(url)
    return parsed.hostname or parsed.scheme


@pytest.mark.parametrize("spec", PAGES, ids=[p.url_path for p in PAGES])
def test_page_renders_in_chromium(browser, server_url, spec):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    hosts: set[str] = set()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda req: hosts.add(_host(req.url)))
    try:
        page.goto(harness.page_url(server_url, spec.url_path, spec is PAGES[0]))
        page.wait_for_selector('[data-testid="stSidebar"]', timeout=60_000)
        chart = page.wait_for_selector(".js-plotly-plot .main-svg", timeout=90_000)
        assert chart.is_visible()
        page.wait_for_timeout(500)  # let the last deltas settle before looking for errors
        assert page.query_selector('[data-testid="stException"]') is None
        page.screenshot(path=str(harness.SCREENSHOTS / f"{spec.url_path}.png"), full_page=True)
        assert not errors, errors
        assert hosts <= LOCAL, f"requests left this machine: {hosts - LOCAL}"
    finally:
        context.close()


def test_a_shared_link_reopens_the_same_view(browser, server_url):
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(harness.page_url(server_url, "home", True, "lecture=true&seed=42"))
        seed = page.wait_for_selector('[data-testid="stSidebar"] input[type="number"]',
                                      timeout=60_000)
        assert seed.input_value() == "42"
        lecture = page.get_by_role("switch", name="Lecture mode")
        assert lecture.is_checked()
    finally:
        context.close()



def test_two_sessions_keep_their_own_settings(browser, server_url):
    """One student's change never reaches another student's view."""
    a_ctx, b_ctx = browser.new_context(), browser.new_context()
    try:
        a, b = a_ctx.new_page(), b_ctx.new_page()
        a.goto(harness.page_url(server_url, "home", True, "seed=11"))
        b.goto(harness.page_url(server_url, "home", True, "seed=22&precision=float32"))
        seed = '[data-testid="stSidebar"] input[type="number"]'
        a.wait_for_selector(seed, timeout=60_000)
        b.wait_for_selector(seed, timeout=60_000)
        a.click('[data-testid="stSidebar"] [data-testid="stNumberInputStepUp"]')
        a.wait_for_function("() => new URLSearchParams(location.search).get('seed') === '12'",
                            timeout=30_000)
        a.get_by_text("float32", exact=True).click()
        a.wait_for_function("() => new URLSearchParams(location.search).get('precision') === 'float32'",
                            timeout=30_000)
        b.reload()
        b.wait_for_selector(seed, timeout=60_000)
        assert b.input_value(seed) == "22"
        assert "seed=22" in b.url and "precision=float32" in b.url
        assert a.input_value(seed) == "12"
    finally:
        a_ctx.close()
        b_ctx.close()


def test_a_tab_opens_on_click_and_is_kept_in_the_link(browser, server_url):
    """Only the open tab is drawn; clicking another draws it and puts it in the address bar."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(harness.page_url(server_url, "lstm", False))
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=90_000)
        page.get_by_role("tab", name="Backward pass").click()
        page.wait_for_function("() => new URLSearchParams(location.search).get('lstm_tab') === 'Backward pass'",
                               timeout=30_000)
        page.wait_for_selector('[data-testid="stMetric"]', timeout=60_000)
        assert page.get_by_text("|h̄(1)| / |h̄(T)|").count() >= 1
        page.reload()
        page.wait_for_selector('[data-testid="stMetric"]', timeout=60_000)
        assert page.get_by_role("tab", name="Backward pass").get_attribute("aria-selected") == "true"
    finally:
        context.close()


def test_a_chart_download_holds_its_numbers(browser, server_url):
    """The files are written only when a button is pressed (widgets.download_files): pressing
    one still delivers the chart's table."""
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(harness.page_url(server_url, "lstm", False, "seed=3"))
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
        with page.expect_download(timeout=30_000) as download:
            page.get_by_role("button", name="CSV").first.click()
        lines = open(download.value.path(), encoding="utf-8").read().splitlines()
        assert download.value.suggested_filename == "lstm_forward.csv"
        assert lines[0] == "t,unit,i,f,o,g,c,h" and len(lines) > 10
    finally:
        context.close()
