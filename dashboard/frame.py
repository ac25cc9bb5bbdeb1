"""The frame every page shares: the sidebar, the title, the scenes, and where the controls and
the results go, at a desk or in lecture mode; the one-line link warning; the theme.

At a desk (1440 x 900) a page is a title, its introduction, a strip of scenes, and two columns:
controls on the left, tabs and results on the right. In lecture mode (a projector at 1280 x 720
or 1920 x 1080) the sidebar starts folded away, the controls fold into a *Settings* panel and the
introduction into *About*, both in one strip with the scenes, so the results start on
the first screen at full width; text, metrics and plot text are enlarged (``LECTURE_CSS``,
``plots.lecture_fonts``). ``app.py`` calls :func:`sidebar` before the page and :func:`finish`
after it; a page calls :func:`page` once.
"""

from __future__ import annotations

import functools
import gc
from dataclasses import dataclass
from typing import Any, TypeVar

import streamlit as st

from core.config import Config, RunConfig, param
from dashboard import links, scenes, site, widgets
from dashboard.scenes import Scene

C = TypeVar("C", bound=Config)
THEMES = ("browser", "light", "dark")
SHARED_KEYS = ("lecture", "theme", "backend", "precision", "seed")  # the sidebar's keys
SCENE_SHARED_KEYS = ("precision",)  # sidebar keys a scene sets (others keep the lecturer's choice)


@dataclass(frozen=True)
class Display(Config):
    """How the lab is shown: lecture mode and the theme (the sidebar; kept in the link)."""

    lecture: bool = param(False, label="Lecture mode",
                          help="for a projector: the sidebar and the controls fold away, results start on "
                               "the first screen, text and figures are enlarged")
    theme: str = param("browser", choices=THEMES, label="Theme",
                       help="browser: light or dark as the browser prefers; light or dark: always")


LECTURE_CSS = """
<style>
html, body, [data-testid="stAppViewContainer"] { font-size: 20px; }
[data-testid="stMainBlockContainer"] { padding-top: 3.4rem; padding-bottom: 3rem;
  padding-left: 2.2rem; padding-right: 2.2rem; max-width: 100%; }
h1 { font-size: 2.0rem !important; padding: 0 0 0.4rem 0 !important; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li { font-size: 1.1rem; }
[data-testid="stWidgetLabel"] p { font-size: 1rem; overflow-wrap: normal; word-break: keep-all; }
[data-testid="stMetricLabel"] p { font-size: 1rem; }
[data-testid="stMetricValue"], [data-testid="stMetricValue"] p { font-size: 2.4rem; line-height: 1.2; }
[data-testid="stTab"] p { font-size: 1.1rem; }
[data-testid="stSidebarNav"] span { white-space: normal; }
.stButton button, [data-testid="stPopover"] button { min-height: 2.1rem; padding: 0.1rem 0.7rem; }
.stButton button p, [data-testid="stPopover"] button p { font-size: 0.85rem; }
.katex { font-size: 1.2em; }
</style>
"""

