"""The run store: round trips of every stored field, the worker-facing calls (claim, heartbeat, cancel
flag, stale runs), migrations (a schema-1 database upgraded in place), clear errors, the batching writer,
and many processes writing at once.

Every test that isn't about SQLite's files runs twice: on a SQLite file and on a real PostgreSQL server
(the ``store_url`` fixture)."""

import json
import multiprocessing
import sqlite3
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
import torch
from workloads import make_tiny_data, write_runs_and_points

from softmax_core.book.train import Callback, fit
from softmax_core.classroom.names import canonical_name
from softmax_core.config import TrainConfig
from softmax_core.metric_registry import METRICS, Split
from softmax_core.runs.recording_callback import RecordingCallback
from softmax_core.runs.store import EVERYTHING, NameTaken, ReadScope, RunStore, StoreError, default_database_url
from softmax_core.runs.store.engine import MIGRATIONS_DIR
from softmax_core.runs.store.schema import SCHEMA_VERSION
from softmax_core.status import RunStatus

FINISHED, INTERRUPTED, QUEUED, RUNNING, CANCELLED, FAILED = (
    RunStatus.FINISHED, RunStatus.INTERRUPTED, RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.CANCELLED,
    RunStatus.FAILED)
SCHEMA_V1_SQL = Path(__file__).parent / "data" / "schema_v1.sql"
V1_EPOCH_COLUMNS = ("run_id, epoch, step, train_loss, train_acc, test_acc, seconds, weights, bias, confusion, "
                    "step_losses")
HEAD_REVISION = f"{SCHEMA_VERSION:04d}"  # the newest migration, numbered as the schema it makes


@pytest.fixture
def store(store_url):
    return RunStore(store_url)


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
    assert store.claim_run(run_id, "lab-3", 4121)
    collector = Collector()
    result = fit(config, tiny_data, [RecordingCallback(store, run_id, flush_seconds=0), collector])
    run = store.get_run(run_id, scope=EVERYTHING)
    assert (run.name, run.config, run.status, run.tags) == ("round trip", config, FINISHED, {"lesson": "demo"})
    assert run.final_train_loss == result.final.train_loss and run.final_test_acc == result.final.test_acc
    assert run.verdict == result.verdict
    assert run.steps_per_epoch == 19 and run.total_steps == 57 and run.last_step == 57 and run.progress == 1.0
    assert run.created_at <= run.started_at <= run.ended_at
    assert (run.host, run.pid, run.device, run.placement) == ("lab-3", 4121, "cpu", "cpu on lab-3, process 4121")
    points = store.read_points(run_id, scope=EVERYTHING)
    assert [(p.step, p.epoch, p.train_loss, p.train_acc) for p in points] == [
        (s.step, s.epoch, s.train_loss, s.train_acc) for s in collector.steps]
    assert [p.epoch for p in points] == sorted(p.epoch for p in points)
    assert [p.test_acc for p in points if p.test_acc is not None] == [e.test_acc for e in collector.epochs]
    epochs = store.read_epochs(run_id, with_tensors=True, scope=EVERYTHING)
    for stored, emitted in zip(epochs, collector.epochs, strict=True):
        assert (stored.epoch, stored.step, stored.train_loss, stored.test_acc) == (
            emitted.epoch, emitted.step, emitted.train_loss, emitted.test_acc)
        assert torch.equal(stored.weights, emitted.weights) and torch.equal(stored.bias, emitted.bias)
        assert torch.equal(stored.confusion, emitted.confusion)
        assert stored.step_losses.tolist() == pytest.approx(list(emitted.step_losses), rel=1e-6)
    assert torch.equal(store.read_epoch(run_id, 2, scope=EVERYTHING).weights, collector.epochs[1].weights)


def test_the_writer_batches_points(store, tiny_data, monkeypatch):
    transactions = []
    original = store.record_progress
    monkeypatch.setattr(store, "record_progress", lambda *a, **k: (transactions.append(a), original(*a, **k)))
    run_id = store.create_run(TrainConfig(), "batched")
    assert store.claim_run(run_id, "here", 1)
    result = fit(TrainConfig(epochs=2, batch_size=10, reports_per_epoch=50), tiny_data,
                 [RecordingCallback(store, run_id, flush_seconds=60)])
    assert len(store.read_points(run_id, scope=EVERYTHING)) == 100
    # the schedule with the first point, then epoch 1, then epoch 2 with the end: not one per point
    # (nor one each for the schedule and the end)
    assert len(transactions) == 3
    run = store.get_run(run_id, scope=EVERYTHING)
    assert (run.status, run.total_steps, run.final_test_acc) == (result.status, 120, result.final.test_acc)
    assert [epoch.epoch for epoch in store.read_epochs(run_id, scope=EVERYTHING)] == [1, 2]


