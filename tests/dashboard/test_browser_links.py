"""Hostile link values in a real browser: whatever a shared link holds, nothing in the page is
live (no link, image or script from it), nothing is fetched from another host, and the one
warning that names the refused values stays short."""

from __future__ import annotations

from urllib.parse import urlencode, urlparse

import pytest

from dashboard.site import PAGES
from tests import harness

pytestmark = pytest.mark.browser
LOCAL = {"127.0.0.1", "localhost", "data", "blob"}
HOSTILE = ["[Your session expired: click here to log in](http://example.com/login)",
           "![x](http://example.com/x.png)", '<img src="http://example.com/y.png" onerror="alert(1)">',
           "A" * 5000, "nan", "-inf", "1e400", ""]
# The first three go to the sidebar's parameters, named first in the warning; then the page's own.
SIDEBAR = ["theme", "backend", "precision"]
KEYS = {"home": [*SIDEBAR, "seed", "lecture", "scene"],
        "lstm": [*SIDEBAR, "lstm_T", "lstm_weight_scale", "lstm_tab", "lstm_forget_bias", "lstm_loss"],
        "mdrnn": [*SIDEBAR, "mdrnn_Gr", "mdrnn_H", "mdrnn_tab", "mdrnn_Gc", "mdrnn_schedule"],
        "mdrnn-vs-conv": [*SIDEBAR, "mvc_G", "mvc_scale", "compare_tab", "mvc_k", "mvc_cell"],
        "reversible": [*SIDEBAR, "rev_steps", "rev_alpha", "reversible_tab", "rev_beta", "rev_objective"]}


def _host(url: str) -> str:
    parsed = urlparse(url)
    return parsed.hostname or parsed.scheme


@pytest.mark.parametrize("spec", PAGES, ids=[p.url_path for p in PAGES])
def test_hostile_link_values_stay_inert_text(browser, server_url, spec):
    keys = KEYS[spec.url_path]
    query = [*zip(keys, HOSTILE, strict=False), (keys[3], "5"), (keys[3], "7")]  # and one given thrice
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    hosts: set[str] = set()
    errors: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda req: hosts.add(_host(req.url)))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(harness.page_url(server_url, spec.url_path, spec is PAGES[0], urlencode(query)))
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=90_000)
        page.wait_for_timeout(1500)
        alerts = page.locator('[data-testid="stAlert"]').filter(has_text="The link's")
        assert alerts.count() == 1, "every refused value is named in one warning"
        alert = alerts.first
        text = alert.inner_text()
        assert len(text) < 1200, len(text)
        assert alert.locator("a, img, script, iframe").count() == 0, "nothing in the warning is live"
        assert alert.locator("code").count() >= 4, "echoed values are in code style"
        assert "[Your session expired: click here to log" in text  # the link's text (cut at 40), not a link
        assert "A" * 41 not in text  # a long value is cut short
        external = page.evaluate("""() => [...document.querySelectorAll('a[href], img[src]')]
            .map(e => e.href || e.src).filter(u => u.includes('example.com'))""")
        assert not external, external
        assert hosts <= LOCAL, f"requests left this machine: {hosts - LOCAL}"
        assert not dialogs and not errors, (dialogs, errors)
    finally:
        context.close()
