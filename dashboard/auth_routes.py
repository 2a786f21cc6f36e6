"""The server's sign-in routes (``app.py`` mounts them on ``st.App``): the only place that writes the
identity cookies, so that they are HttpOnly and no script of any page, the app's own or one served from
another port of the same machine, can read a token.

- ``POST /auth/sign-in`` (``pass``, ``next``): what the page sends the browser to right after a join or
  the teacher's password, with a one-time pass from the core (``ClassDoor.sign_in``) in the form body.
- ``GET /auth/sign-in?pass=...&next=...``: a one-time link (a student's "another device" link, the
  teacher's console link). A browser signed in as someone else is asked first (staying spends the link).
- ``POST /auth/sign-out`` (``next``): this browser's device (or teacher's session) dies and the cookie goes.

Each spends the pass, sets the cookie and answers 303 to ``next`` (a path of this site, checked), so
the pass is never left in the address bar. POSTs from another origin are refused (another port of the
same machine is the same site, so SameSite alone doesn't stop its forms). The database work runs in a
thread: these handlers share the event loop with every page's websocket.
"""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from dashboard.services import services
from softmax_core.classroom.auth import SIGN_IN_PATH, ClassDoor, ClassroomError, SignIn
from softmax_core.i18n import _, current_language, language_tag, use_language
from softmax_core.i18n.choose import choose_language

SIGN_OUT_PATH = "/auth/sign-out"
DEVICE_COOKIE = "softmax_lab_device"  # a student's token for this browser
TEACHER_COOKIE = "softmax_lab_teacher_session"
LEGACY_COOKIES = ("softmax_lab_student", "softmax_lab_teacher")  # written by page scripts before: readable
log = logging.getLogger("softmax_lab")


@dataclass(frozen=True)
class Visit:
    """What a sign-in request carries: the pass, where to go next, and the tokens the browser holds."""

    pass_token: str
    next_path: str
    device: str
    teacher: str
    stay: bool = False  # asked whether to switch, the person chose to stay


def safe_next(target: str) -> str:
    """``target`` if it is a path of this site ('/board?runs=3'), else '/': never another host, scheme,
    protocol-relative '//host' or a backslash trick, and never back into these routes."""
    target = target or "/"
    parts = urlsplit(target)
    if (parts.scheme or parts.netloc or not parts.path.startswith("/") or target.startswith("//")
            or "\\" in target or any(ord(c) < 0x20 for c in target) or parts.path.startswith("/auth/")):
        return "/"
    return target


async def read_visit(request: Request) -> Visit:
    fields = {key: values[0] for key, values in parse_qs((await request.body()).decode(errors="replace")).items()}
    fields = {**dict(request.query_params), **fields}
    cookies = request.cookies
    return Visit(fields.get("pass", ""), safe_next(fields.get("next", "/")), cookies.get(DEVICE_COOKIE, ""),
                 cookies.get(TEACHER_COOKIE, ""), bool(fields.get("stay")))


def from_this_origin(request: Request) -> bool:
    """Whether a POST came from a page of this origin (browsers send Origin with every form POST)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser's cross-origin form: nothing to forge with
    return urlsplit(origin).netloc == request.headers.get("host", "")


def in_readers_language(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """A route's own page (a refusal, the switch question) in its reader's language: the ``lang`` of the page
    it goes on to (``next=/board?lang=zh``), else the browser's (``Accept-Language``), as the pages choose."""
    @functools.wraps(handler)
    async def speaking(request: Request) -> Response:
        visit = await read_visit(request)  # Starlette keeps the body: the handler reads it again
        wanted = parse_qs(urlsplit(visit.next_path).query).get("lang", [None])[0]
        with use_language(choose_language(wanted, None, request.headers.get("accept-language"))):
            return await handler(request)
    return speaking


@in_readers_language
async def sign_in_by_form(request: Request) -> Response:
    if not from_this_origin(request):
        return refusal_page(_("A page of another site tried to sign this browser in."), "/", 403)
    visit = await read_visit(request)
    if visit.stay:  # the link is spent all the same, so that the history's copy of it is worth nothing
        door = await run_in_threadpool(_door)
        if door is not None:
            await run_in_threadpool(door.drop_pass, visit.pass_token)
        return RedirectResponse(visit.next_path, status_code=303)
    return await sign_in(request, visit)


@in_readers_language
async def sign_in_by_link(request: Request) -> Response:
    visit = await read_visit(request)
    door = await run_in_threadpool(_door)
    if door is None:
        return RedirectResponse(visit.next_path, status_code=303)
    question = await run_in_threadpool(switch_question, door, visit)
    return question or await sign_in(request, visit)


