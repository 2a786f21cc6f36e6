"""Schema 3: classroom mode. Students (a display name and the SHA-256 of their secret token), each run's
owner and whether it is shared to the class board, the class's state (challenge, reveal), and the
accuracy on a held-out validation split for runs that ask for one.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "students",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("name_key", sa.String(64), nullable=False, unique=True),  # lower-cased: one name per class
        sa.Column("token_digest", sa.String(64), nullable=False, unique=True),
        sa.Column("joined_at", sa.Float, nullable=False),
    )
    op.create_table(
        "class_state",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.JSON),
    )
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("owner_id", sa.Integer, sa.ForeignKey("students.id", name="fk_runs_owner",
                                                                         ondelete="SET NULL")))
        batch.add_column(sa.Column("shared", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("final_val_acc", sa.Float))
        batch.create_index("ix_runs_owner_id", ["owner_id"])
    with op.batch_alter_table("points") as batch:
        batch.add_column(sa.Column("val_acc", sa.Float))
    with op.batch_alter_table("epochs") as batch:
        batch.add_column(sa.Column("val_acc", sa.Float))
    op.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
