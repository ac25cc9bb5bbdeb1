"""Home: what the lab is, the three recurrences, the lecture plan, and which page answers which
seed problem."""

import streamlit as st

from dashboard import compute, frame, scenes, site, widgets
from dashboard.site import PAGES

page = frame.page(
    "home",
    "Three recurrences, each **run forward**, **differentiated backward**, and (the last one) "
    "**inverted exactly**. Each of the thirty numbered equations of the homework solution this lab "
    "grew from (the *seed*) is evaluated with the lab's own functions, or the page says why there is "
    "nothing to evaluate (a definition, an argument that restates the question); where the seed is "
    "wrong, the page shows the seed's version, the corrected one, and the evidence.",
    controls=False, title="Recurrence Lab")

with page.main:
    widgets.chart(compute.overview_figure(page.lecture), {
        "recurrence": ["through time", "through a grid", "through training"],
        "state": ["LSTM h(t), c(t)", "MDRNN h(i, j)", "momentum SGD s = (p, θ)"],
        "sequential steps": ["T", "G² cell by cell, 2G−1 by anti-diagonals", "K, and K back"],
    }, "overview")

    st.subheader("Lecture plan")
    st.markdown("One scene per idea, in the order of the seed's problems: each link opens its page with the "
                "settings of that lesson (and says what to look for). Every page offers its scenes as buttons too.")
    plan = st.columns(2, gap="large")
    for problem in site.PROBLEMS:
        with plan[0 if problem <= 4 else 1]:
            these = [s for s in scenes.lecture_plan() if s.problem == problem]
            st.markdown(f"**Problem {problem}:** {site.PROBLEMS[problem]} (*{site.page(these[0].page).title}*)")
            for scene in these:
                st.page_link(site.page(scene.page).script, label=scene.name, icon=":material/slideshow:",
                             query_params={"scene": scene.key}, help=scene.claim)

    st.subheader("The three recurrences")
    cols = st.columns(3)
    cols[0].markdown(
        "**Through time.** An LSTM carries $h^{(t)}, c^{(t)}$ along a sequence. Backpropagation "
        "through time sends the adjoints $\\overline{h^{(t)}}, \\overline{c^{(t)}}$ back along the "
        "same chain (seed problems 1 and 2)."
    )
    cols[1].markdown(
        "**Through a grid.** A multi-dimensional RNN computes $h^{(i,j)}$ from its west and north "
        "neighbours: $G^2$ steps cell by cell, or $2G-1$ steps sweeping anti-diagonals "
        "(seed problems 3, 4 and 5)."
    )
    cols[2].markdown(
        "**Through training.** Momentum SGD maps $s^{(k)} = (p^{(k)}, \\theta^{(k)})$ to "
        "$s^{(k+1)}$. Its inverse exists, but each step shrinks volume by $\\beta^D$, so a "
        "floating-point inverse drifts unless the lost bits are stored (seed problems 6 and 7)."
    )

    st.subheader("Pages")
    for spec in PAGES[1:]:
        with st.container(border=True):
            st.page_link(spec.script, label=spec.title, icon=spec.icon)
            st.markdown(spec.summary + (f"  \n*Seed problems {spec.seed_problems}.*"
                                        if spec.seed_problems else ""))

    st.subheader("Using the lab")
    st.markdown(
        "- Every control is kept in the address bar: copy the link to share exactly this view.\n"
        "- *Lecture mode* (sidebar) folds the sidebar and the controls away, so results start on the first "
        "screen of a projector, and enlarges text and figures; *Theme* follows the browser or stays light "
        "or dark.\n"
        "- Every chart has CSV and JSON downloads; every tab that shows a number shows the shell command "
        "(`.venv/bin/python -m core ...`) that prints the same numbers.\n"
        "- The backend is NumPy on the CPU, or CuPy on an NVIDIA GPU where one is installed."
    )
    widgets.reproduce(["info", "--backend", page.run.backend],
                      "Prints versions, the backends available here and the device they run on.")
