"""Builds and runs the whole service from a validated configuration: the only place where parts are wired."""

from __future__ import annotations

import logging
import signal
from datetime import date, timedelta
from pathlib import Path

import uvicorn

import vigie.web
from vigie.analytics.detect.motion import MotionConfig
from vigie.api.app import ApiServices, create_app
from vigie.config.models import Camera, VigieConfig
from vigie.domain.camera import CameraInfo
from vigie.domain.ports import Gate
from vigie.events.aggregation import AggregationPolicy, EventAggregator
from vigie.governance.authorisation import check_authorisation
from vigie.governance.gate import ClosedGate, SimulatedFootageGate
from vigie.ingest.reader import StreamSpec
from vigie.runtime.camera_worker import WorkerSpec
from vigie.runtime.sink import WorkerMessageSink
from vigie.runtime.supervisor import CameraSupervisor
from vigie.services.cameras import CameraService
from vigie.services.events import EventService
from vigie.storage.database import create_engine_for, migrate
from vigie.storage.repositories import SqlCameraStatusRepo, SqlEventRepo

log = logging.getLogger(__name__)
STATIC_DIR = Path(vigie.web.__file__).parent / "static"


def worker_spec(camera: Camera, gate: Gate) -> WorkerSpec:
    """Analysis reads the sub stream when there is one (it is what it is for), else the main stream."""
    analysis = camera.analysis
    motion = analysis.motion
    masks = tuple(
        tuple((float(p[0]), float(p[1])) for p in zone.points) for zone in camera.zones if zone.kind == "privacy_mask"
    )
    return WorkerSpec(
        stream=StreamSpec(
            camera_id=camera.id,
            url=camera.analysis_stream,
            analysis_fps=analysis.fps,
            analysis_width=analysis.width,
        ),
        motion=MotionConfig(min_area=motion.min_area, var_threshold=motion.threshold, history=motion.history),
        gate=gate,
        privacy_masks=masks,
    )


class VigieService:
    """The running platform: camera workers under a supervisor, one writer thread, and the HTTP API."""

    def __init__(self, config: VigieConfig, *, simulated_cameras: frozenset[str] = frozenset()) -> None:
        self.config = config
        self.simulated = simulated_cameras
        engine = create_engine_for(config.storage.database_url)
        migrate(engine)
        self.events = SqlEventRepo(engine)
        self.status = SqlCameraStatusRepo(engine)
        entries = [p for p in config.placements() if p.camera.enabled]
        self.cameras = [
            CameraInfo(
                p.camera.id, p.camera.name, p.commune.id, p.site.id, p.camera.kind, p.camera.id in self.simulated
            )
            for p in entries
        ]
        gate: Gate = SimulatedFootageGate(self.simulated) if self.simulated else ClosedGate()
        policies = {
            p.camera.id: AggregationPolicy(cooldown=timedelta(seconds=p.camera.analysis.motion.cooldown_s))
            for p in entries
        }
        self.sink = WorkerMessageSink(EventAggregator(self.events, per_camera=policies), self.status)
        authorisations = {p.camera.id: p.camera.authorisation for p in entries}
        for camera_id, auth in authorisations.items():
            message = check_authorisation(camera_id, auth, date.today()).message
            if message:
                log.warning("%s", message)

        def refusal(camera_id: str) -> str | None:
            verdict = check_authorisation(camera_id, authorisations[camera_id], date.today())
            return None if verdict.usable else verdict.message

        self.supervisor = CameraSupervisor(
            [worker_spec(p.camera, gate) for p in entries], self.sink, tick=self.sink.tick, refusal=refusal
        )
        services = ApiServices(events=EventService(self.events), cameras=CameraService(self.cameras, self.status))
        self.app = create_app(services, STATIC_DIR)

    def run(self) -> int:
        """Serve until interrupted (Ctrl-C or SIGTERM), then stop the workers and close open events."""
        api = self.config.api
        server = uvicorn.Server(
            uvicorn.Config(self.app, host=api.host, port=api.port, log_level="info", access_log=False)
        )
        previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        self.supervisor.start()
        log.info("Vigie console on http://%s:%d/", api.host, api.port)
        try:
            server.run()
        except KeyboardInterrupt:
            # uvicorn re-raises the signal it handled once it has shut down: that is the normal way out.
            log.info("stopping")
        finally:
            self.supervisor.stop()
            self.sink.close()
            signal.signal(signal.SIGTERM, previous)
        return 0


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    """SIGTERM (systemd, docker stop) shuts down like Ctrl-C: workers stopped, open events closed."""
    raise KeyboardInterrupt
