"""The one way a stored run is trained, wherever it trains (a local worker process, a Ray task on any
machine, the CLI's ``train --store``): claim it in the store, train it with a ``RecordingCallback`` and a
``RunHeartbeat``, and record how it ended, whatever ends it.

While a run trains, its heartbeat thread refreshes the run's heartbeat every ``HEARTBEAT_SECONDS`` and
reads its cancel and yield flags every ``CANCEL_POLL_SECONDS``; the training loop's stop check and its
epoch-end yield check are Events that thread sets, so the loop itself never waits on the database. A
run that yields goes back to ``queued`` with its checkpoint (``RecordingCallback``), and whoever trains
it next resumes from there. Any exception inside a run ends it
``failed`` with its message and every point it made; Ctrl-C ends it ``cancelled``. Either way the store
never keeps a run ``running`` that nothing trains.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence

from softmax_core.book.data import FashionMNISTData, load_fashion_mnist
from softmax_core.book.train import Callback, Checkpoint, FitResult, fit
from softmax_core.i18n import Said
from softmax_core.runs.recording_callback import RecordingCallback
from softmax_core.runs.store import EVERYTHING, RunStore
from softmax_core.status import CANCELLED_WHILE_QUEUED, INTERRUPTED_FROM_KEYBOARD, RunStatus, raised

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 1.0
CANCEL_POLL_SECONDS = 0.1
DataSource = Callable[[], FashionMNISTData]

# The default data: $SOFTMAX_LAB_DATA or the per-user folder, never downloaded behind a page's back.
load_local_data: DataSource = functools.partial(load_fashion_mnist, download=False)


class RunHeartbeat:
    """A thread that, while runs train (one, or a pack), keeps their heartbeats fresh and turns each run's
    cancel flag into its ``stop`` Event (which the training loop checks between steps); one query a poll
    for the whole pack."""

    def __init__(self, store: RunStore, run_ids: int | Sequence[int],
                 stops: threading.Event | Sequence[threading.Event], yield_now: threading.Event | None = None):
        self.store, self.yield_now = store, yield_now
        self.run_ids = [run_ids] if isinstance(run_ids, int) else list(run_ids)
        self.stops = dict(zip(self.run_ids, [stops] if isinstance(stops, threading.Event) else stops, strict=True))
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"softmax-lab-heartbeat-{self.run_ids[0]}",
                                        daemon=True)

    def __enter__(self) -> RunHeartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        """Tell the thread to stop, without waiting for it to wake (on a busy machine that wait cost 6 ms
        a run): what it might still do is harmless, as a beat touches only active runs and a stop Event
        set after the end is read by no one. It ends within a cancel poll."""
        self._done.set()

    def _beat(self) -> None:
        polls_per_beat = round(HEARTBEAT_SECONDS / CANCEL_POLL_SECONDS)
        poll = 0
        while not self._done.wait(CANCEL_POLL_SECONDS):
            try:
                cancelled, yielding = self.store.stop_flags(self.run_ids)
                for run_id in cancelled:
                    self.stops[run_id].set()
                if yielding and self.yield_now is not None:  # a pack yields as a unit
                    self.yield_now.set()
                poll += 1
                if poll % polls_per_beat == 0:
                    self.store.beat(self.run_ids)
            except Exception:  # noqa: BLE001 - a database hiccup must not end the run; the next poll retries
                log.warning("runs %s's heartbeat: the store did not answer", self.run_ids, exc_info=True)


def claim(store: RunStore, run_id: int, node: str | None = None) -> bool:
    """Take a queued run for this process; False if it isn't ours to train (taken, or cancelled while
    queued, which is then recorded as such)."""
    if store.claim_run(run_id, socket.gethostname(), os.getpid(), node):
        return True
    if store.cancel_requested(run_id):
        store.end_run(run_id, RunStatus.CANCELLED, Said(CANCELLED_WHILE_QUEUED))
    return False


def run_stored(store: RunStore, run_id: int, data_source: DataSource = load_local_data,
               node: str | None = None) -> bool:
    """What a worker does with a run: claim it and train it, a failure recorded and never raised (a
    failing run must never take the worker down). False if it wasn't ours to train."""
    if not claim(store, run_id, node):
        return False
    try:
        train_claimed(store, run_id, data_source)
    except Exception:  # noqa: BLE001 - recorded as the run's failure by train_claimed
        log.exception("run %s failed", run_id)
    return True


