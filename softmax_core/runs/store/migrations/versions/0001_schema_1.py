"""Schema 1: the run database as the first release wrote it (runs, points, epochs, meta).

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    meta = op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
    )
    _create_runs_table()
    op.create_table(
        "points",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("step", sa.Integer, primary_key=True),
        sa.Column("epoch", sa.Float, nullable=False),
        sa.Column("train_loss", sa.Float),
        sa.Column("train_acc", sa.Float),
        sa.Column("test_acc", sa.Float),
    )
    op.create_table(
        "epochs",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("epoch", sa.Integer, primary_key=True),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("train_loss", sa.Float),
        sa.Column("train_acc", sa.Float),
        sa.Column("test_acc", sa.Float),
        sa.Column("seconds", sa.Float),
        sa.Column("weights", sa.LargeBinary),
        sa.Column("bias", sa.LargeBinary),
        sa.Column("confusion", sa.LargeBinary),
        sa.Column("step_losses", sa.LargeBinary),
    )
    op.bulk_insert(meta, [{"key": "app", "value": "softmax-lab"}, {"key": "schema_version", "value": "1"}])


def _create_runs_table() -> None:
    op.create_table(
        "runs",
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
        sa.Column("owner", sa.String(200)),
        sa.Column("tags", sa.JSON),
    )
