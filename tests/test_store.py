"""store.py: round trips of every stored field, schema guard, clear errors, the batching writer."""

import sqlite3

import pytest
import sqlalchemy as sa
import torch

from softmax_core.config import TrainConfig
from softmax_core.jobs import RecordingCallback
from softmax_core.store import (
    FINISHED,
    INTERRUPTED,
    QUEUED,
    RUNNING,
    SCHEMA_VERSION,
    RunStore,
    StoreError,
    default_database_url,
    meta_table,
)
from softmax_core.train import Callback, fit


@pytest.fixture
def store(tmp_path):
    return RunStore(f"sqlite:///{tmp_path}/runs.db")


class Collector(Callback):
    def __init__(self):
        self.steps, self.epochs = [], []

    def on_step(self, report):
        self.steps.append(report)

    def on_epoch_end(self, report):
        self.epochs.append(report)


def test_a_recorded_run_reads_back_exactly_what_fit_emitted(store, tiny_data):
    config = TrainConfig(epochs=3, batch_size=32, lr=0.3, seed=4)
    run_id = store.create_run(config, "round trip", tags={"lesson": "demo"})
    collector = Collector()
    result = fit(config, tiny_data, [RecordingCallback(store, run_id, flush_seconds=0), collector])
    run = store.get_run(run_id)
    assert (run.name, run.config, run.status, run.tags) == ("round trip", config, FINISHED, {"lesson": "demo"})
    assert run.final_train_loss == result.final.train_loss and run.final_test_acc == result.final.test_acc
    assert run.verdict == result.verdict
    assert run.steps_per_epoch == 19 and run.total_steps == 57 and run.last_step == 57 and run.progress == 1.0
    assert run.created_at <= run.started_at <= run.ended_at
    points = store.read_points(run_id)
    assert [(p.step, p.epoch, p.train_loss, p.train_acc) for p in points] == [
        (s.step, s.epoch, s.train_loss, s.train_acc) for s in collector.steps]
    assert [p.epoch for p in points] == sorted(p.epoch for p in points)
    assert [p.test_acc for p in points if p.test_acc is not None] == [e.test_acc for e in collector.epochs]
    for stored, emitted in zip(store.read_epochs(run_id, with_tensors=True), collector.epochs):
        assert (stored.epoch, stored.step, stored.train_loss, stored.test_acc) == (
            emitted.epoch, emitted.step, emitted.train_loss, emitted.test_acc)
        assert torch.equal(stored.weights, emitted.weights) and torch.equal(stored.bias, emitted.bias)
        assert torch.equal(stored.confusion, emitted.confusion)
        assert stored.step_losses.tolist() == pytest.approx(list(emitted.step_losses), rel=1e-6)
    assert torch.equal(store.read_epoch(run_id, 2).weights, collector.epochs[1].weights)


def test_the_writer_batches_points(store, tiny_data, monkeypatch):
    transactions = []
    original = store.add_points
    monkeypatch.setattr(store, "add_points", lambda *a, **k: (transactions.append(a), original(*a, **k)))
    run_id = store.create_run(TrainConfig(), "batched")
    fit(TrainConfig(epochs=2, batch_size=10, reports_per_epoch=50), tiny_data,
        [RecordingCallback(store, run_id, flush_seconds=60)])
    assert len(store.read_points(run_id)) == 100
    assert len(transactions) == 3  # the first point at once, then one per epoch end; not one per point


def test_runs_list_newest_first_and_filter_by_status(store):
    first = store.create_run(TrainConfig(), "a")
    second = store.create_run(TrainConfig(lr=0.2), "b")
    store.mark_running(second, 10, 100)
    assert [run.id for run in store.list_runs()] == [second, first]
    assert [run.id for run in store.list_runs(RUNNING)] == [second]
    assert [run.id for run in store.get_runs([second, first, 999])] == [first, second]
    started = store.get_run(second).started_at
    store.mark_running(second, 20, 200)  # fit starting after the data loaded: counts added, start kept
    again = store.get_run(second)
    assert again.started_at == started and (again.steps_per_epoch, again.total_steps) == (20, 200)
    assert store.get_run(first).status == QUEUED and store.get_run(first).progress == 0.0
    with pytest.raises(KeyError):
        store.get_run(999)


def test_delete_removes_the_run_and_its_points(store, tiny_data):
    run_id = store.create_run(TrainConfig(), "gone")
    fit(TrainConfig(epochs=1, batch_size=100), tiny_data, [RecordingCallback(store, run_id)])
    store.delete_run(run_id)
    assert store.list_runs() == [] and store.read_points(run_id) == [] and store.read_epochs(run_id) == []


def test_runs_of_a_dead_process_become_interrupted_with_metrics_kept(store, tiny_data):
    run_id = store.create_run(TrainConfig(), "orphan")
    fit(TrainConfig(epochs=1, batch_size=100), tiny_data, [RecordingCallback(store, run_id)])
    mine = store.create_run(TrainConfig(), "still mine")
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE runs SET status='running', owner=:owner WHERE id=:id"),
                     {"owner": f"{__import__('socket').gethostname()}:999999999", "id": run_id})
    assert store.interrupt_orphans() == [run_id]
    run = store.get_run(run_id)
    assert run.status == INTERRUPTED and "interrupted" in run.error
    assert len(store.read_points(run_id)) == 5
    assert store.get_run(mine).status == QUEUED  # this process is alive: its runs stay


def test_reopening_keeps_everything(tmp_path):
    url = f"sqlite:///{tmp_path}/runs.db"
    run_id = RunStore(url).create_run(TrainConfig(batch_size=64), "kept")
    assert RunStore(url).get_run(run_id).config.batch_size == 64


def test_newer_schema_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path}/runs.db"
    store = RunStore(url)
    with store.engine.begin() as conn:
        conn.execute(meta_table.update().where(meta_table.c.key == "schema_version")
                     .values(value=str(SCHEMA_VERSION + 1)))
    with pytest.raises(StoreError, match="newer than this Softmax Lab understands"):
        RunStore(url)


def test_foreign_database_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(StoreError, match="not a Softmax Lab database"):
        RunStore(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    assert tables == ["invoices"]


def test_corrupt_database_file_gives_a_clear_error(tmp_path):
    path = tmp_path / "runs.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="corrupt or not a SQLite database"):
        RunStore(f"sqlite:///{path}")


def test_unwritable_location_gives_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="can't create the folder for the run database"):
        RunStore(f"sqlite:///{blocker}/sub/runs.db")
    with pytest.raises(StoreError, match="not a database URL"):
        RunStore("no-such-scheme")


def test_default_location_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SOFTMAX_LAB_DB", "sqlite:///elsewhere.db")
    assert default_database_url() == "sqlite:///elsewhere.db"
    monkeypatch.delenv("SOFTMAX_LAB_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_database_url() == f"sqlite:///{tmp_path}/softmax-lab/runs.db"


def test_created_with_wal_and_integrity(store):
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert store.integrity_check() == "ok"
