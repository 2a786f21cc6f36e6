"""What a person can do to a run from a page: cancel it, and (a student, their own) share it to the class
board. The button callbacks live here so Train and Compare offer the same actions; who may do what is
decided by the core (``JobRunner.cancel`` refuses anyone but the owner and the teacher in classroom mode).
"""

from __future__ import annotations

import streamlit as st

from dashboard.classroom_gate import identity
from dashboard.services import get_runner
from softmax_core.classroom.auth import ClassroomError
from softmax_core.runs.store import RunRecord

CANCEL_SETTLE_SECONDS = 0.6  # a worker reads the flag within 0.1 s and stops within a step


def may_cancel(run: RunRecord) -> bool:
    """Whether to offer Cancel: outside classroom mode always; in it, to the owner and the teacher."""
    who = identity()
    return who is None or who.is_teacher or who.owns(run)


def render_cancel(run: RunRecord, container, key: str) -> None:
    """A Cancel button for an active run this session may cancel ('stopping…' once asked)."""
    if run.is_active and run.cancel_requested:
        container.caption("stopping…")
    elif run.is_active and may_cancel(run):
        container.button("Cancel", key=key, on_click=cancel_and_settle, args=(run.id,))


def render_share(run: RunRecord, container) -> None:
    """The owner's Share switch (classroom mode only)."""
    who = identity()
    if who is not None and who.owns(run):
        container.toggle("Share", value=run.shared, key=f"share_{run.id}", on_change=share_run, args=(run.id,),
                         help="Show this run on the class board and to your classmates on Compare.")


def cancel_and_settle(run_id: int) -> None:
    """Cancel, and give the worker a moment to stop, so the redraw right after the click shows the end."""
    runner = get_runner()
    try:
        cancelled = runner.cancel(run_id, by=identity())
    except ClassroomError as error:
        st.session_state["cancel_refusal"] = str(error)
        return
    if cancelled:
        runner.wait(run_id, CANCEL_SETTLE_SECONDS)


def share_run(run_id: int) -> None:
    who, store = identity(), get_runner().store
    if who is not None and who.owns(store.get_run(run_id)):
        store.set_shared(run_id, st.session_state[f"share_{run_id}"])


def show_cancel_refusal() -> None:
    if "cancel_refusal" in st.session_state:
        st.error(st.session_state.pop("cancel_refusal"))
