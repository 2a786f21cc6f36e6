"""RunStore: every run, its config, its metric points, per-epoch weights and confusion matrices, on a
database, so that any page, process or machine can redraw (or replay) any run at any time.

It is also how the server and its workers talk: a worker claims a queued run, refreshes its heartbeat,
reads the run's cancel flag and writes its points; the server sets the flag and turns runs whose
heartbeat went stale into ``interrupted``. Every read takes a ``ReadScope`` (the classroom policy's
answer to who is asking) and applies it in SQL: a student's query returns their runs and the shared
ones, and nothing measured on the test split until the teacher's reveal: which columns those are is
the metric registry's to say (``metric_registry.shown_to``), never a list here. The class's own records (students,
guards, passes) are the ``ClassStore`` at ``store.classroom``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from softmax_core.config import TrainConfig, describe_cost, run_cost
from softmax_core.errors import LabError
from softmax_core.i18n import N_, Said, as_code
from softmax_core.metric_registry import EPOCH_END_METRICS, METRICS, NAMES, STEP_METRICS, Split
from softmax_core.runs.store.class_store import ClassStore
from softmax_core.runs.store.database import Database
from softmax_core.runs.store.engine import default_database_url
from softmax_core.runs.store.records import (
    EPOCH_SCALARS,
    EPOCH_TENSORS,
    EpochRecord,
    MetricPoint,
    RunRecord,
    epoch_record,
    epoch_row,
    run_record,
)
from softmax_core.runs.store.schema import (
    checkpoints_table,
    epochs_table,
    points_table,
    runs_table,
    students_table,
)
from softmax_core.runs.store.scope import ReadScope
from softmax_core.status import ACTIVE_STATUSES, NO_HEARTBEAT, RunStatus, status_named, stored_ending

_ACTIVE = [status.value for status in ACTIVE_STATUSES]
RUN_COLUMN_SPLITS = {**{metric.final_column: metric.split for metric in METRICS},
                     "verdict": Split.TEST}  # the book's verdict is judged on test accuracy


class RunLimitReached(LabError, ValueError):
    """A request passes one of the class's limits (active runs, the largest run, the active budget); the
    message names the setting and gives the numbers, and what would fit."""


ACTIVE_COST_SETTING = "max_active_cost"  # the classroom setting whose limit create_runs(max_cost=...) applies


@dataclass(frozen=True)
class RunRequest:
    """One run to record: what to train, its name, and its tags (a sweep's cell, a lesson's group)."""

    config: TrainConfig
    name: str
    tags: dict = field(default_factory=dict)


class RunStore:
    """Thread- and process-safe access to the runs database (one instance may serve every thread)."""

    def __init__(self, url: str | None = None):
        self.database = Database(url)
        self.url, self.engine = self.database.url, self.database.engine
        self.classroom = ClassStore(self.database)

    # --- a run's life ----------------------------------------------------------------------------------

    def create_run(self, config: TrainConfig, name: str, tags: dict | None = None,
                   owner_id: int | None = None) -> int:
        """Record a new queued run (a student's, in classroom mode); returns its id."""
        return self.create_runs([RunRequest(config, name, tags or {})], owner_id)[0]

    def create_runs(self, requests: Sequence[RunRequest], owner_id: int | None = None,
                    max_active: int | None = None, max_cost: int | None = None) -> list[int]:
        """Record several queued runs in one transaction: all or none. With ``max_active`` (runs) and
        ``max_cost`` (book steps), what the owner's group (them and every name joined from their address)
        has queued or training is counted under locks held to the insert, so that two tabs, or two names
        on one computer, can't both pass the limit (RunLimitReached, and nothing is recorded)."""
        if not all(isinstance(request.config, TrainConfig) for request in requests):
            raise TypeError("create_runs needs TrainConfigs")
        with self.database.writing() as conn:
            if owner_id is not None:
                address = self._owner_address(conn, owner_id)
                self.database.serialize(conn, f"lock:student:{owner_id}")
                if address:
                    self.database.serialize(conn, f"lock:address:{address}")
                self._check_room(conn, owner_id, max_active, len(requests))
                self._check_budget(conn, owner_id, address, max_cost, sum(run_cost(r.config) for r in requests))
            return [self._insert_run(conn, request, owner_id) for request in requests]

    @staticmethod
    def _owner_address(conn, owner_id: int) -> str:
        query = sa.select(students_table.c.joined_from).where(students_table.c.id == owner_id)
        return conn.execute(query).scalar() or ""

    def _check_room(self, conn, owner_id: int, max_active: int | None, count: int) -> None:
        student = conn.execute(sa.select(students_table.c.removed_at, students_table.c.admitted_at).where(
            students_table.c.id == owner_id)).first()
        if student is None or student.removed_at is not None:
            raise RunLimitReached(N_("you are no longer in this class: join again with the class code"))
        if student.admitted_at is None:  # checked here too, so a removal or admission racing a Start is seen
            raise RunLimitReached(N_("you are waiting for your teacher to let you in"))
        if max_active is None:
            return
        active = int(conn.execute(sa.select(sa.func.count()).select_from(runs_table).where(
            runs_table.c.owner_id == owner_id, runs_table.c.status.in_(_ACTIVE))).scalar())
        if active + count > max_active:
            if count == 1:
                raise RunLimitReached(N_("you have {active} runs queued or training; this class allows {most} at "
                                         "once: wait for one to end, or cancel one"), active=active, most=max_active)
            raise RunLimitReached(N_("you have {active} runs queued or training and these are {count} more; this "
                                     "class allows {most} at once: wait for one to end, or cancel one"),
                                  active=active, count=count, most=max_active)

    def _check_budget(self, conn, owner_id: int, address: str, max_cost: int | None, cost: int) -> None:
        if max_cost is None:
            return
        active = self._active_cost(conn, owner_id, address)
        if active + cost > max_cost:
            raise RunLimitReached(
                N_("these runs cost {cost} and yours (with every name from your computer) queued or training cost "
                   "{in_use}; this class allows {budget} at once ({setting}), so {left} would fit now: train fewer "
                   "epochs or runs, or wait for one to end"),
                cost=describe_cost(cost), in_use=describe_cost(active), budget=describe_cost(max_cost),
                setting=as_code(ACTIVE_COST_SETTING), left=describe_cost(max(0, max_cost - active)))

    @staticmethod
    def _active_cost(conn, owner_id: int, address: str) -> int:
        """Book steps the owner's group has queued or training (a run without a cost: its config's)."""
        group = _group_condition(owner_id, address)
        rows = conn.execute(sa.select(runs_table.c.cost, runs_table.c.config)
                            .where(group, runs_table.c.status.in_(_ACTIVE))).all()
        return sum(row.cost if row.cost is not None else run_cost(TrainConfig.from_dict(row.config)) for row in rows)

    def active_cost(self, owner_id: int) -> int:
        """Book steps this student's group (them and the names joined from their address) has queued or
        training: what ``create_runs(max_cost=...)`` counts."""
        with self.database.reading() as conn:
            return self._active_cost(conn, owner_id, self._owner_address(conn, owner_id))

    def _insert_run(self, conn, request: RunRequest, owner_id: int | None) -> int:
        now = self.database.now()
        row = {"name": request.name.strip()[:200] or "run", "config": request.config.to_dict(),
               "status": RunStatus.QUEUED.value, "created_at": now, "heartbeat_at": now,
               "tags": request.tags or {}, "owner_id": owner_id, "cost": run_cost(request.config)}
        return int(conn.execute(runs_table.insert().values(**row)).inserted_primary_key[0])

    def start_run_here(self, config: TrainConfig, name: str, tags: dict, host: str, pid: int) -> int:
        """Record a run that its caller trains itself (a notebook) as running at once, so that no worker
        ever claims it; the caller keeps its heartbeat and ends it (``record_progress``, ``end_run``)."""
        now = self.database.now()
        with self.database.writing() as conn:
            run_id = self._insert_run(conn, RunRequest(config, name, tags), None)
            conn.execute(runs_table.update().where(runs_table.c.id == run_id).values(
                status=RunStatus.RUNNING.value, started_at=now, heartbeat_at=now, host=host, pid=pid))
        return run_id

    def claim_run(self, run_id: int, host: str, pid: int, node: str | None = None) -> bool:
        """Take a queued run to train it: True if this caller got it (not cancelled, nobody else has it)."""
        now = self.database.now()
        with self.database.writing() as conn:
            claimed = conn.execute(
                runs_table.update()
                .where(runs_table.c.id == run_id, runs_table.c.status == RunStatus.QUEUED.value,
                       sa.not_(runs_table.c.cancel_requested))
                .values(status=RunStatus.RUNNING.value, started_at=sa.func.coalesce(runs_table.c.started_at, now),
                        heartbeat_at=now, host=host, pid=pid, node=node))
            return claimed.rowcount == 1

    def record_pack(self, run_ids: Sequence[int]) -> None:
        """These runs train as one pack (``fit_many``): each records the pack's first run and its size."""
        with self.database.writing() as conn:
            conn.execute(runs_table.update().where(runs_table.c.id.in_(list(run_ids)))
                         .values(pack_lead=min(run_ids), pack_size=len(run_ids)))

    def stop_flags(self, run_ids: Iterable[int]) -> tuple[set[int], set[int]]:
        """Which of these runs someone asked to stop, and which the supervisor asked to yield their worker
        (one query for a whole pack's checks)."""
        query = sa.select(runs_table.c.id, runs_table.c.cancel_requested, runs_table.c.yield_requested).where(
            runs_table.c.id.in_(list(run_ids)), sa.or_(runs_table.c.cancel_requested, runs_table.c.yield_requested))
        with self.database.reading() as conn:
            rows = conn.execute(query).all()
        return {row.id for row in rows if row.cancel_requested}, {row.id for row in rows if row.yield_requested}

    def request_yield(self, run_ids: Iterable[int]) -> None:
        """Ask runs handed to a worker to give it back at their next epoch end (``requeue_run``); one not
        yet claimed gets the flag too, and yields after its first epoch."""
        with self.database.writing() as conn:
            conn.execute(runs_table.update().where(runs_table.c.id.in_(list(run_ids)),
                                                   runs_table.c.status.in_(_ACTIVE))
                         .values(yield_requested=True))

    def requeue_run(self, run_id: int, epoch: int, state: bytes) -> bool:
        """A run yielded its worker at an epoch end: keep where it stopped (its checkpoint) and put it back
        to ``queued``, its points kept; False if it was no longer running (then nothing is kept)."""
        now = self.database.now()
        with self.database.writing() as conn:
            requeued = conn.execute(runs_table.update().where(
                runs_table.c.id == run_id, runs_table.c.status == RunStatus.RUNNING.value).values(
                status=RunStatus.QUEUED.value, heartbeat_at=now, yield_requested=False,
                yields=runs_table.c.yields + 1, host=None, pid=None, node=None))
            if requeued.rowcount != 1:
                return False
            conn.execute(checkpoints_table.delete().where(checkpoints_table.c.run_id == run_id))
            conn.execute(checkpoints_table.insert().values(run_id=run_id, epoch=epoch, state=state))
            return True

    def read_checkpoint(self, run_id: int) -> tuple[int, bytes] | None:
        """Where a run that yielded resumes: (epochs done, its saved state), or None for a fresh start."""
        query = sa.select(checkpoints_table.c.epoch, checkpoints_table.c.state).where(
            checkpoints_table.c.run_id == run_id)
        with self.database.reading() as conn:
            row = conn.execute(query).first()
        return None if row is None else (int(row.epoch), bytes(row.state))

    def record_schedule(self, run_id: int, steps_per_epoch: int, total_steps: int, device: str) -> None:
        """What fit() announced at its start: the steps it will take, and on which device."""
        self._update_run(run_id, steps_per_epoch=steps_per_epoch, total_steps=total_steps, device=device)

    def beat(self, run_ids: Iterable[int]) -> None:
        """Refresh the heartbeat of runs this caller holds (queued in its queue, or training)."""
        ids = list(run_ids)
        if ids:
            with self.database.writing() as conn:
                conn.execute(runs_table.update()
                             .where(runs_table.c.id.in_(ids), runs_table.c.status.in_(_ACTIVE))
                             .values(heartbeat_at=self.database.now()))

    def request_cancel(self, run_id: int) -> bool:
        """Raise the run's cancel flag (its worker stops within a step); False if it is not active."""
        with self.database.writing() as conn:
            flagged = conn.execute(runs_table.update()
                                   .where(runs_table.c.id == run_id, runs_table.c.status.in_(_ACTIVE))
                                   .values(cancel_requested=True))
            return flagged.rowcount == 1

    def cancel_requested(self, run_id: int) -> bool:
        """Whether someone asked this run to stop (what a worker's stop check reads)."""
        query = sa.select(runs_table.c.cancel_requested).where(runs_table.c.id == run_id)
        with self.database.reading() as conn:
            return bool(conn.execute(query).scalar())

    def end_run(self, run_id: int, status: RunStatus, error: Said | str | None = None) -> bool:
        """End a still-active run without a fit result (cancelled while queued, failed, interrupted); ``error``
        says why, language-neutral (``status.py``'s endings), or as a finished sentence kept as it is."""
        with self.database.writing() as conn:
            ended = conn.execute(runs_table.update()
                                 .where(runs_table.c.id == run_id, runs_table.c.status.in_(_ACTIVE))
                                 .values(status=RunStatus(status).value, error=stored_ending(error),
                                         ended_at=self.database.now()))
            conn.execute(checkpoints_table.delete().where(checkpoints_table.c.run_id == run_id))
            return ended.rowcount == 1

    def add_points(self, run_id: int, points: Iterable, epoch=None) -> None:
        """Append progress points, and optionally an epoch's record, in one transaction."""
        self.record_progress(run_id, points, epoch)

    def finish_run(self, run_id: int, result) -> None:
        """Record how fit() ended: status, final metrics, verdict."""
        self.record_progress(run_id, (), result=result)

    def record_progress(self, run_id: int, points: Iterable = (), epoch=None, schedule=None, result=None) -> None:
        """What a trainer has to say since it last wrote, in one transaction: the schedule fit() announced,
        progress points, an epoch's record, how the run ended (each optional). A run's store costs a
        transaction per flush, not one per kind of news. (``schedule`` is fit()'s FitStart, ``result`` its
        FitResult.)"""
        rows = [{"run_id": run_id, "step": p.step, "epoch": p.epoch,
                 **{metric.name: getattr(p, metric.name) for metric in STEP_METRICS}} for p in points]
        with self.database.writing() as conn:
            if schedule is not None:
                conn.execute(runs_table.update().where(runs_table.c.id == run_id).values(
                    steps_per_epoch=schedule.steps_per_epoch, total_steps=schedule.total_steps,
                    device=schedule.device))
            if rows:
                conn.execute(points_table.insert(), rows)
            if epoch is not None:
                conn.execute(epochs_table.insert().values(**epoch_row(run_id, epoch)))
                conn.execute(points_table.update()
                             .where(points_table.c.run_id == run_id, points_table.c.step == epoch.step)
                             .values(**{metric.name: getattr(epoch, metric.name, None)
                                        for metric in EPOCH_END_METRICS}))
            if result is not None:
                conn.execute(runs_table.update().where(runs_table.c.id == run_id)
                             .values(**_ending(result, self.database.now())))
                conn.execute(checkpoints_table.delete().where(checkpoints_table.c.run_id == run_id))

    def interrupt_stale_runs(self, max_age: float) -> list[int]:
        """Active runs whose heartbeat is older than ``max_age`` seconds become 'interrupted' (points kept)."""
        now = self.database.now()
        stale = sa.and_(runs_table.c.status.in_(_ACTIVE), runs_table.c.heartbeat_at < now - max_age)
        with self.database.writing() as conn:
            rows = conn.execute(sa.select(runs_table.c.id, runs_table.c.status).where(stale)).all()
            for run_id, status in rows:
                conn.execute(runs_table.update().where(runs_table.c.id == run_id, stale).values(
                    status=RunStatus.INTERRUPTED.value, ended_at=now,
                    error=stored_ending(Said(NO_HEARTBEAT, seconds=f"{max_age:g}", status=status_named(status)))))
                conn.execute(checkpoints_table.delete().where(checkpoints_table.c.run_id == run_id))
        return [row.id for row in rows]

    def count_active_runs(self, owner_id: int) -> int:
        """How many of this student's runs are queued or running."""
        query = (sa.select(sa.func.count()).select_from(runs_table)
                 .where(runs_table.c.owner_id == owner_id, runs_table.c.status.in_(_ACTIVE)))
        with self.database.reading() as conn:
            return int(conn.execute(query).scalar())

    def set_shared(self, run_id: int, shared: bool, owner_id: int | None = None) -> bool:
        """Share a run to the class board (or take it back); with ``owner_id``, only if it is theirs and
        they are still in the class. True if the run changed."""
        condition = runs_table.c.id == run_id
        if owner_id is not None:
            in_class = sa.select(students_table.c.id).where(students_table.c.id == owner_id,
                                                            students_table.c.removed_at.is_(None))
            condition = sa.and_(condition, runs_table.c.owner_id == owner_id, sa.exists(in_class))
        with self.database.writing() as conn:
            return conn.execute(runs_table.update().where(condition).values(shared=bool(shared))).rowcount == 1

    def delete_run(self, run_id: int) -> None:
        with self.database.writing() as conn:
            for table in (points_table, epochs_table, checkpoints_table):
                conn.execute(table.delete().where(table.c.run_id == run_id))
            conn.execute(runs_table.delete().where(runs_table.c.id == run_id))

    # --- reading: every read names whose it is (EVERYTHING only for the server's own work and the CLI) ----

    def reader(self, scope: ReadScope) -> ScopedRuns:
        """This store's reads, as one reader (a student, the teacher) may make them."""
        return ScopedRuns(self, scope)

    def get_run(self, run_id: int, *, scope: ReadScope) -> RunRecord:
        """One run; KeyError if there is none in the scope (whether it exists elsewhere isn't said)."""
        runs = self._select_runs(runs_table.c.id == run_id, scope)
        if not runs:
            raise KeyError(f"no run with id {run_id}")
        return runs[0]

    def list_runs(self, status: RunStatus | None = None, *, scope: ReadScope) -> list[RunRecord]:
        """Every run in the scope, newest first (optionally only those with one status)."""
        condition = runs_table.c.status == RunStatus(status).value if status else sa.true()
        return self._select_runs(condition, scope)

    def get_runs(self, run_ids, *, scope: ReadScope) -> list[RunRecord]:
        """The runs with these ids that exist in the scope, oldest first (what a live view polls)."""
        return sorted(self._select_runs(runs_table.c.id.in_(list(run_ids)), scope), key=lambda run: run.id)

    def latest_group(self, lesson: str, owner_id: int | None = None) -> list[int]:
        """The ids of the newest group of runs tagged with this lesson (``lessons.group_tags``), oldest
        first; with ``owner_id``, that student's newest group."""
        lesson_tag, group_tag = runs_table.c.tags["lesson"].as_string(), runs_table.c.tags["group"].as_string()
        mine = runs_table.c.owner_id == owner_id if owner_id is not None else sa.true()
        newest = (sa.select(group_tag).where(lesson_tag == lesson, mine).order_by(runs_table.c.id.desc()).limit(1)
                  .scalar_subquery())
        query = sa.select(runs_table.c.id).where(lesson_tag == lesson, group_tag == newest).order_by(runs_table.c.id)
        with self.database.reading() as conn:
            return list(conn.execute(query).scalars())

    def runs_tagged(self, key: str, value: str, *, scope: ReadScope) -> list[RunRecord]:
        """The runs in the scope whose tag ``key`` is ``value`` (e.g. one sweep's), oldest first."""
        return sorted(self._select_runs(runs_table.c.tags[key].as_string() == value, scope), key=lambda run: run.id)

    def read_points(self, run_id: int, after_step: int = 0, *, scope: ReadScope) -> list[MetricPoint]:
        """A run's progress points in step order (only those after ``after_step``, for a live view)."""
        metrics = [_shown(points_table.c[metric.name], metric.split, scope) for metric in METRICS]
        query = (sa.select(points_table.c.step, points_table.c.epoch, *metrics)
                 .where(points_table.c.run_id == run_id, points_table.c.step > after_step,
                        self._visible_run(points_table.c.run_id, scope))
                 .order_by(points_table.c.step))
        with self.database.reading() as conn:
            return [MetricPoint(row.step, row.epoch, {name: row._mapping[name] for name in NAMES})
                    for row in conn.execute(query)]

    def read_epochs(self, run_id: int, with_tensors: bool = False, *, scope: ReadScope) -> list[EpochRecord]:
        """A run's epoch records in order; weights, confusion and step losses only if asked."""
        names = EPOCH_SCALARS + (tuple(EPOCH_TENSORS) if with_tensors else ())
        query = (sa.select(*self._epoch_columns(names, scope))
                 .where(epochs_table.c.run_id == run_id, self._visible_run(epochs_table.c.run_id, scope))
                 .order_by(epochs_table.c.epoch))
        with self.database.reading() as conn:
            rows = conn.execute(query).all()
        return [epoch_record(row, with_tensors) for row in rows]

    def read_epoch(self, run_id: int, epoch: int, *, scope: ReadScope) -> EpochRecord:
        """One epoch with its tensors (weights, bias, step losses; the test confusion if the scope shows it)."""
        query = (sa.select(*self._epoch_columns(EPOCH_SCALARS + tuple(EPOCH_TENSORS), scope))
                 .where(epochs_table.c.run_id == run_id, epochs_table.c.epoch == epoch,
                        self._visible_run(epochs_table.c.run_id, scope)))
        with self.database.reading() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise KeyError(f"run {run_id} has no epoch {epoch}")
        return epoch_record(row, with_tensors=True)

    # --- internals -----------------------------------------------------------------------------------

    @staticmethod
    def _epoch_columns(names: Sequence[str], scope: ReadScope) -> list:
        splits = {**{metric.name: metric.split for metric in METRICS}, **EPOCH_TENSORS}
        return [_shown(epochs_table.c[name], splits.get(name, Split.TRAIN), scope) for name in names]

    @staticmethod
    def _visible_run(run_id_column, scope: ReadScope) -> sa.ColumnElement:
        if scope.everyone:
            return sa.true()
        return run_id_column.in_(sa.select(runs_table.c.id).where(scope.runs_condition()))

    def _select_runs(self, condition, scope: ReadScope) -> list[RunRecord]:
        last_step = (sa.select(sa.func.max(points_table.c.step)).where(points_table.c.run_id == runs_table.c.id)
                     .scalar_subquery())
        columns = [_shown(c, RUN_COLUMN_SPLITS.get(c.name, Split.TRAIN), scope) for c in runs_table.columns]
        query = (sa.select(*columns, last_step.label("last_step")).where(condition, scope.runs_condition())
                 .order_by(runs_table.c.id.desc()))
        with self.database.reading() as conn:
            return [scope.shown(run_record(row)) for row in conn.execute(query)]

    def _update_run(self, run_id: int, **values: Any) -> None:
        with self.database.writing() as conn:
            conn.execute(runs_table.update().where(runs_table.c.id == run_id).values(**values))


def _shown(column: sa.Column, split: Split, scope: ReadScope) -> sa.ColumnElement:
    """The column as ``scope`` reads it: itself, or NULL under its name if what it holds is measured on a
    split the scope may not see."""
    return column if scope.shows(split) else sa.null().label(column.name)


def _group_condition(owner_id: int, address: str) -> sa.ColumnElement:
    """The runs of a student's group: theirs and, with an address, every name's joined from it."""
    if not address:
        return runs_table.c.owner_id == owner_id
    return runs_table.c.owner_id.in_(sa.select(students_table.c.id).where(students_table.c.joined_from == address))


def _ending(result, now: sa.ColumnElement) -> dict[str, Any]:
    """A FitResult as the run row's columns: status, end time, final metrics, verdict."""
    final = result.final
    return dict(
        status=RunStatus(result.status).value, ended_at=now,
        error=None if result.status == RunStatus.FINISHED else stored_ending(result.ending or result.message),
        **{metric.final_column: getattr(final, metric.name, None) for metric in METRICS},
        verdict=result.verdict.to_dict() if result.verdict else None,
        diverged_step=result.diverged_step, diverged_epoch=result.diverged_epoch,
    )


class ScopedRuns:
    """A RunStore's reads for one reader: every call applies the reader's scope (the pages read through it)."""

    def __init__(self, store: RunStore, scope: ReadScope):
        self.store, self.scope = store, scope

    def get_run(self, run_id: int) -> RunRecord:
        return self.store.get_run(run_id, scope=self.scope)

    def get_runs(self, run_ids) -> list[RunRecord]:
        return self.store.get_runs(run_ids, scope=self.scope)

    def list_runs(self, status: RunStatus | None = None) -> list[RunRecord]:
        return self.store.list_runs(status, scope=self.scope)

    def runs_tagged(self, key: str, value: str) -> list[RunRecord]:
        return self.store.runs_tagged(key, value, scope=self.scope)

    def latest_group(self, lesson: str) -> list[int]:
        """The newest group of this lesson's runs that the reader started (everyone's, for the teacher)."""
        if self.scope.everyone:
            return self.store.latest_group(lesson)
        return self.store.latest_group(lesson, self.scope.student_id) if self.scope.student_id is not None else []

    def read_points(self, run_id: int, after_step: int = 0) -> list[MetricPoint]:
        return self.store.read_points(run_id, after_step, scope=self.scope)

    def read_epochs(self, run_id: int, with_tensors: bool = False) -> list[EpochRecord]:
        return self.store.read_epochs(run_id, with_tensors, scope=self.scope)

    def read_epoch(self, run_id: int, epoch: int) -> EpochRecord:
        return self.store.read_epoch(run_id, epoch, scope=self.scope)


def open_default_store() -> RunStore:
    return RunStore(default_database_url())
