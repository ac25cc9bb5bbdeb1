"""Recurrence Lab: the entry point. Page config, the shared sidebar, navigation, run the page.

Start it with ``make run`` (or ``streamlit run app.py``).
"""

import streamlit as st
from streamlit import runtime

from core.backend import hold_blas_threads
from dashboard import frame
from dashboard.site import PAGES

# One BLAS thread for the server's whole life (once per process): a class's sessions are its
# parallelism, the pages' products are small, and a second thread spinning beside each one
# doubled the CPU a render cost. The pages' shell commands say --blas-threads 1 where they time.
# The garbage collector stops walking what the server loaded (frame.freeze_loaded).
# (Only in a served app: a test process that runs pages through AppTest keeps its own settings.)
if runtime.exists():
    hold_blas_threads(1)
    frame.freeze_loaded()

# Lecture mode starts with the sidebar folded away (from the link, or the toggle's last value).
lecture = st.session_state.get("lecture", st.query_params.get("lecture") == "true")
st.set_page_config(page_title="Recurrence Lab", page_icon="🔁", layout="wide",
                   initial_sidebar_state="collapsed" if lecture else "expanded")

sections: dict[str, list] = {}
for spec in PAGES:
    sections.setdefault(spec.section, []).append(
        st.Page(spec.script, title=spec.title, icon=spec.icon, url_path=spec.url_path,
                default=spec is PAGES[0]))
page = st.navigation(sections, position="sidebar")
frame.sidebar(page.url_path or PAGES[0].url_path)
try:
    page.run()
finally:
    frame.finish()