def test_runs_list_newest_first_and_filter_by_status(store):
    first = store.create_run(TrainConfig(), "a")
    second = store.create_run(TrainConfig(lr=0.2), "b")
    assert store.claim_run(second, "here", 1)
    assert [run.id for run in store.list_runs(scope=EVERYTHING)] == [second, first]
    assert [run.id for run in store.list_runs(RUNNING, scope=EVERYTHING)] == [second]
    assert [run.id for run in store.get_runs([second, first, 999], scope=EVERYTHING)] == [first, second]
    started = store.get_run(second, scope=EVERYTHING).started_at
    store.record_schedule(second, 20, 200, "cpu")  # fit starting after the data loaded: counts added, start kept
    again = store.get_run(second, scope=EVERYTHING)
    assert again.started_at == started and (again.steps_per_epoch, again.total_steps) == (20, 200)
    queued = store.get_run(first, scope=EVERYTHING)
    assert queued.status == QUEUED and queued.progress == 0.0
    with pytest.raises(KeyError):
        store.get_run(999, scope=EVERYTHING)


def test_delete_removes_the_run_and_its_points(store, tiny_data):
    run_id = store.create_run(TrainConfig(), "gone")
    fit(TrainConfig(epochs=1, batch_size=100), tiny_data, [RecordingCallback(store, run_id)])
    store.delete_run(run_id)
    assert store.list_runs(scope=EVERYTHING) == []
    assert store.read_points(run_id, scope=EVERYTHING) == [] and store.read_epochs(run_id, scope=EVERYTHING) == []


def test_a_run_is_claimed_once_and_never_after_a_cancel(store):
    run_id = store.create_run(TrainConfig(), "contested")
    assert store.claim_run(run_id, "a", 1)
    assert not store.claim_run(run_id, "b", 2), "a second worker must not train it too"
    assert store.get_run(run_id, scope=EVERYTHING).host == "a"
    cancelled = store.create_run(TrainConfig(), "cancelled first")
    assert store.request_cancel(cancelled) and store.cancel_requested(cancelled)
    assert not store.claim_run(cancelled, "a", 1)
    assert store.end_run(cancelled, CANCELLED, "cancelled while queued")
    assert not store.request_cancel(cancelled), "an ended run has nothing to cancel"
    assert not store.end_run(cancelled, FAILED, "too late"), "an ended run stays as it ended"
    assert store.get_run(cancelled, scope=EVERYTHING).status == CANCELLED


def test_stale_runs_become_interrupted_with_their_points_and_fresh_ones_stay(store, tiny_data):
    stale = store.create_run(TrainConfig(epochs=1, batch_size=100), "stale")
    store.claim_run(stale, "here", 1)
    fit(TrainConfig(epochs=1, batch_size=100), tiny_data, [RecordingCallback(store, stale)])
    with store.engine.begin() as conn:  # as if it had stopped beating 30 s ago, still 'running'
        conn.execute(sa.text("UPDATE runs SET status='running', heartbeat_at=:t WHERE id=:id"),
                     {"t": time.time() - 30, "id": stale})
    fresh = store.create_run(TrainConfig(), "fresh")
    assert store.interrupt_stale_runs(10.0) == [stale]
    run = store.get_run(stale, scope=EVERYTHING)
    assert run.status == INTERRUPTED and "no heartbeat for over 10 s while running" in run.error
    assert len(store.read_points(stale, scope=EVERYTHING)) == 5
    assert store.get_run(fresh, scope=EVERYTHING).status == QUEUED
    before = store.get_run(fresh, scope=EVERYTHING).heartbeat_at
    time.sleep(0.01)
    store.beat([fresh, stale])
    assert store.get_run(fresh, scope=EVERYTHING).heartbeat_at > before
    assert store.get_run(stale, scope=EVERYTHING).status == INTERRUPTED, "a beat doesn't revive an ended run"


def test_points_are_read_after_a_step_for_live_views(store, tiny_data):
    run_id = store.create_run(TrainConfig(epochs=2, batch_size=100), "live")
    fit(TrainConfig(epochs=2, batch_size=100), tiny_data, [RecordingCallback(store, run_id, flush_seconds=0)])
    every = store.read_points(run_id, scope=EVERYTHING)
    assert store.read_points(run_id, after_step=every[3].step, scope=EVERYTHING) == every[4:]
    assert store.read_points(run_id, after_step=every[-1].step, scope=EVERYTHING) == []


