"""``/api/cameras/{id}/ptz/track``: an operator boxes a target and the dome follows it, only under an activation of
``ptz_autotracking`` (403 ``not_activated`` naming the module and how to get one, nothing read nor audited);
the tracking state is in the PTZ view; DELETE stops it; a box that is no box of the picture, or carries unknown
fields, is 422. The runner is the service's (:class:`AutoTrackingRunner`), fed the simulated dome's picture."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import Engine

from tests.api.world import Clock, World, build_world
from vigie.analytics.autotrack import MODULE, AutoTrackingConfig
from vigie.domain.audit import AuditAction
from vigie.domain.ptz import DomeOptics
from vigie.runtime.assembly.autotrack import AutoTrackingRunner, TrackedDome, TrackedFrame
from vigie.services.ptz import PtzService
from vigie.sim.dome import SimulatedDome
from vigie.sim.panorama import PanoramaSpec, panorama

BOX = {"x": 0.45, "y": 0.4, "w": 0.1, "h": 0.2}


class SwitchGate:
    def __init__(self) -> None:
        self.open = False

    def allows(self, module: str, camera_id: str, at: datetime) -> bool:
        return self.open and module == MODULE and camera_id == "vil-1"

    def zones(self, module: str, camera_id: str) -> tuple[str, ...]:
        return ()

    def activation_id(self, module: str, camera_id: str) -> int | None:
        return 12 if self.open else None


class StillFeed:
    """The dome's picture once, then a stream with nothing new until the test ends."""

    def __init__(self, dome: SimulatedDome, clock: Clock) -> None:
        self.dome, self.clock = dome, clock
        self.opened = 0
        self.ended = threading.Event()

    def __call__(self, tracked: TrackedDome) -> Iterator[TrackedFrame]:
        self.opened += 1
        yield TrackedFrame(self.dome.frame(640, 360), self.clock())
        self.ended.wait(10)


class Tracking:
    gate: SwitchGate
    feed: StillFeed
    runner: AutoTrackingRunner

    def ptz(self, audit: object, clock: Clock) -> PtzService:
        dome = SimulatedDome(DomeOptics(), panorama(PanoramaSpec(width=2048, height=768)), lambda: 0.0, walkers=False)
        service = PtzService({"vil-1": dome}, audit, clock)  # type: ignore[arg-type]
        self.gate, self.feed = SwitchGate(), StillFeed(dome, clock)
        tracked = TrackedDome("vil-1", "rtsp://unused.invalid/vil-1", DomeOptics(), (), AutoTrackingConfig(), 0.5)
        self.runner = AutoTrackingRunner(service, self.gate, {"vil-1": tracked}, clock, frames=self.feed)
        service.attach_tracking(self.runner)
        return service


@pytest.fixture
def tracking() -> Iterator[Tracking]:
    made = Tracking()
    yield made
    made.feed.ended.set()
    made.runner.close()


@pytest.fixture
def world(db: Engine, tracking: Tracking) -> World:
    return build_world(db, ptz=tracking.ptz)


def test_without_an_activation_tracking_is_refused_saying_how_to_get_one(world: World, tracking: Tracking) -> None:
    op = world.login("op.vil")
    refused = op.post("/api/cameras/vil-1/ptz/track", json=BOX)
    assert refused.status_code == 403, refused.text
    error = refused.json()["error"]
    assert error["code"] == "not_activated"
    assert "ptz_autotracking needs an activation covering this camera" in error["message"]
    assert "Governance" in error["message"] and "private sites" in error["message"]
    assert tracking.feed.opened == 0
    assert not [e for e in world.audit.events if e.action is AuditAction.AUTOTRACKING_STARTED]
    assert op.get("/api/cameras/vil-1/ptz").json()["tracking"]["active"] is False


def test_under_an_activation_the_dome_follows_and_the_operator_stops_it(world: World, tracking: Tracking) -> None:
    tracking.gate.open = True
    op = world.login("op.vil")
    started = op.post("/api/cameras/vil-1/ptz/track", json=BOX)
    assert started.status_code == 200, started.text
    assert started.json()["active"] is True and started.json()["designated_by"] == "op.vil"
    assert started.json()["activation_id"] == 12
    shown = op.get("/api/cameras/vil-1/ptz").json()
    assert shown["tracking"]["active"] is True and shown["lock"] is None, "the system drives while it tracks"
    assert op.delete("/api/cameras/vil-1/ptz/track").status_code == 204
    ended = op.get("/api/cameras/vil-1/ptz").json()["tracking"]
    assert ended["active"] is False and ended["ended_reason"] == "ended_by_operator" and ended["ended_by"] == "op.vil"
    actions = [(e.actor, e.action) for e in world.audit.events if e.action.value.startswith("autotracking.")]
    assert actions == [("op.vil", AuditAction.AUTOTRACKING_STARTED), ("op.vil", AuditAction.AUTOTRACKING_ENDED)]


@pytest.mark.parametrize(
    "body",
    [
        {**BOX, "colour": "red"},  # unknown field
        {**BOX, "x": 0.95},  # past the right edge
        {"x": 0.1, "y": 0.1, "w": 0.0, "h": 0.2},
        {"x": 0.1, "y": 0.1, "w": 0.1},
    ],
)
def test_a_box_that_is_not_one_is_refused(world: World, tracking: Tracking, body: dict[str, object]) -> None:
    tracking.gate.open = True
    response = world.login("op.vil").post("/api/cameras/vil-1/ptz/track", json=body)
    assert response.status_code == 422, response.text
    assert tracking.feed.opened == 0


def test_a_fixed_camera_cannot_track(world: World, tracking: Tracking) -> None:
    tracking.gate.open = True
    assert world.login("op.vil").post("/api/cameras/vil-2/ptz/track", json=BOX).status_code == 404
