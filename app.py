"""Softmax Lab's entry point: ``streamlit run app.py``.

It only composes the server: Streamlit's ``st.App`` with the pages in ``dashboard/main.py`` (page
config and navigation) and a lifespan (``dashboard/server.py``) that starts the job runner with the
server, so that its worker processes are warm before the first click, and stops it with the server, and
the sign-in routes (``dashboard/auth_routes.py``), the only writers of the identity cookies.
No training logic lives here, and the server's process never trains.
"""

import streamlit as st

from dashboard.auth_routes import ROUTES
from dashboard.server import serve_runs

app = st.App("dashboard/main.py", lifespan=serve_runs, routes=ROUTES)
