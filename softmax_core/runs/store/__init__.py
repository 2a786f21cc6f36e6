"""The run store: runs, their points and epochs, and the class's records, on SQLAlchemy (SQLite by
default, PostgreSQL by URL).

``schema`` has the tables and ``migrations`` the Alembic history that builds them; ``engine`` connects
and migrates, ``database`` holds the engine, its clock and its locks; ``records`` maps rows to what
callers get; ``scope`` is what a reader may see; ``run_store`` and ``class_store`` are the two stores.
"""

from softmax_core.runs.store.class_store import ClassFull, ClassStore, GuardRule, NameTaken
from softmax_core.runs.store.engine import DB_ENV_VAR, StoreError, default_database_url
from softmax_core.runs.store.records import THIS_MACHINE, EpochRecord, MetricPoint, RunRecord, StudentRecord
from softmax_core.runs.store.run_store import (
    ACTIVE_COST_SETTING,
    RunLimitReached,
    RunRequest,
    RunStore,
    ScopedRuns,
    open_default_store,
)
from softmax_core.runs.store.schema import SCHEMA_VERSION, meta_table
from softmax_core.runs.store.scope import EVERYTHING, NOTHING, ReadScope
from softmax_core.status import ACTIVE_STATUSES, RunStatus

__all__ = ["ACTIVE_COST_SETTING", "ACTIVE_STATUSES", "DB_ENV_VAR", "EVERYTHING", "NOTHING", "SCHEMA_VERSION",
           "THIS_MACHINE", "ClassFull", "ClassStore", "EpochRecord", "GuardRule", "MetricPoint", "NameTaken",
           "ReadScope", "RunLimitReached", "RunRecord", "RunRequest", "RunStatus", "RunStore", "ScopedRuns",
           "StoreError", "StudentRecord", "default_database_url", "meta_table", "open_default_store"]
