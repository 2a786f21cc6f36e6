"""Classroom mode on the page: the join screen (class code and a display name), the teacher's login, who
this session acts as, and signing out.

Without a class code configured, ``identity()`` is None everywhere and the app is the single-user app.
With one, every page first passes ``require_identity``. A student's token is kept in this browser's
cookie, never left in the address bar, so a copied or projected link signs nobody in; a sign-in link
for another device (``?student=...``) is handed out only on request, and a link that would switch this
browser to someone else asks first. The teacher signs in with the password (in a form, never a URL) or
a one-time link from the server's console (``?teacher_link=...``), and stays signed in on that browser
through a session cookie. Every check that matters is made again in the core (``ClassPolicy``,
``ClassDoor``); this module only asks.
"""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from dashboard.browser_cookie import (
    MONTH_SECONDS,
    STUDENT_COOKIE,
    TEACHER_COOKIE,
    forget_in_browser,
    read_cookie,
    remember_in_browser,
)
from dashboard.services import get_policy, services
from dashboard.text import as_text
from dashboard.waiting_room import stop_while_waiting
from softmax_core.classroom.auth import TEACHER_SESSION_SECONDS, ClassDoor, ClassroomError
from softmax_core.classroom.policy import Identity
from softmax_core.runs.store import RunRecord, ScopedRuns

TOKEN_PARAM, TEACHER_LINK_PARAM = "student", "teacher_link"


def classroom_on() -> bool:
    return services().classroom is not None


def identity() -> Identity | None:
    """Who this session acts as (set by ``resolve_identity``); None in the single-user app."""
    return st.session_state.get("identity")


def reader() -> ScopedRuns:
    """The store's reads as this session may make them (the policy's scope, applied in SQL)."""
    return get_policy().reader(identity())


def shows_test_accuracy() -> bool:
    """Whether this session sees test accuracy (a student: only after the teacher's reveal)."""
    return get_policy().shows_test_accuracy(identity())


def held_out_name() -> str:
    """What this session's held-out accuracy is called: 'test', or 'validation' before the reveal."""
    return "test" if shows_test_accuracy() else "validation"


def own_runs(runs: list[RunRecord]) -> list[RunRecord]:
    """The runs this session started (a student's own; everyone's for the teacher and the single user)."""
    who = identity()
    return runs if who is None or who.is_teacher else [run for run in runs if who.owns(run)]


def client_address() -> str:
    """The browser's address as the server's socket saw it ('local' on this machine, or with no browser
    behind the session): what tries at the door are counted by."""
    try:
        address = st.context.ip_address
    except Exception:  # noqa: BLE001 - no browser behind this session (AppTest)
        address = None
    return address if isinstance(address, str) and address else "local"


def resolve_identity() -> str:
    """Find who this session is (``identity()``); returns why a link was refused, if it was."""
    st.session_state["identity"], refusal = None, ""
    door = services().door
    if door is not None:
        refusal = _teacher_from_link(door) or ""
        st.session_state["identity"] = _teacher(door) or _student(door)
        refusal = refusal or _follow_sign_in_link(door)
    return refusal


def _ignored() -> set:
    """Tokens this session has signed out of (the cookie the browser connected with may still hold one)."""
    return st.session_state.setdefault("ignored_tokens", set())


def _teacher(door: ClassDoor) -> Identity | None:
    session = st.session_state.get("teacher_session") or read_cookie(TEACHER_COOKIE)
    if session and session not in _ignored() and door.is_teacher_session(session):
        st.session_state["teacher_session"] = session
        return Identity.teacher()
    st.session_state.pop("teacher_session", None)
    return None


def _teacher_from_link(door: ClassDoor) -> str | None:
    link = st.query_params.get(TEACHER_LINK_PARAM)
    if not link:
        return None
    st.query_params.pop(TEACHER_LINK_PARAM, None)
    try:
        _sign_in_teacher(door.teacher_from_link(link))
    except ClassroomError as error:
        return str(error)
    return None


