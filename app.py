"""Softmax Lab: the Streamlit entry point (``streamlit run app.py``).

It only composes: page config, the navigation between the pages in ``dashboard/`` (which share one run
store and one job runner per server process), and a last safety net so that an unexpected error is shown
as a message, never as a traceback. No training logic lives here.
"""

import logging

import streamlit as st

st.set_page_config(page_title="Softmax Lab", page_icon=":material/query_stats:", layout="wide")

pages = [
    st.Page("dashboard/train_page.py", title="Train", icon=":material/play_circle:", url_path="train",
            default=True),
    st.Page("dashboard/compare_page.py", title="Compare", icon=":material/compare_arrows:", url_path="compare"),
    st.Page("dashboard/inspect_page.py", title="Inspect a run", icon=":material/image_search:",
            url_path="inspect"),
    st.Page("dashboard/lessons_page.py", title="Lessons", icon=":material/school:", url_path="lessons"),
]
page = st.navigation(pages)
try:
    page.run()
except Exception as error:  # noqa: BLE001 - the last line of defence: a message, never a traceback
    logging.getLogger("softmax_lab").exception("page %s failed", page.title)
    st.error(f"Something went wrong on this page ({type(error).__name__}: {error}). "
             "Stored runs are safe; reload the page to try again.")
