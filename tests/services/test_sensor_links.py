"""A sensor's link rules carried out (issue 21): a dome sent to a preset as the system (below any person), a bookmark
recorded, each triggering audited with its rule, sensor, action, cameras and outcome — on the simulated dome and a
real SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.recording.export_samples import ListAuditSink
from tests.support.clocks import T0, FakeClock
from tests.support.viewers import signed_in_viewer
from vigie.config.sensors import SensorLink
from vigie.devices.sensors.payloads import RadarReading
from vigie.domain.audit import AuditAction
from vigie.domain.ptz import DomeOptics, PtzVector
from vigie.domain.users import Role
from vigie.services.ptz import PtzCommand, PtzCommandKind, PtzService
from vigie.services.sensors import SensorLinkService
from vigie.sim.dome import SimulatedDome
from vigie.sim.panorama import panorama
from vigie.storage.database import create_engine_for, migrate
from vigie.storage.sensors import SqlSensorLinkEvents

PRESET_AT = PtzVector(0.4, -0.1, 0.2)


def rule(rule_id: str, when: dict[str, Any], then: dict[str, Any]) -> SensorLink:
    return SensorLink.model_validate({"id": rule_id, "sensor": "radar-1", "when": when, "then": then})


def radar(speed: float, at: datetime = T0) -> RadarReading:
    return RadarReading(
        type="sensor.reading",
        version=1,
        sensor="radar-1",
        kind="radar",
        observed_at=at,
        speed_kmh=speed,
        direction="approaching",
    )


class World:
    def __init__(self, folder: Path) -> None:
        self.clock, self.audit = FakeClock(), ListAuditSink()
        self.dome = SimulatedDome(DomeOptics(), panorama(), lambda: self.clock.now.timestamp(), walkers=False)  # noqa: PLW0108 (now moves)
        self.dome.absolute_move(PRESET_AT)
        self.clock.advance(seconds=30)
        self.dome.set_preset("carrefour")
        self.dome.goto_home()
        self.clock.advance(seconds=30)
        self.ptz = PtzService({"dome-1": self.dome}, self.audit, self.clock)
        engine = create_engine_for(f"sqlite:///{folder / 'vigie.db'}")
        migrate(engine)
        self.events = SqlSensorLinkEvents(engine)
        self.links = SensorLinkService(
            [
                rule(
                    "fast-dome",
                    {"kind": "speed_above", "kmh": 70},
                    {"kind": "goto_preset", "camera": "dome-1", "preset": "carrefour"},
                ),
                rule(
                    "fast-mark",
                    {"kind": "speed_above", "kmh": 90},
                    {"kind": "bookmark", "cameras": ["cam-1"], "label": "très rapide"},
                ),
            ],
            self.audit,
            self.events,
            self.clock,
            ptz=self.ptz,
        )

    def at_preset(self) -> bool:
        position = self.dome.status().position
        return abs(position.pan - PRESET_AT.pan) < 1e-3 and abs(position.tilt - PRESET_AT.tilt) < 1e-3

    def triggered(self) -> list[dict[str, Any]]:
        return [dict(e.details) for e in self.audit.events if e.action is AuditAction.SENSOR_LINK_TRIGGERED]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield World(tmp_path)


def test_a_fast_vehicle_sends_the_dome_to_its_preset_audited(world: World) -> None:
    assert not world.at_preset()
    (event,) = world.links.handle(radar(82.0), world.clock())
    world.clock.advance(seconds=30)
    assert world.at_preset(), "the dome went to the preset named in the rule"
    assert event.outcome == "done" and event.cameras == ("dome-1",) and event.action == "goto_preset"
    moved = [e for e in world.audit.events if e.action is AuditAction.PTZ_MOVED]
    assert [(e.actor, e.details["command"], e.details["rule"]) for e in moved] == [
        ("sensor-link:fast-dome", "preset", "fast-dome")
    ], "the move is audited as any PTZ move (L11), by the rule"
    (details,) = world.triggered()
    assert details == {
        "preset": "carrefour",
        "rule": "fast-dome",
        "sensor": "radar-1",
        "condition": "speed_above",
        "measured": 82.0,
        "observed_at": T0.isoformat(),
        "action": "goto_preset",
        "cameras": ["dome-1"],
        "outcome": "done",
        "label": "preset carrefour",
    }


def test_a_bookmark_is_recorded_on_its_cameras_and_a_slow_vehicle_triggers_nothing(world: World) -> None:
    assert world.links.handle(radar(50.0), world.clock()) == []
    assert world.audit.events == [] and world.events.list() == [], "nothing triggered, nothing audited"
    fired = world.links.handle(radar(95.0), world.clock())
    assert sorted(e.rule for e in fired) == ["fast-dome", "fast-mark"]
    (bookmark,) = world.events.list(camera_id="cam-1")
    assert (bookmark.action, bookmark.label, bookmark.observed_at) == ("bookmark", "très rapide", T0)
    assert world.events.list(camera_id="cam-10") == [], "a camera id matches exactly"
    assert world.links.triggered == {"fast-dome": 1, "fast-mark": 1}


def test_a_person_driving_the_dome_keeps_it(world: World) -> None:
    operator = signed_in_viewer(("dome-1",), username="op1", roles=(Role.OPERATOR,))
    world.ptz.command(operator, "dome-1", PtzCommand(PtzCommandKind.HOME))
    world.clock.advance(seconds=5)
    (event,) = world.links.handle(radar(82.0), world.clock())
    world.clock.advance(seconds=30)
    assert not world.at_preset(), "a rule never takes a dome from a person"
    assert event.outcome == "not done: op1 drives the dome"
    assert world.triggered()[0]["outcome"] == "not done: op1 drives the dome", "audited all the same"


def test_a_preset_the_dome_lacks_is_said(world: World) -> None:
    links = SensorLinkService(
        [rule("r", {"kind": "speed_above", "kmh": 70}, {"kind": "goto_preset", "camera": "dome-1", "preset": "gare"})],
        world.audit,
        world.events,
        world.clock,
        ptz=world.ptz,
    )
    (event,) = links.handle(radar(82.0), world.clock())
    assert event.outcome == "not done: the dome has no preset named gare"
