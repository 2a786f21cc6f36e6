"""RecordingCallback: fit()'s store writer, used wherever a run is trained (a worker process, a Ray
task, ``python -m softmax_core train --store``).

It batches metric points and writes them at most every half second and at every epoch end (the first
point at once, so that a page sees the run start), so the store costs little next to training.
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
        self.last_flush = float("-inf")  # the first point goes out at once

    def on_fit_start(self, start: FitStart) -> None:
        self.store.record_schedule(self.run_id, start.steps_per_epoch, start.total_steps, start.device)

    def on_step(self, report: StepReport) -> None:
        self.pending.append(report)
        if time.monotonic() - self.last_flush >= self.flush_seconds:
            self.flush()

    def on_epoch_end(self, report: EpochReport) -> None:
        self.flush(epoch=report)

    def on_fit_end(self, result: FitResult) -> None:
        self.flush()
        self.store.finish_run(self.run_id, result)

    def flush(self, epoch: EpochReport | None = None) -> None:
        """Write the buffered points (and an epoch record) now."""
        points, self.pending = self.pending, []
        if points or epoch is not None:
            self.store.add_points(self.run_id, points, epoch)
        self.last_flush = time.monotonic()
