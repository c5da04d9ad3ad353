"""Filmed persons' requests of access (L19) as ``vigie serve`` and the API processes run them: the requests in the
database, their copies and packages under ``<data_dir>/access-requests/``, the personal data of ended requests
erased ``privacy.access_request_keep_days`` later by the service's periodic purge.

The redacted copies are made by the copy maker (:class:`vigie.domain.access_requests.CopyMaker`) built from the
segment index and store, the signed exporter and the redaction model; where none is given the copy steps answer
503 (the requests can still be recorded, extended and refused)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from vigie.config.models import VigieConfig
from vigie.domain.access_requests import CopyMaker
from vigie.domain.ports import AuditSink
from vigie.services.access_requests import AccessRequestService
from vigie.storage.access_requests import SqlAccessRequestStore


def open_access_requests(
    config: VigieConfig,
    engine: Engine,
    audit: AuditSink,
    clock: Callable[[], datetime],
    maker: CopyMaker | None,
) -> AccessRequestService:
    """The access-request service over the configured database and data folder."""
    return AccessRequestService(
        SqlAccessRequestStore(engine),
        audit,
        clock,
        config.storage.data_dir,
        maker,
        keep_days=config.privacy.access_request_keep_days,
    )
