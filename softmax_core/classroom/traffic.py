"""Traffic budgets: how many websocket sessions, and how many page reruns a second, each student and each
address may have, kept in the server's process (never in a cache a browser can clear).

Streamlit has no per-session or per-address limit: a script can open many sessions and ask each for a
rerun as fast as it likes, and every rerun runs the page on the server. Here every session belongs to
three budgets: its own, its student's (by the identity cookie it connected with) and its address's (a
session that hasn't joined has only its own and its address's). A rerun goes ahead when all three have
room; otherwise it waits, in that session's own receive loop, until they do. So a flooding student's
sessions slow down to the budget while everyone else's are answered as before: the waiting costs the
server nothing, and one session holds at most one waiting rerun (the next is read only after it).

Full reruns (a page load, a click) are budgeted apart from fragment reruns (the live views' polls), which
are cheaper and more frequent. The numbers are set so that honest use never meets them: a student with
three tabs, each with a live chart polling four times a second for a first point, and a burst of clicks.

Past ``sessions_per_student`` (or ``sessions_per_address``) open sessions, a new one is *parked*: it is
served, but its page says why and its reruns are rationed to one every few seconds; past twice that it is
refused at the handshake. The rate limiter is GCRA (the "virtual scheduling" form of a token bucket), one
timestamp per key.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from softmax_core.errors import LabError
from softmax_core.i18n import _

SESSION, STUDENT, ADDRESS = "session", "student", "address"


@dataclass(frozen=True)
class Rate:
    """``per_second`` sustained, after a burst of ``burst`` at once."""

    per_second: float
    burst: int


@dataclass(frozen=True)
class TrafficLimits:
    """The budgets of one server. Defaults: far above a student with three tabs, far below a flood."""

    sessions_per_student: int = 8
    sessions_per_address: int = 24
    full_reruns: dict[str, Rate] = field(default_factory=lambda: {
        SESSION: Rate(3.0, 15), STUDENT: Rate(4.0, 30), ADDRESS: Rate(6.0, 45)})
    fragment_reruns: dict[str, Rate] = field(default_factory=lambda: {
        SESSION: Rate(8.0, 16), STUDENT: Rate(16.0, 48), ADDRESS: Rate(24.0, 64)})
    parked_rerun: Rate = Rate(0.2, 2)  # a session over the session limit: enough to show why, no more
    notice_seconds: float = 10.0  # how long a slowed-down session's page keeps saying so
    # the server's own machine is the person at the server's, who is trusted: its sessions have only their
    # own and their student's budgets (a proxy on this machine must be listed as trusted, README)
    unbudgeted_addresses: frozenset[str] = frozenset({"127.0.0.1", "::1", ""})


class TooManySessions(LabError):
    """Refused at the handshake: this student or address already has twice its sessions open."""


@dataclass
class Ticket:
    """One open session's place in the budgets."""

    id: str
    student: str  # '' for a session that connected without an identity cookie
    address: str
    parked: bool
    slowed_until: float = 0.0  # its last rerun waited: the page says so until then