# Three things the browser needs from the page, run once per page:
# 0. An equation wider than its box (a narrow column, the About panel) is scaled down to fit, to
#    no less than half its size, instead of running out of the box.
# 1. Plotly rejects the promise of an animation that a later one interrupts (Pause stopping Play),
#    with no reason, and nothing catches it: the console shows an uncaught Error('undefined') though
#    nothing went wrong. A rejection without a reason is marked handled; any other still shows.
# 2. Streamlit picks its light or dark theme from the browser's preference; a link's
#    ?embed_options=light_theme (or dark_theme) forces one. The script keeps that forced choice in
#    step with the sidebar's Theme control: it reloads once into the chosen theme when the page is in
#    the other one, and otherwise only rewrites the address bar, so the link reopens in that theme.
PAGE_SCRIPT = """
<script data-page="%(page)s">
(() => {
  if (!window.recurrenceLabQuietAnimations) {
    window.recurrenceLabQuietAnimations = true;
    window.addEventListener("unhandledrejection", e => { if (e.reason === undefined) e.preventDefault(); });
    const fit = () => document.querySelectorAll(".katex-display > .katex").forEach(k => {
      k.style.fontSize = "";  // measured at its own size (a panel's width can follow its content)
      const box = k.parentElement.clientWidth;
      if (box && k.scrollWidth > box) k.style.fontSize = Math.max(50, Math.floor(100 * box / k.scrollWidth)) + "%%";
    });
    let queued = false;
    const later = () => { if (!queued) { queued = true; requestAnimationFrame(() => { queued = false; fit(); }); } };
    new MutationObserver(later).observe(document.body, {childList: true, subtree: true});
    window.addEventListener("resize", later);
    document.addEventListener("click", () => setTimeout(later, 300));  // a panel that opens
  }
  const want = "%(theme)s";
  const url = new URL(window.location.href);
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app) return;
  const rgb = (getComputedStyle(app).backgroundColor.match(/[0-9.]+/g) || [255, 255, 255]).map(Number);
  const active = (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) < 128 ? "dark" : "light";
  const forced = url.searchParams.getAll("embed_options").filter(o => o.endsWith("_theme"));
  const keep = url.searchParams.getAll("embed_options").filter(o => !o.endsWith("_theme"));
  url.searchParams.delete("embed_options");
  keep.forEach(o => url.searchParams.append("embed_options", o));
  if (want !== "browser") url.searchParams.append("embed_options", want + "_theme");
  const system = window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  const shown = want === "browser" ? system : want;
  const key = "recurrence-lab-theme-reloads";
  const recent = Number(sessionStorage.getItem(key) || 0);
  if (active !== shown && recent < 2) {
    sessionStorage.setItem(key, String(recent + 1));
    window.location.replace(url.toString());
  } else {
    sessionStorage.removeItem(key);
    if (forced.join() !== url.searchParams.getAll("embed_options").filter(o => o.endsWith("_theme")).join())
      window.history.replaceState(window.history.state, "", url.toString());
  }
})();
</script>
"""


@functools.cache
def freeze_loaded() -> None:
    """Once per server process: what it has loaded by its first render (Streamlit, NumPy,
    pandas, plotly, the lab: over a million objects) leaves the garbage collector's view, which
    otherwise walked all of it in a full collection every few renders (90 ms each, measured
    with tests/load_classroom.py's server). What renders allocate is collected as before."""
    gc.collect()
    gc.freeze()


def sidebar(url_path: str) -> widgets.Shared:
    """The shared sidebar (display, backend, precision, seed, the device it runs on), after
    applying a scene the link names (``?scene=<key>``). Resets this run's link warning."""
    st.session_state["_link_problems"] = []
    st.session_state["_link_refused"] = set()
    st.session_state["_page"] = ""
    st.session_state.pop("_notes", None)
    _scene_from_link(url_path)
    from dashboard import compute

    bar = st.sidebar
    display = widgets.config_controls(Display, "", container=bar)
    run = widgets.config_controls(RunConfig, "", lecture=display.lecture, container=bar)
    device = compute.backend_report(run.backend)
    if device["error"]:
        bar.warning(device["error"], icon=":material/memory:")
    bar.caption(f"Runs on: **{device['backend']}**, {device['summary']}")
    if display.lecture:
        st.html(LECTURE_CSS)
    st.html(PAGE_SCRIPT % {"theme": display.theme, "page": url_path}, unsafe_allow_javascript=True)
    shared = widgets.Shared(run=run.replace(backend=device["backend"]), lecture=display.lecture,
                            theme=display.theme)
    st.session_state["_shared"] = shared
    st.session_state["_page"] = url_path
    return shared


@dataclass(frozen=True)
class Frame:
    """Where a page draws: its settings (``controls``) and its results (``main``)."""

    shared: widgets.Shared
    controls: Any
    main: Any

    @property
    def run(self) -> RunConfig:
        return self.shared.run

    @property
    def lecture(self) -> bool:
        return self.shared.lecture

    @property
    def columns(self) -> int:
        """Columns for a page's controls: several in lecture mode's wide settings panel."""
        return 3 if self.shared.lecture else 1

    def settings(self, cls: type[C], prefix: str, *, title: str = "", note: str = "", **options: Any) -> C:
        """The page's controls for one config (``widgets.config_controls``, laid out for the mode)
        under an optional ``title``, with an optional ``note`` after them; returns the config."""
        with self.controls:
            if title:
                st.subheader(title)
            cfg = widgets.config_controls(cls, prefix, lecture=self.lecture, columns=self.columns, **options)
            if note:
                st.caption(note)
        return cfg


