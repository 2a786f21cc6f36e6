"""RunStore: every run, its config, its metric points, per-epoch weights and confusion matrices, on a
database, so that any page, process or machine can redraw (or replay) any run at any time.

It is also how the server and its workers talk: a worker claims a queued run, refreshes its heartbeat,
reads the run's cancel flag and writes its points; the server sets the flag and turns runs whose
heartbeat went stale into ``interrupted``. Nothing here knows about processes or threads, so the same
calls serve local worker processes, Ray tasks on other machines, and the CLI.

Every time it writes (created, started, ended, heartbeat) is the database's own clock, not the writer's,
so that a heartbeat written on one machine is judged stale on another without their clocks agreeing.

It takes fit()'s reports as plain objects (``step``, ``epoch``, ``train_loss``, ...), so it doesn't
depend on the training loop; ``recording.RecordingCallback`` is the writer that feeds it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from softmax_core.config import TrainConfig
from softmax_core.runs.store.engine import (
    StoreError,
    create_store_engine,
    default_database_url,
    prepare_schema,
    translated_errors,
)
from softmax_core.runs.store.records import (
    EPOCH_SCALARS,
    EPOCH_TENSORS,
    EpochRecord,
    MetricPoint,
    RunRecord,
    StudentRecord,
    epoch_record,
    epoch_row,
    run_record,
)
from softmax_core.runs.store.schema import class_state_table, epochs_table, points_table, runs_table, students_table
from softmax_core.status import ACTIVE_STATUSES, RunStatus

_ACTIVE = [status.value for status in ACTIVE_STATUSES]


class RunStore:
    """Thread- and process-safe access to the runs database (one instance may serve every thread)."""

    def __init__(self, url: str | None = None):
        self.url = url or default_database_url()
        self.engine = create_store_engine(self.url)
        prepare_schema(self.engine, self.url)

    # --- a run's life ----------------------------------------------------------------------------------

    def create_run(self, config: TrainConfig, name: str, tags: dict | None = None,
                   owner_id: int | None = None) -> int:
        """Record a new queued run (a student's, in classroom mode); returns its id."""
        if not isinstance(config, TrainConfig):
            raise TypeError("create_run needs a TrainConfig")
        now = self._now()
        row = {"name": name.strip()[:200] or "run", "config": config.to_dict(), "status": RunStatus.QUEUED.value,
               "created_at": now, "heartbeat_at": now, "tags": tags or {}, "owner_id": owner_id}
        with self._writing() as conn:
            return int(conn.execute(runs_table.insert().values(**row)).inserted_primary_key[0])

    def claim_run(self, run_id: int, host: str, pid: int, node: str | None = None) -> bool:
        """Take a queued run to train it: True if this caller got it (not cancelled, nobody else has it)."""
        now = self._now()
        with self._writing() as conn:
            claimed = conn.execute(
                runs_table.update()
                .where(runs_table.c.id == run_id, runs_table.c.status == RunStatus.QUEUED.value,
                       sa.not_(runs_table.c.cancel_requested))
                .values(status=RunStatus.RUNNING.value, started_at=now, heartbeat_at=now,
                        host=host, pid=pid, node=node))
            return claimed.rowcount == 1

    def record_schedule(self, run_id: int, steps_per_epoch: int, total_steps: int, device: str) -> None:
        """What fit() announced at its start: the steps it will take, and on which device."""
        self._update_run(run_id, steps_per_epoch=steps_per_epoch, total_steps=total_steps, device=device)

    def beat(self, run_ids: Iterable[int]) -> None:
        """Refresh the heartbeat of runs this caller holds (queued in its queue, or training)."""
        ids = list(run_ids)
        if ids:
            with self._writing() as conn:
                conn.execute(runs_table.update()
                             .where(runs_table.c.id.in_(ids), runs_table.c.status.in_(_ACTIVE))
                             .values(heartbeat_at=self._now()))

    def request_cancel(self, run_id: int) -> bool:
        """Raise the run's cancel flag (its worker stops within a step); False if it is not active."""
        with self._writing() as conn:
            flagged = conn.execute(runs_table.update()
                                   .where(runs_table.c.id == run_id, runs_table.c.status.in_(_ACTIVE))
                                   .values(cancel_requested=True))
            return flagged.rowcount == 1

    def cancel_requested(self, run_id: int) -> bool:
        """Whether someone asked this run to stop (what a worker's stop check reads)."""
        query = sa.select(runs_table.c.cancel_requested).where(runs_table.c.id == run_id)
        with translated_errors(self.url), self.engine.connect() as conn:
            return bool(conn.execute(query).scalar())

    def end_run(self, run_id: int, status: RunStatus, error: str | None = None) -> bool:
        """End a still-active run without a fit result (cancelled while queued, failed, interrupted)."""
        with self._writing() as conn:
            ended = conn.execute(runs_table.update()
                                 .where(runs_table.c.id == run_id, runs_table.c.status.in_(_ACTIVE))
                                 .values(status=RunStatus(status).value, error=error, ended_at=self._now()))
            return ended.rowcount == 1

    def add_points(self, run_id: int, points: Iterable, epoch=None) -> None:
        """Append progress points, and optionally an epoch's record, in one transaction."""
        rows = [{"run_id": run_id, "step": p.step, "epoch": p.epoch, "train_loss": p.train_loss,
                 "train_acc": p.train_acc} for p in points]
        with self._writing() as conn:
            if rows:
                conn.execute(points_table.insert(), rows)
            if epoch is not None:
                conn.execute(epochs_table.insert().values(**epoch_row(run_id, epoch)))
                conn.execute(points_table.update()
                             .where(points_table.c.run_id == run_id, points_table.c.step == epoch.step)
                             .values(test_acc=epoch.test_acc, val_acc=getattr(epoch, "val_acc", None)))

    def finish_run(self, run_id: int, result) -> None:
        """Record how fit() ended: status, final metrics, verdict."""
        final = result.final
        self._update_run(
            run_id, status=RunStatus(result.status).value, ended_at=self._now(),
            error=None if result.status == RunStatus.FINISHED else result.message,
            final_train_loss=final.train_loss if final else None,
            final_train_acc=final.train_acc if final else None,
            final_test_acc=final.test_acc if final else None,
            final_val_acc=getattr(final, "val_acc", None) if final else None,
            verdict=result.verdict.to_dict() if result.verdict else None,
            diverged_step=result.diverged_step, diverged_epoch=result.diverged_epoch,
        )

    def interrupt_stale_runs(self, max_age: float) -> list[int]:
        """Active runs whose heartbeat is older than ``max_age`` seconds become 'interrupted' (points kept)."""
        now = self._now()
        stale = sa.and_(runs_table.c.status.in_(_ACTIVE), runs_table.c.heartbeat_at < now - max_age)
        with self._writing() as conn:
            rows = conn.execute(sa.select(runs_table.c.id, runs_table.c.status).where(stale)).all()
            for run_id, status in rows:
                conn.execute(runs_table.update().where(runs_table.c.id == run_id, stale).values(
                    status=RunStatus.INTERRUPTED.value, ended_at=now,
                    error=f"no heartbeat for over {max_age:g} s while {status} "
                          "(its server or worker stopped); the points so far are kept"))
        return [row.id for row in rows]

    def count_active_runs(self, owner_id: int) -> int:
        """How many of this student's runs are queued or running."""
        query = (sa.select(sa.func.count()).select_from(runs_table)
                 .where(runs_table.c.owner_id == owner_id, runs_table.c.status.in_(_ACTIVE)))
        with translated_errors(self.url), self.engine.connect() as conn:
            return int(conn.execute(query).scalar())

    def set_shared(self, run_id: int, shared: bool) -> None:
        """Share a run to the class board (or take it back)."""
        self._update_run(run_id, shared=bool(shared))

    def delete_run(self, run_id: int) -> None:
        with self._writing() as conn:
            for table in (points_table, epochs_table):
                conn.execute(table.delete().where(table.c.run_id == run_id))
            conn.execute(runs_table.delete().where(runs_table.c.id == run_id))

    # --- reading -------------------------------------------------------------------------------------

    def get_run(self, run_id: int) -> RunRecord:
        runs = self._select_runs(runs_table.c.id == run_id)
        if not runs:
            raise KeyError(f"no run with id {run_id}")
        return runs[0]

    def list_runs(self, status: RunStatus | None = None) -> list[RunRecord]:
        """Every run, newest first (optionally only those with one status)."""
        condition = runs_table.c.status == RunStatus(status).value if status else sa.true()
        return self._select_runs(condition)

    def get_runs(self, run_ids) -> list[RunRecord]:
        """The runs with these ids that exist, oldest first (what a live view polls)."""
        return sorted(self._select_runs(runs_table.c.id.in_(list(run_ids))), key=lambda run: run.id)

    def latest_group(self, lesson: str, owner_id: int | None = None) -> list[int]:
        """The ids of the newest group of runs tagged with this lesson (``lessons.group_tags``), oldest
        first; with ``owner_id``, that student's newest group."""
        lesson_tag, group_tag = runs_table.c.tags["lesson"].as_string(), runs_table.c.tags["group"].as_string()
        mine = runs_table.c.owner_id == owner_id if owner_id is not None else sa.true()
        newest = (sa.select(group_tag).where(lesson_tag == lesson, mine).order_by(runs_table.c.id.desc()).limit(1)
                  .scalar_subquery())
        query = sa.select(runs_table.c.id).where(lesson_tag == lesson, group_tag == newest).order_by(runs_table.c.id)
        with translated_errors(self.url), self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def runs_tagged(self, key: str, value: str) -> list[RunRecord]:
        """The runs whose tag ``key`` is ``value`` (e.g. one sweep's), oldest first."""
        return sorted(self._select_runs(runs_table.c.tags[key].as_string() == value), key=lambda run: run.id)

    def read_points(self, run_id: int, after_step: int = 0) -> list[MetricPoint]:
        """A run's progress points in step order (only those after ``after_step``, for a live view)."""
        query = (sa.select(points_table.c.step, points_table.c.epoch, points_table.c.train_loss,
                           points_table.c.train_acc, points_table.c.test_acc, points_table.c.val_acc)
                 .where(points_table.c.run_id == run_id, points_table.c.step > after_step)
                 .order_by(points_table.c.step))
        with translated_errors(self.url), self.engine.connect() as conn:
            return [MetricPoint(*row) for row in conn.execute(query)]

    def read_epochs(self, run_id: int, with_tensors: bool = False) -> list[EpochRecord]:
        """A run's epoch records in order; weights, confusion and step losses only if asked."""
        names = EPOCH_SCALARS + (EPOCH_TENSORS if with_tensors else ())
        query = (sa.select(*(epochs_table.c[name] for name in names))
                 .where(epochs_table.c.run_id == run_id).order_by(epochs_table.c.epoch))
        with translated_errors(self.url), self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [epoch_record(row, with_tensors) for row in rows]

    def read_epoch(self, run_id: int, epoch: int) -> EpochRecord:
        """One epoch with its tensors (weights, bias, confusion, step losses)."""
        query = sa.select(epochs_table).where(epochs_table.c.run_id == run_id, epochs_table.c.epoch == epoch)
        with translated_errors(self.url), self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise KeyError(f"run {run_id} has no epoch {epoch}")
        return epoch_record(row, with_tensors=True)

    # --- the class: students and its state ---------------------------------------------------------------

    def add_student(self, name: str, token_digest: str) -> int:
        """Record a student; KeyError if the name (in any case) is taken."""
        row = {"name": name, "name_key": name.lower(), "token_digest": token_digest, "joined_at": self._now()}
        try:
            with self._writing() as conn:
                return int(conn.execute(students_table.insert().values(**row)).inserted_primary_key[0])
        except StoreError as error:
            if self.student_named(name) is not None:
                raise KeyError(f"the name {name!r} is taken in this class") from error
            raise

    def student_by_token(self, token_digest: str) -> StudentRecord | None:
        return self._one_student(students_table.c.token_digest == token_digest)

    def student_named(self, name: str) -> StudentRecord | None:
        return self._one_student(students_table.c.name_key == name.lower())

    def list_students(self) -> list[StudentRecord]:
        query = sa.select(students_table.c.id, students_table.c.name, students_table.c.joined_at)
        with translated_errors(self.url), self.engine.connect() as conn:
            return [StudentRecord(*row) for row in conn.execute(query.order_by(students_table.c.id))]

    def class_state(self) -> dict[str, Any]:
        """The class's settings that the teacher changes on the page (challenge, revealed)."""
        with translated_errors(self.url), self.engine.connect() as conn:
            return dict(conn.execute(sa.select(class_state_table.c.key, class_state_table.c.value)).all())

    def set_class_state(self, key: str, value: Any) -> None:
        with self._writing() as conn:
            updated = conn.execute(class_state_table.update().where(class_state_table.c.key == key)
                                   .values(value=value))
            if updated.rowcount == 0:
                conn.execute(class_state_table.insert().values(key=key, value=value))

    # --- internals -----------------------------------------------------------------------------------

    def _one_student(self, condition) -> StudentRecord | None:
        query = sa.select(students_table.c.id, students_table.c.name, students_table.c.joined_at).where(condition)
        with translated_errors(self.url), self.engine.connect() as conn:
            row = conn.execute(query).first()
        return StudentRecord(*row) if row else None

    def _now(self) -> sa.ColumnElement:
        """The database's clock, in seconds since the epoch (what every stored time is)."""
        return database_clock(self.engine.dialect.name)

    def _select_runs(self, condition) -> list[RunRecord]:
        last_step = (sa.select(sa.func.max(points_table.c.step)).where(points_table.c.run_id == runs_table.c.id)
                     .scalar_subquery())
        query = sa.select(runs_table, last_step.label("last_step")).where(condition).order_by(runs_table.c.id.desc())
        with translated_errors(self.url), self.engine.connect() as conn:
            return [run_record(row) for row in conn.execute(query)]

    def _update_run(self, run_id: int, **values: Any) -> None:
        with self._writing() as conn:
            conn.execute(runs_table.update().where(runs_table.c.id == run_id).values(**values))

    @contextlib.contextmanager
    def _writing(self) -> Iterator[Connection]:
        with translated_errors(self.url), self.engine.begin() as conn:
            yield conn


def database_clock(dialect: str) -> sa.ColumnElement:
    """SQL for 'now' in Unix seconds, read on the database server (millisecond precision or better)."""
    if dialect == "postgresql":
        return sa.cast(sa.func.extract("epoch", sa.func.clock_timestamp()), sa.Float)
    return (sa.func.julianday("now") - 2440587.5) * 86400.0  # SQLite: days since noon, 4714 BC


def open_default_store() -> RunStore:
    return RunStore(default_database_url())
