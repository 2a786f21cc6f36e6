"""Runs recorded straight in the store stay "going" while a test looks at them: a worker that holds a run
beats for it, and one nobody beats for is marked interrupted after ``STALE_SECONDS`` (8 s), which a slow
first page load on a busy machine can take."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from softmax_core.runs.store import RunStore


@contextmanager
def kept_going(store: RunStore, run_ids: Sequence[int], every: float = 0.5) -> Iterator[None]:
    """Beat for ``run_ids`` as their worker would, until the block ends."""
    done = threading.Event()

    def beat() -> None:
        while True:
            store.beat(run_ids)
            if done.wait(every):
                return

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(5)
