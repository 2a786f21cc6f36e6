"""Schema 4: a class that holds against its students. Guards count tries (the teacher's password, the
class code, joins) per key, in the database, so no browser can reset them and a restart keeps them;
passes are the teacher's sessions and the one-time links the person at the server hands out; a
student can be removed (their token dies with it) and records the address they joined from; and on
SQLite a deleted run's id is never given to a new run (AUTOINCREMENT), as PostgreSQL's sequences never do.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "guards",
        sa.Column("key", sa.String(160), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("blocked_until", sa.Float, nullable=False, server_default="0"),
        sa.Column("last_at", sa.Float, nullable=False, server_default="0"),
    )
    op.create_table(
        "passes",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("single_use", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    with op.batch_alter_table("students") as batch:
        batch.add_column(sa.Column("removed_at", sa.Float))
        batch.add_column(sa.Column("joined_from", sa.String(64)))
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("runs", recreate="always", table_kwargs={"sqlite_autoincrement": True}):
            pass
    op.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
