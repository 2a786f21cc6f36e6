"""Groups of runs a lesson trains together (exercise 1's three, five seeds, an A/B pair): submitted as
one tagged group, remembered in the session and the URL, found again in the store after a reload. In
classroom mode a group is its student's, and the policy starts it whole or not at all: it counts against
their active-run limit as one request.
"""

from __future__ import annotations

import uuid

import streamlit as st

from dashboard.classroom_gate import identity, own_runs
from dashboard.services import get_policy
from dashboard.url_state import runs_from_url, write_runs_to_url
from softmax_core.analysis.lessons import group_tags
from softmax_core.config import TrainConfig
from softmax_core.errors import LabError
from softmax_core.i18n import _
from softmax_core.runs.store import RunRequest, ScopedRuns


def submit_group(configs: dict[str, TrainConfig], lesson: str) -> list[int]:
    """Submit several runs tagged as one group of a lesson; returns their ids in order ([] and a message
    when they can't all start: nothing is started then)."""
    group = uuid.uuid4().hex[:8]
    requests = [RunRequest(config, f"{lesson}: {label}", group_tags(lesson, group, label))
                for label, config in configs.items()]
    try:
        return get_policy().start(identity(), requests)
    except LabError as error:
        st.error(_("Can't start: {error}").format(error=error))
        return []


def render_estimate(configs: list[TrainConfig]) -> bool:
    """Before the click: what these runs would cost a student against the class's limits; False (with
    what would fit) when the policy would refuse them."""
    estimate = get_policy().estimate(identity(), configs)
    if estimate.run_limit is None:
        return True
    if estimate.fits:
        st.caption(_("These runs {cost}.").format(cost=estimate.summary(plural=True)))
    elif estimate.fits_once_idle(configs):  # e.g. the same group again while the first trains: no refusal
        st.caption(_("Not now: {reason}.").format(reason=estimate.busy_summary()))
    else:
        st.warning(_("Too large to start: {refusal}. Wait for your runs to end, or ask your teacher.").format(
            refusal=estimate.refusal))
    return estimate.fits


def group_from_url_or_store(runs: ScopedRuns, lesson: str, key: str) -> list[int]:
    """This view's group: the session's, else the URL's (a student: of their own runs), else the newest
    in the store that this session may see (a student: their own)."""
    if key not in st.session_state:
        from_url = runs_from_url(key)
        mine = {run.id for run in own_runs(runs.get_runs(from_url))}
        st.session_state[key] = [run_id for run_id in from_url if run_id in mine] or runs.latest_group(lesson)
    return st.session_state[key]


def remember_group(key: str, run_ids: list[int]) -> None:
    st.session_state[key] = run_ids
    write_runs_to_url(run_ids, key)