def train_claimed(store: RunStore, run_id: int, data_source: DataSource,
                  callbacks: Sequence[Callback] = ()) -> FitResult:
    """Train a run this process holds, recording everything (and telling ``callbacks``, e.g. the CLI's
    table). Any exception is recorded as the run's failure, Ctrl-C as its cancel, and then raised."""
    stop, yield_now = threading.Event(), threading.Event()
    recorder = RecordingCallback(store, run_id)
    with RunHeartbeat(store, run_id, stop, yield_now):
        try:
            config = store.get_run(run_id, scope=EVERYTHING).config
            return fit(config, data_source(), [recorder, *callbacks], stop, yield_now,
                       read_checkpoint(store, run_id))
        except KeyboardInterrupt:
            _record_end(store, recorder, run_id, RunStatus.CANCELLED, "interrupted from the keyboard")
            raise
        except Exception as error:
            _record_end(store, recorder, run_id, RunStatus.FAILED, f"{type(error).__name__}: {error}")
            raise


def read_checkpoint(store: RunStore, run_id: int) -> Checkpoint | None:
    """Where a run that yielded its worker goes on, or None for a fresh start."""
    stored = store.read_checkpoint(run_id)
    return None if stored is None else Checkpoint.from_bytes(stored[1])


def run_pack(store: RunStore, run_ids: Sequence[int], data_source: DataSource = load_local_data,
             node: str | None = None) -> list[int]:
    """What a worker does with a pack: claim each run (those taken or cancelled meanwhile drop out) and
    train the rest as one (``fit_many``), each recorded as its own run; a failure is recorded, never
    raised. Returns the runs it trained."""
    claimed = [run_id for run_id in run_ids if claim(store, run_id, node)]
    try:
        if len(claimed) == 1:
            train_claimed(store, claimed[0], data_source)
        elif claimed:
            train_claimed_pack(store, claimed, data_source)
    except Exception:  # noqa: BLE001 - recorded as each run's failure by train_claimed(_pack)
        log.exception("the pack %s failed", claimed)
    return claimed


def train_claimed_pack(store: RunStore, run_ids: Sequence[int], data_source: DataSource) -> list[FitResult]:
    """Train runs this process holds as one pack, each recorded as its own run with its pack noted.
    Any exception is recorded as every run's failure, Ctrl-C as their cancel, and then raised."""
    from softmax_core.book.packed import fit_many  # only a worker that trains a pack needs it

    configs = [run.config for run in store.get_runs(run_ids, scope=EVERYTHING)]
    stops, yield_now = [threading.Event() for _ in run_ids], threading.Event()
    recorders = [RecordingCallback(store, run_id) for run_id in run_ids]
    resumes = [read_checkpoint(store, run_id) for run_id in run_ids]
    store.record_pack(run_ids)
    with RunHeartbeat(store, run_ids, stops, yield_now):
        try:
            return fit_many(configs, data_source(), [[recorder] for recorder in recorders], stops,
                            yield_now=yield_now, resumes=resumes)
        except KeyboardInterrupt:
            _record_ends(store, recorders, run_ids, RunStatus.CANCELLED, Said(INTERRUPTED_FROM_KEYBOARD))
            raise
        except Exception as error:
            _record_ends(store, recorders, run_ids, RunStatus.FAILED, raised(error))
            raise


def _record_ends(store: RunStore, recorders: Sequence[RecordingCallback], run_ids: Sequence[int],
                 status: RunStatus, why: Said) -> None:
    for recorder, run_id in zip(recorders, run_ids, strict=True):
        _record_end(store, recorder, run_id, status, why)


def _record_end(store: RunStore, recorder: RecordingCallback, run_id: int, status: RunStatus, why: Said) -> None:
    """Keep every point the run made, then end it with ``status`` and why."""
    try:
        recorder.flush()
    finally:
        store.end_run(run_id, status, why)
