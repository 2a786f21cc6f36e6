"""Schema 7: the class's waiting room. A student row says when the teacher let them in (``admitted_at``);
NULL is a student still waiting, who may not start runs or see the class's runs and does not count
toward the class size. Every student who joined before this schema was let in at once, so they count
as admitted from the moment they joined.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("students") as batch:
        batch.add_column(sa.Column("admitted_at", sa.Float))
    op.execute("UPDATE students SET admitted_at = joined_at")
    op.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
