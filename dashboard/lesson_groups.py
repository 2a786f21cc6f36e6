"""Groups of runs a lesson trains together (exercise 1's three, five seeds, an A/B pair): submitted as
one tagged group, remembered in the session and the URL, found again in the store after a reload. In
classroom mode a group is its student's, and counts against their active-run limit as a whole.
"""

from __future__ import annotations

import uuid

import streamlit as st

from dashboard.classroom_gate import classroom_settings, identity, visible
from dashboard.services import get_runner
from dashboard.url_state import runs_from_url, write_runs_to_url
from softmax_core.analysis.lessons import group_tags
from softmax_core.classroom.auth import ClassroomError
from softmax_core.config import TrainConfig
from softmax_core.runs.jobs import RunLimitReached
from softmax_core.runs.store import RunStore


def submit_group(configs: dict[str, TrainConfig], lesson: str) -> list[int]:
    """Submit several runs tagged as one group of a lesson; returns their ids in order ([] and a message
    when the student's active-run limit leaves no room for the whole group)."""
    group = uuid.uuid4().hex[:8]
    runner, owner, settings = get_runner(), identity(), classroom_settings()
    limit = settings.max_active_runs if settings else None
    try:
        runner.check_room(owner, limit, len(configs))
        return [runner.submit(config, f"{lesson}: {label}", group_tags(lesson, group, label), owner=owner,
                              max_active=limit) for label, config in configs.items()]
    except (ClassroomError, RunLimitReached) as error:
        st.error(f"Can't start: {error}")
        return []


def group_from_url_or_store(store: RunStore, lesson: str, key: str) -> list[int]:
    """This view's group: the session's, else the URL's, else the newest in the store (this student's)."""
    if key not in st.session_state:
        who = identity()
        from_url = runs_from_url(key)
        if who is not None and not who.is_teacher:
            mine = {run.id for run in visible(store.get_runs(from_url), own_only=True)}
            from_url = [run_id for run_id in from_url if run_id in mine]
        owner_id = who.student_id if who is not None else None
        st.session_state[key] = from_url or store.latest_group(lesson, owner_id)
    return st.session_state[key]


def remember_group(key: str, run_ids: list[int]) -> None:
    st.session_state[key] = run_ids
    write_runs_to_url(run_ids, key)
