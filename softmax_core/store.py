"""RunStore: every run, its config, its metric points, per-epoch weights and confusion matrices, on a
database, so that any page at any time can redraw (or replay) any run.

SQLAlchemy Core, SQLite by default (one file in the per-user data folder, WAL mode, created on first
use) or any URL in ``$SOFTMAX_LAB_DB``. Nothing here is SQLite-only but the connection pragmas, so a
server database can be added later without a rewrite. The schema is versioned in a ``meta`` table:
opening a newer or foreign database raises ``StoreError`` instead of touching it.

It takes fit()'s reports as plain objects (``step``, ``epoch``, ``train_loss``, ...), so it doesn't
depend on the training loop; ``jobs.RecordingCallback`` is the writer that feeds it.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import sqlalchemy as sa
import torch
from sqlalchemy.engine import Engine

from .config import TrainConfig
from .metrics import Verdict

DB_ENV_VAR = "SOFTMAX_LAB_DB"
APP_ID = "softmax-lab"
SCHEMA_VERSION = 1
QUEUED, RUNNING, FINISHED, DIVERGED, CANCELLED, FAILED, INTERRUPTED = (
    "queued", "running", "finished", "diverged", "cancelled", "failed", "interrupted")
ACTIVE_STATUSES = (QUEUED, RUNNING)

metadata = sa.MetaData()
meta_table = sa.Table(
    "meta", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(256), nullable=False),
)
runs_table = sa.Table(
    "runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float),
    sa.Column("ended_at", sa.Float),
    sa.Column("error", sa.Text),
    sa.Column("final_train_loss", sa.Float),
    sa.Column("final_train_acc", sa.Float),
    sa.Column("final_test_acc", sa.Float),
    sa.Column("verdict", sa.JSON),
    sa.Column("diverged_step", sa.Integer),
    sa.Column("diverged_epoch", sa.Float),
    sa.Column("steps_per_epoch", sa.Integer),
    sa.Column("total_steps", sa.Integer),
    sa.Column("owner", sa.String(200)),  # host:pid of the process that runs it (for crash recovery)
    sa.Column("tags", sa.JSON),  # free-form labels, e.g. a lesson's experiment and seed group
)
points_table = sa.Table(
    "points", metadata,
    sa.Column("run_id", sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("step", sa.Integer, primary_key=True),
    sa.Column("epoch", sa.Float, nullable=False),
    sa.Column("train_loss", sa.Float),
    sa.Column("train_acc", sa.Float),
    sa.Column("test_acc", sa.Float),  # only at epoch ends
)
epochs_table = sa.Table(
    "epochs", metadata,
    sa.Column("run_id", sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("epoch", sa.Integer, primary_key=True),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("train_loss", sa.Float),
    sa.Column("train_acc", sa.Float),
    sa.Column("test_acc", sa.Float),
    sa.Column("seconds", sa.Float),
    sa.Column("weights", sa.LargeBinary),  # (10, 784) little-endian float32
    sa.Column("bias", sa.LargeBinary),  # (10,) float32
    sa.Column("confusion", sa.LargeBinary),  # (10, 10) int32, [true, predicted]
    sa.Column("step_losses", sa.LargeBinary),  # float32, one per mini-batch
)


class StoreError(RuntimeError):
    """The database can't be opened, created or written; the message says which and why."""


@dataclass(frozen=True)
class RunRecord:
    """One stored run as the page and the CLI see it."""

    id: int
    name: str
    config: TrainConfig
    status: str
    created_at: float
    started_at: Optional[float]
    ended_at: Optional[float]
    error: Optional[str]
    final_train_loss: Optional[float]
    final_train_acc: Optional[float]
    final_test_acc: Optional[float]
    verdict: Optional[Verdict]
    diverged_step: Optional[int]
    diverged_epoch: Optional[float]
    steps_per_epoch: Optional[int]
    total_steps: Optional[int]
    last_step: int = 0  # newest stored metric point
    tags: dict = field(default_factory=dict)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def progress(self) -> float:
        """Share of the run's steps done, 0..1 (0 until the run starts)."""
        return min(1.0, self.last_step / self.total_steps) if self.total_steps else 0.0

    def to_dict(self) -> dict[str, Any]:
        values = {k: v for k, v in vars(self).items() if k not in ("config", "verdict")}
        return {**values, "config": self.config.to_dict(),
                "verdict": self.verdict.to_dict() if self.verdict else None}


