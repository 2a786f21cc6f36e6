"""Waiting in tests for what another process does (a worker, a Ray task): poll until it is so, or fail
saying what never happened."""

from __future__ import annotations

import time

from softmax_core.runs.store import EVERYTHING


def wait_for(predicate, timeout: float = 60.0, what: str = "the condition"):
    """The predicate's first truthy value, polled every 20 ms; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def wait_until_training(store, run_id: int, timeout: float = 90.0):
    """The run's record once it has made its first point."""
    return wait_for(lambda: (run := store.get_run(run_id, scope=EVERYTHING)).last_step > 0 and run, timeout,
                    f"run {run_id} to make its first point")
