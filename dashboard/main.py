"""The pages' entry (``app.py`` serves it): page config, the navigation between the pages in
``dashboard/`` (which share one run store and one job runner per server process), and a last safety
net so that an unexpected error is shown as a message, never as a traceback.

The job runner normally starts with the server (``server.py``); starting it here too costs nothing
when it is up, and keeps the pages working wherever they run without that hook (AppTest).
"""

import streamlit as st

from dashboard.render import shown_as_message
from dashboard.services import start_background_services

st.set_page_config(page_title="Softmax Lab", page_icon=":material/query_stats:", layout="wide")
start_background_services()

pages = [
    st.Page("train_page.py", title="Train", icon=":material/play_circle:", url_path="train",
            default=True),
    st.Page("compare_page.py", title="Compare", icon=":material/compare_arrows:", url_path="compare"),
    st.Page("inspect_page.py", title="Inspect a run", icon=":material/image_search:",
            url_path="inspect"),
    st.Page("lessons_page.py", title="Lessons", icon=":material/school:", url_path="lessons"),
]
shown_as_message(st.navigation(pages).run)()  # the last line of defence: a message, never a traceback