@dataclass(frozen=True)
class MetricPoint:
    """One stored progress point (test_acc only at epoch ends)."""

    step: int
    epoch: float
    train_loss: float
    train_acc: float
    test_acc: Optional[float] = None


@dataclass(frozen=True)
class EpochRecord:
    """The book's metrics of one epoch; tensors only when asked for."""

    epoch: int
    step: int
    train_loss: float
    train_acc: float
    test_acc: float
    seconds: float
    weights: Optional[torch.Tensor] = None
    bias: Optional[torch.Tensor] = None
    confusion: Optional[torch.Tensor] = None
    step_losses: Optional[torch.Tensor] = None


def default_database_url() -> str:
    """$SOFTMAX_LAB_DB, else a SQLite file in the per-user data folder."""
    if os.environ.get(DB_ENV_VAR):
        return os.environ[DB_ENV_VAR]
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return f"sqlite:///{Path(data_home) / 'softmax-lab' / 'runs.db'}"


def open_default_store() -> RunStore:
    return RunStore(default_database_url())


def current_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class RunStore:
    """Thread-safe access to the runs database (one instance may serve every thread and session)."""

    def __init__(self, url: str | None = None):
        self.url = url or default_database_url()
        self.engine = _create_engine(self.url)
        self._open_schema()

    # --- writing -------------------------------------------------------------------------------------

    def create_run(self, config: TrainConfig, name: str, tags: dict | None = None) -> int:
        """Record a new queued run; returns its id."""
        if not isinstance(config, TrainConfig):
            raise TypeError("create_run needs a TrainConfig")
        row = {"name": name.strip()[:200] or "run", "config": config.to_dict(), "status": QUEUED,
               "created_at": time.time(), "owner": current_owner(), "tags": tags or {}}
        with self._writing() as conn:
            return int(conn.execute(runs_table.insert().values(**row)).inserted_primary_key[0])

    def mark_running(self, run_id: int, steps_per_epoch: int | None = None, total_steps: int | None = None) -> None:
        """Running from now (the first call sets started_at; a later one adds the step counts)."""
        self._update_run(run_id, status=RUNNING, started_at=sa.func.coalesce(runs_table.c.started_at, time.time()),
                         owner=current_owner(), steps_per_epoch=steps_per_epoch, total_steps=total_steps)

    def set_status(self, run_id: int, status: str, error: str | None = None) -> None:
        """End a run without a fit result (cancelled while queued, failed, interrupted)."""
        self._update_run(run_id, status=status, error=error, ended_at=time.time())

    def add_points(self, run_id: int, points: Iterable, epoch=None) -> None:
        """Append progress points, and optionally an epoch's record, in one transaction."""
        rows = [{"run_id": run_id, "step": p.step, "epoch": p.epoch, "train_loss": p.train_loss,
                 "train_acc": p.train_acc} for p in points]
        with self._writing() as conn:
            if rows:
                conn.execute(points_table.insert(), rows)
            if epoch is not None:
                conn.execute(epochs_table.insert().values(**_epoch_row(run_id, epoch)))
                conn.execute(points_table.update()
                             .where(points_table.c.run_id == run_id, points_table.c.step == epoch.step)
                             .values(test_acc=epoch.test_acc))

    def finish_run(self, run_id: int, result) -> None:
        """Record how fit() ended: status, final metrics, verdict."""
        final = result.final
        self._update_run(
            run_id, status=result.status, ended_at=time.time(),
            error=None if result.status == FINISHED else result.message,
            final_train_loss=final.train_loss if final else None,
            final_train_acc=final.train_acc if final else None,
            final_test_acc=final.test_acc if final else None,
            verdict=result.verdict.to_dict() if result.verdict else None,
            diverged_step=result.diverged_step, diverged_epoch=result.diverged_epoch,
        )

    def interrupt_orphans(self) -> list[int]:
        """Runs left queued or running by a process of this host that is gone become 'interrupted'."""
        host = socket.gethostname()
        with self._writing() as conn:
            rows = conn.execute(sa.select(runs_table.c.id, runs_table.c.owner)
                                .where(runs_table.c.status.in_(ACTIVE_STATUSES))).all()
            orphans = [row.id for row in rows if _owner_is_gone(row.owner, host)]
            if orphans:
                conn.execute(runs_table.update().where(runs_table.c.id.in_(orphans)).values(
                    status=INTERRUPTED, ended_at=time.time(),
                    error="interrupted: the server stopped while this run was queued or running"))
        return orphans

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

    def list_runs(self, status: str | None = None) -> list[RunRecord]:
        """Every run, newest first (optionally only those with one status)."""
        condition = runs_table.c.status == status if status else sa.true()
        return self._select_runs(condition)

    def get_runs(self, run_ids) -> list[RunRecord]:
        """The runs with these ids that exist, oldest first (what a live view polls)."""
        return sorted(self._select_runs(runs_table.c.id.in_(list(run_ids))), key=lambda run: run.id)

    def read_points(self, run_id: int) -> list[MetricPoint]:
        """A run's progress points in step order."""
        query = (sa.select(points_table.c.step, points_table.c.epoch, points_table.c.train_loss,
                           points_table.c.train_acc, points_table.c.test_acc)
                 .where(points_table.c.run_id == run_id).order_by(points_table.c.step))
        with self.engine.connect() as conn:
            return [MetricPoint(*row) for row in conn.execute(query)]

    def read_epochs(self, run_id: int, with_tensors: bool = False) -> list[EpochRecord]:
        """A run's epoch records in order; weights, confusion and step losses only if asked."""
        columns = [epochs_table.c[name] for name in
                   ("epoch", "step", "train_loss", "train_acc", "test_acc", "seconds")]
        if with_tensors:
            columns += [epochs_table.c[name] for name in ("weights", "bias", "confusion", "step_losses")]
        query = sa.select(*columns).where(epochs_table.c.run_id == run_id).order_by(epochs_table.c.epoch)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [_epoch_record(row, with_tensors) for row in rows]

    def read_epoch(self, run_id: int, epoch: int) -> EpochRecord:
        """One epoch with its tensors (weights, bias, confusion, step losses)."""
        query = sa.select(epochs_table).where(epochs_table.c.run_id == run_id, epochs_table.c.epoch == epoch)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise KeyError(f"run {run_id} has no epoch {epoch}")
        return _epoch_record(row, with_tensors=True)

    def integrity_check(self) -> str:
        """SQLite's PRAGMA integrity_check ('ok' when healthy); 'ok' on other databases."""
        if self.engine.dialect.name != "sqlite":
            return "ok"
        with self.engine.connect() as conn:
            return str(conn.exec_driver_sql("PRAGMA integrity_check").scalar())

    # --- internals -----------------------------------------------------------------------------------

    def _select_runs(self, condition) -> list[RunRecord]:
        last_step = (sa.select(sa.func.max(points_table.c.step)).where(points_table.c.run_id == runs_table.c.id)
                     .scalar_subquery())
        query = sa.select(runs_table, last_step.label("last_step")).where(condition).order_by(runs_table.c.id.desc())
        with self.engine.connect() as conn:
            return [_run_record(row) for row in conn.execute(query)]

    def _update_run(self, run_id: int, **values: Any) -> None:
        with self._writing() as conn:
            conn.execute(runs_table.update().where(runs_table.c.id == run_id).values(**values))

    def _writing(self):
        return _translated_errors(self.url, self.engine.begin)

    def _open_schema(self) -> None:
        with _translated_errors(self.url, self.engine.begin) as conn:
            existing = set(sa.inspect(conn).get_table_names())
            if not existing:
                metadata.create_all(conn)
                conn.execute(meta_table.insert(), [{"key": "app", "value": APP_ID},
                                                   {"key": "schema_version", "value": str(SCHEMA_VERSION)}])
                return
            _check_schema(conn, existing, self.url)


