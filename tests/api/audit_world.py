"""The real audit chain for API tests: hash-chained and signed, on the world's database, keys beside it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from tests.api.export_world import data_dir_of
from tests.recording.export_samples import ListAuditSink
from vigie.domain.audit import AuditEvent, AuditRecord
from vigie.governance.audit import AuditChain, AuditKeyring
from vigie.services.audit import AuditService
from vigie.storage import SqlAuditStore, SqlUserRepo
from vigie.storage.audit_query import SqlAuditReader


class ChainedAuditSink(ListAuditSink):
    """Keeps the events in a list (what most API tests read) and appends them to the real chain too."""

    def __init__(self, chain: AuditChain) -> None:
        super().__init__()
        self.chain = chain

    def append(self, event: AuditEvent) -> AuditRecord:
        super().append(event)
        return self.chain.append(event)


def keys_dir_of(engine: Engine) -> Path:
    """Beside the SQLite file of the test (a tmp_path), or in a fresh temporary folder."""
    return data_dir_of(engine) / "audit-keys"


def open_test_chain(engine: Engine, clock: Callable[[], datetime]) -> AuditChain:
    return AuditChain(SqlAuditStore(engine), AuditKeyring(keys_dir_of(engine)), clock=clock)


def open_audit_service(chain: AuditChain, engine: Engine) -> AuditService:
    return AuditService(chain, SqlAuditReader(engine), SqlUserRepo(engine))
