"""Recurrence Lab: the entry point. Page config, the shared sidebar, navigation, run the page.

Start it with ``make run`` (or ``streamlit run app.py``).
"""

import streamlit as st

from dashboard import frame
from dashboard.site import PAGES

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
