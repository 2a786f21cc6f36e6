"""JobRunner: the server's side of training. It records runs, hands them to an executor, and keeps the
truth about them in the store; it never trains in the server's process.

``submit`` validates and records the run as ``queued`` and returns its id at once; the executor (by
default ``local``: worker processes on this machine) trains it. ``cancel`` raises the run's cancel flag
in the store (its worker stops within a step) or, for a run still waiting in this runner's queue,
ends it at once. ``wait`` and ``active_count`` read the store, so they tell the same truth for any
executor.

A watch thread keeps the heartbeat of the runs waiting in this runner's queue and, every
``HEARTBEAT_SECONDS``, turns any active run whose heartbeat is older than ``STALE_SECONDS`` into
``interrupted`` (points kept): right at start, that is what a server that died left behind; later, a
worker or machine that went away. One instance is shared by every browser session.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Optional

from softmax_core.config import TrainConfig, describe_config
from softmax_core.runs.executors import Executor, WorkerInfo, make_executor
from softmax_core.runs.store import RunStore, StoreError
from softmax_core.runs.worker import HEARTBEAT_SECONDS
from softmax_core.status import RunStatus

log = logging.getLogger(__name__)
STALE_SECONDS = 8.0  # eight missed heartbeats: the holder is gone
WAIT_POLL_SECONDS = 0.05


class RunLimitReached(ValueError):
    """A student already has as many active runs as the class allows; the message gives the numbers."""


class JobRunner:
    """Submit, cancel and wait for runs that an executor trains; recovers what a dead holder left."""

    def __init__(self, store: RunStore, executor: Optional[Executor] = None, stale_seconds: float = STALE_SECONDS):
        self.store, self.stale_seconds = store, stale_seconds
        self.recovered = store.interrupt_stale_runs(stale_seconds)
        self.executor = executor or make_executor(store.url)
        self._submitted: list[int] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._watch = threading.Thread(target=self._keep_watch, name="softmax-lab-run-watch", daemon=True)
        self._watch.start()

    def submit(self, config: TrainConfig, name: str = "", tags: Optional[dict] = None,
               owner=None, max_active: Optional[int] = None) -> int:
        """Queue a run and return its id at once (a dict config is validated first: ConfigError). A
        student's run is theirs, takes turns with the other students' runs, and is refused
        (RunLimitReached) when they already have ``max_active`` runs queued or training."""
        if not isinstance(config, TrainConfig):
            config = TrainConfig.from_dict(config)
        owner_id = owner.student_id if owner else None
        self.check_room(owner, max_active)
        run_id = self.store.create_run(config, name or describe_config(config), tags, owner_id=owner_id)
        with self._lock:
            self._submitted.append(run_id)
        self.executor.submit(run_id, owner_id)
        return run_id

    def check_room(self, owner, max_active: Optional[int], runs: int = 1) -> None:
        """RunLimitReached unless the student may start ``runs`` more without passing ``max_active``."""
        if owner is None or owner.student_id is None or max_active is None:
            return
        active = self.store.count_active_runs(owner.student_id)
        if active + runs > max_active:
            asked = "" if runs == 1 else f" and these are {runs} more"
            raise RunLimitReached(f"you have {active} runs queued or training{asked}; this class allows "
                                  f"{max_active} at once: wait for one to end, or cancel one")

    def cancel(self, run_id: int, by=None) -> bool:
        """Stop a queued or running run; False if it has already ended (or doesn't exist). With ``by``
        (classroom mode), NotAllowed unless that is the run's owner or the teacher."""
        if by is not None:
            by.check_can_cancel(self.store.get_run(run_id))
        if not self.store.request_cancel(run_id):
            return False
        if self.executor.withdraw(run_id):
            self.store.end_run(run_id, RunStatus.CANCELLED, "cancelled while queued")
        return True

    def wait(self, run_id: int, timeout: Optional[float] = None) -> bool:
        """Block until the run has ended; True if it did within the timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.store.get_run(run_id).is_active:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(WAIT_POLL_SECONDS)
        return True

    def active_count(self) -> int:
        """Runs submitted here that are still queued or running (ended ones are forgotten)."""
        with self._lock:
            ids = list(self._submitted)
        active = {run.id for run in self.store.get_runs(ids) if run.is_active} if ids else set()
        with self._lock:
            self._submitted = [run_id for run_id in self._submitted if run_id in active or run_id not in ids]
        return len(active)

    def workers(self) -> list[WorkerInfo]:
        return self.executor.workers()

    def shutdown(self, cancel_running: bool = True, timeout: float = 10.0) -> None:
        """Stop watching and stop the executor. What was submitted here and is still active is cancelled
        first (``cancel_running``), or else ends ``interrupted`` with its points once the workers stop."""
        with self._lock:
            ids = list(self._submitted)
        if cancel_running:
            for run in self.store.get_runs(ids):
                if run.is_active:
                    self.cancel(run.id)
            for run_id in ids:
                self.wait(run_id, timeout)
        self._closing.set()
        self._watch.join(timeout)
        self.executor.shutdown(timeout)
        for run in self.store.get_runs(ids):
            if run.is_active:
                self.store.end_run(run.id, RunStatus.INTERRUPTED,
                                   f"the server was stopped while this run was {run.status}; its points are kept")

    def _keep_watch(self) -> None:
        while not self._closing.wait(HEARTBEAT_SECONDS):
            try:
                self.store.beat(self.executor.held_run_ids())
                stale = self.store.interrupt_stale_runs(self.stale_seconds)
                if stale:
                    log.warning("runs %s had no heartbeat for %s s: marked interrupted", stale, self.stale_seconds)
                self.active_count()  # forget the runs that ended, so the list stays short
            except StoreError:
                log.exception("the run watch could not reach the store; trying again")
