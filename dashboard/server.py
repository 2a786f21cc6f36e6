"""The server's lifespan: what starts with ``streamlit run app.py`` and stops with it.

At start, the server's services (``services.py``): the job runner's worker processes boot (importing
torch takes a second or two) and load the data while nobody is looking yet, and its liveness thread
marks the runs a dead server left behind as interrupted, before any page is opened; then the heap that
lives as long as the server is frozen out of the garbage collector's full passes. At stop, the runs
this server was training end ``interrupted`` with their points, and the workers exit.

``server_parts`` is everything ``st.App`` is given besides the pages: this lifespan, the sign-in routes
(``auth_routes.py``), the only writers of the identity cookies, and the gatekeeper (``gatekeeper.py``)
in front of every request. Both entry scripts (``app.py`` and ``dashboard/app.py``) pass it on.
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from starlette.middleware import Middleware

from dashboard.services import start_services, stop_services

SHUTDOWN_SECONDS = 5.0
log = logging.getLogger("softmax_lab")


@contextlib.asynccontextmanager
async def serve_runs(_app: object) -> AsyncIterator[None]:
    """st.App's lifespan hook."""
    try:
        if start_services().classroom_error:
            log.critical("classroom mode is misconfigured; every page says why: %s", start_services().classroom_error)
    except Exception:  # noqa: BLE001 - e.g. the database can't be opened: each page says why
        log.exception("the server's services could not start")
    freeze_startup_heap()
    yield
    try:
        stop_services(timeout=SHUTDOWN_SECONDS)
    except Exception:  # noqa: BLE001 - stopping must never hang or crash the server's exit
        log.exception("stopping the job runner failed")


def freeze_startup_heap() -> None:
    """Python's full collections walk every object alive. With torch, plotly and pandas loaded each took
    190-290 ms in this process (bench_class_traffic's slowest clicks were exactly those pauses), stopping
    every page at once. What is alive at start lives as long as the server: ``gc.freeze`` sets it aside,
    and the collector is left with the pages' own garbage."""
    import dashboard.charts  # noqa: F401 - plotly, numpy: what every page's charts import
    import dashboard.live  # noqa: F401 - and the live view's store and cache

    gc.collect()
    gc.freeze()


def server_parts() -> dict:
    """st.App's keyword arguments besides the pages: the lifespan, the sign-in routes, the gatekeeper."""
    from dashboard.auth_routes import ROUTES
    from dashboard.gatekeeper import Gatekeeper
    from softmax_core.classroom.addresses import trusted_proxies_from
    from softmax_core.settings import check_settings

    check_settings()  # a wrong SOFTMAX_LAB_* variable stops the server here, at start, named with what it allows
    gatekeeper = Middleware(Gatekeeper, proxies=trusted_proxies_from())
    return {"lifespan": serve_runs, "routes": ROUTES, "middleware": [gatekeeper]}
