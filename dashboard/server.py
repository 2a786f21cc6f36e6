"""The server's lifespan: what starts with ``streamlit run app.py`` and stops with it.

At start, the job runner: its worker processes boot (importing torch takes a second or two) and load
the data while nobody is looking yet, and its watch marks the runs a dead server left behind as
interrupted, before any page is opened. At stop, the runs this server was training end
``interrupted`` with their points, and the workers exit.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from dashboard.services import get_runner, start_background_services

SHUTDOWN_SECONDS = 5.0


@contextlib.asynccontextmanager
async def serve_runs(_app: object) -> AsyncIterator[None]:
    """st.App's lifespan hook."""
    start_background_services()
    yield
    try:
        get_runner().shutdown(cancel_running=False, timeout=SHUTDOWN_SECONDS)
    except Exception:  # noqa: BLE001 - stopping must never hang or crash the server's exit
        logging.getLogger("softmax_lab").exception("stopping the job runner failed")
