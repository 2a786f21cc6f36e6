"""Schema 10: the held-out loss. Each epoch end records the mean cross-entropy on the test images
(``test_loss``) and, for a run with a validation split, on it (``val_loss``), in its point and its epoch
record, and a run its final values; older runs have none (NULL), and draw no held-out loss.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMNs: a batch that recreated the table on SQLite would drop its AUTOINCREMENT (0004)
    for table in ("points", "epochs"):
        op.add_column(table, sa.Column("test_loss", sa.Float))
        op.add_column(table, sa.Column("val_loss", sa.Float))
    op.add_column("runs", sa.Column("final_test_loss", sa.Float))
    op.add_column("runs", sa.Column("final_val_loss", sa.Float))
    op.execute("UPDATE meta SET value = '10' WHERE key = 'schema_version'")