def load_schema_v1(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        conn.executescript(SCHEMA_V1_SQL.read_text())
    return f"sqlite:///{path}"


def write_schema_v1(url: str, tmp_path: Path) -> str:
    """The database the release before migrations left at ``url``: on SQLite its own file (kept as SQL);
    on PostgreSQL the same rows, in tables made as that release made them (revision 0001, no alembic_version)."""
    if url.startswith("sqlite"):
        return load_schema_v1(tmp_path / "v1.db")
    from alembic import command
    from alembic.config import Config

    source = sa.create_engine(load_schema_v1(tmp_path / "v1-source.db"))
    target = sa.create_engine(url)
    with target.begin() as conn:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.exec_driver_sql("DROP TABLE alembic_version")
        conn.exec_driver_sql("DELETE FROM meta")
        tables = sa.MetaData()
        tables.reflect(conn, only=["meta", "runs", "points", "epochs"])
        with source.connect() as old:
            for name in ("meta", "runs", "points", "epochs"):
                table = tables.tables[name]
                json_columns = [column.name for column in table.columns if isinstance(column.type, sa.JSON)]
                rows = [dict(row._mapping) for row in old.execute(sa.text(f"SELECT * FROM {name}"))]
                for row in rows:  # SQLite hands JSON back as its text
                    row.update({column: json.loads(row[column]) for column in json_columns if row[column]})
                conn.execute(table.insert(), rows)
        conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('runs', 'id'), (SELECT max(id) FROM runs))")
    target.dispose()
    return url


def test_a_schema_1_database_is_upgraded_in_place_with_nothing_lost(store_url, tmp_path):
    url = write_schema_v1(store_url, tmp_path)
    with sqlite3.connect(tmp_path / "v1.db" if url.startswith("sqlite") else tmp_path / "v1-source.db") as conn:
        points_before = conn.execute("SELECT run_id, step, epoch, train_loss, train_acc, test_acc FROM points "
                                     "ORDER BY run_id, step").fetchall()
        epochs_before = conn.execute(f"SELECT {V1_EPOCH_COLUMNS} FROM epochs ORDER BY run_id, epoch").fetchall()
        runs_before = conn.execute("SELECT id, name, status, config, verdict, tags, owner FROM runs").fetchall()
    store = RunStore(url)
    runs = {run.id: run for run in store.list_runs(scope=EVERYTHING)}
    assert [(r.id, r.name, r.status.value) for r in runs.values()] == [
        (3, "queued in v1", "queued"), (2, "running when v1 stopped", "running"), (1, "finished in v1", "finished")]
    for row in runs_before:
        run = runs[row[0]]
        assert run.config == TrainConfig.from_dict(json.loads(row[3]))
        assert run.tags == json.loads(row[5])
        host, pid = row[6].rsplit(":", 1)
        assert (run.host, run.pid) == (host, int(pid)), "v1's owner is kept as where it trained"
    assert runs[1].verdict is not None and runs[1].final_test_acc is not None
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT run_id, step, epoch, train_loss, train_acc, test_acc FROM points "
                                    "ORDER BY run_id, step")).all() == points_before
        assert [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                for row in conn.execute(sa.text(f"SELECT {V1_EPOCH_COLUMNS} FROM epochs ORDER BY run_id, epoch"))
                ] == epochs_before
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == HEAD_REVISION
    assert store.read_epoch(1, 2, scope=EVERYTHING).weights.shape == (10, 784)
    assert sorted(store.interrupt_stale_runs(8.0)) == [2, 3], "v1's leftovers don't stay active forever"
    assert {store.get_run(2, scope=EVERYTHING).status, store.get_run(3, scope=EVERYTHING).status} == {INTERRUPTED}
    assert RunStore(url).get_run(1, scope=EVERYTHING).name == "finished in v1", "opening again changes nothing"


def test_an_upgraded_database_says_its_version_where_the_first_release_looks(store_url, tmp_path):
    """The first release read meta.schema_version and refused anything above 1: the upgrade must leave the
    current version there, or that release would open (and damage) a database it doesn't understand."""
    store = RunStore(write_schema_v1(store_url, tmp_path))
    with store.engine.connect() as conn:
        version = conn.execute(sa.text("SELECT value FROM meta WHERE key='schema_version'")).scalar()
    assert int(version) == SCHEMA_VERSION and SCHEMA_VERSION > 1


