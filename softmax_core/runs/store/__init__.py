"""The run store: runs, their points and epochs on SQLAlchemy (SQLite by default, PostgreSQL by URL).

``schema`` has the tables, ``migrations`` the Alembic history that builds them, ``engine`` connects and
migrates, ``records`` maps rows to what callers get, ``run_store`` is the RunStore that ties them.
"""

from softmax_core.runs.store.engine import DB_ENV_VAR, StoreError, default_database_url
from softmax_core.runs.store.records import EpochRecord, MetricPoint, RunRecord, StudentRecord
from softmax_core.runs.store.run_store import RunStore, open_default_store
from softmax_core.runs.store.schema import SCHEMA_VERSION, meta_table
from softmax_core.status import ACTIVE_STATUSES, RunStatus

__all__ = ["ACTIVE_STATUSES", "DB_ENV_VAR", "SCHEMA_VERSION", "EpochRecord", "MetricPoint", "RunRecord",
           "RunStatus", "RunStore", "StoreError", "StudentRecord", "default_database_url", "meta_table",
           "open_default_store"]
