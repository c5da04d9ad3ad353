"""Storage: SQLAlchemy repositories and Alembic migrations, on SQLite (WAL, embedded default) or PostgreSQL.

The composition root builds one engine with :func:`create_engine_for`, runs :func:`migrate` once at
start-up and hands the engine to the repositories; nothing here is a module-level singleton.
"""

from vigie.domain.activation import GovernanceSnapshot
from vigie.storage.alerts import SqlAlertRepo
from vigie.storage.audit import AuditAppendConflictError, SqlAuditStore
from vigie.storage.database import (
    create_engine_for,
    current_revision,
    for_reading,
    head_revision,
    migrate,
    ping,
)
from vigie.storage.errors import EventNotFoundError, NaiveDatetimeError, StorageError
from vigie.storage.governance import SqlGovernanceStore
from vigie.storage.recording import (
    HoldAlreadyLiftedError,
    HoldNotFoundError,
    SegmentNotFoundError,
    SqlDestructionRegister,
    SqlHoldRepo,
    SqlSegmentIndex,
)
from vigie.storage.repositories import SqlCameraStatusRepo, SqlEventRepo
from vigie.storage.segment_store import (
    FileSegmentStore,
    InvalidSegmentKeyError,
    S3SegmentStore,
    SegmentStoreError,
    check_key,
)
from vigie.storage.statistics import SqlStatisticsRepo
from vigie.storage.users import SqlUserRepo

__all__ = [
    "AuditAppendConflictError",
    "EventNotFoundError",
    "FileSegmentStore",
    "GovernanceSnapshot",
    "HoldAlreadyLiftedError",
    "HoldNotFoundError",
    "InvalidSegmentKeyError",
    "NaiveDatetimeError",
    "S3SegmentStore",
    "SegmentNotFoundError",
    "SegmentStoreError",
    "SqlAlertRepo",
    "SqlAuditStore",
    "SqlCameraStatusRepo",
    "SqlDestructionRegister",
    "SqlEventRepo",
    "SqlGovernanceStore",
    "SqlHoldRepo",
    "SqlSegmentIndex",
    "SqlStatisticsRepo",
    "SqlUserRepo",
    "StorageError",
    "check_key",
    "create_engine_for",
    "current_revision",
    "for_reading",
    "head_revision",
    "migrate",
    "ping",
]
