"""CurveCache: every run's curves as read so far, shared by all the viewers of one server.

A live view polls twice a second; rereading every point of every watched run each time is what made
watching expensive. Here a poll reads only the points newer than what the cache holds (a run's
``last_step`` comes with the run row, so an unchanged run costs no read at all), and ten viewers of
one run share one copy. Points are append-only (an epoch end's test accuracy is written in the same
transaction as its point), so what was read stays true.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from dashboard.charts import RunCurves
from softmax_core.runs.store import RunRecord, RunStore
from softmax_core.status import RunStatus


@dataclass
class _Series:
    """The points of one run read so far, as parallel lists."""

    last_step: int = 0
    step_epochs: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_epochs: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    val_epochs: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def extend(self, points) -> None:
        for point in points:
            self.step_epochs.append(point.epoch)
            self.train_loss.append(point.train_loss)
            self.train_acc.append(point.train_acc)
            if point.test_acc is not None:
                self.test_epochs.append(point.epoch)
                self.test_acc.append(point.test_acc)
            if point.val_acc is not None:
                self.val_epochs.append(point.epoch)
                self.val_acc.append(point.val_acc)
            self.last_step = point.step


class CurveCache:
    """Thread-safe, bounded (least recently used runs are dropped) cache of runs' curves."""

    def __init__(self, store: RunStore, max_runs: int = 512):
        self.store, self.max_runs = store, max_runs
        self._series: OrderedDict[int, _Series] = OrderedDict()
        self._lock = threading.Lock()

    def curves_of(self, run: RunRecord, label: str) -> RunCurves:
        """The run's curves up to its ``last_step``, reading only the points not yet cached."""
        series = self._series_of(run.id)
        with series.lock:
            if run.last_step > series.last_step:
                series.extend(self.store.read_points(run.id, after_step=series.last_step))
            curves = RunCurves(label, series.step_epochs[:], series.train_loss[:], series.train_acc[:],
                               series.test_epochs[:], series.test_acc[:], val_epochs=series.val_epochs[:],
                               val_acc=series.val_acc[:])
        if run.status == RunStatus.DIVERGED and run.diverged_epoch is not None:
            curves.marker_epoch, curves.marker_text = run.diverged_epoch, f"#{run.id} NaN at step {run.diverged_step}"
        return curves

    def _series_of(self, run_id: int) -> _Series:
        with self._lock:
            series = self._series.get(run_id)
            if series is None:
                series = self._series[run_id] = _Series()
                while len(self._series) > self.max_runs:
                    self._series.popitem(last=False)
            self._series.move_to_end(run_id)
            return series
