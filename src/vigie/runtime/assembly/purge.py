"""Builds the retention purge (L3, L4, L5) from the configuration: used by the service, every minute, and by
``vigie recording purge``."""

from __future__ import annotations

import shutil
from collections.abc import Callable

from sqlalchemy import Engine

from vigie.config.models import VigieConfig
from vigie.domain.clock import Clock
from vigie.domain.ports import AuditSink
from vigie.domain.recording import SegmentStore
from vigie.recording.purge import Purger
from vigie.recording.retention import retention_for
from vigie.runtime.assembly.segments import is_remote, open_segment_store
from vigie.storage import SqlDestructionRegister, SqlHoldRepo, SqlSegmentIndex


def build_purger(
    config: VigieConfig,
    engine: Engine,
    store: SegmentStore | None = None,
    *,
    min_free_bytes: int,
    free_bytes: Callable[[], int] | None = None,
    audit: AuditSink,
    clock: Clock,
) -> Purger:
    """The purge job over the configured database and ``store`` (default: the configured segment store).

    Free space defaults to that of the data dir for the file store. With a remote store (S3) there is no
    low-space purge: deleting remote segments would free nothing on this disk (only the spool is local)."""
    data_dir = config.storage.data_dir
    if free_bytes is None and is_remote(config):
        free_bytes = _unlimited
    return Purger(
        SqlSegmentIndex(engine),
        open_segment_store(config) if store is None else store,
        holds_source=SqlHoldRepo(engine),
        register=SqlDestructionRegister(engine),
        audit=audit,
        retention_for_camera=retention_for(config),
        clock=clock,
        free_bytes=free_bytes or (lambda: shutil.disk_usage(data_dir).free),
        min_free_bytes=min_free_bytes,
    )


def _unlimited() -> int:
    return 2**62
