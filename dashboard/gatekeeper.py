"""The server's front door for every request, an ASGI middleware in front of Streamlit (``app.py``):

- the client's address: the peer's, or from ``X-Forwarded-For`` when the peer is a trusted proxy
  (``softmax_core.classroom.addresses``), written back into the request so that Streamlit and the pages
  (``st.context.ip_address``) see the same one;
- the page websocket's ``Origin``: a page from another site (or another port of this machine) is refused
  before Streamlit sees it. Streamlit would first look up this machine's external address with a blocking
  request inside its only event loop, which on a LAN that drops outbound traffic stalls every page;
- the traffic budgets (``softmax_core.classroom.traffic``): sessions per student and per address, and the
  pace of each session's reruns, kept here in the server's process, out of reach of any cache message.

A session's ticket id travels to its page in a header of the websocket's request
(``TICKET_HEADER``), so that the page can say why it is slowed down or paused (``traffic_notice``).

Clicks go before polls (``ClicksFirst``): while a person's full rerun runs anywhere on the server, a live
view's poll waits for it (a fraction of a second at most), so a class's forty live charts never stand
between a student and the answer to their click. Python runs one script thread at a time, so a click that
shared the interpreter with ten polls used to take ten polls' time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from softmax_core.classroom.addresses import client_address, trusted_proxies_from
from softmax_core.classroom.traffic import Ticket, TooManySessions, TrafficBudget

log = logging.getLogger("softmax_lab")
STREAM_PATH = "/_stcore/stream"
TICKET_HEADER = "x-softmax-lab-ticket"
IDENTITY_COOKIE_PREFIX = "softmax_lab_"
POLICY_VIOLATION = 1008

POLL_HOLD_SECONDS = 0.5  # the longest a poll waits for the clicks and polls running at the moment
POLLS_AT_ONCE = 3  # polls running together; the rest wait their turn (a poll takes about 10 ms)
SMALL_MESSAGE_BYTES = 128  # a "script finished" message is a few bytes; deltas are never read here

traffic = TrafficBudget()  # the server's one budget: a module object, out of reach of st.cache_* clearing


class ClicksFirst:
    """Which sessions run a click (a full rerun) or a poll (a fragment's) now. A poll waits while any click
    runs, or while ``polls_at_once`` polls already run, for ``hold_seconds`` at most: a class's polls come
    in bursts, and every script run in the burst takes its turn at the interpreter before a click's can
    finish. Used only on the event loop."""

    def __init__(self, hold_seconds: float = POLL_HOLD_SECONDS, polls_at_once: int = POLLS_AT_ONCE):
        self.hold_seconds, self.polls_at_once = hold_seconds, polls_at_once
        self.clicks: set[str] = set()
        self.polls: set[str] = set()
        self._changed: asyncio.Condition | None = None  # made on the loop, at the first hold

    def started(self, ticket_id: str, full: bool) -> None:
        """A session's new run replaces its last (Streamlit runs one script at a time per session)."""
        self.finished(ticket_id)
        (self.clicks if full else self.polls).add(ticket_id)

    def finished(self, ticket_id: str) -> None:
        if ticket_id in self.clicks or ticket_id in self.polls:
            self.clicks.discard(ticket_id)
            self.polls.discard(ticket_id)
            if self._changed is not None:
                asyncio.get_running_loop().create_task(self._notify())

    async def hold_poll(self) -> None:
        """Wait until no click runs and a poll's place is free (or ``hold_seconds`` have passed)."""
        if self._may_poll():
            return
        if self._changed is None:
            self._changed = asyncio.Condition()
        with contextlib.suppress(asyncio.TimeoutError):
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(self._may_poll), self.hold_seconds)

    def _may_poll(self) -> bool:
        return not self.clicks and len(self.polls) < self.polls_at_once

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()


clicks_first = ClicksFirst()