def write_schema_5_class(url: str, names: list[str]) -> None:
    """A class as schema 5 kept it: students keyed by their lower-cased name (what main did), so that
    lookalikes of one name each got a key of their own."""
    from alembic import command
    from alembic.config import Config

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = conn
        command.upgrade(config, "0005")
        for number, name in enumerate(names):
            conn.execute(sa.text("INSERT INTO students (name, name_key, token_digest, joined_at) "
                                 "VALUES (:name, :key, :digest, :at)"),
                         {"name": name, "key": name.lower(), "digest": f"{number:064d}", "at": 1000.0 + number})
    engine.dispose()


def test_students_whose_names_now_collide_keep_their_places_through_the_upgrade(store_url):
    """Schema 6 keys names by their canonical form: two old students whose names are now one name both
    stay (the older keeps the key, the later gets '#<id>'), and the upgrade never fails on them."""

    lookalikes = ["Alice", "\u0410lice", "Al\u034fice", "Zo\u00eb", "Zoe\u0308", "alice#2", "\u0418\u0432\u0430\u043d",
                  "m" * 40]
    write_schema_5_class(store_url, lookalikes)
    store = RunStore(store_url)
    with store.engine.connect() as conn:
        keys = dict(conn.execute(sa.text("SELECT name, name_key FROM students ORDER BY id")).all())
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == HEAD_REVISION
    assert keys == {"Alice": "alice", "\u0410lice": "alice#2", "Al\u034fice": "alice#3",
                    "Zo\u00eb": "zo\u00eb", "Zoe\u0308": "zo\u00eb#5", "alice#2": "alice#2#6",
                    "\u0418\u0432\u0430\u043d": "\u1d0e\u0299a\u029c", "m" * 40: "rn" * 40}
    assert [s.name for s in store.classroom.list_students()] == lookalikes, "nobody was lost"
    assert store.classroom.student_named(canonical_name("ALICE")).name == "Alice", "the older one has the name"
    with pytest.raises(NameTaken, match="taken"):
        store.classroom.add_student("\u0410lice", name_key=canonical_name("\u0410lice"))


def test_reopening_keeps_every_field_point_and_epoch(store_url):
    store = RunStore(store_url)
    run_id = store.create_run(TrainConfig(batch_size=64, epochs=1), "kept", tags={"lesson": "x"})
    config = TrainConfig(batch_size=100, epochs=1)
    fit(config, make_tiny_data(), [RecordingCallback(store, run_id, flush_seconds=0)])
    reopened = RunStore(store_url)
    assert reopened.get_run(run_id, scope=EVERYTHING).to_dict() == store.get_run(run_id, scope=EVERYTHING).to_dict()
    points = reopened.read_points(run_id, scope=EVERYTHING)
    assert points == store.read_points(run_id, scope=EVERYTHING) and len(points) > 1
    before, after = store.read_epoch(run_id, 1, scope=EVERYTHING), reopened.read_epoch(run_id, 1, scope=EVERYTHING)
    assert torch.equal(before.weights, after.weights) and torch.equal(before.confusion, after.confusion)


def test_a_deleted_runs_id_is_never_given_to_a_new_run(store_url):
    """A page caches curves and galleries by run; a new run under an old id would inherit them."""
    store = RunStore(store_url)
    first, newest = store.create_run(TrainConfig(), "a"), store.create_run(TrainConfig(), "b")
    store.delete_run(newest)
    assert store.create_run(TrainConfig(), "c") > newest > first


def test_a_database_from_a_newer_release_is_refused_untouched(store_url):
    url = store_url
    store = RunStore(url)
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(StoreError, match="newer than this Softmax Lab understands"):
        RunStore(url)
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0099"


def test_foreign_database_is_refused_and_left_alone(store_url):
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(StoreError, match="not a Softmax Lab database"):
        RunStore(store_url)
    assert sa.inspect(engine).get_table_names() == ["invoices"]
    engine.dispose()


def test_a_corrupt_sqlite_file_gives_a_clear_error(tmp_path):
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


def test_sqlite_files_are_created_with_wal_and_integrity(tmp_path):
    store = RunStore(f"sqlite:///{tmp_path}/runs.db")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"


WRITERS, POINTS_PER_WRITER = 8, 400


