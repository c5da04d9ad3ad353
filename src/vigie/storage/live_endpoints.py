"""The ``live_endpoints`` table (implements ``vigie.domain.live_endpoint.LiveEndpoints``): the node relay of each
camera's live tap in cluster mode, written by the control plane, read by every API process (issue 17)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Engine, delete
from sqlalchemy.orm import sessionmaker

from vigie.domain.live_endpoint import LiveEndpoint
from vigie.storage.database import for_reading, storage_errors
from vigie.storage.repositories import rowcount
from vigie.storage.tables import LiveEndpointRow, require_aware


class SqlLiveEndpoints:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._write = sessionmaker(engine, expire_on_commit=False)
        self._read = sessionmaker(for_reading(engine), expire_on_commit=False)

    def get(self, camera_id: str) -> LiveEndpoint | None:
        with storage_errors(self._engine, "read where a camera's live view is served"), self._read.begin() as session:
            row = session.get(LiveEndpointRow, camera_id)
            if row is None:
                return None
            return LiveEndpoint(row.camera_id, row.host, row.port, row.recorder_group, row.since)

    def put(self, group: str, cameras: Iterable[str], host: str, port: int, since: datetime) -> None:
        at = require_aware(since, "since")
        # one writer (the control plane): read-then-write in one transaction is enough
        with storage_errors(self._engine, "record where live views are served"), self._write.begin() as session:
            for camera_id in cameras:
                row = session.get(LiveEndpointRow, camera_id)
                if row is None:
                    session.add(
                        LiveEndpointRow(camera_id=camera_id, host=host, port=port, recorder_group=group, since=at)
                    )
                else:
                    row.host, row.port, row.recorder_group, row.since = host, port, group, at

    def clear(self, cameras: Iterable[str], group: str | None = None) -> int:
        statement = delete(LiveEndpointRow).where(LiveEndpointRow.camera_id.in_(list(cameras)))
        if group is not None:
            statement = statement.where(LiveEndpointRow.recorder_group == group)
        with storage_errors(self._engine, "forget where live views were served"), self._write.begin() as session:
            return rowcount(session.execute(statement))
