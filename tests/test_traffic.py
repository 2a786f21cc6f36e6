"""The traffic budgets (softmax_core/classroom/traffic.py) on a made-up clock: sessions per student and per
address, parked and refused sessions, and the pace of reruns under a flood against honest use."""

from __future__ import annotations

import pytest

from softmax_core.classroom.traffic import Pacer, Rate, TooManySessions, TrafficBudget, TrafficLimits


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def served_in(budget: TrafficBudget, clock: FakeClock, tickets, full: bool, per_second: float,
              seconds: float) -> int:
    """How many reruns the sessions get done in ``seconds`` when each asks ``per_second`` times a second
    (a session waits for its own last rerun before asking again, as the server reads one message at a time)."""
    ready = {ticket.id: clock.now for ticket in tickets}
    done, end, step = 0, clock.now + seconds, 1.0 / per_second
    while clock.now < end:
        for ticket in tickets:
            if ready[ticket.id] <= clock.now:
                ready[ticket.id] = clock.now + budget.pace_rerun(ticket, full) + step
                done += 1
        clock.now += 0.01
    return done


def test_pacer_allows_a_burst_then_the_rate(clock):
    pacer = Pacer(clock)
    rate = Rate(per_second=2.0, burst=3)
    waits = [pacer.reserve([(("k",), rate)]) for _ in range(5)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(0.5) and waits[4] == pytest.approx(1.0)
    clock.now += 10
    assert pacer.reserve([(("k",), rate)]) == 0.0, "an idle key has its burst back"


def test_a_key_shared_by_two_budgets_waits_for_the_fuller_one(clock):
    pacer = Pacer(clock)
    roomy, tight = Rate(100.0, 100), Rate(1.0, 1)
    assert pacer.reserve([(("a",), roomy), (("b",), tight)]) == 0.0
    assert pacer.reserve([(("a",), roomy), (("b",), tight)]) == pytest.approx(1.0)


def test_honest_use_never_waits(clock):
    """A student with three tabs, each polling four times a second for a first point, and clicking."""
    budget = TrafficBudget(clock=clock)
    tabs = [budget.open_session("dana", "10.0.0.5") for _ in range(3)]
    assert not any(tab.parked for tab in tabs)
    for _ in range(4 * 30):  # 30 s of polls from every tab at once
        assert [budget.pace_rerun(tab, full=False) for tab in tabs] == [0.0, 0.0, 0.0]
        clock.now += 0.25
    assert [budget.pace_rerun(tabs[0], full=True) for _ in range(8)] == [0.0] * 8, "eight quick clicks"
    assert all(budget.notice(tab.id) == "" for tab in tabs)


def test_a_flooding_student_gets_the_students_budget_whatever_the_sessions(clock):
    budget = TrafficBudget(clock=clock)
    limits = budget.limits
    sessions = [budget.open_session("eve", "10.0.0.6") for _ in range(limits.sessions_per_student)]
    asked = 5.0 * len(sessions) * 10  # five reruns a second from each, for 10 s
    done = served_in(budget, clock, sessions, full=True, per_second=5.0, seconds=10.0)
    rate = limits.full_reruns["student"]
    assert done <= rate.burst + rate.per_second * 10 + len(sessions), (done, asked)
    assert "slowed down" in budget.notice(sessions[0].id)


def test_a_classmate_is_not_slowed_by_a_flood(clock):
    budget = TrafficBudget(clock=clock)
    flood = [budget.open_session("eve", "10.0.0.6") for _ in range(8)]
    served_in(budget, clock, flood, full=True, per_second=5.0, seconds=5.0)
    classmate = budget.open_session("dana", "10.0.0.5")
    assert budget.pace_rerun(classmate, full=True) == 0.0
    assert budget.pace_rerun(classmate, full=False) == 0.0


def test_sessions_past_the_limit_are_parked_then_refused(clock):
    budget = TrafficBudget(TrafficLimits(sessions_per_student=2, sessions_per_address=100), clock=clock)
    first = [budget.open_session("eve", "10.0.0.6") for _ in range(2)]
    parked = [budget.open_session("eve", "10.0.0.6") for _ in range(2)]
    assert [t.parked for t in first + parked] == [False, False, True, True]
    assert "Too many Softmax Lab tabs" in budget.notice(parked[0].id)
    with pytest.raises(TooManySessions):
        budget.open_session("eve", "10.0.0.6")
    assert not budget.open_session("dana", "10.0.0.6").parked, "a classmate at the same address is served"
    for ticket in first + parked:
        budget.close_session(ticket)
    assert budget.open_sessions(student="eve") == 0
    assert not budget.open_session("eve", "10.0.0.6").parked, "closing tabs frees their places"


def test_sessions_without_a_student_count_by_address(clock):
    budget = TrafficBudget(TrafficLimits(sessions_per_student=100, sessions_per_address=3), clock=clock)
    tickets = [budget.open_session("", "10.0.0.7") for _ in range(6)]
    assert [t.parked for t in tickets] == [False] * 3 + [True] * 3
    assert "this computer has" in budget.notice(tickets[-1].id)
    with pytest.raises(TooManySessions):
        budget.open_session("", "10.0.0.7")
    assert not budget.open_session("", "10.0.0.8").parked


def test_the_servers_own_machine_has_no_address_budget(clock):
    """The person at the server is trusted; a student on it still has their own budget."""
    budget = TrafficBudget(TrafficLimits(sessions_per_student=2, sessions_per_address=2), clock=clock)
    assert not any(budget.open_session("", "127.0.0.1").parked for _ in range(10))
    assert [budget.open_session("eve", "127.0.0.1").parked for _ in range(3)] == [False, False, True]


def test_a_parked_session_is_rationed(clock):
    budget = TrafficBudget(TrafficLimits(sessions_per_student=1), clock=clock)
    budget.open_session("eve", "10.0.0.6")
    parked = budget.open_session("eve", "10.0.0.6")
    done = served_in(budget, clock, [parked], full=True, per_second=5.0, seconds=10.0)
    rate = budget.limits.parked_rerun
    assert done <= rate.burst + rate.per_second * 10 + 1