class Pacer:
    """GCRA over any number of keys: ``reserve`` books one event against all of them at once and returns
    how long to wait before it may happen (0.0: at once)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._due: dict[tuple, float] = {}  # key -> theoretical arrival time of its next event

    def reserve(self, keys_and_rates: list[tuple[tuple, Rate]]) -> float:
        now = self.clock()
        starts = [max(self._due.get(key, now), now) for key, _ in keys_and_rates]
        wait = max(max(0.0, start - (rate.burst - 1) / rate.per_second - now)
                   for start, (_, rate) in zip(starts, keys_and_rates, strict=True))
        for start, (key, rate) in zip(starts, keys_and_rates, strict=True):
            self._due[key] = max(start, now + wait) + 1.0 / rate.per_second
        return wait

    def forget(self, key: tuple) -> None:
        self._due.pop(key, None)

    def forget_idle(self) -> None:
        """Drop the keys whose budgets are full again (so the table doesn't grow with every address)."""
        now = self.clock()
        for key in [key for key, due in self._due.items() if due <= now]:
            del self._due[key]


class TrafficBudget:
    """Every open session's ticket, and the pacing of their reruns. Thread-safe: the event loop opens,
    closes and paces sessions; page scripts read a ticket's notice."""

    def __init__(self, limits: TrafficLimits | None = None, clock: Callable[[], float] = time.monotonic):
        self.limits = limits or TrafficLimits()
        self.clock = clock
        self._pacer = Pacer(clock)
        self._tickets: dict[str, Ticket] = {}
        self._open: Counter = Counter()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def open_session(self, student: str, address: str) -> Ticket:
        """A ticket for a new session; parked past the session limits, TooManySessions past twice them."""
        with self._lock:
            over = self._sessions_over_limit(student, address)
            if over >= 2.0:
                raise TooManySessions(self._too_many_sessions(student))
            ticket = Ticket(f"s{next(self._ids)}", student, address, parked=over >= 1.0)
            self._tickets[ticket.id] = ticket
            self._open.update(self._session_keys(ticket))
            return ticket

    def close_session(self, ticket: Ticket) -> None:
        with self._lock:
            self._tickets.pop(ticket.id, None)
            self._open.subtract(self._session_keys(ticket))
            self._open = +self._open  # drop the zeros
            for kind in ("full", "fragment"):
                self._pacer.forget((SESSION, ticket.id, kind))
            self._pacer.forget_idle()

    def pace_rerun(self, ticket: Ticket, full: bool) -> float:
        """Book one rerun of this session; the seconds it must wait first (0.0: at once)."""
        with self._lock:
            wait = self._pacer.reserve(self._rerun_budgets(ticket, full))
            if wait > 0:
                ticket.slowed_until = self.clock() + wait + self.limits.notice_seconds
            return wait

    def notice(self, ticket_id: str) -> str:
        """What the session's page should say about its traffic ('' if nothing)."""
        with self._lock:
            ticket = self._tickets.get(ticket_id)
            if ticket is None:
                return ""
            if ticket.parked:
                return self._too_many_sessions(ticket.student)
            if ticket.slowed_until > self.clock():
                return _("This page asks the server for updates faster than a class allows, so its updates are "
                         "slowed down. Close the tabs you don't need, and reload less often.")
            return ""

    def is_parked(self, ticket_id: str) -> bool:
        with self._lock:
            ticket = self._tickets.get(ticket_id)
            return ticket is not None and ticket.parked

    def open_sessions(self, student: str = "", address: str = "") -> int:
        with self._lock:
            return self._open[(STUDENT, student)] if student else self._open[(ADDRESS, address)]

    def _sessions_over_limit(self, student: str, address: str) -> float:
        """The larger of this student's and this address's open sessions over their limits."""
        limits = self.limits
        by_student = self._open[(STUDENT, student)] / limits.sessions_per_student if student else 0.0
        if address in limits.unbudgeted_addresses:
            return by_student
        return max(by_student, self._open[(ADDRESS, address)] / limits.sessions_per_address)

    def _too_many_sessions(self, student: str) -> str:
        if student:
            return _("Too many Softmax Lab tabs: you have more than {limit} open on this server, so this one is "
                     "paused. Close the tabs you don't need, then reload this one.").format(
                         limit=self.limits.sessions_per_student)
        return _("Too many Softmax Lab tabs: this computer has more than {limit} open on this server, so this "
                 "one is paused. Close the tabs you don't need, then reload this one.").format(
                     limit=self.limits.sessions_per_address)

    @staticmethod
    def _session_keys(ticket: Ticket) -> list[tuple]:
        keys = [(ADDRESS, ticket.address)]
        return keys + [(STUDENT, ticket.student)] if ticket.student else keys

    def _rerun_budgets(self, ticket: Ticket, full: bool) -> list[tuple[tuple, Rate]]:
        kind = "full" if full else "fragment"
        if ticket.parked:
            return [((SESSION, ticket.id, kind), self.limits.parked_rerun)]
        rates = self.limits.full_reruns if full else self.limits.fragment_reruns
        budgets = [((SESSION, ticket.id, kind), rates[SESSION])]
        if ticket.address not in self.limits.unbudgeted_addresses:
            budgets.append(((ADDRESS, ticket.address, kind), rates[ADDRESS]))
        if ticket.student:
            budgets.append(((STUDENT, ticket.student, kind), rates[STUDENT]))
        return budgets
