"""Following a run that trains elsewhere (a worker process, a Ray task on another machine) from the store:
the events a callback would get from fit() in this process (``on_fit_start``, ``on_epoch_end``,
``on_fit_end``), replayed from what the worker records, as it lands.

So the CLI's table and JSON lines look the same whether the run trains in the CLI's own process or
through an executor, and nothing but the store joins the two.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from softmax_core.book.train import Callback, FitResult, FitStart, finished_message, send_event
from softmax_core.runs.store import EVERYTHING, RunRecord, RunStore
from softmax_core.status import RunStatus

POLL_SECONDS = 0.2


def follow_run(store: RunStore, run_id: int, callbacks: Sequence[Callback],
               poll_seconds: float = POLL_SECONDS, sleep: Callable[[float], None] = time.sleep) -> FitResult:
    """Send the run's start, each epoch as it is stored, and its end to ``callbacks``; returns how it ended."""
    started, epochs_sent = False, 0
    while True:
        run = store.get_run(run_id, scope=EVERYTHING)
        if not started and (run.device or not run.is_active):
            send_event(callbacks, "on_fit_start", FitStart(run.config, run.steps_per_epoch or 0,
                                                      run.total_steps or 0, run.device or "?"))
            started = True
        epochs = store.read_epochs(run_id, scope=EVERYTHING)
        for epoch in epochs[epochs_sent:]:
            send_event(callbacks, "on_epoch_end", epoch)
        epochs_sent = len(epochs)
        if not run.is_active:
            result = result_from_record(run, tuple(epochs))
            send_event(callbacks, "on_fit_end", result)
            return result
        sleep(poll_seconds)


def result_from_record(run: RunRecord, epochs: tuple) -> FitResult:
    """A stored run's end as a FitResult (its epochs are the store's records)."""
    if run.status == RunStatus.FINISHED and run.verdict is not None:
        message = finished_message(run.config.epochs, run.verdict)
    else:
        message = run.error or str(run.status)
    seconds = (run.ended_at or 0.0) - (run.started_at or run.ended_at or 0.0)
    return FitResult(run.status, epochs, run.verdict, message, seconds, run.diverged_step, run.diverged_epoch,
                     ending=run.ending)

