"""One database as the stores use it: its engine (schema brought up to date on open), its clock, its
transactions, and a way to make a read-then-write step atomic on SQLite and PostgreSQL alike."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from softmax_core.runs.store.engine import create_store_engine, default_database_url, prepare_schema, translated_errors
from softmax_core.runs.store.schema import guards_table


class Database:
    """The engine of one run database, shared by the RunStore and the ClassStore (thread-safe)."""

    def __init__(self, url: str | None = None):
        self.url = url or default_database_url()
        self.engine = create_store_engine(self.url)
        prepare_schema(self.engine, self.url)

    @contextlib.contextmanager
    def writing(self) -> Iterator[Connection]:
        """A transaction: committed at the end, rolled back on an error."""
        with translated_errors(self.url), self.engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def reading(self) -> Iterator[Connection]:
        with translated_errors(self.url), self.engine.connect() as conn:
            yield conn

    def now(self) -> sa.ColumnElement:
        """SQL for the database's clock, in seconds since the epoch (what every stored time is)."""
        return database_clock(self.engine.dialect.name)

    def clock(self, conn: Connection) -> float:
        """The database's clock, read now."""
        return float(conn.execute(sa.select(self.now())).scalar())

    def serialize(self, conn: Connection, key: str) -> None:
        """Hold the guards row ``key`` (made if missing) locked until this transaction ends, so that a
        count and the write it allows can't interleave with another's. On SQLite the first write of a
        transaction takes the database's write lock; on PostgreSQL the row is locked FOR UPDATE."""
        insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(guards_table)
        conn.execute(insert.values(key=key).on_conflict_do_nothing(index_elements=["key"]))
        conn.execute(sa.select(guards_table.c.key).where(guards_table.c.key == key).with_for_update())


def database_clock(dialect: str) -> sa.ColumnElement:
    """SQL for 'now' in Unix seconds, read on the database server (millisecond precision or better)."""
    if dialect == "postgresql":
        return sa.cast(sa.func.extract("epoch", sa.func.clock_timestamp()), sa.Float)
    return (sa.func.julianday("now") - 2440587.5) * 86400.0  # SQLite: days since noon, 4714 BC