def _student(door: ClassDoor) -> Identity | None:
    for token in (st.session_state.get("student_token"), read_cookie(STUDENT_COOKIE)):
        if token and token not in _ignored() and (student := door.student_for(token)):
            st.session_state["student_token"] = token
            return Identity(student.id, student.name)
    st.session_state.pop("student_token", None)
    return None


def _follow_sign_in_link(door: ClassDoor) -> str:
    """A ``?student=`` link signs this browser in, unless it is already someone else: then it asks."""
    token = st.query_params.get(TOKEN_PARAM)
    if not token:
        return ""
    st.query_params.pop(TOKEN_PARAM, None)  # never left in the address bar
    student, current = door.student_for(token), identity()
    if student is None:
        return "This link's student token is not known in this class: join with the class code."
    if current is None:
        _sign_in_student(token, Identity(student.id, student.name))
    elif current.student_id != student.id:
        st.session_state["pending_switch"] = (token, student.name)
    return ""


def _sign_in_student(token: str, who: Identity) -> None:
    _ignored().discard(token)
    st.session_state.update(student_token=token, identity=who)


def _sign_in_teacher(session: str) -> None:
    st.session_state.update(teacher_session=session, identity=Identity.teacher())


def sync_browser_cookies() -> None:
    """The browser's cookies as this session stands: the signed-in one kept, the others forgotten. Written
    on every full run (the same element each time, so the browser doesn't redo it), never from a
    callback, whose elements the next redraw may drop before they ran."""
    who, keep = identity(), {}
    if who is not None and who.is_teacher:
        keep[TEACHER_COOKIE] = (st.session_state["teacher_session"], TEACHER_SESSION_SECONDS)
    elif who is not None:
        keep[STUDENT_COOKIE] = (st.session_state["student_token"], MONTH_SECONDS)
    for name in (STUDENT_COOKIE, TEACHER_COOKIE):
        if name in keep:
            remember_in_browser(name, *keep[name])
        elif read_cookie(name) or name in st.session_state.get("cookies_written", ()):
            forget_in_browser(name)


def require_identity(refusal: str = "") -> None:
    """In classroom mode: say who this is in the sidebar, or show the join screen and stop the page. A
    misconfigured [classroom] stops every page with its message (closed, never open)."""
    if services().classroom_error:
        st.error(f"Classroom mode is misconfigured, so this server serves nothing: {services().classroom_error}")
        st.stop()
    door = services().door
    if door is None:
        return
    if identity() is None:
        sync_browser_cookies()
        render_join_screen(door, refusal)
        st.stop()
    if refusal:
        st.error(refusal)
    ask_before_switching(door)
    render_who_am_i(door, identity())
    sync_browser_cookies()
    stop_while_waiting(identity())  # the waiting room: nothing else until the teacher lets them in


def ask_before_switching(door: ClassDoor) -> None:
    """A link for another student, opened where someone is signed in already: switch only if asked to."""
    pending = st.session_state.get("pending_switch")
    if not pending:
        return
    token, name = pending
    with st.container(border=True):
        st.warning(f"This link signs in as **{as_text(name)}**, but this browser is signed in as "
                   f"**{as_text(identity().name)}**. Whoever has a student's link acts as that student.")
        stay, switch = st.columns(2)
        stay.button(f"Stay signed in as {identity().name}", key="switch_stay", on_click=_drop_pending_switch)
        switch.button(f"Switch to {name}", key="switch_go", on_click=_switch_to, args=(token,))


def _drop_pending_switch() -> None:
    st.session_state.pop("pending_switch", None)


def _switch_to(token: str) -> None:
    _drop_pending_switch()
    _ignored().update({st.session_state.pop("teacher_session", ""), st.session_state.get("student_token", "")})
    _ignored().discard(token)
    st.session_state["student_token"] = token


def render_join_screen(door: ClassDoor, refusal: str) -> None:
    st.title("Join the class")
    if refusal:
        st.error(refusal)
    with st.form("join_form"):
        code = st.text_input("Class code", key="join_code", help="Your teacher gives it to the class.")
        name = st.text_input("Your display name", key="join_name", max_chars=40,
                             help="What the class board shows next to your runs.")
        joined = st.form_submit_button("Join", type="primary")
    if joined:
        join_class(door, code, name)
    with st.expander("I am the teacher"):
        render_teacher_login(door)