class _translated_errors:
    """Runs a SQLAlchemy connection context, turning driver errors into StoreError."""

    def __init__(self, url: str, opener):
        self.url, self.opener = url, opener

    def __enter__(self):
        try:
            self.context = self.opener()
            return self.context.__enter__()
        except sa.exc.SQLAlchemyError as error:
            raise StoreError(_describe_db_error(self.url, error)) from error

    def __exit__(self, kind, error, traceback):
        try:
            return self.context.__exit__(kind, error, traceback)
        except sa.exc.SQLAlchemyError as raised:
            raise StoreError(_describe_db_error(self.url, raised)) from raised


def _check_schema(conn, existing: set[str], url: str) -> None:
    if "meta" not in existing:
        raise StoreError(f"{_shown(url)} is not a Softmax Lab database (it has tables {sorted(existing)}); "
                         f"refusing to touch it. Set {DB_ENV_VAR} to another file.")
    meta = dict(conn.execute(sa.select(meta_table.c.key, meta_table.c.value)).all())
    if meta.get("app") != APP_ID:
        raise StoreError(f"{_shown(url)} belongs to another application ({meta.get('app')!r}); refusing to touch it.")
    version = int(meta.get("schema_version", "0"))
    if version > SCHEMA_VERSION:
        raise StoreError(f"{_shown(url)} has schema version {version}, newer than this Softmax Lab "
                         f"understands ({SCHEMA_VERSION}); upgrade Softmax Lab or use another database.")


