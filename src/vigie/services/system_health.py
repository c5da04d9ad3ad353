"""The health of the platform as operators see it (issue 17): nodes, disks, cameras offline, recording gaps — and
the Prometheus metrics, for a scraper holding the token.

The parts come from the runtime: the nodes from whatever supervises the workers (one host, or a Ray cluster: only
:class:`NodeSource` is asked), the recording gaps from the database, where ``vigie serve``'s monitor writes them
each round (so every API process beside it shows the same alarms), the disks from the storage folders.
An operator or a supervisor reads the view (``view_system_health``); cameras and gaps are limited to the cameras
the person may see (L10); nodes and disks are the platform's, shown to every reader. The integrations (MQTT, webhooks,
sensors, loudspeakers) are :mod:`vigie.services.integration_health`'s.
"""

from __future__ import annotations

import hmac
import shutil
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from vigie.domain.camera import HealthState
from vigie.domain.clock import Clock
from vigie.domain.cluster import NodeStatus
from vigie.domain.recording import GapReport, RecordingGap
from vigie.domain.users import Permission
from vigie.services.access import Principal
from vigie.services.cameras import CameraService, CameraView
from vigie.services.integration_health import IntegrationSources, IntegrationsOverview, integrations_for

GAPS_LISTED = 500
"""Recording gaps of the last 24 hours listed at most (newest first); the count says how many there were."""
GAPS_SINCE = timedelta(hours=24)
WATCHED_WITHIN = timedelta(seconds=15)
"""The recordings are watched while the watch's last check written is at most this old: ``vigie serve`` writes it
every 5 s (:data:`vigie.runtime.workers.monitor.RECORD_EVERY`); stopped, stuck, or its database writes refused, it
no longer does, and no process may then show "every camera records". The hosts' clocks are assumed in step (NTP)."""


class NodeSource(Protocol):
    """What hosts the camera groups: :class:`~vigie.runtime.workers.supervisor.CameraSupervisor` on one host, the
    Ray supervisor on a cluster."""

    def nodes(self) -> Sequence[NodeStatus]: ...


class GapSource(Protocol):
    """The recording gaps ``vigie serve``'s monitor wrote (:class:`~vigie.storage.recording_gaps.SqlRecordingGaps`)."""

    def report(self, camera_ids: Collection[str], since: datetime, listed: int) -> GapReport: ...


@dataclass(frozen=True, slots=True)
class Disk:
    """Free space of one storage folder (the recordings' or the data folder)."""

    name: str
    free_bytes: int
    total_bytes: int
    min_free_bytes: int
    """Below this the purge deletes the oldest recordings it may (``storage.min_free_mb``); 0: no limit here."""
    error: str = ""
    """Why the space could not be read (then the sizes are 0)."""

    @property
    def ok(self) -> bool:
        return not self.error and self.free_bytes >= self.min_free_bytes


def disk_space(name: str, folder: Path, min_free_bytes: int) -> Disk:
    """The free space of the disk holding ``folder``, or why it cannot be read."""
    try:
        usage = shutil.disk_usage(folder)
    except OSError as err:
        return Disk(name, 0, 0, min_free_bytes, err.strerror or type(err).__name__)
    return Disk(name, usage.free, usage.total, min_free_bytes)


@dataclass(frozen=True, slots=True)
class HealthOverview:
    at: datetime
    nodes: tuple[NodeStatus, ...]
    disks: tuple[Disk, ...]
    offline: tuple[CameraView, ...]
    """Cameras (of those the reader sees) whose last report says offline."""
    alarms: tuple[RecordingGap, ...]
    """Recording-gap alarms raised now (the reader's cameras)."""
    gaps: tuple[RecordingGap, ...]
    """Recording gaps of the last 24 hours, newest first, at most :data:`GAPS_LISTED`."""
    gap_count: int
    gap_seconds: float
    watching: bool
    """False: nothing watches the recordings now (``vigie serve`` stopped or stuck, or the database refuses its
    writes): no alarm listed does not mean every camera records, and those listed are the last ones written."""
    integrations: IntegrationsOverview
    """MQTT, webhooks, sensors and loudspeakers (issue 21; :mod:`vigie.services.integration_health`)."""


class SystemHealthService:
    def __init__(
        self,
        cameras: CameraService,
        nodes: NodeSource,
        gaps: GapSource,
        disks: Callable[[], Sequence[Disk]],
        clock: Clock,
        *,
        integrations: IntegrationSources | None = None,
    ) -> None:
        """``integrations``: the MQTT bridge, webhook endpoints, sensors and loudspeakers the runtime built (None:
        none configured)."""
        self._integrations = integrations or IntegrationSources()
        self._cameras = cameras
        self._nodes = nodes
        self._gaps = gaps
        self._disks = disks
        self._clock = clock

    def overview_for(self, viewer: Principal) -> HealthOverview:
        viewer.require(Permission.VIEW_SYSTEM_HEALTH)
        now = self._clock()
        views = self._cameras.list_cameras(viewer)
        report = self._gaps.report({v.info.id for v in views}, now - GAPS_SINCE, GAPS_LISTED)
        watched_at = report.watched_at
        return HealthOverview(
            at=now,
            nodes=tuple(self._nodes.nodes()),
            disks=tuple(self._disks()),
            offline=tuple(v for v in views if v.state is HealthState.OFFLINE),
            alarms=report.alarms,
            gaps=report.listed,
            gap_count=report.count,
            gap_seconds=report.closed_seconds + sum(g.seconds(now) for g in report.alarms),
            watching=watched_at is not None and now - watched_at <= WATCHED_WITHIN,
            integrations=integrations_for(self._integrations, viewer),
        )


class MetricsRefusedError(Exception):
    """The scraper did not present the metrics token."""


class MetricsAccess:
    """The Prometheus exposition, for whoever presents the bearer token configured (``api.metrics_token_file``).
    The metrics hold no personal data (camera ids, module names, counts and times), but they show which cameras
    fail and when: not for anyone who can reach the port."""

    MIN_TOKEN_LENGTH = 32

    def __init__(self, token: str, render: Callable[[], bytes]) -> None:
        token = token.strip()
        if len(token) < self.MIN_TOKEN_LENGTH:
            raise ValueError(
                f"the metrics token is {len(token)} characters long; use at least {self.MIN_TOKEN_LENGTH} random "
                "characters (e.g. `openssl rand -hex 32 > FILE`)"
            )
        self._token = token.encode()
        self._render = render

    def render_for(self, authorization: str | None) -> bytes:
        """The exposition text, if ``authorization`` (the request's header) is ``Bearer <token>``."""
        scheme, _, presented = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), self._token):
            raise MetricsRefusedError("send the metrics token: `Authorization: Bearer <token>`")
        return self._render()
