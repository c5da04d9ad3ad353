"""Ports: the interfaces the platform's layers talk through. Implementations live in storage/, analytics/ etc."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from vigie.domain.audit import AuditEvent, AuditRecord
from vigie.domain.camera import CameraHealth
from vigie.domain.geometry import Box
from vigie.domain.observation import Event

Frame = npt.NDArray[np.uint8]

LiveQuality = Literal["wall", "full"]
"""``wall``: a camera's sub stream, small, for a wall of many cameras; ``full``: its main stream, for one view."""
"""A decoded frame: H×W×3 BGR or H×W gray, uint8."""


class RegionDetector(Protocol):
    """A detector that turns one frame into regions of interest (e.g. motion)."""

    def detect(self, frame: Frame) -> list[tuple[Box, float]]: ...


class Gate(Protocol):
    """The governance gate: the only thing that lets an analysis module run on a camera at a given time."""

    def allows(self, module: str, camera_id: str, at: datetime) -> bool: ...

    def zones(self, module: str, camera_id: str) -> tuple[str, ...]:
        """The analysis zones the module is limited to on that camera under the window open at the last
        :meth:`allows` that returned True; empty: the whole image."""
        ...


class EventRepo(Protocol):
    """Where events are kept."""

    def add(self, event: Event) -> Event: ...

    def update(self, event: Event) -> None: ...

    def update_many(self, events: Sequence[Event]) -> None:
        """What :meth:`update` does for each, in one statement (ids of stored events)."""
        ...

    def list(
        self,
        *,
        camera_id: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
        camera_ids: Sequence[str] | None = None,
    ) -> Sequence[Event]: ...


class CameraStatusRepo(Protocol):
    """Latest known health of each camera."""

    def record(self, health: CameraHealth) -> None: ...

    def record_many(self, reports: Iterable[CameraHealth]) -> int:
        """What :meth:`record` does for each report, in order, in one transaction (the sink's rounds)."""
        ...

    def latest(self) -> Sequence[CameraHealth]: ...

    def prune_health_log(self, older_than: datetime) -> int: ...


class AuditSink(Protocol):
    """Where everything that must be traced goes (L11). Appending never fails silently: it raises."""

    def append(self, event: AuditEvent) -> AuditRecord: ...
