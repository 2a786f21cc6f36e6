"""RunStatus: the one list of states a run can be in, shared by the engine, the store and the pages."""

from __future__ import annotations

import enum


class RunStatus(str, enum.Enum):
    """Where a run stands. A str, so it compares equal to its stored text ('finished' == FINISHED)."""

    QUEUED = "queued"  # recorded, waiting for a worker
    RUNNING = "running"  # a worker has claimed it and is training
    FINISHED = "finished"  # every epoch done (the book's checks may still fail: that is a result)
    DIVERGED = "diverged"  # the loss became non-finite
    CANCELLED = "cancelled"  # someone asked it to stop
    FAILED = "failed"  # an error ended it (its message is stored)
    INTERRUPTED = "interrupted"  # its worker or server went away (no heartbeat); its points are kept

    def __str__(self) -> str:
        return self.value

    @property
    def is_active(self) -> bool:
        return self in ACTIVE_STATUSES


ACTIVE_STATUSES = frozenset({RunStatus.QUEUED, RunStatus.RUNNING})
