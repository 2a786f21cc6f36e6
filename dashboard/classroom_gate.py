"""Classroom mode on the page: the join screen (class code and a display name), the teacher's login,
who this session acts as, and which runs it may see.

Without a class code configured, ``identity()`` is None everywhere and the app is the single-user app.
With one, every page first passes ``require_identity``: a student's token rides in the URL
(``?student=...``), so a reload or a copied link keeps them; the teacher's password is typed into a
form (never the URL) and checked against its hash, with a server-wide limiter against guessing. Every
check that matters (who may cancel a run, the active-run limit) is made again in the core.
"""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

from dashboard.render import escape_markdown
from dashboard.services import get_store
from softmax_core.classroom.auth import (
    ClassroomError,
    ClassroomSettings,
    GuessLimiter,
    clean_display_name,
    load_classroom_settings,
    new_token,
    token_digest,
)
from softmax_core.classroom.policy import Identity
from softmax_core.runs.store import RunRecord

TOKEN_PARAM = "student"


@st.cache_resource(show_spinner=False)
def classroom_settings() -> ClassroomSettings | None:
    """The class code and teacher's hash, from the environment or secrets.toml's [classroom]; None: off."""
    try:
        section = st.secrets.get("classroom")
    except Exception:  # noqa: BLE001 - no secrets.toml at all: classroom mode is simply off
        section = None
    return load_classroom_settings(section)


@st.cache_resource(show_spinner=False)
def password_limiter() -> GuessLimiter:
    """One limiter for the whole server, so that opening more tabs gives no more guesses."""
    return GuessLimiter()


def identity() -> Identity | None:
    """Who this session acts as (set by ``require_identity``); None in the single-user app."""
    return st.session_state.get("identity")


def resolve_identity() -> str:
    """Find who this session is (``identity()``); returns why a URL's token was refused, if it was."""
    st.session_state["identity"], refusal = None, ""
    if classroom_settings() is not None:
        st.session_state["identity"], refusal = _identity_from_session_or_url()
    return refusal


def require_identity(refusal: str = "") -> None:
    """In classroom mode, say who this is in the sidebar, or show the join screen and stop the page."""
    settings = classroom_settings()
    if settings is None:
        return
    found = identity()
    if found is None:
        render_join_screen(settings, refusal)
        st.stop()
    render_who_am_i(found)


def _identity_from_session_or_url() -> tuple[Identity | None, str]:
    if st.session_state.get("teacher"):
        return Identity.teacher(), ""
    token = st.query_params.get(TOKEN_PARAM) or st.session_state.get("student_token")
    if not token:
        return None, ""
    student = get_store().student_by_token(token_digest(token))
    if student is None:
        st.session_state.pop("student_token", None)
        return None, "This link's student token is not known in this class: join with the class code."
    st.session_state["student_token"] = token
    if st.query_params.get(TOKEN_PARAM) != token:
        st.query_params[TOKEN_PARAM] = token  # back in the URL after a page switch, for reloads and links
    return Identity(student.id, student.name), ""


def render_join_screen(settings: ClassroomSettings, refusal: str) -> None:
    st.title("Join the class")
    if refusal:
        st.error(refusal)
    with st.form("join_form"):
        code = st.text_input("Class code", key="join_code", help="Your teacher gives it to the class.")
        name = st.text_input("Your display name", key="join_name", max_chars=40,
                             help="What the class board shows next to your runs.")
        joined = st.form_submit_button("Join", type="primary")
    if joined:
        join_class(settings, code, name)
    with st.expander("I am the teacher"):
        render_teacher_login(settings)


def join_class(settings: ClassroomSettings, code: str, name: str) -> None:
    """Check the code, record the student, put their new token in the URL, and reload as them."""
    if not settings.code_matches(code):
        st.error("That is not this class's code: ask your teacher for it.")
        return
    try:
        name = clean_display_name(name)
        token = new_token()
        get_store().add_student(name, token_digest(token))
    except ClassroomError as error:
        st.error(str(error))
        return
    except KeyError:
        st.error(f"The name {escape_markdown(name)} is taken in this class: choose another.")
        return
    st.session_state["student_token"] = token
    st.query_params[TOKEN_PARAM] = token
    st.rerun()


def render_teacher_login(settings: ClassroomSettings) -> None:
    if not settings.teacher_password_hash:
        st.caption("No teacher's password is configured (see the README: python -m softmax_core teacher-password).")
        return
    with st.form("teacher_form"):
        password = st.text_input("Teacher's password", type="password", key="teacher_password")
        logged_in = st.form_submit_button("Log in")
    if not logged_in:
        return
    try:
        right = password_limiter().check(password, settings.teacher_password_hash)
    except ClassroomError as error:
        st.error(str(error))
        return
    if not right:
        st.error("Wrong password.")
        return
    st.session_state["teacher"] = True
    st.query_params.pop(TOKEN_PARAM, None)
    st.rerun()


def render_who_am_i(who: Identity) -> None:
    if who.is_teacher:
        st.sidebar.caption("Signed in as **the teacher**: you see every run and can cancel any.")
        if st.sidebar.button("Log out", key="teacher_logout"):
            st.session_state["teacher"] = False
            st.rerun()
        return
    st.sidebar.caption(f"Signed in as **{escape_markdown(who.name)}**. Bookmark this page's address: "
                       "it keeps you signed in.")


def visible(runs: Iterable[RunRecord], own_only: bool = False) -> list[RunRecord]:
    """The runs this session may see: all of them outside classroom mode or for the teacher; a
    student's own (and, unless ``own_only``, those shared to the board)."""
    who = identity()
    if who is None or who.is_teacher:
        return list(runs)
    return [run for run in runs if (who.owns(run) if own_only else who.can_see(run))]


def refuse_hidden(asked: Iterable[int], shown: Iterable[RunRecord]) -> None:
    """Say so, once, when the URL asks for runs this session may not see (a forged or shared link)."""
    hidden = sorted(set(asked) - {run.id for run in shown})
    if hidden:
        runs = ", ".join(f"#{run_id}" for run_id in hidden)
        st.error(f"Run {runs} belongs to another student or doesn't exist, so it isn't shown here.")
