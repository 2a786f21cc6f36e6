"""What a person can do to a run from a page: cancel it, and (a student, their own) share it to the class
board. The button callbacks live here so Train, Compare and Inspect offer the same actions. Whether to
offer a button is asked of the classroom policy, and so is every click: ``ClassPolicy.cancel`` and
``share`` refuse anyone the rules don't allow, whatever the page showed.
"""

from __future__ import annotations

import streamlit as st

from dashboard.classroom_gate import identity
from dashboard.language import in_readers_language
from dashboard.services import get_policy, get_runner
from softmax_core.classroom.auth import ClassroomError
from softmax_core.i18n import _
from softmax_core.runs.store import RunRecord

CANCEL_SETTLE_SECONDS = 0.6  # a worker reads the flag within 0.1 s and stops within a step


def render_cancel(run: RunRecord, container, key: str) -> None:
    """A Cancel button for an active run this session may cancel ('stopping…' once asked)."""
    if run.is_active and run.cancel_requested:
        container.caption(_("stopping…"))
    elif run.is_active and get_policy().may_cancel(identity(), run):
        container.button(_("Cancel"), key=key, on_click=cancel_and_settle, args=(run.id,))


def render_share(run: RunRecord, container) -> None:
    """The owner's Share switch (classroom mode only)."""
    if get_policy().may_share(identity(), run):
        container.toggle(_("Share"), value=run.shared, key=f"share_{run.id}", on_change=share_run, args=(run.id,),
                         help=_("Show this run on the class board and to your classmates on Compare."))


def render_challenge_note(run: RunRecord) -> None:
    """Under the owner's Share: why this run, shared, won't count for the class's challenge (if it won't)."""
    challenge = get_policy().challenge_for(identity())
    if challenge is None or not get_policy().may_share(identity(), run):
        return
    reason = challenge.why_run_not_counted(run)
    if reason:
        st.caption(_("Share: {why}.").format(why=reason))


@in_readers_language  # a callback: a refusal it keeps is in the reader's language
def cancel_and_settle(run_id: int) -> None:
    """Cancel, and give the worker a moment to stop, so the redraw right after the click shows the end."""
    try:
        cancelled = get_policy().cancel(identity(), run_id)
    except ClassroomError as error:
        st.session_state["action_refusal"] = str(error)
        return
    if cancelled:
        get_runner().wait(run_id, CANCEL_SETTLE_SECONDS)


@in_readers_language
def share_run(run_id: int) -> None:
    try:
        get_policy().share(identity(), run_id, bool(st.session_state[f"share_{run_id}"]))
    except ClassroomError as error:
        st.session_state["action_refusal"] = str(error)


def show_action_refusal() -> None:
    if "action_refusal" in st.session_state:
        st.error(st.session_state.pop("action_refusal"))
