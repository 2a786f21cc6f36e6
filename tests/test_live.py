"""dashboard/live.py's polling pace, from run records alone (no page needed)."""

import dataclasses

from dashboard.live import (
    FAST_POLL_SECONDS,
    FIRST_POINT_POLL_SECONDS,
    FRESH_SECONDS,
    SLOW_POLL_SECONDS,
    poll_interval,
)
from softmax_core.config import TrainConfig
from softmax_core.runs.store import RunRecord
from softmax_core.status import RunStatus

NOW = 1_000_000.0
BASE = RunRecord(id=1, name="r", config=TrainConfig(), status=RunStatus.QUEUED, created_at=NOW - 1, started_at=None,
                 ended_at=None, error=None, finals={},
                 verdict=None, diverged_step=None, diverged_epoch=None, steps_per_epoch=None, total_steps=None)


def run(**changes) -> RunRecord:
    return dataclasses.replace(BASE, **changes)


def test_the_pace_follows_what_the_runs_are_doing():
    just_submitted = run(created_at=NOW - 0.1)
    claimed = run(status=RunStatus.RUNNING, created_at=NOW - 2)
    training = run(status=RunStatus.RUNNING, last_step=40)
    waiting_long = run(created_at=NOW - FRESH_SECONDS - 1)
    waiting_for_a_worker = run(created_at=NOW - 1)
    ended = run(status=RunStatus.FINISHED, last_step=2350)
    assert poll_interval([just_submitted, training], NOW) == FIRST_POINT_POLL_SECONDS
    assert poll_interval([claimed], NOW) == FIRST_POINT_POLL_SECONDS, "its first point is due"
    assert poll_interval([waiting_for_a_worker], NOW) == SLOW_POLL_SECONDS, "no point is due while it waits"
    assert poll_interval([training, waiting_long, ended], NOW) == FAST_POLL_SECONDS
    assert poll_interval([waiting_long, ended], NOW) == SLOW_POLL_SECONDS
    assert poll_interval([ended], NOW) is None and poll_interval([], NOW) is None
    assert FIRST_POINT_POLL_SECONDS < FAST_POLL_SECONDS < SLOW_POLL_SECONDS


def test_run_ids_in_a_url_are_plain_ascii_numbers_only():
    from dashboard.url_state import parse_run_ids

    assert parse_run_ids("3, 5,x,²,٣,-1,7") == [3, 5, 7], "'²' and '٣' pass str.isdigit() but are no run id"
    assert parse_run_ids("") == [] and parse_run_ids("9" * 13) == []
