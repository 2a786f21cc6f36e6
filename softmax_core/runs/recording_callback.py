"""RecordingCallback: fit()'s store writer, used wherever a run is trained (a worker process, a Ray
task, ``python -m softmax_core train --store``).

It batches what it has to say and writes it in one transaction at most every half second and at every
epoch end (the first point at once, so that a page sees the run start): the schedule goes with the first
point, and the last epoch with the run's end. A 1-epoch run costs three transactions after its claim
(its first point, its epoch and end, and the heartbeat's), so the store costs little next to training,
even on a machine that is busy with something else.
"""

from __future__ import annotations

import time

from softmax_core.book.train import Callback, EpochReport, FitResult, FitStart, StepReport
from softmax_core.runs.store import RunStore

FLUSH_SECONDS = 0.5


class RecordingCallback(Callback):
    """Writes one run's schedule, points, epochs and ending to the store."""

    def __init__(self, store: RunStore, run_id: int, flush_seconds: float = FLUSH_SECONDS):
        self.store, self.run_id, self.flush_seconds = store, run_id, flush_seconds
        self.pending: list[StepReport] = []
        self.schedule: FitStart | None = None  # not yet written
        self.total_steps: int | None = None
        self.last_epoch: EpochReport | None = None  # the final epoch, written with the run's end
        self.last_flush = float("-inf")  # the first point goes out at once

    def on_fit_start(self, start: FitStart) -> None:
        self.schedule, self.total_steps = start, start.total_steps

    def on_step(self, report: StepReport) -> None:
        self.pending.append(report)
        if time.monotonic() - self.last_flush >= self.flush_seconds:
            self.flush()

    def on_epoch_end(self, report: EpochReport) -> None:
        if self.total_steps is not None and report.step >= self.total_steps:
            self.last_epoch = report  # the run's last: on_fit_end follows at once, and writes it
        else:
            self.flush(epoch=report)

    def on_fit_end(self, result: FitResult) -> None:
        if result.yielded:  # it gave its worker back: its points so far, then back to the queue with its state
            self.flush()
            self.store.requeue_run(self.run_id, result.checkpoint.epoch, result.checkpoint.to_bytes())
            return
        self.flush(epoch=self.last_epoch, result=result)

    def flush(self, epoch: EpochReport | None = None, result: FitResult | None = None) -> None:
        """Write the buffered points (and the schedule, an epoch record, the run's end) now."""
        points, self.pending = self.pending, []
        if points or epoch is not None or result is not None or self.schedule is not None:
            self.store.record_progress(self.run_id, points, epoch, self.schedule, result)
        self.schedule = None
        self.last_flush = time.monotonic()
