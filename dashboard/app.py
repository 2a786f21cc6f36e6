"""Softmax Lab's entry point inside the package: ``softmax-lab serve`` runs this file with Streamlit.

The same server as the checkout's ``app.py`` (``dashboard/server.py``'s parts, the pages of ``main.py``
beside this file), and Streamlit reads ``.streamlit/config.toml`` beside it, so the project's own
settings hold from whatever folder the command is started in. Streamlit finds the ``st.App`` call by
reading this file, which is why it is spelled out here rather than imported.
"""

import streamlit as st

from dashboard.server import server_parts

app = st.App("main.py", **server_parts())
