"""CurveCache: every run's curves as read so far, shared by all the viewers of one server.

A live view polls twice a second; rereading every point of every watched run each time is what made
watching expensive. Here a poll reads only the points newer than what the cache holds (a run's
``last_step`` comes with the run row, so an unchanged run costs no read at all), and ten viewers of
one run share one copy. Points are append-only (an epoch end's test accuracy is written in the same
transaction as its point), so what was read stays true.

Each reader's points are read through their scope (``ScopedRuns``), and a run's series is kept apart by
what its reader may see: a student's copy before the reveal holds no test accuracy, and the teacher's
copy is never handed to them. A run is known by its id and its creation time, so a run that reuses a
deleted run's id never inherits its curves. Only points are cached, never words: the ``RunCurves`` handed
out (its divergence marker's text among them) are built per call, in the caller's language.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from dashboard.charts import RunCurves
from softmax_core.analysis.lessons import LessonRun, lesson_run
from softmax_core.i18n import _
from softmax_core.metric_registry import NAMES
from softmax_core.runs.store import RunRecord, ScopedRuns
from softmax_core.status import RunStatus


@dataclass
class _Series:
    """The points of one run read so far: each metric's epochs and values, as parallel lists (a metric
    has a point where it was measured: every report, or each epoch's end)."""

    last_step: int = 0
    epochs: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in NAMES})
    values: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in NAMES})
    lock: threading.Lock = field(default_factory=threading.Lock)

    def extend(self, points) -> None:
        for point in points:
            for name, value in point.values.items():
                if value is not None:
                    self.epochs[name].append(point.epoch)
                    self.values[name].append(value)
            self.last_step = point.step

    def copied(self) -> dict[str, tuple[list[float], list[float]]]:
        return {name: (self.epochs[name][:], self.values[name][:]) for name in NAMES}


class CurveCache:
    """Thread-safe, bounded (least recently used runs are dropped) cache of runs' curves."""

    def __init__(self, max_runs: int = 512):
        self.max_runs = max_runs
        self._series: OrderedDict[tuple, _Series] = OrderedDict()
        self._lock = threading.Lock()

    def curves_of(self, run: RunRecord, label: str, reader: ScopedRuns) -> RunCurves:
        """The run's curves up to its ``last_step`` as ``reader`` (whose scope ``run`` was read in) may
        see them, reading only the points not yet cached."""
        series = self._series_of((run.id, run.created_at, reader.scope.test_accuracy))
        with series.lock:
            if run.last_step > series.last_step:
                series.extend(reader.read_points(run.id, after_step=series.last_step))
            curves = RunCurves(label, series.copied())
        if run.status == RunStatus.DIVERGED and run.diverged_epoch is not None:
            curves.marker_epoch = run.diverged_epoch
            curves.marker_text = _("#{run} NaN at step {step}").format(run=run.id, step=run.diverged_step)
        return curves

    def _series_of(self, key: tuple) -> _Series:
        with self._lock:
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = _Series()
                while len(self._series) > self.max_runs:
                    self._series.popitem(last=False)
            self._series.move_to_end(key)
            return series


class LessonRunCache:
    """Runs read as ``LessonRun``s (four queries and a blob decode each), computed once per run, its last
    step and what its reader may see, and shared by every viewer: a seed band or a lesson's reading
    redrawn on a rerun costs no query for runs that haven't changed. Bounded like the curves."""

    def __init__(self, max_runs: int = 256):
        self.max_runs = max_runs
        self._runs: OrderedDict[tuple, LessonRun] = OrderedDict()
        self._lock = threading.Lock()

    def lesson_run(self, run: RunRecord, reader: ScopedRuns) -> LessonRun:
        key = (run.id, run.created_at, run.last_step, run.status, reader.scope.test_accuracy)
        with self._lock:
            if key in self._runs:
                self._runs.move_to_end(key)
                return self._runs[key]
        computed = lesson_run(reader, run.id)
        with self._lock:
            self._runs[key] = computed
            while len(self._runs) > self.max_runs:
                self._runs.popitem(last=False)
        return computed
