"""Recurrence Lab: the entry point. Page config, the shared sidebar, navigation, run the page.

Start it with ``make run`` (or ``streamlit run app.py``).
"""

import streamlit as st

from dashboard import widgets
from dashboard.site import PAGES

st.set_page_config(page_title="Recurrence Lab", page_icon="🔁",
                   layout="wide", initial_sidebar_state="expanded")

sections: dict[str, list] = {}
for spec in PAGES:
    sections.setdefault(spec.section, []).append(
        st.Page(spec.script, title=spec.title, icon=spec.icon, url_path=spec.url_path,
                default=spec is PAGES[0]))
page = st.navigation(sections, position="sidebar")
widgets.sidebar()
page.run()
