"""Softmax Lab: the Streamlit entry point (``streamlit run app.py``).

It only composes: page config, the server's background services (started by whichever page is opened
first: the worker processes warm up, and the watch that marks runs a dead server left behind as
interrupted begins), the navigation between the pages in ``dashboard/`` (which share one run store and
one job runner per server process), and a last safety net so that an unexpected error is shown as a
message, never as a traceback. No training logic lives here.
"""

import streamlit as st

from dashboard.shared import shown_as_message, start_background_services

st.set_page_config(page_title="Softmax Lab", page_icon=":material/query_stats:", layout="wide")
start_background_services()

pages = [
    st.Page("dashboard/train_page.py", title="Train", icon=":material/play_circle:", url_path="train",
            default=True),
    st.Page("dashboard/compare_page.py", title="Compare", icon=":material/compare_arrows:", url_path="compare"),
    st.Page("dashboard/inspect_page.py", title="Inspect a run", icon=":material/image_search:",
            url_path="inspect"),
    st.Page("dashboard/lessons_page.py", title="Lessons", icon=":material/school:", url_path="lessons"),
]
shown_as_message(st.navigation(pages).run)()  # the last line of defence: a message, never a traceback
