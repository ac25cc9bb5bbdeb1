"""A classroom at once: N concurrent browser sessions against one dashboard.

Starts the app on a free localhost port, opens N sessions in headless Chromium (several
browser contexts per browser process), and has each session open every page with its own
shared link (a different seed per student), wait for the main chart, then move a control
(the seed's step-up button) and wait for the chart again. Prints the median and 95th
percentile of the time until the main chart rendered, and how many sessions saw an error.

    .venv/bin/python -m tests.load_classroom --sessions 30 [--json] [--browsers 3]

``--per-page N`` then measures what each render costs the server, page by page: one session
alone opens each page with a new link and moves its control N times, and after each render
waits until the server is idle again, so that the server's CPU time since the click belongs to
that render alone (`server_cpu_per_render_by_page_s`: median, and the open and moves apart).

This is a benchmark, not a unit test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time

from dashboard.site import PAGES
from tests import harness

CHART = ".js-plotly-plot .main-svg"
EXCEPTION = '[data-testid="stException"]'
RUNNING = '[data-testid="stStatusWidget"]'


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def _wait_rendered(page, timeout_ms: float) -> None:
    await page.wait_for_selector(CHART, timeout=timeout_ms)
    await page.wait_for_selector(RUNNING, state="detached", timeout=timeout_ms)
    await page.wait_for_selector(CHART, timeout=timeout_ms)


async def student(context, base: str, index: int, timeout_ms: float) -> dict:
    """One session (a browser tab with its own Streamlit session): every page with its own
    link, then one control moved on each."""
    page = await context.new_page()
    page.set_default_timeout(timeout_ms)
    opened, moved, errors = [], [], []
    try:
        for spec in PAGES:
            url = harness.page_url(base, spec.url_path, spec is PAGES[0], f"seed={100 + index}")
            t0 = time.perf_counter()
            try:
                await page.goto(url)
                await _wait_rendered(page, timeout_ms)
                opened.append((spec.url_path, time.perf_counter() - t0))
                t0 = time.perf_counter()
                await page.click('[data-testid="stSidebar"] [data-testid="stNumberInputStepUp"]')
                await page.wait_for_function(
                    "v => new URLSearchParams(location.search).get('seed') === v",
                    arg=str(101 + index), timeout=timeout_ms)
                await _wait_rendered(page, timeout_ms)
                moved.append((spec.url_path, time.perf_counter() - t0))
                if await page.query_selector(EXCEPTION):
                    errors.append(f"{spec.url_path}: exception shown")
            except Exception as exc:  # a timeout or a crash counts as an error for this session
                errors.append(f"{spec.url_path}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    finally:
        await page.close()
    return {"open": opened, "move": moved, "errors": errors}


async def classroom(base: str, sessions: int, browsers: int, timeout_ms: float, nice: int = 0) -> dict:
    from playwright.async_api import async_playwright

    if nice:  # browsers started from here on yield the CPU to the server, already running
        os.nice(nice)
    async with async_playwright() as p:
        pool = [await p.chromium.launch(executable_path=harness.CHROMIUM, headless=True,
                                        args=harness.CHROMIUM_ARGS) for _ in range(browsers)]
        # One context per browser: its tabs share the HTTP cache (as a student's browser caches
        # the app's scripts), while each tab still has its own Streamlit session and state.
        contexts = [await b.new_context(viewport={"width": 1280, "height": 900}) for b in pool]
        t0, cpu0 = time.perf_counter(), harness.cpu_seconds(harness.SERVER_PIDS[-1])
        results = await asyncio.gather(*(student(contexts[i % browsers], base, i, timeout_ms)
                                         for i in range(sessions)))
        wall = time.perf_counter() - t0
        server_cpu = harness.cpu_seconds(harness.SERVER_PIDS[-1]) - cpu0
        for b in pool:
            await b.close()
    by_page = {p.url_path: {"open": [], "move": []} for p in PAGES}
    for r in results:
        for kind in ("open", "move"):
            for path, t in r[kind]:
                by_page[path][kind].append(t)
    opened = [t for times in by_page.values() for t in times["open"]]
    moved = [t for times in by_page.values() for t in times["move"]]
    failed = [r["errors"] for r in results if r["errors"]]
    return {
        "sessions": sessions,
        "pages": [p.url_path for p in PAGES],
        "chart_after_open_s": {"median": statistics.median(opened) if opened else None,
                               "p95": percentile(opened, 95) if opened else None,
                               "count": len(opened)},
        "chart_after_move_s": {"median": statistics.median(moved) if moved else None,
                               "p95": percentile(moved, 95) if moved else None,
                               "count": len(moved)},
        # per page: the median time until its main chart rendered, after opening it (a whole page
        # load: the browser fetches and starts the app's frontend too) and after moving a control
        "by_page_median_s": {path: {k: statistics.median(v) if v else None for k, v in times.items()}
                             for path, times in by_page.items()},
        "sessions_with_errors": len(failed),
        "errors": [e for errs in failed for e in errs][:20],
        "wall_seconds": wall,
        # CPU the dashboard server used for the whole classroom, and per page load or control move
        "server_cpu_seconds": server_cpu,
        "server_cpu_per_render_s": server_cpu / max(1, len(opened) + len(moved)),
        "machine_cores": os.cpu_count(),
    }


IDLE_RATE = 0.012  # CPU seconds per second below which the server counts as idle (its idle ticks: 5-7 ms/s)


async def _idle_cpu(pid: int, quiet_s: float = 0.4, timeout_s: float = 60.0) -> float:
    """The server's CPU seconds when its work was over: the reading at the start of the first
    ``quiet_s`` in which it used less than :data:`IDLE_RATE` (the clock reads to the nanosecond,
    so the figure is not rounded to the old 10 ms ticks of /proc)."""
    readings = [(time.perf_counter(), harness.cpu_seconds(pid))]
    while readings[-1][0] - readings[0][0] < timeout_s:
        await asyncio.sleep(0.05)
        now = (time.perf_counter(), harness.cpu_seconds(pid))
        readings.append(now)
        past = [r for r in readings if r[0] <= now[0] - quiet_s]
        if past and now[1] - past[-1][1] < IDLE_RATE * (now[0] - past[-1][0]):
            return past[-1][1]
    return readings[-1][1]


async def per_page(base: str, moves: int, timeout_ms: float) -> dict:
    """One session alone: each page opened with a new link, then its seed moved ``moves`` times;
    the server's CPU time for each render, measured from idle to idle."""
    from playwright.async_api import async_playwright

    pid = harness.SERVER_PIDS[-1]
    out: dict[str, dict] = {}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=harness.CHROMIUM, headless=True,
                                          args=harness.CHROMIUM_ARGS)
        page = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
        page.set_default_timeout(timeout_ms)
        for n, spec in enumerate(PAGES):
            seed = 1000 + 100 * n
            cpu = await _idle_cpu(pid)
            await page.goto(harness.page_url(base, spec.url_path, spec is PAGES[0], f"seed={seed}"))
            await _wait_rendered(page, timeout_ms)
            opened = (await _idle_cpu(pid)) - cpu
            moved = []
            for m in range(1, moves + 1):
                cpu = await _idle_cpu(pid)
                await page.click('[data-testid="stSidebar"] [data-testid="stNumberInputStepUp"]')
                await page.wait_for_function("v => new URLSearchParams(location.search).get('seed') === v",
                                             arg=str(seed + m), timeout=timeout_ms)
                await _wait_rendered(page, timeout_ms)
                moved.append((await _idle_cpu(pid)) - cpu)
            errors = 1 if await page.query_selector(EXCEPTION) else 0
            out[spec.url_path] = {"median": statistics.median([opened, *moved]), "open": opened,
                                  "moves_median": statistics.median(moved) if moved else None,
                                  "moves": moved, "errors": errors}
        await browser.close()
    return out


