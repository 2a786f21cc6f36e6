"""The server process's shared objects, made once and used by every session and thread: the RunStore,
the JobRunner (its workers and run watch) and the CurveCache.
"""

from __future__ import annotations

import streamlit as st

from dashboard.curves import CurveCache
from softmax_core.runs.jobs import JobRunner
from softmax_core.runs.store import RunStore, StoreError


@st.cache_resource(show_spinner=False)
def get_store() -> RunStore:
    """The one RunStore of this server process (thread-safe, shared by every session)."""
    return RunStore()


@st.cache_resource(show_spinner=False)
def get_runner() -> JobRunner:
    """The one JobRunner of this server process, made when the server starts (``server.py``), so its
    workers are warm before the first Start; runs outlive pages, tabs and sessions."""
    return JobRunner(get_store())


@st.cache_resource(show_spinner=False)
def get_curve_cache() -> CurveCache:
    """Every run's curves as read so far, shared by every viewer (a poll reads only new points)."""
    return CurveCache(get_store())


def start_background_services() -> None:
    """Start the job runner (workers, run watch) unless it is up; if the store can't be opened, the
    page says so itself."""
    try:
        get_runner()
    except StoreError:
        pass


def open_store_or_stop() -> RunStore:
    """The store, or an error message on the page (and nothing else) if it can't be opened."""
    try:
        return get_store()
    except StoreError as error:
        st.error(f"The run database can't be used: {error}")
        st.stop()
