"""JobRunner: the server's side of training. It records runs, hands them to an executor, and keeps the
truth about them in the store; it never trains in the server's process.

``submit_many`` records runs as ``queued`` (all or none, within a student's limit) and returns their ids
at once; the executor (by default ``local``: worker processes on this machine) trains them. The runs of
one submission (a sweep, a lesson's group) whose configs differ only in lr, weight decay and momentum
carry a pack key, and the executor trains up to ``pack_limit()`` of them as one pack (``fit_many``). ``cancel``
raises a run's cancel flag in the store, or ends it at once while it still waits in this runner's queue.
Who may start or cancel what is the classroom policy's to decide, before it calls these.

A liveness thread keeps the heartbeat of the runs waiting in this runner's queue and, every
``HEARTBEAT_SECONDS``, turns any active run whose heartbeat is older than ``STALE_SECONDS`` into
``interrupted`` (points kept): right at start, that is what a server that died left behind; later, a
worker or machine that went away. One instance is shared by every browser session.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Hashable, Sequence
from typing import Optional

from softmax_core.book.packed import pack_key
from softmax_core.config import TrainConfig, describe_config
from softmax_core.i18n import Said
from softmax_core.runs.executors import Executor, Submission, WorkerInfo, make_executor, pack_limit
from softmax_core.runs.run_driver import HEARTBEAT_SECONDS
from softmax_core.runs.store import EVERYTHING, RunRequest, RunStore, StoreError
from softmax_core.status import CANCELLED_WHILE_QUEUED, SERVER_STOPPED, RunStatus, status_named

log = logging.getLogger(__name__)
STALE_SECONDS = 8.0  # eight missed heartbeats: the holder is gone
WAIT_POLL_SECONDS = 0.05


class JobRunner:
    """Submit, cancel and wait for runs that an executor trains; recovers what a dead holder left."""

    def __init__(self, store: RunStore, executor: Optional[Executor] = None, stale_seconds: float = STALE_SECONDS,
                 pack: bool = True):
        self.store, self.stale_seconds, self.pack = store, stale_seconds, pack
        self.recovered = store.interrupt_stale_runs(stale_seconds)
        self.executor = executor or make_executor(store.url)
        self._submitted: list[int] = []
        self._groups = itertools.count()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._liveness = threading.Thread(target=self._keep_runs_alive, name="softmax-lab-liveness", daemon=True)
        self._liveness.start()

    def submit(self, config: TrainConfig, name: str = "", tags: Optional[dict] = None,
               owner_id: Optional[int] = None, max_active: Optional[int] = None) -> int:
        """Queue one run and return its id at once (a dict config is validated first: ConfigError)."""
        if not isinstance(config, TrainConfig):
            config = TrainConfig.from_dict(config)
        return self.submit_many([RunRequest(config, name, tags or {})], owner_id, max_active)[0]

    def submit_many(self, requests: Sequence[RunRequest], owner_id: Optional[int] = None,
                    max_active: Optional[int] = None, max_cost: Optional[int] = None) -> list[int]:
        """Queue several runs as one: recorded in one transaction, all or none, then handed to the
        executor in order. A student's runs are theirs, take turns with the other groups' runs (a group:
        the names from one address), and are refused whole (RunLimitReached) if they would pass
        ``max_active`` runs or ``max_cost`` book steps queued or training."""
        named = [RunRequest(r.config, r.name or describe_config(r.config), r.tags) for r in requests]
        run_ids = self.store.create_runs(named, owner_id=owner_id, max_active=max_active, max_cost=max_cost)
        with self._lock:
            self._submitted.extend(run_ids)
        group, owner = next(self._groups), self._owner_group(owner_id)
        self.executor.submit([Submission(run_id, owner, self._pack_of(group, request.config, len(named)))
                              for run_id, request in zip(run_ids, named, strict=True)])
        return run_ids

    def _owner_group(self, owner_id: Optional[int]) -> Hashable | None:
        """Whose turn the runs take and whose workers they count as: the student's group (their address:
        two names on one computer are one), None outside classroom mode."""
        return None if owner_id is None else self.store.classroom.owner_group(owner_id)

    def _pack_of(self, group: int, config: TrainConfig, size: int) -> Hashable | None:
        """The runs of one submission (a sweep, a lesson's group) that may train as one pack share this key:
        the submission and what their configs share (``packed.pack_key``); None trains the run alone."""
        if not self.pack or size < 2 or pack_limit() < 2:
            return None
        key = pack_key(config)
        return None if key is None else (group, key)

    def cancel(self, run_id: int) -> bool:
        """Stop a queued or running run; False if it has already ended (or doesn't exist). Who may ask is
        the classroom policy's to decide, before it calls this."""
        if not self.store.request_cancel(run_id):
            return False
        if self.executor.withdraw(run_id):
            self.store.end_run(run_id, RunStatus.CANCELLED, Said(CANCELLED_WHILE_QUEUED))
        return True

    def wait(self, run_id: int, timeout: Optional[float] = None) -> bool:
        """Block until the run has ended; True if it did within the timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.store.get_run(run_id, scope=EVERYTHING).is_active:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(WAIT_POLL_SECONDS)
        return True

    def active_count(self) -> int:
        """Runs submitted here that are still queued or running (ended ones are forgotten)."""
        with self._lock:
            ids = list(self._submitted)
        active = {run.id for run in self.store.get_runs(ids, scope=EVERYTHING) if run.is_active} if ids else set()
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
            for run in self.store.get_runs(ids, scope=EVERYTHING):
                if run.is_active:
                    self.cancel(run.id)
            for run_id in ids:
                self.wait(run_id, timeout)
        self._closing.set()
        self._liveness.join(timeout)
        self.executor.shutdown(timeout)
        for run in self.store.get_runs(ids, scope=EVERYTHING):
            if run.is_active:
                self.store.end_run(run.id, RunStatus.INTERRUPTED, Said(SERVER_STOPPED, status=status_named(run.status)))

    def _keep_runs_alive(self) -> None:
        while not self._closing.wait(HEARTBEAT_SECONDS):
            try:
                self.store.beat(self.executor.held_run_ids())
                stale = self.store.interrupt_stale_runs(self.stale_seconds)
                if stale:
                    log.warning("runs %s had no heartbeat for %s s: marked interrupted", stale, self.stale_seconds)
                self.active_count()  # forget the runs that ended, so the list stays short
            except StoreError:
                log.exception("the liveness thread could not reach the store; trying again")