def _create_engine(url: str) -> Engine:
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as error:
        raise StoreError(f"{DB_ENV_VAR}={url!r} is not a database URL (e.g. sqlite:///path/runs.db)") from error
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        _make_parent_folder(Path(parsed.database))
    engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer, nor it them
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _make_parent_folder(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StoreError(f"can't create the folder for the run database {path}: {error.strerror or error}") from error
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise StoreError(f"the run database {path} can't be written (permission denied); "
                         f"set {DB_ENV_VAR} to a writable place, e.g. sqlite:///tmp/runs.db")


def _describe_db_error(url: str, error: Exception) -> str:
    text = str(getattr(error, "orig", None) or error)
    if "file is not a database" in text or "malformed" in text:
        return f"{_shown(url)} is corrupt or not a SQLite database ({text}); move it away to start a new one."
    if "readonly" in text or "unable to open" in text:
        return f"{_shown(url)} can't be opened for writing ({text}); set {DB_ENV_VAR} to a writable place."
    return f"database error on {_shown(url)}: {text}"


def _shown(url: str) -> str:
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def _owner_is_gone(owner: str | None, host: str) -> bool:
    if not owner or ":" not in owner:
        return True
    owner_host, pid = owner.rsplit(":", 1)
    if owner_host != host:
        return False  # another machine's run: we can't tell, so we leave it
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _run_record(row) -> RunRecord:
    values = row._mapping
    return RunRecord(
        id=values["id"], name=values["name"], config=TrainConfig.from_dict(values["config"]),
        status=values["status"], created_at=values["created_at"], started_at=values["started_at"],
        ended_at=values["ended_at"], error=values["error"], final_train_loss=values["final_train_loss"],
        final_train_acc=values["final_train_acc"], final_test_acc=values["final_test_acc"],
        verdict=Verdict.from_dict(values["verdict"]) if values["verdict"] else None,
        diverged_step=values["diverged_step"], diverged_epoch=values["diverged_epoch"],
        steps_per_epoch=values["steps_per_epoch"], total_steps=values["total_steps"],
        last_step=values["last_step"] or 0, tags=values["tags"] or {},
    )


def _epoch_row(run_id: int, report) -> dict[str, Any]:
    return {
        "run_id": run_id, "epoch": report.epoch, "step": report.step, "train_loss": report.train_loss,
        "train_acc": report.train_acc, "test_acc": report.test_acc, "seconds": report.seconds,
        "weights": _to_bytes(report.weights, "<f4"), "bias": _to_bytes(report.bias, "<f4"),
        "confusion": _to_bytes(report.confusion, "<i4"),
        "step_losses": np.asarray(report.step_losses, dtype="<f4").tobytes(),
    }


def _epoch_record(row, with_tensors: bool) -> EpochRecord:
    values = row._mapping
    scalars = {k: values[k] for k in ("epoch", "step", "train_loss", "train_acc", "test_acc", "seconds")}
    if not with_tensors:
        return EpochRecord(**scalars)
    return EpochRecord(
        **scalars,
        weights=_from_bytes(values["weights"], "<f4", (10, 784)),
        bias=_from_bytes(values["bias"], "<f4", (10,)),
        confusion=_from_bytes(values["confusion"], "<i4", (10, 10)).long(),
        step_losses=_from_bytes(values["step_losses"], "<f4", (-1,)),
    )


def _to_bytes(tensor: torch.Tensor, dtype: str) -> bytes:
    return tensor.detach().cpu().numpy().astype(dtype).tobytes()


def _from_bytes(blob: bytes, dtype: str, shape: tuple[int, ...]) -> torch.Tensor:
    return torch.from_numpy(np.frombuffer(blob, dtype=dtype).astype(dtype[1:]).reshape(shape))
