"""The server process's shared objects: the RunStore, the JobRunner (its workers and liveness thread), the
CurveCache, and the classroom's settings, policy and door, made once per process and used by every
session and thread.

They belong to the server's lifespan (``server.py``), never to Streamlit's resource cache: Streamlit lets any
browser clear every cache on the server (the websocket's ``clear_cache`` message needs no login), and a
cleared runner would be rebuilt with a second pool of workers while the first lives on. A plain module
object is out of that message's reach. Pages run under AppTest have no lifespan, so the first page run
starts them there; ``stop_services`` ends them (the lifespan's exit, and the tests between cases).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import streamlit as st

from dashboard.curves import CurveCache, LessonRunCache
from softmax_core.classroom.auth import ClassDoor, ClassroomError, ClassroomSettings, load_classroom_settings
from softmax_core.classroom.class_code import weak_code_warning
from softmax_core.classroom.policy import ClassPolicy
from softmax_core.i18n import _
from softmax_core.runs.jobs import JobRunner
from softmax_core.runs.store import RunStore, StoreError


@dataclass
class ServerServices:
    """Everything one server process shares between its sessions."""

    store: RunStore
    runner: JobRunner
    curves: CurveCache
    classroom: ClassroomSettings | None  # None: the single-user app
    policy: ClassPolicy  # who may see, start, cancel and share each run
    door: ClassDoor | None  # how students and the teacher get in (classroom mode only)
    classroom_error: ClassroomError | None = None  # a misconfigured [classroom]: the app serves nothing but this
    # message, said in each reader's language when shown
    lesson_runs: LessonRunCache = field(default_factory=LessonRunCache)  # runs as the lessons read them


_current: ServerServices | None = None
_lock = threading.Lock()


def start_services() -> ServerServices:
    """The process's services, started on the first call (the lifespan's, or a page's under AppTest)."""
    global _current
    with _lock:
        if _current is None:
            store = RunStore()
            classroom, error = _read_classroom_settings()
            runner = JobRunner(store)
            door = ClassDoor(classroom, store.classroom) if classroom else None
            policy = ClassPolicy(classroom, store, runner)
            _current = ServerServices(store, runner, CurveCache(), classroom, policy, door, error)
        return _current


def stop_services(timeout: float = 10.0, cancel_running: bool = False) -> None:
    """Stop the runner and forget the services (the server's exit; the tests between cases)."""
    global _current
    with _lock:
        current, _current = _current, None
    if current is not None:
        current.runner.shutdown(cancel_running=cancel_running, timeout=timeout)


def services() -> ServerServices:
    return start_services()


def get_store() -> RunStore:
    return services().store


def get_runner() -> JobRunner:
    return services().runner


def get_curve_cache() -> CurveCache:
    return services().curves


def get_policy() -> ClassPolicy:
    return services().policy


def get_lesson_runs() -> LessonRunCache:
    return services().lesson_runs


def _read_classroom_settings() -> tuple[ClassroomSettings | None, ClassroomError | None]:
    """The [classroom] settings from the environment or secrets.toml, or why they can't be used."""
    try:
        secrets = dict(st.secrets)
    except Exception:  # noqa: BLE001 - no or unreadable secrets.toml: only the environment counts
        secrets = {}
    try:
        settings = load_classroom_settings(secrets)
    except ClassroomError as error:
        return None, error
    if settings and (warning := weak_code_warning(settings.code)):
        logging.getLogger("softmax_lab").warning(warning)  # the board tells the teacher too
    return settings, None


def open_store_or_stop() -> RunStore:
    """The store, or an error message on the page (and nothing else) if it can't be opened."""
    try:
        return get_store()
    except StoreError as error:
        st.error(_("The run database can't be used: {error}").format(error=error))
        st.stop()