def test_eight_processes_writing_at_once_lose_no_point(store_url):
    RunStore(store_url)  # migrated once here, so that the writers race on the rows, not on the schema
    context = multiprocessing.get_context("fork")  # separate processes, without eight torch imports
    with context.Pool(WRITERS) as pool:
        run_ids = pool.starmap(write_runs_and_points, [(store_url, writer, POINTS_PER_WRITER)
                                                       for writer in range(WRITERS)])
    store = RunStore(store_url)
    assert sorted(run_ids) == sorted({run.id for run in store.list_runs(scope=EVERYTHING)}), "every run recorded once"
    for run_id, writer in zip(run_ids, range(WRITERS), strict=True):
        run = store.get_run(run_id, scope=EVERYTHING)
        assert (run.status, run.host, run.pid) == (FINISHED, f"writer-{writer}", writer)
        points = store.read_points(run_id, scope=EVERYTHING)
        assert [p.step for p in points] == list(range(1, POINTS_PER_WRITER + 1))
        assert all(p.train_loss == writer + p.step / 1000 for p in points), "each point is the one its writer wrote"
    assert not store.interrupt_stale_runs(8.0)


def test_schema_8_keeps_each_students_one_token_as_their_first_device(tmp_path):
    """A class on schema 5 kept one token per student (in every browser and link of theirs): after the
    upgrade it still signs that student in, as one device of theirs, and a removed student's signs nobody in."""
    from alembic import command
    from alembic.config import Config

    from softmax_core.classroom.auth import new_token, token_digest

    url, ada, gone = f"sqlite:///{tmp_path}/class.db", new_token(), new_token()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = conn
        command.upgrade(config, "0005")
        conn.execute(sa.text("INSERT INTO students (name, name_key, token_digest, joined_at, removed_at) VALUES "
                             "('Ada', 'ada', :ada, 1.0, NULL), ('Mallory', 'mallory', :gone, 2.0, 3.0)"),
                     {"ada": token_digest(ada), "gone": token_digest(gone)})
    engine.dispose()
    classroom = RunStore(url).classroom
    assert classroom.student_by_device(token_digest(ada)).name == "Ada"
    assert classroom.student_by_device(token_digest(gone)) is None
    assert classroom.drop_devices(classroom.student_named(canonical_name("Ada")).id) == 1, "a device like any other"
    assert classroom.student_by_device(token_digest(ada)) is None


def test_every_read_names_whose_it_is():
    """No read of runs has a default scope: the caller says whose read it is (EVERYTHING is named, never
    assumed), so that a page can't read a student's runs as the teacher by leaving the scope out."""
    import inspect

    reads = ("get_run", "get_runs", "list_runs", "runs_tagged", "read_points", "read_epochs", "read_epoch")
    for name in reads:
        scope = inspect.signature(getattr(RunStore, name)).parameters["scope"]
        assert scope.kind is inspect.Parameter.KEYWORD_ONLY and scope.default is inspect.Parameter.empty, name


def test_a_students_scope_reads_nothing_of_the_test_split_whatever_the_registry_holds(store, tiny_data):
    """The one hiding rule, over every metric the registry lists: what the teacher reads of the test split
    (points, epochs, the run's final values, the test confusion matrix), a student before the reveal reads
    as nothing, and the rest as the teacher does."""
    student = store.classroom.add_student("Ada", "digest", name_key="ada")
    config = TrainConfig(epochs=2, batch_size=100, validation=True)
    run_id = store.create_run(config, "hers", owner_id=student)
    fit(config, tiny_data, [RecordingCallback(store, run_id, flush_seconds=0)])
    before, after = (ReadScope.of_student(student, test_accuracy=revealed) for revealed in (False, True))
    for scope in (EVERYTHING, before, after):
        run = store.get_run(run_id, scope=scope)
        epoch_ends = [p for p in store.read_points(run_id, scope=scope) if p.step % run.steps_per_epoch == 0]
        epochs, last = store.read_epochs(run_id, scope=scope), store.read_epoch(run_id, 2, scope=scope)
        for metric in METRICS:
            read = [run.finals[metric.name], *(p.values[metric.name] for p in epoch_ends),
                    *(e.values[metric.name] for e in epochs), last.values[metric.name]]
            if metric.split is Split.TEST and scope is before:
                assert read == [None] * len(read), f"{metric.name} leaked to a student before the reveal"
            else:
                assert None not in read, f"{metric.name} was recorded, and {scope} may read it"
        assert (last.confusion is None) == (scope is before), "the confusion matrix is the test set's"
        assert any("test_acc" in check.name for check in run.verdict.checks) != (scope is before), \
            "before the reveal the book's checks are judged on validation accuracy"
    assert any(m.split is Split.TEST for m in METRICS) and any(m.held_out for m in METRICS if m.kind == "loss")
