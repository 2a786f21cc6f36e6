"""Schema 8: a student's devices. A student signs in on each browser with a token of that browser's own
(a device), handed out in exchange for a one-time pass, so that one browser can be signed out without the
others and a sign-in link is spent by its first use. Each student's one token becomes their first device
(the browsers and links holding it keep working until signed out); removed students' dead tokens are
dropped. Passes may now name the student they sign in.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("student_id", sa.Integer,
                  sa.ForeignKey("students.id", name="fk_devices_student", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.execute("INSERT INTO devices (digest, student_id, created_at) "
               "SELECT token_digest, id, joined_at FROM students WHERE removed_at IS NULL")
    with op.batch_alter_table("students") as batch:
        batch.drop_column("token_digest")
    with op.batch_alter_table("passes") as batch:
        batch.add_column(sa.Column("student_id", sa.Integer))
        batch.create_index("ix_passes_student_id", ["student_id"])
    op.execute("UPDATE meta SET value = '8' WHERE key = 'schema_version'")
