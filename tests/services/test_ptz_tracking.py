"""The PTZ service's side of auto-tracking, on the simulated dome: a session takes the dome from a tour, nothing
sends the dome home while it tracks, its moves are counted rather than audited one by one, and any person's command
ends it first and is carried out at once (the runtime's runner is tested in tests/runtime/test_autotrack_runtime.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.recording.export_samples import ListAuditSink
from tests.support.clocks import T0
from tests.support.viewers import signed_in_viewer
from vigie.domain.audit import AuditAction
from vigie.domain.geometry import Box
from vigie.domain.ptz import DomeOptics, PtzError, PtzVector
from vigie.domain.users import Role
from vigie.services.access import Principal
from vigie.services.ptz import PtzCommand, PtzCommandKind, PtzService
from vigie.services.ptz_tracking import TrackingRefusedError
from vigie.sim.dome import SimulatedDome
from vigie.sim.panorama import PanoramaSpec, panorama

BOX = Box(0.4, 0.3, 0.1, 0.25)
RIGHT = PtzCommand(PtzCommandKind.CONTINUOUS, PtzVector(0.3, 0.0, 0.0), timeout_s=1.0)


class Time:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def world() -> tuple[PtzService, SimulatedDome, Time, ListAuditSink]:
    time, audit = Time(), ListAuditSink()
    dome = SimulatedDome(
        DomeOptics(),
        panorama(PanoramaSpec(width=1024, height=384)),
        lambda: time.now.timestamp(),  # noqa: PLW0108 (now moves)
        walkers=False,
    )
    return PtzService({"dome-1": dome}, audit, time, home_after_s={"dome-1": 60.0}), dome, time, audit


def person(name: str, role: Role = Role.OPERATOR) -> Principal:
    return signed_in_viewer(("dome-1",), username=name, roles=(role,))


def test_a_session_takes_the_dome_from_a_tour_and_nothing_sends_it_home(
    world: tuple[PtzService, SimulatedDome, Time, ListAuditSink],
) -> None:
    service, _, time, audit = world
    sup = signed_in_viewer(("dome-1",), username="sup", roles=(Role.SUPERVISOR,))
    tokens = [service.set_preset(sup, "dome-1", name) for name in ("a", "b")]
    service.release(sup, "dome-1")
    service.start_tour(sup, "dome-1", tokens, dwell_s=2.0)
    session = service.begin_tracking("dome-1", "alice", 7, BOX)
    view = service.view(sup, "dome-1")
    assert view.tour is None and view.lock is None and view.tracking.active and view.tracking.activation_id == 7
    started = audit.events[-1]
    assert started.action is AuditAction.AUTOTRACKING_STARTED and started.details["tour_stopped"] is True
    for _ in range(90):  # past the tour's dwell and the return home's delay, the tracker moving all along
        time.advance(1)
        assert service.tracking_move("dome-1", session, RIGHT)
        service.tick()
    assert [e.action for e in audit.events[-1:]] == [AuditAction.AUTOTRACKING_STARTED], "no tour step, no home"
    assert service.end_tracking("dome-1", session, "target_lost", frames=900)
    (ended,) = [e for e in audit.events if e.action is AuditAction.AUTOTRACKING_ENDED]
    assert ended.actor == "system:autotracking"
    assert ended.details["moves"] == 90 and ended.details["reason"] == "target_lost" and ended.details["frames"] == 900
    assert not service.end_tracking("dome-1", session, "target_lost"), "ended once"
    time.advance(61)
    service.tick()
    assert audit.events[-1].details.get("command") == "home", "once the session is over the dome goes home again"


def test_a_persons_command_ends_the_session_first_and_the_tracker_is_refused(
    world: tuple[PtzService, SimulatedDome, Time, ListAuditSink],
) -> None:
    service, dome, time, audit = world
    session = service.begin_tracking("dome-1", "alice", 7, BOX)
    assert service.tracking_move("dome-1", session, RIGHT)
    service.command(person("bob"), "dome-1", PtzCommand(PtzCommandKind.STOP))
    assert [e.action for e in audit.events[-2:]] == [AuditAction.AUTOTRACKING_ENDED, AuditAction.PTZ_MOVED]
    assert audit.events[-2].details["reason"] == "person_command" and audit.events[-2].actor == "bob"
    assert not service.tracking_move("dome-1", session, RIGHT), "the dome is bob's"
    time.advance(0.5)
    assert not dome.status().moving
    with pytest.raises(PtzError, match="continuous moves and stops"):
        service.tracking_move("dome-1", session, PtzCommand(PtzCommandKind.HOME))


def test_without_a_runner_designating_is_refused_saying_where_it_runs(
    world: tuple[PtzService, SimulatedDome, Time, ListAuditSink],
) -> None:
    service, _, _, audit = world
    with pytest.raises(TrackingRefusedError, match="not available in this process: it runs in `vigie serve`"):
        service.track(person("alice"), "dome-1", BOX)
    assert audit.events == []
