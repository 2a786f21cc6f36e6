"""Classroom mode on the page: the join screen (class code and a display name), the teacher's login, who
this session acts as, and signing out.

Without a class code configured, ``identity()`` is None everywhere and the app is the single-user app.
With one, every page first passes ``require_identity``. Who a browser is comes from the cookie that only
the server's routes write (``auth_routes.py``: HttpOnly, so no page script ever holds a token); the page
reads it when the browser connects. Joining, the teacher's password and signing out each end by sending
the browser to a route with a one-time pass in a form's body, never in a URL. A sign-in link for another
device is a one-time pass too (``/auth/sign-in?pass=...``), made on request, spent by its first use; the
route asks before it switches a browser signed in as someone else. Every check that matters is made
again in the core (``ClassPolicy``, ``ClassDoor``); this module only asks.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import streamlit as st

from dashboard.auth_routes import DEVICE_COOKIE, LEGACY_COOKIES, SIGN_IN_PATH, SIGN_OUT_PATH, TEACHER_COOKIE
from dashboard.browser_cookie import LINK_PARAMS, read_cookie, send_browser_to
from dashboard.join_panel import prefilled_code
from dashboard.language import in_readers_language
from dashboard.render import presenting
from dashboard.services import get_policy, services
from dashboard.text import as_text
from dashboard.waiting_room import stop_while_waiting
from softmax_core.classroom.auth import SIGN_IN_LINK_SECONDS, ClassDoor, ClassroomError
from softmax_core.classroom.policy import Identity
from softmax_core.i18n import N_, _
from softmax_core.runs.store import THIS_MACHINE, RunRecord, ScopedRuns

TOKEN_PARAM, TEACHER_LINK_PARAM = LINK_PARAMS
OLD_LINK = N_("This kind of sign-in link no longer works: on a browser where you are signed in, open "
              "\"Sign out, or sign in elsewhere\" and make a new one.")


def classroom_on() -> bool:
    return services().classroom is not None


def identity() -> Identity | None:
    """Who this session acts as (set by ``resolve_identity``); None in the single-user app. On the
    projector (``?present=1``) the policy is told so, and reads as the class may (no test accuracy
    before the reveal, even for the teacher's session)."""
    who = st.session_state.get("identity")
    return who.on_projector() if who is not None and presenting() else who


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
    return address if isinstance(address, str) and address else THIS_MACHINE


def resolve_identity() -> str:
    """Find who this session is (``identity()``) from its cookies; returns why a link was refused, if it was."""
    st.session_state["identity"], refusal = None, ""
    door = services().door
    if door is not None:
        st.session_state["identity"] = _teacher(door) or _student(door)
        refusal = _follow_old_link(door)
    return refusal


def _teacher(door: ClassDoor) -> Identity | None:
    return Identity.teacher() if door.is_teacher_session(read_cookie(TEACHER_COOKIE)) else None


def _student(door: ClassDoor) -> Identity | None:
    student = door.student_for(read_cookie(DEVICE_COOKIE))
    return Identity(student.id, student.name) if student else None


def _follow_old_link(door: ClassDoor) -> str:
    """Links and a cookie of earlier releases: a console link (``?teacher_link=``) goes on to the sign-in
    route; a student's token link is refused (it was the token itself, kept in every history it passed
    through); a script-readable cookie of an earlier release is traded for a cookie of the route's."""
    link, token = st.query_params.get(TEACHER_LINK_PARAM), st.query_params.get(TOKEN_PARAM)
    for name in LINK_PARAMS:
        st.query_params.pop(name, None)  # never left in the address bar
    if link:
        st.session_state["handoff"] = (SIGN_IN_PATH, {"pass": link})
    elif identity() is None and (old := read_cookie(LEGACY_COOKIES[0])) and (pass_ := door.trade_device_for_pass(old)):
        st.session_state["handoff"] = (SIGN_IN_PATH, {"pass": pass_})
    return _(OLD_LINK) if token else ""


def hand_off_to_route() -> bool:
    """If this run is to sign the browser in or out, send it to the route (once) and say so; whether it was."""
    handoff = st.session_state.pop("handoff", None)
    if handoff is None:
        return False
    path, fields = handoff
    st.info(_("Signing this browser out...") if path == SIGN_OUT_PATH else _("Signing this browser in..."))
    send_browser_to(path, fields)
    return True


def require_identity(refusal: str = "") -> None:
    """In classroom mode: say who this is in the sidebar, or show the join screen and stop the page. A
    misconfigured [classroom] stops every page with its message (closed, never open)."""
    if services().classroom_error:
        st.error(_("Classroom mode is misconfigured, so this server serves nothing: {error}").format(
            error=services().classroom_error))
        st.stop()
    door = services().door
    if door is None:
        return
    if hand_off_to_route():
        st.stop()
    if identity() is None:
        render_join_screen(door, refusal)
        st.stop()
    if refusal:
        st.error(refusal)
    render_who_am_i(door, identity())
    stop_while_waiting(identity())  # the waiting room: nothing else until the teacher lets them in


def render_join_screen(door: ClassDoor, refusal: str) -> None:
    st.title(_("Join the class"))
    if refusal:
        st.error(refusal)
    with st.form("join_form"):
        code = st.text_input(_("Class code"), key="join_code", value=prefilled_code(),
                             help=_("Your teacher gives it to the class (a join link fills it in)."))
        name = st.text_input(_("Your display name"), key="join_name", max_chars=40,
                             help=_("What the class board shows next to your runs."))
        joined = st.form_submit_button(_("Join"), type="primary")
    if joined:
        join_class(door, code, name)
    with st.expander(_("I am the teacher")):
        render_teacher_login(door)


def join_class(door: ClassDoor, code: str, name: str) -> None:
    """Check the code and the name, record the student, and send the browser to the sign-in route."""
    try:
        _student_record, pass_ = door.join(code, name, client_address())
    except ClassroomError as error:
        st.error(as_text(error))
        return
    st.session_state["handoff"] = (SIGN_IN_PATH, {"pass": pass_})
    st.rerun()


def render_teacher_login(door: ClassDoor) -> None:
    if not door.settings.teacher_password_hash:
        st.caption(_("No teacher's password is configured: on the server, `python -m softmax_core teacher-link` "
                     "prints a one-time sign-in link."))
        return
    with st.form("teacher_form"):
        password = st.text_input(_("Teacher's password"), type="password", key="teacher_password")
        logged_in = st.form_submit_button(_("Log in"))
    st.caption(_("Locked out? On the server, `python -m softmax_core teacher-link` prints a one-time sign-in link."))
    if not logged_in:
        return
    try:
        pass_ = door.teacher_logs_in(password, client_address())
    except ClassroomError as error:
        st.error(as_text(error))
        return
    st.session_state["handoff"] = (SIGN_IN_PATH, {"pass": pass_})
    st.rerun()


def render_who_am_i(door: ClassDoor, who: Identity) -> None:
    sidebar = st.sidebar
    if who.is_teacher:
        sidebar.caption(_("Signed in as **the teacher**: you see every run and can cancel any."))
        sidebar.button(_("Log out"), key="teacher_logout", on_click=_sign_out)
        return
    sidebar.caption(_("Signed in as **{name}** on this browser.").format(name=as_text(who.name)))
    with sidebar.popover(_("Sign out, or sign in elsewhere")):
        st.button(_("Sign out on this browser"), key="sign_out", on_click=_sign_out,
                  help=_("This browser forgets you. To come back, you need a sign-in link made on another "
                         "browser where you are signed in."))
        st.button(_("Sign out everywhere else"), key="sign_out_everywhere", on_click=_sign_out_everywhere,
                  args=(door,), help=_("Every other browser and every sign-in link of yours stops working."))
        if st.toggle(_("Show a sign-in link for another device"), key="show_sign_in_link"):
            render_sign_in_link(door, who)


def render_sign_in_link(door: ClassDoor, who: Identity) -> None:
    """A one-time link that signs one more browser in as this student (made on request, spent by its use)."""
    if st.button(_("Make a new link"), key="make_sign_in_link"):
        try:
            st.session_state["sign_in_link"] = f"{_origin()}{SIGN_IN_PATH}?pass={door.student_pass(who.student_id)}"
        except ClassroomError as error:
            st.error(as_text(error))
    if link := st.session_state.get("sign_in_link"):
        st.warning(_("Whoever opens this link first acts as you: don't post it. It works once, within "
                     "{minutes} minutes.").format(minutes=SIGN_IN_LINK_SECONDS // 60))
        st.code(link, language=None)


def _sign_out() -> None:
    st.session_state["handoff"] = (SIGN_OUT_PATH, {})


@in_readers_language  # a callback: its toast speaks the reader's language too
def _sign_out_everywhere(door: ClassDoor) -> None:
    try:
        door.sign_out_everywhere_else(read_cookie(DEVICE_COOKIE))
    except ClassroomError:
        _sign_out()
        return
    st.session_state.pop("sign_in_link", None)
    st.toast(_("Signed out everywhere else: only this browser is still you."))


def _origin() -> str:
    """Where this site's routes are: the app's address as this browser reached it, without any path."""
    parts = urlsplit(_base_url())
    return f"{parts.scheme}://{parts.netloc}"


def _base_url() -> str:
    """The address of this page as this browser reached it, without the query: ``st.context.url`` holds
    the app's base and the page's own path (AppTest has none)."""
    return (st.context.url or "http://localhost:8501").rstrip("/")


def view_link(page: str, selection: dict[str, str] | None = None) -> str:
    """A link to this view (this page, ``page`` where the address isn't known, and the URL's selection)
    that signs nobody in: no token is kept in the URL, and any sign-in parameter is left out all the same.
    The page's path is in ``st.context.url`` already: adding it again would give ``/compare/compare``,
    where the browser can't load the app's scripts (a blank page)."""
    query = {key: value for key, value in {**st.query_params.to_dict(), **(selection or {})}.items()
             if key not in (TOKEN_PARAM, TEACHER_LINK_PARAM)}
    address = st.context.url.rstrip("/") if st.context.url else f"http://localhost:8501/{page}"
    return address + (f"?{urlencode(query, safe=',')}" if query else "")


def render_view_link(page: str, selection: dict[str, str] | None = None) -> None:
    """'Share this view': the link to copy, which opens the same runs for whoever may see them
    (``selection``: what the page shows that its URL may not say yet, e.g. {"runs": "3,5"})."""
    with st.popover(_("Share this view"), icon=":material/link:"):
        st.caption(_("This link shows the same runs to whoever opens it, as far as they may see them; "
                     "it never signs them in as you."))
        st.code(view_link(page, selection), language=None)


def refuse_hidden(asked, shown) -> None:
    """Say so, once, when the URL asks for runs this session may not see (a forged or shared link)."""
    hidden = sorted(set(asked) - {run.id for run in shown})
    if hidden:
        runs = ", ".join(f"#{run_id}" for run_id in hidden)
        message = (_("Run {runs} belongs to another student or doesn't exist, so it isn't shown here.")
                   if classroom_on() else _("Run {runs} doesn't exist, so it isn't shown here."))
        st.error(message.format(runs=runs))
