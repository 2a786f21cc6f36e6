"""Schema 2: runs train in worker processes, so a run row gains a heartbeat, a cancel flag and where it
trained (host, pid, Ray node, device). Liveness is the heartbeat now, so host:pid ``owner`` goes.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("heartbeat_at", sa.Float))
        batch.add_column(sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("host", sa.String(255)))
        batch.add_column(sa.Column("pid", sa.Integer))
        batch.add_column(sa.Column("node", sa.String(64)))
        batch.add_column(sa.Column("device", sa.String(32)))
    _split_owner_into_host_and_pid()
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("owner")
    # a v1 row left queued or running has no heartbeat: it counts as stale from its creation
    op.execute("UPDATE runs SET heartbeat_at = created_at WHERE status IN ('queued', 'running')")
    op.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")


def _split_owner_into_host_and_pid() -> None:
    """Schema 1 trained in the server's threads and wrote 'host:pid' there: keep it as where it trained."""
    conn = op.get_bind()
    runs = sa.table("runs", sa.column("id", sa.Integer), sa.column("owner", sa.String),
                    sa.column("host", sa.String), sa.column("pid", sa.Integer))
    for run_id, owner in conn.execute(sa.select(runs.c.id, runs.c.owner).where(runs.c.owner.contains(":"))):
        host, pid = owner.rsplit(":", 1)
        conn.execute(runs.update().where(runs.c.id == run_id)
                     .values(host=host, pid=int(pid) if pid.isdigit() else None))