async def sign_in(request: Request, visit: Visit) -> Response:
    door = await run_in_threadpool(_door)
    if door is None:
        return RedirectResponse(visit.next_path, status_code=303)
    try:
        signed_in = await run_in_threadpool(door.sign_in, visit.pass_token)
    except ClassroomError as error:
        return refusal_page(str(error), visit.next_path)
    await run_in_threadpool(forget_tokens, door, visit)
    response = RedirectResponse(visit.next_path, status_code=303)
    keep_cookie(response, request, signed_in)
    return response


@in_readers_language
async def sign_out(request: Request) -> Response:
    if not from_this_origin(request):
        return refusal_page(_("A page of another site tried to sign this browser out."), "/", 403)
    visit = await read_visit(request)
    door = await run_in_threadpool(_door)
    if door is not None:
        await run_in_threadpool(forget_tokens, door, visit)
    response = RedirectResponse(visit.next_path, status_code=303)
    for name in (DEVICE_COOKIE, TEACHER_COOKIE, *LEGACY_COOKIES):
        response.delete_cookie(name, path="/")
    return response


def forget_tokens(door: ClassDoor, visit: Visit) -> None:
    """The tokens this browser held die with its sign-out or its switch to someone else."""
    door.sign_out_device(visit.device)
    door.end_teacher_session(visit.teacher)


def keep_cookie(response: Response, request: Request, signed_in: SignIn) -> None:
    """The new token in this browser's cookie, readable by no script; the other identity's cookie and the
    script-written cookies of earlier releases go."""
    name, other = (TEACHER_COOKIE, DEVICE_COOKIE) if signed_in.is_teacher else (DEVICE_COOKIE, TEACHER_COOKIE)
    response.set_cookie(name, signed_in.token, max_age=signed_in.seconds, path="/", httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")
    for gone in (other, *LEGACY_COOKIES):
        response.delete_cookie(gone, path="/")


def switch_question(door: ClassDoor, visit: Visit) -> Response | None:
    """A page asking before a link signs a browser in as someone other than who it is; None if nobody
    else is signed in here (or the link is spent: ``sign_in`` then says so)."""
    holder = door.pass_holder(visit.pass_token)
    current = door.student_for(visit.device)
    is_teacher = door.is_teacher_session(visit.teacher)
    if holder is None or (current is None and not is_teacher):
        return None
    if (holder.is_teacher and is_teacher) or (current and holder.student and holder.student.id == current.id):
        return None
    return ask_before_switching(visit, _("the teacher") if is_teacher else current.name,
                                _("the teacher") if holder.is_teacher else holder.student.name)


def ask_before_switching(visit: Visit, current: str, holder: str) -> HTMLResponse:
    fields = "".join(f"<input type='hidden' name='{name}' value='{html.escape(value, quote=True)}'>"
                     for name, value in (("pass", visit.pass_token), ("next", visit.next_path)))
    holder_html, current_html = f"<b>{html.escape(holder)}</b>", f"<b>{html.escape(current)}</b>"
    question = html.escape(_("This link signs in as {holder}, but this browser is signed in as {current}. Whoever "
                             "has someone's link acts as them."))
    go = html.escape(_("Switch to {name}")).format(name=html.escape(holder))
    stay = html.escape(_("Stay signed in as {name}")).format(name=html.escape(current))
    body = (f"<p>{question.format(holder=holder_html, current=current_html)}</p>"
            f"<form method='post' action='{SIGN_IN_PATH}'>{fields}"
            f"<button type='submit' id='switch_go'>{go}</button> "
            f"<button type='submit' id='switch_stay' name='stay' value='1'>{stay}</button></form>")
    return _page(_("Switch who is signed in?"), body)


def refusal_page(message: str, next_path: str, status: int = 400) -> HTMLResponse:
    open_lab = html.escape(_("Open Softmax Lab"))
    body = (f"<p id='refusal'>{html.escape(message)}</p>"
            f"<p><a href='{html.escape(next_path, quote=True)}'>{open_lab}</a></p>")
    return _page(_("Not signed in"), body, status)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    title = html.escape(title)
    return HTMLResponse(f"<!doctype html><html lang='{language_tag(current_language())}'><head><meta charset='utf-8'>"
                        f"<title>{title}</title></head>"
                        f"<body style='font-family:sans-serif;max-width:40em;margin:3em auto'>"
                        f"<h1>{title}</h1>{body}</body></html>", status_code=status,
                        headers={"Cache-Control": "no-store", "Referrer-Policy": "same-origin"})


def _door() -> ClassDoor | None:
    return services().door  # started by the server's lifespan


ROUTES = [
    Route(SIGN_IN_PATH, sign_in_by_form, methods=["POST"]),
    Route(SIGN_IN_PATH, sign_in_by_link, methods=["GET"]),
    Route(SIGN_OUT_PATH, sign_out, methods=["POST"]),
]
