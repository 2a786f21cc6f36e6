"""Softmax Lab's entry point: ``streamlit run app.py``.

It only composes the server: Streamlit's ``st.App`` with the pages in ``dashboard/main.py`` (page
config and navigation), a lifespan (``dashboard/server.py``) that starts the job runner with the
server, so that its worker processes are warm before the first click, and stops it with the server, the
sign-in routes (``dashboard/auth_routes.py``), the only writers of the identity cookies, and the
gatekeeper (``dashboard/gatekeeper.py``) in front of every request: the client's address, the page
websocket's Origin, and each student's and address's traffic budget.
No training logic lives here, and the server's process never trains.
"""

import streamlit as st
from starlette.middleware import Middleware

from dashboard.auth_routes import ROUTES
from dashboard.gatekeeper import Gatekeeper
from dashboard.server import serve_runs
from softmax_core.classroom.addresses import trusted_proxies_from

# a wrong SOFTMAX_LAB_TRUSTED_PROXIES stops the server here, at start, with the entry it can't read
gatekeeper = Middleware(Gatekeeper, proxies=trusted_proxies_from())
app = st.App("dashboard/main.py", lifespan=serve_runs, routes=ROUTES, middleware=[gatekeeper])
