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
    tab_key: str = ""  # the URL parameter that holds the page's open tab


PAGES: tuple[PageSpec, ...] = (
    PageSpec("dashboard/pages/home.py", "Home", ":material/home:", "home",
             "What the lab is, the three recurrences, and where each page fits.", section="Start"),
    PageSpec("dashboard/pages/lstm.py", "LSTM through time", ":material/timeline:", "lstm",
             "An LSTM run forward and differentiated backward by hand: gates, cells, vanishing and "
             "exploding adjoints, and the seed's BPTT equations checked one by one.",
             seed_problems="1 and 2", section="Through time", tab_key="lstm_tab"),
    PageSpec("dashboard/pages/mdrnn.py", "MDRNN through a grid", ":material/grid_on:", "mdrnn",
             "A 2-D RNN cell by cell and by anti-diagonal wavefront: the wavefront animated, the "
             "multiply-adds counted against the seed's models, time against G and H, and the states "
             "over the grid.", seed_problems="3 and 4", section="Through a grid", tab_key="mdrnn_tab"),
    PageSpec("dashboard/pages/mdrnn_vs_conv.py", "MDRNN against a conv net", ":material/compare:",
             "mdrnn-vs-conv",
             "What one output cell of a grid RNN, an MDLSTM and a conv net can see, whether their "
             "gradients vanish with distance, what each costs, and a warping test of the claim that "
             "grid RNNs are more robust to distortion.", seed_problems="5", section="Through a grid",
             tab_key="compare_tab"),
    PageSpec("dashboard/pages/reversible.py", "Momentum SGD through training", ":material/history:",
             "reversible",
             "Train with momentum SGD, then run training backwards: float inverses drift like β⁻ᵏ, "
             "exact arithmetic with an information buffer returns bit for bit; det = βᴰ; hypergradients.",
             seed_problems="6 and 7", section="Through training", tab_key="reversible_tab"),
)


def page(url_path: str) -> PageSpec:
    """The page whose URL path is ``url_path``."""
    return next(p for p in PAGES if p.url_path == url_path)


# The seed's seven problems, in a few words each (the home page's lecture plan).
PROBLEMS: dict[int, str] = {
    1: "BPTT for the activations and the gates",
    2: "BPTT for the weight w̄_ix",
    3: "weights and arithmetic of a grid RNN",
    4: "steps when products run in parallel",
    5: "an MDRNN against a conv net",
    6: "the inverse of a momentum step",
    7: "the determinant of its Jacobian",
}
