"""curves.py: a live view's curves equal the stored points, and a poll reads only what is new."""

import dataclasses

from workloads import make_tiny_data

from dashboard.curves import CurveCache
from softmax_core.book.train import Callback, fit
from softmax_core.config import TrainConfig
from softmax_core.metric_registry import METRICS, Split
from softmax_core.runs.recording_callback import RecordingCallback
from softmax_core.runs.store import EVERYTHING, ReadScope, RunStore


class StopAfter(Callback):
    """Cancel the run after ``count`` reports, to look at it mid-way."""

    def __init__(self, count):
        self.count, self.seen = count, 0

    def on_step(self, report):
        self.seen += 1

    def __call__(self):
        return self.seen >= self.count


def test_curves_grow_by_reading_only_new_points_and_equal_the_store(tmp_path):
    store = RunStore(f"sqlite:///{tmp_path}/runs.db")
    reads = []
    original = store.read_points
    store.read_points = lambda run_id, after_step=0, *, scope: (
        reads.append(after_step), original(run_id, after_step, scope=scope))[1]
    cache, everything = CurveCache(), store.reader(EVERYTHING)
    config = TrainConfig(epochs=2, batch_size=100)
    run_id = store.create_run(config, "growing")
    halfway = StopAfter(4)
    fit(config, make_tiny_data(), [RecordingCallback(store, run_id, flush_seconds=0), halfway], halfway)
    partial = cache.curves_of(store.get_run(run_id, scope=EVERYTHING), "#1", everything)
    assert len(partial.points("train_loss")[0]) == 4 and reads == [0]
    cache.curves_of(store.get_run(run_id, scope=EVERYTHING), "#1", everything)
    assert reads == [0], "an unchanged run is not read again"
    rest = store.create_run(config, "complete")
    fit(config, make_tiny_data(), [RecordingCallback(store, rest, flush_seconds=0)])
    first = cache.curves_of(store.get_run(rest, scope=EVERYTHING), "#2", everything)
    store.add_points(rest, [type("P", (), dict(step=99, epoch=9.9, train_loss=0.1, train_acc=0.9))])
    grown = cache.curves_of(store.get_run(rest, scope=EVERYTHING), "#2", everything)
    assert reads[-1] == 12 and grown.points("train_loss")[0] == first.points("train_loss")[0] + [9.9]
    points = original(rest, scope=EVERYTHING)
    assert grown.points("train_loss")[1] == [p.train_loss for p in points]
    test_acc = grown.points("test_acc")[1]
    assert test_acc == [p.test_acc for p in points if p.test_acc is not None] and len(test_acc) == 2


def test_the_cache_is_bounded(tmp_path):
    store = RunStore(f"sqlite:///{tmp_path}/runs.db")
    cache = CurveCache(max_runs=2)
    runs = [store.get_run(store.create_run(TrainConfig(), f"run {i}"), scope=EVERYTHING) for i in range(3)]
    for run in runs:
        cache.curves_of(run, "x", store.reader(EVERYTHING))
    assert list(cache._series) == [(run.id, run.created_at, True) for run in runs[1:]]


def test_a_students_curves_before_the_reveal_hold_no_test_accuracy_even_after_the_teachers_read(tmp_path):
    store = RunStore(f"sqlite:///{tmp_path}/runs.db")
    student = store.classroom.add_student("Ada", "digest", name_key="ada")
    config = TrainConfig(epochs=2, batch_size=100, validation=True)
    run_id = store.create_run(config, "hers", owner_id=student)
    fit(config, make_tiny_data(), [RecordingCallback(store, run_id, flush_seconds=0)])
    cache = CurveCache()
    teacher, ada = store.reader(EVERYTHING), store.reader(ReadScope.of_student(student, test_accuracy=False))
    theirs = cache.curves_of(teacher.get_run(run_id), "#1", teacher)
    assert all(len(theirs.points(m.name)[1]) == 2 for m in METRICS if m.held_out), "two epochs of each held-out metric"
    hers = cache.curves_of(ada.get_run(run_id), "#1", ada)
    assert all(hers.points(m.name)[1] == [] for m in METRICS if m.split is Split.TEST), \
        "the teacher's cached copy is never handed to her"
    assert all(len(hers.points(m.name)[1]) == 2 for m in METRICS if m.split is Split.VALIDATION)


def test_a_run_that_reuses_a_deleted_runs_id_starts_with_its_own_curves(tmp_path):
    store = RunStore(f"sqlite:///{tmp_path}/runs.db")
    config = TrainConfig(epochs=1, batch_size=100)
    old = store.create_run(config, "old")
    fit(config, make_tiny_data(), [RecordingCallback(store, old, flush_seconds=0)])
    cache, everything = CurveCache(), store.reader(EVERYTHING)
    assert cache.curves_of(store.get_run(old, scope=EVERYTHING), "x", everything).points("train_loss")[1]
    old_run = store.get_run(old, scope=EVERYTHING)
    reused = dataclasses.replace(old_run, created_at=old_run.created_at + 1, last_step=0)
    assert cache.curves_of(reused, "x", everything).points("train_loss")[1] == [], "another run, whatever its id"


def test_a_lesson_run_is_read_once_per_run_and_last_step(tmp_path):
    from dashboard.curves import LessonRunCache

    store = RunStore(f"sqlite:///{tmp_path}/runs.db")
    config = TrainConfig(epochs=1, batch_size=100)
    run_id = store.create_run(config, "r")
    fit(config, make_tiny_data(), [RecordingCallback(store, run_id, flush_seconds=0)])
    reader, reads = store.reader(EVERYTHING), []
    original = reader.read_epochs
    reader.read_epochs = lambda *args, **kwargs: (reads.append(args), original(*args, **kwargs))[1]
    cache = LessonRunCache()
    first = cache.lesson_run(store.get_run(run_id, scope=EVERYTHING), reader)
    again = cache.lesson_run(store.get_run(run_id, scope=EVERYTHING), reader)
    assert again is first and len(reads) == 1, "no query the second time"
    store.add_points(run_id, [type("P", (), dict(step=99, epoch=1.5, train_loss=0.1, train_acc=0.9))])
    grown = cache.lesson_run(store.get_run(run_id, scope=EVERYTHING), reader)
    assert grown.steps[-1] == 99 and len(reads) == 2, "a run that moved on is read again"
