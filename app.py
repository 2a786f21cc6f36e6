"""Softmax Lab's entry point from a checkout: ``streamlit run app.py`` (installed: ``softmax-lab serve``).

It only composes the server: Streamlit's ``st.App`` with the pages in ``dashboard/main.py`` (page
config and navigation) and ``dashboard/server.py``'s parts: a lifespan that starts the job runner with
the server, so that its worker processes are warm before the first click, and stops it with the server,
the sign-in routes, and the gatekeeper in front of every request. ``dashboard/app.py`` is the same for
the installed package. No training logic lives here, and the server's process never trains.
"""

import streamlit as st

from dashboard.server import server_parts

app = st.App("dashboard/main.py", **server_parts())
