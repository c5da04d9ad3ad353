"""The health view's parts as the runtime builds them (a real monitor and gap watch writing to the database's
gap ledger, which the view reads; a real supervisor as the node source; the disks of a folder), for the API and
console tests' worlds (issue 17)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from vigie.domain.clock import Clock
from vigie.domain.recording import Segment
from vigie.recording.gaps import GapWatch
from vigie.runtime.workers.monitor import ServiceMonitor
from vigie.runtime.workers.supervisor import CameraSupervisor
from vigie.services.cameras import CameraService
from vigie.services.integration_health import IntegrationSources
from vigie.services.system_health import SystemHealthService, disk_space
from vigie.storage.recording_gaps import SqlRecordingGaps

SEGMENT_S = 10.0


@dataclass
class HealthParts:
    """What the tests feed: the monitor (as the sink does) and the supervisor (started or not); the integrations
    (issue 21) as the runtime builds them, when a test has some."""

    monitor: ServiceMonitor | None = None
    supervisor: CameraSupervisor | None = None
    integrations: IntegrationSources | None = None

    def factory(
        self, folder: Path, camera_ids: Sequence[str], engine: Engine
    ) -> Callable[[CameraService, Clock], SystemHealthService]:
        def build(cameras: CameraService, clock: Clock) -> SystemHealthService:
            ledger = SqlRecordingGaps(engine)
            self.monitor = ServiceMonitor(camera_ids, GapWatch(SEGMENT_S), clock=clock, ledger=ledger)
            monitor = self.monitor
            self.supervisor = CameraSupervisor([], lambda _msg: None, clock=clock, tick=lambda: monitor.tick(clock()))
            return SystemHealthService(
                cameras,
                self.supervisor,
                ledger,
                lambda: [disk_space("recordings", folder, 0), disk_space("data", folder, 0)],
                clock,
                integrations=self.integrations,
            )

        return build


def segment(camera_id: str, start: datetime, seconds: float = SEGMENT_S) -> Segment:
    end = start + timedelta(seconds=seconds)
    return Segment(camera_id, f"{camera_id}/{start.timestamp():.0f}.ts", start, end, 100_000, "0" * 64)


def silence(monitor: ServiceMonitor, now: datetime) -> None:
    """Every camera expected to record from a minute before ``now``; vil-1 recorded ten seconds then stopped (an
    alarm open at ``now``); vil-2 stopped too and resumed five seconds ago (a gap closed). Each message is followed
    by a round, as the sink does: the round writes what changed."""
    monitor.tick(now - timedelta(seconds=60))
    monitor.observe(segment("vil-1", now - timedelta(seconds=60)))
    monitor.tick(now)
    monitor.observe(segment("vil-2", now - timedelta(seconds=5)))
    monitor.tick(now)
