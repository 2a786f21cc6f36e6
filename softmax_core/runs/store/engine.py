"""Connecting to the run database: the engine (SQLite pragmas, or a server database by URL), driver
errors turned into ``StoreError`` messages a person can act on, and the schema brought up to date.

The schema is Alembic's (``migrations/``), run on open: a new database is created by the migrations, a
schema-1 database from before them is stamped and upgraded in place, and a newer or foreign database is
refused untouched. Processes opening one database at once take turns (a file lock beside a SQLite
file; an advisory lock on PostgreSQL), so only one of them migrates.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from softmax_core.errors import LabError
from softmax_core.i18n import N_, Said, as_code
from softmax_core.runs.store.schema import APP_ID, SCHEMA_VERSION, meta_table
from softmax_core.settings import server_settings

DB_ENV_VAR = "SOFTMAX_LAB_DB"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
PRE_ALEMBIC_REVISION = "0001"  # what a schema-1 database (no alembic_version table) is
_PG_MIGRATION_LOCK = 0x50F7  # any constant shared by every Softmax Lab process


class StoreError(LabError, RuntimeError):
    """The database can't be opened, created or written; the message says which and why."""


def default_database_url() -> str:
    """$SOFTMAX_LAB_DB, else a SQLite file in the per-user data folder."""
    configured = server_settings().db_url
    if configured:
        return configured
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return f"sqlite:///{Path(data_home) / 'softmax-lab' / 'runs.db'}"


def create_store_engine(url: str) -> Engine:
    """An engine for the URL; SQLite files get WAL mode and their folder made."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as error:
        raise StoreError(N_("{setting} is not a database URL (e.g. sqlite:///path/runs.db)"),
                         setting=as_code(f"{DB_ENV_VAR}={url!r}")) from error
    if parsed.get_backend_name() != "sqlite":
        try:
            return sa.create_engine(url, pool_pre_ping=True)
        except (ImportError, sa.exc.ArgumentError) as error:
            raise StoreError(N_("can't use {url}: {error}"), url=shown_url(url), error=error) from error
    if parsed.database and parsed.database != ":memory:":
        _make_parent_folder(Path(parsed.database))
    engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


@contextlib.contextmanager
def translated_errors(url: str) -> Iterator[None]:
    """Driver errors inside become StoreError with a readable message."""
    try:
        yield
    except sa.exc.SQLAlchemyError as error:
        raise StoreError(describe_db_error(url, error)) from error


def prepare_schema(engine: Engine, url: str) -> None:
    """Create or upgrade the schema to the newest migration, or refuse a foreign or newer database."""
    with translated_errors(url):
        if _revision_of(engine) == _head_revision():
            return  # the common case: nothing to do, no lock taken
        with _migration_lock(engine, url), engine.connect() as conn, _foreign_keys_off(conn):
            with conn.begin():
                _check_is_ours(conn, url)
                _run_migrations(conn, url)


def shown_url(url: str) -> str:
    """The URL with any password hidden."""
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def describe_db_error(url: str, error: Exception) -> Said:
    """A driver's error as a sentence a person can act on (the driver's own text inside it, as it is)."""
    text = str(getattr(error, "orig", None) or error)
    if "file is not a database" in text or "malformed" in text:
        return Said(N_("{url} is corrupt or not a SQLite database ({error}); move it away to start a new one."),
                    url=shown_url(url), error=text)
    if "readonly" in text or "unable to open" in text:
        return Said(N_("{url} can't be opened for writing ({error}); set {variable} to a writable place."),
                    url=shown_url(url), error=text, variable=as_code(DB_ENV_VAR))
    return Said(N_("database error on {url}: {error}"), url=shown_url(url), error=text)


def _alembic_config(conn: Connection):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = conn
    return config


def _head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def _revision_of(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _check_is_ours(conn: Connection, url: str) -> None:
    existing = set(sa.inspect(conn).get_table_names())
    if not existing:
        return
    if "meta" not in existing:
        raise StoreError(N_("{url} is not a Softmax Lab database (it has tables {tables}); refusing to touch it. "
                            "Set {variable} to another file."), url=shown_url(url), tables=sorted(existing),
                         variable=as_code(DB_ENV_VAR))
    meta = dict(conn.execute(sa.select(meta_table.c.key, meta_table.c.value)).all())
    if meta.get("app") != APP_ID:
        raise StoreError(N_("{url} belongs to another application ({app}); refusing to touch it."),
                         url=shown_url(url), app=repr(meta.get("app")))
    version = int(meta.get("schema_version", "0"))
    if version > SCHEMA_VERSION:
        raise _newer_schema_error(url, Said(N_("schema version {version}"), version=version))


def _run_migrations(conn: Connection, url: str) -> None:
    from alembic import command
    from alembic.util import CommandError

    config = _alembic_config(conn)
    tables = set(sa.inspect(conn).get_table_names())
    try:
        if "meta" in tables and "alembic_version" not in tables:
            command.stamp(config, PRE_ALEMBIC_REVISION)  # written by the release before migrations
        command.upgrade(config, "head")
    except CommandError as error:  # e.g. a revision this release has never heard of
        raise _newer_schema_error(url, Said(N_("a schema revision this release doesn't know ({error})"),
                                            error=error)) from error


def _newer_schema_error(url: str, what: Said) -> StoreError:
    return StoreError(N_("{url} has {what}, newer than this Softmax Lab understands (schema {schema}); upgrade "
                         "Softmax Lab or use another database."), url=shown_url(url), what=what, schema=SCHEMA_VERSION)


@contextlib.contextmanager
def _foreign_keys_off(conn: Connection) -> Iterator[None]:
    """SQLite alters a table by copying it and dropping the old one: with foreign keys on, that drop
    would cascade to every point and epoch. So they are off while migrating, and checked after."""
    if conn.dialect.name != "sqlite":
        yield
        return
    conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
    conn.commit()  # a pragma outside any transaction, or SQLite ignores it
    try:
        yield
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        conn.commit()
        if broken:
            raise StoreError(f"the migration left {len(broken)} rows without their run: {broken[:3]}")
    finally:
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.commit()


@contextlib.contextmanager
def _migration_lock(engine: Engine, url: str) -> Iterator[None]:
    """One process at a time migrates: a file lock beside a SQLite file, an advisory lock on PostgreSQL."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_MIGRATION_LOCK})
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    import fcntl

    with open(f"{database}.lock", "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer, nor it them
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _make_parent_folder(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StoreError(N_("can't create the folder for the run database {path}: {error}"), path=path,
                         error=error.strerror or error) from error
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise StoreError(N_("the run database {path} can't be written (permission denied); set {variable} to a "
                            "writable place, e.g. sqlite:///tmp/runs.db"), path=path, variable=as_code(DB_ENV_VAR))