def join_class(door: ClassDoor, code: str, name: str) -> None:
    """Check the code and the name, record the student, keep their token in this browser, and reload."""
    try:
        student, token = door.join(code, name, client_address())
    except ClassroomError as error:
        st.error(as_text(error))
        return
    _sign_in_student(token, Identity(student.id, student.name))
    st.rerun()


def render_teacher_login(door: ClassDoor) -> None:
    if not door.settings.teacher_password_hash:
        st.caption("No teacher's password is configured: on the server, `python -m softmax_core teacher-link` "
                   "prints a one-time sign-in link.")
        return
    with st.form("teacher_form"):
        password = st.text_input("Teacher's password", type="password", key="teacher_password")
        logged_in = st.form_submit_button("Log in")
    st.caption("Locked out? On the server, `python -m softmax_core teacher-link` prints a one-time sign-in link.")
    if not logged_in:
        return
    try:
        session = door.teacher_logs_in(password, client_address())
    except ClassroomError as error:
        st.error(as_text(error))
        return
    _sign_in_teacher(session)
    st.rerun()


def render_who_am_i(door: ClassDoor, who: Identity) -> None:
    sidebar = st.sidebar
    if who.is_teacher:
        sidebar.caption("Signed in as **the teacher**: you see every run and can cancel any.")
        sidebar.button("Log out", key="teacher_logout", on_click=_log_out_teacher, args=(door,))
        return
    sidebar.caption(f"Signed in as **{as_text(who.name)}** on this browser.")
    with sidebar.popover("Sign out, or sign in elsewhere"):
        st.button("Sign out on this browser", key="sign_out", on_click=_sign_out)
        st.button("Sign out everywhere else", key="sign_out_everywhere", on_click=_sign_out_everywhere,
                  args=(door, who), help="Every other browser and every sign-in link of yours stops working.")
        if st.toggle("Show a sign-in link for another device", key="show_sign_in_link"):
            st.warning("Whoever has this link acts as you: don't post it.")
            st.code(f"{_base_url()}/?{TOKEN_PARAM}={st.session_state['student_token']}", language=None)


def _log_out_teacher(door: ClassDoor) -> None:
    session = st.session_state.pop("teacher_session", "")
    door.end_teacher_session(session)
    _ignored().add(session)


def _sign_out() -> None:
    _ignored().add(st.session_state.pop("student_token", ""))


def _sign_out_everywhere(door: ClassDoor, who: Identity) -> None:
    try:
        token = door.new_token_for(who.student_id)
    except ClassroomError:
        _sign_out()
        return
    st.session_state["student_token"] = token
    st.toast("Signed out everywhere else: only this browser is still you.")


def _base_url() -> str:
    """The app's address as this browser reached it (Streamlit trims the page's path and the query)."""
    return (st.context.url or "http://localhost:8501").rstrip("/")


def view_link(page: str) -> str:
    """A link to this view (``page`` and the URL's selection) that signs nobody in: no token is kept in
    the URL, and any sign-in parameter is left out all the same."""
    query = {key: value for key, value in st.query_params.to_dict().items()
             if key not in (TOKEN_PARAM, TEACHER_LINK_PARAM)}
    return f"{_base_url()}/{page}" + (f"?{urlencode(query)}" if query else "")


def render_view_link(page: str) -> None:
    """'Share this view': the link to copy, which opens the same runs for whoever may see them."""
    with st.popover("Share this view", icon=":material/link:"):
        st.caption("This link shows the same runs to whoever opens it, as far as they may see them; "
                   "it never signs them in as you.")
        st.code(view_link(page), language=None)


def refuse_hidden(asked, shown) -> None:
    """Say so, once, when the URL asks for runs this session may not see (a forged or shared link)."""
    hidden = sorted(set(asked) - {run.id for run in shown})
    if hidden:
        runs = ", ".join(f"#{run_id}" for run_id in hidden)
        st.error(f"Run {runs} belongs to another student or doesn't exist, so it isn't shown here.")