def run(sessions: int, browsers: int = 3, timeout_s: float = 180.0, nice: int = 0, moves: int = 0) -> dict:
    with harness.streamlit_server() as base:
        report = asyncio.run(classroom(base, sessions, browsers, timeout_s * 1000, nice)) if sessions else {
            "sessions": 0, "sessions_with_errors": 0}
        if moves:
            report["server_cpu_per_render_by_page_s"] = asyncio.run(per_page(base, moves, timeout_s * 1000))
        return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.load_classroom", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=30, help="concurrent students (default 30)")
    parser.add_argument("--browsers", type=int, default=3, help="Chromium processes (default 3)")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds per wait (default 180)")
    parser.add_argument("--nice-browsers", type=int, default=0, metavar="N",
                        help="run the browsers at niceness N (e.g. 19), so the server gets the CPU first, as "
                             "when students' browsers run on their own machines (default 0)")
    parser.add_argument("--per-page", type=int, default=0, metavar="N",
                        help="then, one session alone: open each page and move its control N times, and "
                             "measure the server's CPU time per render, page by page (default 0: not)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    if reason := harness.browser_unavailable():
        print(f"error: {reason}", file=sys.stderr)
        return 2
    if (not 0 <= args.sessions <= 200 or not 1 <= args.browsers <= 16 or not 0 <= args.nice_browsers <= 19
            or not 0 <= args.per_page <= 100 or not args.sessions + args.per_page):
        print("error: choose 0 to 200 sessions, 1 to 16 browsers, a niceness of 0 to 19 and --per-page 0 to 100 "
              "(sessions or --per-page above 0)", file=sys.stderr)
        return 2
    report = run(args.sessions, args.browsers, args.timeout, args.nice_browsers, args.per_page)
    report["browsers_niceness"] = args.nice_browsers
    by_page = report.get("server_cpu_per_render_by_page_s", {})
    errors = report["sessions_with_errors"] + sum(m["errors"] for m in by_page.values())
    if args.json:
        print(json.dumps(report, indent=2))
        return 0 if errors == 0 else 1
    for path, m in by_page.items():
        print(f"server CPU per render, {path}: median {m['median']:.3f} s (open {m['open']:.3f} s, "
              f"moves {m['moves_median']:.3f} s over {len(m['moves'])})" + (" ERROR shown" if m["errors"] else ""))
    if report["sessions"]:
        for key in ("chart_after_open_s", "chart_after_move_s"):
            r = report[key]
            print(f"{key}: median {r['median']:.2f} s, p95 {r['p95']:.2f} s over {r['count']} loads")
        for path, m in report["by_page_median_s"].items():
            fmt = lambda v: "-" if v is None else f"{v:.2f} s"  # noqa: E731
            print(f"  {path or 'home'}: open {fmt(m['open'])}, move {fmt(m['move'])} (medians)")
        print(f"sessions with errors: {report['sessions_with_errors']} of {report['sessions']}")
        print(f"wall time: {report['wall_seconds']:.1f} s; the server used {report['server_cpu_seconds']:.1f} "
              f"CPU-s ({report['server_cpu_per_render_s']:.2f} per render) on {report['machine_cores']} cores")
        for e in report["errors"]:
            print(f"  {e}")
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
