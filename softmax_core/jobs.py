"""JobRunner: trains runs in background threads so that no page ever waits on one.

``submit`` validates and records the run as ``queued`` and returns its id at once; a fixed pool of worker
threads takes runs in order (bounded concurrency; the rest wait as ``queued``), trains each with fit(),
and writes everything through the RunStore's recording callback. Runs end ``finished``, ``diverged``,
``cancelled`` or ``failed`` (an exception is caught, its message stored, its metrics kept; it never takes
the runner or another run down). On start, runs that a dead process left queued or running become
``interrupted``. Workers never touch Streamlit. One instance is shared by every browser session.

``RecordingCallback`` is fit()'s store writer (also used by the CLI): it batches metric points and writes
them at most every half second and at every epoch end, so the store costs little next to training.

PyTorch's intra-op thread pool is process-wide, so the runner sets it once: the machine's cores split
between the runs that may train at once, so that they don't oversubscribe the CPU.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Optional

import torch

from .config import TrainConfig, describe_config
from .data import FashionMNISTData, load_fashion_mnist
from .store import CANCELLED, FAILED, RunStore
from .train import Callback, EpochReport, FitResult, FitStart, StepReport, fit

log = logging.getLogger(__name__)
FLUSH_SECONDS = 0.5
DataSource = Callable[[], FashionMNISTData]


def default_concurrency(cores: Optional[int] = None) -> int:
    """Runs at once: one per core, at least 2 (so a long run never blocks a short one), at most 4."""
    return max(2, min(4, cores or os.cpu_count() or 1))


class JobRunner:
    """Background training with bounded concurrency, cancellation and crash recovery."""

    def __init__(self, store: RunStore, data_source: DataSource = load_fashion_mnist,
                 max_concurrent: Optional[int] = None, set_torch_threads: bool = True):
        self.store, self.data_source = store, data_source
        self.max_concurrent = max_concurrent or default_concurrency()
        if set_torch_threads:
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // self.max_concurrent))
        self.recovered = store.interrupt_orphans()
        self._queue: queue.Queue[Optional[int]] = queue.Queue()
        self._stops: dict[int, threading.Event] = {}
        self._done: dict[int, threading.Event] = {}
        self._lock = threading.Lock()
        self._workers = [threading.Thread(target=self._work, name=f"softmax-lab-worker-{i}", daemon=True)
                         for i in range(self.max_concurrent)]
        for worker in self._workers:
            worker.start()

    def submit(self, config: TrainConfig, name: str = "", tags: Optional[dict] = None) -> int:
        """Queue a run and return its id at once (a dict config is validated first: ConfigError)."""
        if not isinstance(config, TrainConfig):
            config = TrainConfig.from_dict(config)
        run_id = self.store.create_run(config, name or describe_config(config), tags)
        with self._lock:
            self._stops[run_id] = threading.Event()
            self._done[run_id] = threading.Event()
        self._queue.put(run_id)
        return run_id

    def cancel(self, run_id: int) -> bool:
        """Stop a queued or running run (within one training step); False if it isn't ours or is over."""
        with self._lock:
            stop, done = self._stops.get(run_id), self._done.get(run_id)
        if stop is None or done.is_set():
            return False
        stop.set()
        return True

    def wait(self, run_id: int, timeout: Optional[float] = None) -> bool:
        """Block until a run submitted here has ended; True if it did within the timeout."""
        with self._lock:
            done = self._done.get(run_id)
        return done.wait(timeout) if done else True

    def active_count(self) -> int:
        with self._lock:
            return sum(not done.is_set() for done in self._done.values())

    def shutdown(self, cancel_running: bool = True, timeout: float = 10.0) -> None:
        """Stop the workers (cancelling what is queued or running, if asked)."""
        if cancel_running:
            with self._lock:
                stops = list(self._stops.values())
            for stop in stops:
                stop.set()
        for _ in self._workers:
            self._queue.put(None)
        for worker in self._workers:
            worker.join(timeout)

    def _work(self) -> None:
        while (run_id := self._queue.get()) is not None:
            try:
                self._run(run_id)
            finally:
                with self._lock:
                    self._done[run_id].set()

    def _run(self, run_id: int) -> None:
        stop = self._stops[run_id]
        if stop.is_set():
            self.store.set_status(run_id, CANCELLED, "cancelled while queued")
            return
        recorder = RecordingCallback(self.store, run_id)
        try:
            self.store.mark_running(run_id)  # running from here: the data may still have to load
            config = self.store.get_run(run_id).config
            fit(config, self.data_source(), [recorder], stop)
        except Exception as error:  # noqa: BLE001 - a failing run must never take the worker down
            log.exception("run %s failed", run_id)
            self._record_failure(recorder, run_id, error)

    def _record_failure(self, recorder: RecordingCallback, run_id: int, error: Exception) -> None:
        try:
            recorder.flush()  # keep every metric the run produced before it failed
        finally:
            self.store.set_status(run_id, FAILED, f"{type(error).__name__}: {error}")


class RecordingCallback(Callback):
    """fit()'s store writer: batches progress points, writes them every FLUSH_SECONDS and at epoch ends."""

    def __init__(self, store: RunStore, run_id: int, flush_seconds: float = FLUSH_SECONDS):
        self.store, self.run_id, self.flush_seconds = store, run_id, flush_seconds
        self.pending: list[StepReport] = []
        self.last_flush = float("-inf")  # the first point goes out at once: a page sees the run start

    def on_fit_start(self, start: FitStart) -> None:
        self.store.mark_running(self.run_id, start.steps_per_epoch, start.total_steps)

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
