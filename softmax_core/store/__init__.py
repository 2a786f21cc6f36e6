"""The run store: runs, their points and epochs on SQLAlchemy (SQLite by default, PostgreSQL by URL).

``schema`` has the tables, ``migrations`` the Alembic history that builds them, ``engine`` connects and
migrates, ``records`` maps rows to what callers get, ``run_store`` is the RunStore that ties them.
"""

from ..status import ACTIVE_STATUSES, RunStatus
from .engine import DB_ENV_VAR, StoreError, default_database_url
from .records import EpochRecord, MetricPoint, RunRecord, StudentRecord
from .run_store import RunStore, open_default_store
from .schema import SCHEMA_VERSION, meta_table

__all__ = ["ACTIVE_STATUSES", "DB_ENV_VAR", "SCHEMA_VERSION", "EpochRecord", "MetricPoint", "RunRecord",
           "RunStatus", "RunStore", "StoreError", "StudentRecord", "default_database_url", "meta_table",
           "open_default_store"]
