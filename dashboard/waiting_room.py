"""The waiting room's page: a student who joined while the teacher's waiting room is on sees only this
until the teacher lets them in from the board, and it moves on by itself when they do (a small fragment
asks the policy every few seconds, then reruns the whole app). The policy, not this page, keeps a
waiting student from starting or seeing runs.
"""

from __future__ import annotations

import streamlit as st

from dashboard.services import get_policy
from dashboard.text import as_text
from softmax_core.classroom.policy import Identity
from softmax_core.i18n import N_, _

WAIT_POLL_SECONDS = 2.0
WAITING_MESSAGE = N_("You are waiting for your teacher to let you in.")


def stop_while_waiting(who: Identity | None) -> None:
    """For a student in the waiting room: say so, watch for the teacher's admission, and stop the page."""
    if not get_policy().is_waiting(who):
        return
    st.title(_("Waiting room"))
    st.info(_("Hello {name}. You are waiting for your teacher to let you in. This page moves on by itself once "
              "they do.").format(name=as_text(who.name)), icon=":material/hourglass_top:")
    watch_for_admission(who)
    st.stop()


@st.fragment(run_every=WAIT_POLL_SECONDS)
def watch_for_admission(who: Identity) -> None:
    """Rerun the whole app once the teacher has let this student in (or sent them away)."""
    if not get_policy().is_waiting(who):
        st.rerun()
