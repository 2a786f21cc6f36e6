"""Schema 5: where a run trained records its pack. Runs of one sweep or lesson group that differ only in
lr, weight decay and momentum train together as one pack (``fit_many``); each keeps its own points and
epochs, and says which pack it was in (the pack's first run) and how many runs the pack held.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("pack_lead", sa.Integer))
        batch.add_column(sa.Column("pack_size", sa.Integer))
    op.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