class Gatekeeper:
    """ASGI middleware: address, Origin and traffic budgets, before Streamlit sees a request."""

    def __init__(self, app, budget: TrafficBudget | None = None, proxies=None, order: ClicksFirst | None = None):
        self.app = app
        self.budget = budget or traffic
        self.order = order or clicks_first
        self.proxies = trusted_proxies_from() if proxies is None else proxies

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        scope = self._with_client_address(scope)
        if scope["type"] == "websocket" and scope["path"].endswith(STREAM_PATH):
            return await self._serve_page_socket(scope, receive, send)
        return await self.app(scope, receive, send)

    def _with_client_address(self, scope: dict) -> dict:
        client = scope.get("client")
        if not client or not self.proxies:
            return scope
        address = client_address(client[0], header_values(scope, b"x-forwarded-for"), self.proxies)
        return {**scope, "client": (address, client[1])}

    async def _serve_page_socket(self, scope, receive, send) -> None:
        if not is_same_origin(scope):
            log.warning("refused a page websocket from a foreign Origin %r (Host %r)",
                        first_header(scope, b"origin"), first_header(scope, b"host"))
            return await refuse(send)
        try:
            ticket = self.budget.open_session(identity_key(scope), scope["client"][0] if scope.get("client") else "")
        except TooManySessions as refusal:
            log.warning("refused a page websocket: %s", refusal)
            return await refuse(send)
        try:
            scope = {**scope, "headers": [*scope["headers"], (TICKET_HEADER.encode(), ticket.id.encode())]}
            await self.app(scope, self._paced(receive, ticket), self._watched(send, ticket))
        finally:
            self.order.finished(ticket.id)
            self.budget.close_session(ticket)

    def _paced(self, receive, ticket: Ticket):
        """``receive``, but a rerun waits until this session's budgets have room for it."""
        async def paced_receive():
            message = await receive()
            full = rerun_kind(message)
            if full is not None:
                wait = self.budget.pace_rerun(ticket, full)
                if wait > 0:
                    await asyncio.sleep(wait)
                # a rerun its own budget had to slow down (or a paused tab's) is a flood, not a click:
                # it takes its turn with the polls, behind everyone's clicks
                click = full and wait == 0 and not ticket.parked
                if not click:
                    await self.order.hold_poll()
                self.order.started(ticket.id, click)
            return message
        return paced_receive

    def _watched(self, send, ticket: Ticket):
        """``send``, noting when this session's script run has finished."""
        async def watched_send(message):
            if is_script_finished(message):
                self.order.finished(ticket.id)
            await send(message)
        return watched_send


def rerun_kind(message: dict) -> bool | None:
    """True for a full rerun, False for a fragment's, None for anything else the browser sends."""
    data = message.get("bytes") if message.get("type") == "websocket.receive" else None
    if not data:
        return None
    back = BackMsg()
    try:
        back.ParseFromString(data)
    except Exception:  # noqa: BLE001 - Streamlit closes the socket on a malformed message; not ours to judge
        return None
    if back.WhichOneof("type") != "rerun_script":
        return None
    return not back.rerun_script.fragment_id


def is_script_finished(message: dict) -> bool:
    data = message.get("bytes") if message.get("type") == "websocket.send" else None
    if not data or len(data) > SMALL_MESSAGE_BYTES:
        return False
    forward = ForwardMsg()
    try:
        forward.ParseFromString(data)
    except Exception:  # noqa: BLE001 - not ours to judge what Streamlit sends
        return False
    return forward.WhichOneof("type") == "script_finished"


def is_same_origin(scope: dict) -> bool:
    """No Origin (a non-browser client) or an Origin whose host and port are the request's Host."""
    origin = first_header(scope, b"origin")
    if origin is None:
        return True
    host = (first_header(scope, b"host") or "").lower()
    return bool(host) and urlsplit(origin).netloc.lower() == host


def identity_key(scope: dict) -> str:
    """Who the session's cookies say it is, as a digest ('' without an identity cookie): the student's
    budget key. A made-up cookie only buys a budget of its own, which its address's budget still caps."""
    cookies = SimpleCookie()
    for header in header_values(scope, b"cookie"):
        try:
            cookies.load(header)
        except CookieError:
            continue
    values = sorted(f"{name}={morsel.value}" for name, morsel in cookies.items()
                    if name.startswith(IDENTITY_COOKIE_PREFIX) and morsel.value)
    return hashlib.sha256("; ".join(values).encode()).hexdigest()[:32] if values else ""


def header_values(scope: dict, name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in scope.get("headers", []) if key.lower() == name]


def first_header(scope: dict, name: bytes) -> str | None:
    values = header_values(scope, name)
    return values[0] if values else None


async def refuse(send) -> None:
    """Close the handshake before it is accepted: the client sees HTTP 403."""
    await send({"type": "websocket.close", "code": POLICY_VIOLATION})


def traffic_notice(ticket_id: str | None) -> str:
    """What this session's page should say about its traffic ('' if nothing)."""
    return traffic.notice(ticket_id) if ticket_id else ""


def is_parked(ticket_id: str | None) -> bool:
    return bool(ticket_id) and traffic.is_parked(ticket_id)
