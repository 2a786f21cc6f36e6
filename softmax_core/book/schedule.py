"""EpochSchedule: how one epoch splits into mini-batches and where its progress reports fall. Plain
arithmetic, no torch: fit() trains by it, and a sweep's estimate and a lesson's step counts read it
without loading the trainer."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class EpochSchedule:
    """How one epoch splits into mini-batches and where the progress reports fall."""

    num_examples: int
    batch_size: int
    reports_per_epoch: int

    @property
    def steps(self) -> int:
        return math.ceil(self.num_examples / self.batch_size)  # the last batch may be smaller

    def report_after(self) -> list[int]:
        """Step counts (1-based, within the epoch) after which a report is sent; the last is the epoch end."""
        steps, reports = self.steps, min(self.reports_per_epoch, self.steps)
        return sorted({math.ceil(k * steps / reports) for k in range(1, reports + 1)})

    def examples_in(self, first_step: int, end_step: int) -> int:
        """Examples seen by steps [first_step, end_step) of an epoch (0-based)."""
        return min(end_step * self.batch_size, self.num_examples) - first_step * self.batch_size
