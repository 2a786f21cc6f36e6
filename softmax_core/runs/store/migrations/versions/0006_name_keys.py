"""Schema 6: a student's name key is the name's canonical form (``softmax_core.classroom.names``: NFKC,
case folded, invisible marks removed, the TS #39 confusables skeleton), no longer its lower case, so
that a name that only looks like a classmate's is the same name. The column widens to 255 characters
(a compatibility character can spell out to 18), and every existing student's key is recomputed.

Two students who joined under names that now count as one keep their places: the older one gets the
key, the later one its key with ``#<id>`` added, so this migration never fails on the data it finds.
It uses the rule as it stands when it runs; a later change of the rule needs its own migration.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

KEY_BASE_LENGTH = 200  # leaves room in the 255 for the '#<id>' that tells two old lookalikes apart
students = sa.table("students", sa.column("id", sa.Integer), sa.column("name", sa.String),
                    sa.column("name_key", sa.String))


def upgrade() -> None:
    with op.batch_alter_table("students") as batch:
        batch.alter_column("name_key", type_=sa.String(255), existing_type=sa.String(64), existing_nullable=False)
    recompute_name_keys(op.get_bind())
    op.execute("UPDATE meta SET value = '6' WHERE key = 'schema_version'")


def recompute_name_keys(conn) -> None:
    """Every student's key from their name, oldest first; a taken key gets the student's id appended."""
    from softmax_core.classroom.names import canonical_name

    rows = conn.execute(sa.select(students.c.id, students.c.name).order_by(students.c.id)).all()
    # first out of the way, so that no new key meets a row's old one on the unique index
    conn.execute(students.update().values(name_key="#migrating:" + sa.cast(students.c.id, sa.String)))
    taken: set[str] = set()
    for student_id, name in rows:
        key = canonical_name(name)[:KEY_BASE_LENGTH] or f"#{student_id}"
        while key in taken:
            key = f"{key}#{student_id}"
        taken.add(key)
        conn.execute(students.update().where(students.c.id == student_id).values(name_key=key))
