"""Driving a dome: every command audited, one person holds it at a time (a supervisor may take it from an operator),
tours patrol presets until a person takes over, and an idle dome goes home — on the simulated dome."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from tests.recording.export_samples import ListAuditSink
from tests.support.clocks import T0
from tests.support.viewers import signed_in_viewer
from vigie.domain.audit import AuditAction
from vigie.domain.ptz import DomeOptics, PtzError, PtzVector
from vigie.domain.users import Role
from vigie.services.access import AccessDeniedError, NotVisibleError, Principal
from vigie.services.ptz import PtzCommand, PtzCommandKind, PtzLockedError, PtzService, PtzUnavailableError
from vigie.sim.dome import SimulatedDome
from vigie.sim.panorama import panorama

CAMERAS = ("dome-1", "fixed-1")


class Time:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Audit(ListAuditSink):
    def actions(self) -> list[tuple[str, str, str]]:
        return [(e.actor, e.action, e.details.get("command", e.details.get("change"))) for e in self.events]


@pytest.fixture
def world() -> tuple[PtzService, SimulatedDome, Time, Audit]:
    time, audit = Time(), Audit()
    dome = SimulatedDome(DomeOptics(), panorama(), lambda: time.now.timestamp(), walkers=False)  # noqa: PLW0108 (now moves)
    service = PtzService({"dome-1": dome}, audit, time, lock_s=30.0, home_after_s={"dome-1": 120.0})
    return service, dome, time, audit


def operator(name: str = "op1", roles: tuple[Role, ...] = (Role.OPERATOR,)) -> Principal:
    return signed_in_viewer(CAMERAS, username=name, roles=roles)


def test_a_move_moves_the_dome_and_is_audited(world: tuple[PtzService, SimulatedDome, Time, Audit]) -> None:
    service, dome, time, audit = world
    target = PtzVector(0.25, -0.2, 0.3)
    service.command(operator(), "dome-1", PtzCommand(PtzCommandKind.ABSOLUTE, target))
    time.advance(10)
    reached = dome.status().position
    assert abs(reached.pan - 0.25) < 1e-3 and abs(reached.tilt + 0.2) < 1e-3 and abs(reached.zoom - 0.3) < 1e-3
    (event,) = audit.events
    assert event.actor == "op1" and event.action is AuditAction.PTZ_MOVED and event.target == "camera:dome-1"
    assert event.details == {"command": "absolute", "pan": 0.25, "tilt": -0.2, "zoom": 0.3}


def test_one_person_holds_the_dome_and_a_supervisor_may_take_it(
    world: tuple[PtzService, SimulatedDome, Time, Audit],
) -> None:
    service, _, time, audit = world
    right = PtzCommand(PtzCommandKind.CONTINUOUS, PtzVector(0.5, 0.0, 0.0))
    service.command(operator("op1"), "dome-1", right)
    with pytest.raises(PtzLockedError, match=r"op1 \(operator\) drives this dome until"):
        service.command(operator("op2"), "dome-1", PtzCommand(PtzCommandKind.STOP))
    supervisor = operator("sup1", (Role.SUPERVISOR,))
    service.command(supervisor, "dome-1", PtzCommand(PtzCommandKind.STOP))
    assert audit.events[-1].details["taken_from"] == "op1"
    with pytest.raises(PtzLockedError, match="sup1"):
        service.command(operator("op1"), "dome-1", right)
    time.advance(31)  # the supervisor's hold lapses
    service.command(operator("op2"), "dome-1", PtzCommand(PtzCommandKind.STOP))
    service.release(operator("op2"), "dome-1")
    service.command(operator("op1"), "dome-1", PtzCommand(PtzCommandKind.STOP))
    assert [a[0] for a in audit.actions()] == ["op1", "sup1", "op2", "op1"]


def test_who_may_drive_which_dome(world: tuple[PtzService, SimulatedDome, Time, Audit]) -> None:
    service, _, _, audit = world
    stop = PtzCommand(PtzCommandKind.STOP)
    with pytest.raises(AccessDeniedError):
        service.command(operator("dpo", (Role.DPO,)), "dome-1", stop)
    with pytest.raises(AccessDeniedError):  # presets are a supervisor's
        service.set_preset(operator(), "dome-1", "Parvis")
    untrained = replace(operator(), video_refusal="your data-protection training is out of date (L9)")
    with pytest.raises(AccessDeniedError, match="training"):
        service.command(untrained, "dome-1", stop)
    with pytest.raises(NotVisibleError):
        service.command(operator(), "elsewhere", stop)
    with pytest.raises(PtzUnavailableError, match="fixed-1 is not a dome"):
        service.command(operator(), "fixed-1", stop)
    assert audit.events == []


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (PtzCommand(PtzCommandKind.ABSOLUTE, PtzVector(1.5, 0.0, 0.0)), "pan position 1.5"),
        (PtzCommand(PtzCommandKind.CONTINUOUS, PtzVector(0.0, 0.0, -2.0)), "zoom velocity"),
        (PtzCommand(PtzCommandKind.ABSOLUTE), "needs pan, tilt and zoom"),
        (PtzCommand(PtzCommandKind.PRESET), "needs the preset's token"),
        (PtzCommand(PtzCommandKind.HOME, speed=PtzVector(2.0, 1.0, 1.0)), "speed is between 0 and 1"),
    ],
)
def test_a_bad_command_is_refused_and_not_audited(
    world: tuple[PtzService, SimulatedDome, Time, Audit], command: PtzCommand, message: str
) -> None:
    service, _, _, audit = world
    with pytest.raises(PtzError, match=message):
        service.command(operator(), "dome-1", command)
    assert audit.events == []


def test_a_tour_patrols_presets_until_a_person_takes_over(
    world: tuple[PtzService, SimulatedDome, Time, Audit],
) -> None:
    service, dome, time, audit = world
    supervisor = operator("sup1", (Role.SUPERVISOR,))
    tokens = []
    for pan in (-0.5, 0.0, 0.5):
        service.command(supervisor, "dome-1", PtzCommand(PtzCommandKind.ABSOLUTE, PtzVector(pan, -0.1, 0.2)))
        time.advance(5)
        tokens.append(service.set_preset(supervisor, "dome-1", f"p{pan}"))
    with pytest.raises(PtzLockedError):  # the supervisor still holds the dome
        service.start_tour(operator(), "dome-1", tokens, dwell_s=10.0)
    service.release(supervisor, "dome-1")
    service.start_tour(operator(), "dome-1", tokens, dwell_s=10.0)
    visited = []
    for _ in range(60):  # one minute, ticked every second
        time.advance(1)
        service.tick()
        if not dome.status().moving:
            visited.append(round(dome.status().position.pan, 2))
    assert sorted(set(visited)) == [-0.5, 0.0, 0.5]
    assert next(a for a in audit.actions() if a[0] == "system:ptz")[2] == "tour"
    service.command(operator("op2"), "dome-1", PtzCommand(PtzCommandKind.STOP))
    assert audit.events[-1].details["tour_stopped"] is True
    assert service.view(operator("op2"), "dome-1").tour is None


def test_an_idle_dome_goes_home(world: tuple[PtzService, SimulatedDome, Time, Audit]) -> None:
    service, dome, time, audit = world
    home = dome.status().position
    service.command(operator(), "dome-1", PtzCommand(PtzCommandKind.ABSOLUTE, PtzVector(0.6, -0.3, 0.5)))
    time.advance(60)
    service.tick()
    assert audit.actions()[-1][0] == "op1", "still within the inactivity delay"
    time.advance(61)
    service.tick()
    assert audit.actions()[-1] == ("system:ptz", AuditAction.PTZ_MOVED, "home")
    time.advance(10)
    assert dome.status().position == home
    time.advance(500)
    service.tick()
    assert len(audit.events) == 2, "home once, not again and again"


def test_a_held_joystick_is_audited_once_with_its_renewals(
    world: tuple[PtzService, SimulatedDome, Time, Audit],
) -> None:
    """The console renews a held move about every second (so that a lost release stops the dome): the renewals are
    counted in the next entry, not written one by one; a changed move is a new entry."""
    service, _, time, audit = world
    right = PtzCommand(PtzCommandKind.CONTINUOUS, PtzVector(0.5, 0.0, 0.0), timeout_s=1.2)
    for _ in range(6):
        service.command(operator(), "dome-1", right)
        time.advance(0.7)
    service.command(operator(), "dome-1", PtzCommand(PtzCommandKind.CONTINUOUS, PtzVector(0.5, 0.3, 0.0)))
    service.command(operator(), "dome-1", PtzCommand(PtzCommandKind.STOP))
    assert [e.details["command"] for e in audit.events] == ["continuous", "continuous", "stop"]
    assert audit.events[1].details["renewals_before"] == 5 and "renewals_before" not in audit.events[2].details
    time.advance(10)  # the same move long after is a new move
    service.command(operator(), "dome-1", right)
    service.command(operator(), "dome-1", right)
    assert len(audit.events) == 4
