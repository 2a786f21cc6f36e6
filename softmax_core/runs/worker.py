"""What a worker does with a run, wherever it runs (a local worker process, a Ray task on any machine):
claim it in the store, train it, and talk to the rest of the world only through the store.

While a run trains, a watch thread refreshes the run's heartbeat every ``HEARTBEAT_SECONDS`` and reads
its cancel flag every ``CANCEL_POLL_SECONDS``; the training loop's stop check is an Event that thread
sets, so the loop itself never waits on the database. Whatever goes wrong inside a run (an exception,
missing data) ends that run as ``failed`` with its message and every point it made; it never ends the
worker.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
from collections.abc import Callable

from softmax_core.book.data import FashionMNISTData, load_fashion_mnist
from softmax_core.book.train import fit
from softmax_core.runs.recording_callback import RecordingCallback
from softmax_core.runs.store import RunStore
from softmax_core.status import RunStatus

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 1.0
CANCEL_POLL_SECONDS = 0.1
DataSource = Callable[[], FashionMNISTData]

# The default data: $SOFTMAX_LAB_DATA or the per-user folder, never downloaded behind a page's back.
load_local_data: DataSource = functools.partial(load_fashion_mnist, download=False)


class RunWatch:
    """A thread that, while one run trains, keeps its heartbeat fresh and turns its cancel flag into
    ``stop`` (an Event the training loop checks between steps)."""

    def __init__(self, store: RunStore, run_id: int, stop: threading.Event):
        self.store, self.run_id, self.stop = store, run_id, stop
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"watch-run-{run_id}", daemon=True)

    def __enter__(self) -> RunWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        polls_per_beat = round(HEARTBEAT_SECONDS / CANCEL_POLL_SECONDS)
        poll = 0
        while not self._done.wait(CANCEL_POLL_SECONDS):
            try:
                if self.store.cancel_requested(self.run_id):
                    self.stop.set()
                poll += 1
                if poll % polls_per_beat == 0:
                    self.store.beat([self.run_id])
            except Exception:  # noqa: BLE001 - a database hiccup must not end the run; the next poll retries
                log.warning("watching run %s: the store did not answer", self.run_id, exc_info=True)


def run_stored(store: RunStore, run_id: int, data_source: DataSource = load_local_data,
               node: str | None = None) -> bool:
    """Claim a queued run and train it; False if it wasn't ours to train (cancelled, or taken)."""
    if not store.claim_run(run_id, socket.gethostname(), os.getpid(), node):
        if store.cancel_requested(run_id):
            store.end_run(run_id, RunStatus.CANCELLED, "cancelled while queued")
        return False
    train_claimed_run(store, run_id, data_source)
    return True


def train_claimed_run(store: RunStore, run_id: int, data_source: DataSource) -> None:
    """Train a run this process holds, recording everything; a failure is recorded, never raised."""
    stop = threading.Event()
    recorder = RecordingCallback(store, run_id)
    with RunWatch(store, run_id, stop):
        try:
            config = store.get_run(run_id).config
            fit(config, data_source(), [recorder], stop)
        except Exception as error:  # noqa: BLE001 - a failing run must never take the worker down
            log.exception("run %s failed", run_id)
            record_failure(store, recorder, run_id, error)


def record_failure(store: RunStore, recorder: RecordingCallback, run_id: int, error: BaseException) -> None:
    """Keep every point the run made, then mark it failed with the error's message."""
    try:
        recorder.flush()
    finally:
        store.end_run(run_id, RunStatus.FAILED, f"{type(error).__name__}: {error}")
