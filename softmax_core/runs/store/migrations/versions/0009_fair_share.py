"""Schema 9: compute shared fairly while runs train. A run records what it costs the class (``cost``, in
book steps: what a student's budget counts), whether the supervisor asked it to yield its worker at its
next epoch end (``yield_requested``) and how often it did (``yields``); a run that yielded keeps its
state in ``checkpoints`` (weights, optimizer state, counters, the shuffling generator) until it resumes.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMNs: a batch that recreated the table on SQLite would drop its AUTOINCREMENT (0004)
    op.add_column("runs", sa.Column("cost", sa.Integer))
    op.add_column("runs", sa.Column("yield_requested", sa.Boolean(create_constraint=False), nullable=False,
                                    server_default=sa.false()))
    op.add_column("runs", sa.Column("yields", sa.Integer, nullable=False, server_default="0"))
    op.create_table(
        "checkpoints",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("epoch", sa.Integer, nullable=False),
        sa.Column("state", sa.LargeBinary, nullable=False),
    )
    op.execute("UPDATE meta SET value = '9' WHERE key = 'schema_version'")
