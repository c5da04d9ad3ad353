"""The priority of alerts (issue 24): each alert says how soon a person should look at it, by its module — the
built-in priorities unless the configuration's ``alerts.priorities`` says otherwise — so that the console's alarm
queue shows the most urgent first. A priority given to a module the legal catalogue does not know is refused when
the service starts, naming the module."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.api.world import T0, World, build_world
from tests.support.clocks import FakeClock
from tests.support.configs import config_yaml
from vigie.config import load_config_text
from vigie.domain.alerts import Alert, AlertPriority
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation
from vigie.runtime.assembly.service import VigieService


@pytest.fixture
def world(db: Engine) -> World:
    return build_world(db)


def raise_alert(world: World, module: str, seconds: int = 0) -> int:
    at = T0 + timedelta(seconds=seconds)
    alert = world.alerts.raise_alert(Observation("vil-1", module, module, at, (Box(0.1, 0.1, 0.2, 0.2),), 0.9, "m@1"))
    assert alert.id is not None
    return alert.id


def test_each_alert_carries_its_modules_priority_in_the_list_the_alert_and_after_a_verdict(world: World) -> None:
    modules = ["loitering", "weapon", "intrusion"]
    loitering, weapon, intrusion = (raise_alert(world, module, i) for i, module in enumerate(modules))
    op = world.login("op.vil")
    listed = {a["id"]: (a["priority"], a["priority_rank"]) for a in op.get("/api/alerts?state=pending").json()["items"]}
    assert listed == {weapon: ("critical", 0), intrusion: ("high", 1), loitering: ("normal", 2)}
    assert op.get(f"/api/alerts/{weapon}").json()["priority"] == "critical"
    confirmed = op.post(f"/api/alerts/{intrusion}/confirm", json={})
    assert confirmed.status_code == 200 and confirmed.json()["priority"] == "high"


def camera(clock: FakeClock) -> str:
    day = clock().date()
    return f"""          - id: cam-1
            name: Camera 1
            kind: fixed
            setting: public_street
            main_stream: rtsp://127.0.0.1:9/cam-1
            location: {{lat: 45.76, lon: 4.83}}
            authorisation:
              reference: 2026-TEST-001
              valid_from: {day - timedelta(days=30)}
              valid_until: {day + timedelta(days=365)}
              purposes: [crime_prevention]
              retention_days: 15
"""


def an_alert(module: str) -> Alert:
    return Alert("cam-1", module, module, T0, Box(0.1, 0.1, 0.2, 0.2), 0.9, "m@1")


def test_the_configuration_sets_priorities_in_the_service_users_run(tmp_path: Path) -> None:
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    section = "alerts:\n  priorities: {loitering: critical, weapon: low}\n  default_priority: high\n"
    service = VigieService(load_config_text(section + config_yaml(tmp_path, camera(clock))), clock=clock)
    alerts = service.api_services.alerts
    assert alerts is not None
    assert alerts.priority_of(an_alert("loitering")) is AlertPriority.CRITICAL
    assert alerts.priority_of(an_alert("weapon")) is AlertPriority.LOW  # the configuration over the built-in
    assert alerts.priority_of(an_alert("fire_start")) is AlertPriority.CRITICAL  # built-in
    assert alerts.priority_of(an_alert("line_count")) is AlertPriority.HIGH  # the configured default


def test_a_priority_for_an_unknown_module_is_refused_naming_it(tmp_path: Path) -> None:
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    section = "alerts:\n  priorities: {weapons: critical}\n"
    with pytest.raises(ValueError, match=r"alerts.priorities names weapons: no such module .* use one of .*weapon"):
        VigieService(load_config_text(section + config_yaml(tmp_path, camera(clock))), clock=clock)


def test_a_priority_that_is_not_one_of_the_four_is_refused() -> None:
    with pytest.raises(ValueError, match="critical"):
        load_config_text("version: 1\nalerts:\n  priorities: {weapon: urgent}\n", "test")