def page(url_path: str, intro: str, latex: str = "", *, controls: bool = True, title: str = "") -> Frame:
    """Draw the frame of the page ``url_path`` (title, introduction, scenes) and return where the
    page's controls and results go (lecture mode: see the module docstring). ``controls=False``:
    a page without settings (the home page)."""
    shared = widgets.shared()
    st.title(title or site.page(url_path).title)
    st.session_state["_notes"] = st.container()  # the link warning and the scene's claim (finish())
    page_scenes = scenes.for_page(url_path)
    if shared.lecture:
        strip = st.container(horizontal=True, vertical_alignment="center", gap="small")
        settings = strip.popover("Settings", icon=":material/tune:") if controls else st.container()
        with strip.popover("About", icon=":material/info:", help="what this page shows, and its equation"):
            st.markdown(intro)
            if latex:
                st.latex(latex)
        _scene_buttons(strip, page_scenes)
        return Frame(shared, settings, st.container())
    st.markdown(intro)
    if latex:
        st.latex(latex)
    if page_scenes:
        _scene_buttons(st.container(horizontal=True, vertical_alignment="center", gap="small"), page_scenes,
                       caption="Scenes:")
    if not controls:
        return Frame(shared, st.container(), st.container())
    left, right = st.columns([1, 3], gap="large")
    return Frame(shared, left, right)


def finish() -> None:
    """After the page: the one-line warning naming every refused link value, and the claim of the
    scene the page is showing (while its settings are the scene's)."""
    notes = st.session_state.pop("_notes", None) or st
    if text := links.warning():
        notes.warning(text, icon=":material/link_off:")
    scene = active_scene()
    if scene is not None:
        notes.info(f"**Scene: {scene.name}.** {scene.claim}", icon=":material/slideshow:")


# --- scenes -----------------------------------------------------------------------------------


def _scene_keys(page: str) -> dict[str, links.Bound]:
    return {k: b for k, b in links.registry().items() if b.page == page or k in SCENE_SHARED_KEYS}


def apply_scene(scene: Scene) -> None:
    """Set every control of the scene's page to the scene's value or to its default (and the
    sidebar's precision likewise). A control not drawn yet in this session starts from the scene's
    value read as a literal (``scenes.literal``: a scene writes its numbers as their fields do)."""
    known = _scene_keys(scene.page)
    for key, bound in known.items():
        st.session_state[key] = bound.parse(scene.query[key]) if key in scene.query else bound.default
    for key, value in scene.query.items():
        if key not in known:
            st.session_state[key] = scenes.literal(value)
    st.session_state["_scene"] = scene.key


def _scene_from_link(url_path: str) -> None:
    key = st.query_params.get("scene")
    if key is None:
        return
    del st.query_params["scene"]
    scene = scenes.BY_KEY.get(key)
    if scene is None:
        links.problems().append(f"Scene = {links.inert(key)} (allowed: "
                                + ", ".join(s.key for s in scenes.SCENES) + ")")
    elif scene.page != url_path:
        st.switch_page(site.page(scene.page).script, query_params={"scene": key})
    else:
        apply_scene(scene)


def active_scene() -> Scene | None:
    """The scene last chosen on this page, while every control still holds its value."""
    scene = scenes.BY_KEY.get(st.session_state.get("_scene", ""))
    if scene is None or scene.page != st.session_state.get("_page"):
        return None
    for key, bound in _scene_keys(scene.page).items():
        want = bound.parse(scene.query[key]) if key in scene.query else bound.default
        if st.session_state.get(key, bound.default) != want:
            return None
    return scene


def _scene_buttons(where: Any, page_scenes: tuple[Scene, ...], caption: str = "") -> None:
    if caption and page_scenes:
        where.caption(caption)
    for scene in page_scenes:
        where.button(scene.name, key=f"scene_{scene.key}", on_click=apply_scene, args=(scene,), help=scene.claim)
