"""Groups of runs a lesson trains together (exercise 1's three, five seeds, an A/B pair): submitted as
one tagged group, remembered in the session and the URL, found again in the store after a reload.
"""

from __future__ import annotations

import uuid

import streamlit as st

from dashboard.services import get_runner
from dashboard.url_state import runs_from_url, write_runs_to_url
from softmax_core.config import TrainConfig
from softmax_core.lessons import group_tags
from softmax_core.store import RunStore


def submit_group(configs: dict[str, TrainConfig], lesson: str) -> list[int]:
    """Submit several runs tagged as one group of a lesson; returns their ids in order."""
    group = uuid.uuid4().hex[:8]
    runner = get_runner()
    return [runner.submit(config, f"{lesson}: {label}", group_tags(lesson, group, label))
            for label, config in configs.items()]


def group_from_url_or_store(store: RunStore, lesson: str, key: str) -> list[int]:
    """This view's group: the session's, else the URL's, else the newest in the store."""
    if key not in st.session_state:
        st.session_state[key] = runs_from_url(key) or store.latest_group(lesson)
    return st.session_state[key]


def remember_group(key: str, run_ids: list[int]) -> None:
    st.session_state[key] = run_ids
    write_runs_to_url(run_ids, key)
