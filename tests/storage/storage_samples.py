"""Sample domain objects for the storage tests (a plain module: conftest is not importable by name)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vigie.domain.geometry import Box
from vigie.domain.observation import Event

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def make_event(
    camera_id: str = "cam-1",
    *,
    start: timedelta = timedelta(0),
    length: timedelta = timedelta(seconds=10),
    kind: str = "intrusion",
) -> Event:
    return Event(
        camera_id=camera_id,
        module="intrusion",
        kind=kind,
        started_at=T0 + start,
        ended_at=T0 + start + length,
        region=Box(0.1, 0.2, 0.3, 0.4),
        score=0.8,
        model_version="motion-1",
        observations=3,
    )
