"""The pages of the lab, in navigation order: one entry per script in ``dashboard/pages/``.

``app.py`` builds ``st.navigation`` from this list, the home page describes each entry, and
the tests open every one of them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    script: str  # path relative to app.py
    title: str
    icon: str  # a Material Symbols name, bundled with Streamlit (works offline)
    url_path: str
    summary: str  # one sentence for the home page
    seed_problems: str = ""  # which problems of the seed homework the page answers
    section: str = "Lab"


PAGES: tuple[PageSpec, ...] = (
    PageSpec("dashboard/pages/home.py", "Home", ":material/home:", "home",
             "What the lab is, the three recurrences, and where each page fits.", section="Start"),
    PageSpec("dashboard/pages/lstm.py", "LSTM through time", ":material/timeline:", "lstm",
             "An LSTM run forward and differentiated backward by hand: gates, cells, vanishing and "
             "exploding adjoints, and the seed's BPTT equations checked one by one.",
             seed_problems="1 and 2"),
)
