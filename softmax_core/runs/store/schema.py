"""The run database's tables, as they stand at the newest migration (``migrations/versions``).

A run row says what was asked (config, name, tags), where it stands (status, heartbeat, cancel flag),
where it trained (host, process, Ray node, device), how it ended, and in classroom mode whose it is and
whether it is shared to the class board. Students are a display name; each browser a student signs in on
is a device, kept as its token's SHA-256 (so one browser can be signed out without the others).
Points are the live curves; epochs hold what a page needs to replay a run (weights, bias, confusion
matrix, every batch's loss). The metrics' columns (a point's, an epoch's, a run's final values) are those
of ``metric_registry``: a metric added there has its columns here, and a migration that adds them.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from softmax_core.metric_registry import METRICS

APP_ID = "softmax-lab"
MIGRATIONS = Path(__file__).with_name("migrations") / "versions"  # 0001_schema_1.py, 0002_workers.py, ...
# the newest migration's number, which it writes to meta.schema_version, so that an older release refuses this database
SCHEMA_VERSION = max(int(path.name[:4]) for path in MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))

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
    *(sa.Column(metric.final_column, sa.Float) for metric in METRICS),  # at the last epoch
    sa.Column("verdict", sa.JSON),
    sa.Column("diverged_step", sa.Integer),
    sa.Column("diverged_epoch", sa.Float),
    sa.Column("steps_per_epoch", sa.Integer),
    sa.Column("total_steps", sa.Integer),
    sa.Column("tags", sa.JSON),  # free-form labels, e.g. a lesson's experiment and seed group
    sa.Column("heartbeat_at", sa.Float),  # refreshed by whoever holds the run; stale means it is gone
    sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("host", sa.String(255)),  # where it trained
    sa.Column("pid", sa.Integer),
    sa.Column("node", sa.String(64)),  # the Ray node, when it trained on Ray
    sa.Column("device", sa.String(32)),  # cpu, cuda:0, ...
    sa.Column("pack_lead", sa.Integer),  # trained in a pack (fit_many): the pack's first run ...
    sa.Column("pack_size", sa.Integer),  # ... and how many runs it held
    sa.Column("owner_id", sa.Integer, sa.ForeignKey("students.id", name="fk_runs_owner", ondelete="SET NULL"),
              index=True),  # the student, in classroom mode
    sa.Column("shared", sa.Boolean, nullable=False, server_default=sa.false()),  # on the class board
    sa.Column("cost", sa.Integer),  # in book steps (config.run_cost): what a student's budget counts
    sa.Column("yield_requested", sa.Boolean, nullable=False, server_default=sa.false()),  # yield at epoch end
    sa.Column("yields", sa.Integer, nullable=False, server_default="0"),  # times it gave its worker back
    sqlite_autoincrement=True,  # a deleted run's id is never reused (PostgreSQL's sequences never do)
)
points_table = sa.Table(
    "points", metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("step", sa.Integer, primary_key=True),
    sa.Column("epoch", sa.Float, nullable=False),
    *(sa.Column(metric.name, sa.Float) for metric in METRICS),  # an epoch-end metric: at its epoch's last step
)
epochs_table = sa.Table(
    "epochs", metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("epoch", sa.Integer, primary_key=True),
    sa.Column("step", sa.Integer, nullable=False),
    *(sa.Column(metric.name, sa.Float) for metric in METRICS),  # a per-step one: the epoch's average
    sa.Column("seconds", sa.Float),
    sa.Column("weights", sa.LargeBinary),  # (10, 784) little-endian float32
    sa.Column("bias", sa.LargeBinary),  # (10,) float32
    sa.Column("confusion", sa.LargeBinary),  # (10, 10) int32, [true, predicted]
    sa.Column("step_losses", sa.LargeBinary),  # float32, one per mini-batch
)

checkpoints_table = sa.Table(  # a run that yielded its worker: where it resumes (``train.Checkpoint``)
    "checkpoints", metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("epoch", sa.Integer, nullable=False),  # epochs done
    sa.Column("state", sa.LargeBinary, nullable=False),  # torch.save'd tensors, read with weights_only
)

students_table = sa.Table(
    "students", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("name_key", sa.String(255), nullable=False, unique=True),  # canonical_name: one name per class
    sa.Column("joined_at", sa.Float, nullable=False),
    sa.Column("removed_at", sa.Float),  # removed by the teacher: none of their devices signs anyone in
    sa.Column("joined_from", sa.String(64)),  # the address they joined from ('local' on this machine)
    sa.Column("admitted_at", sa.Float),  # when the teacher let them in; NULL: still in the waiting room
)
devices_table = sa.Table(  # the browsers a student is signed in on, one token each, by its SHA-256
    "devices", metadata,
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("student_id", sa.Integer, sa.ForeignKey("students.id", name="fk_devices_student", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("created_at", sa.Float, nullable=False),
)
guards_table = sa.Table(  # tries counted per key (the teacher's password, the class code, joins)
    "guards", metadata,
    sa.Column("key", sa.String(160), primary_key=True),  # e.g. 'teacher-password@192.168.1.23'
    sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("blocked_until", sa.Float, nullable=False, server_default="0"),  # database clock
    sa.Column("last_at", sa.Float, nullable=False, server_default="0"),
)
passes_table = sa.Table(  # the teacher's sessions and one-time sign-in passes, by their token's SHA-256
    "passes", metadata,
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),  # 'teacher', 'teacher-link', 'student-link'
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("single_use", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("student_id", sa.Integer, index=True),  # whom a 'student-link' signs in
)
class_state_table = sa.Table(
    "class_state", metadata,
    sa.Column("key", sa.String(64), primary_key=True),  # e.g. 'challenge', 'revealed'
    sa.Column("value", sa.JSON),
)
