"""The person-only rule for loudspeakers (issue 21), held in code: the service plays for a principal whose session a
login opened and that is open now — never for a principal made by code, one without a session (a command on a
person's behalf), one whose session ended, or an algorithm's actor — and no analysis, alert, rule or worker code
reaches the service or its drivers (the import contract, checked here on the import graph). Each play is audited
before any speaker is asked, and its outcome after, failures included."""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import grimp
import pytest

from tests.api.world import PASSWORD, World, build_world
from vigie.devices.speakers.simulated import SimulatedSpeaker
from vigie.domain.actor import Actor
from vigie.domain.audit import AuditAction
from vigie.domain.speakers import RecordedMessage, SpeakerInfo, SpeakerUnreachableError
from vigie.services.access import AccessDeniedError, Principal
from vigie.services.auth import IDLE_TIMEOUT
from vigie.services.speakers import Speaker, SpeakerService
from vigie.storage import create_engine_for, migrate

ROOT = Path(__file__).resolve().parents[2]
SERVICE_AND_DRIVERS = ("vigie.services.speakers", "vigie.devices.speakers")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'speakers.db'}")
    migrate(engine)
    yield build_world(engine)
    engine.dispose()


def session_of(world: World, username: str) -> Principal:
    return world.auth.login(username, PASSWORD).principal


def service(world: World) -> SpeakerService:
    assert world.speakers is not None
    return world.speakers


def plays(world: World) -> list[str]:
    driver = service(world).drivers()["vil-spk-1"]
    assert isinstance(driver, SimulatedSpeaker)
    return [p.message_id for p in driver.plays()]


def ordered(world: World) -> list[str]:
    return [e.actor for e in world.audit.events if e.action is AuditAction.SPEAKER_PLAY_ORDERED]


def test_a_logged_in_person_plays(world: World) -> None:
    result = service(world).play(session_of(world, "op.vil"), "park-closing", ["vil-spk-1"])
    assert [o.played for o in result.outcomes] == [True] and plays(world) == ["park-closing"]
    assert ordered(world) == ["op.vil"]


def test_a_principal_without_a_login_plays_nothing(world: World) -> None:
    on_behalf = world.auth.principal_for("op.vil")  # what the server builds for a command: no session
    forged = dataclasses.replace(session_of(world, "op.vil"), session_key="0" * 64)  # a session key made up by code
    for principal in (on_behalf, forged):
        with pytest.raises(AccessDeniedError, match=r"person logged in|session has ended"):
            service(world).play(principal, "park-closing", ["vil-spk-1"])
    assert plays(world) == [] and ordered(world) == []


def test_an_alert_or_rule_actor_is_not_a_person(world: World) -> None:
    """What the alert and analysis code paths carry is an :class:`Actor` (or a name), never a session."""
    for algorithm in (Actor("system:alerts"), Actor.command_line("rules"), "system:analysis"):
        with pytest.raises(AccessDeniedError, match="person logged in"):
            service(world).play(algorithm, "park-closing", ["vil-spk-1"])  # type: ignore[arg-type]
    assert plays(world) == [] and ordered(world) == []


def test_a_session_that_ended_plays_nothing(world: World) -> None:
    principal = session_of(world, "op.vil")
    world.clock.advance(IDLE_TIMEOUT + timedelta(seconds=1))
    with pytest.raises(AccessDeniedError, match="session has ended"):
        service(world).play(principal, "park-closing", ["vil-spk-1"])
    logged_out = session_of(world, "op.vil")
    world.auth.logout(logged_out)
    with pytest.raises(AccessDeniedError, match="session has ended"):
        service(world).play(logged_out, "park-closing", ["vil-spk-1"])
    assert plays(world) == []


class Failing:
    def __init__(self, why: str) -> None:
        self.why = why

    def play(self, message: RecordedMessage) -> None:
        raise SpeakerUnreachableError(self.why)

    def close(self) -> None:
        pass


class Witness:
    """A speaker that notes, when asked to play, what the audit log already holds."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.seen_before: list[list[AuditAction]] = []

    def play(self, message: RecordedMessage) -> None:
        self.seen_before.append([e.action for e in self.world.audit.events])

    def close(self) -> None:
        pass


def test_the_order_is_audited_before_any_speaker_is_asked_and_failures_after(world: World) -> None:
    witness = Witness(world)
    message = RecordedMessage("park-closing", "villeurbanne", {"fr": "x"}, ("fr",), frozenset({"operator"}), "1")
    speakers = SpeakerService(
        [message],
        [
            Speaker(SpeakerInfo("vil-spk-1", "villeurbanne", "A", "Z", (), "http"), witness),
            Speaker(
                SpeakerInfo("vil-spk-2", "villeurbanne", "B", "Z", (), "http"),
                Failing("speaker vil-spk-2 did not answer: ConnectTimeout"),
            ),
        ],
        world.audit,
        world.auth,
    )
    principal = session_of(world, "op.vil")
    result = speakers.play(principal, "park-closing", ["vil-spk-1", "vil-spk-2"])
    assert [(o.speaker_id, o.played) for o in result.outcomes] == [("vil-spk-1", True), ("vil-spk-2", False)]
    assert AuditAction.SPEAKER_PLAY_ORDERED in witness.seen_before[0]
    assert AuditAction.SPEAKER_PLAY_RESULT not in witness.seen_before[0]
    last = world.audit.events[-1]
    assert last.action is AuditAction.SPEAKER_PLAY_RESULT
    assert last.details["played"] == ["vil-spk-1"]
    assert last.details["failed"] == {"vil-spk-2": "speaker vil-spk-2 did not answer: ConnectTimeout"}
    with pytest.raises(SpeakerUnreachableError, match="not played"):
        speakers.play(principal, "park-closing", ["vil-spk-2"])
    assert world.audit.events[-1].action is AuditAction.SPEAKER_PLAY_RESULT, "a play that failed is audited too"
    speakers.close()


def contract() -> dict[str, Any]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    found = [c for c in contracts if sorted(c.get("forbidden_modules", [])) == sorted(SERVICE_AND_DRIVERS)]
    assert len(found) == 1, "pyproject.toml keeps the speaker service and drivers out of the algorithms' reach"
    chosen: dict[str, Any] = found[0]
    return chosen


def test_no_analysis_alert_rule_or_worker_code_reaches_the_speakers() -> None:
    sources = contract()["source_modules"]
    for needed in ("vigie.analytics", "vigie.events", "vigie.services.alerts", "vigie.runtime.workers"):
        assert needed in sources, f"the contract must cover {needed}"
    graph = grimp.build_graph("vigie")
    reached = [
        (source, target)
        for source in sources
        for target in SERVICE_AND_DRIVERS
        if graph.chain_exists(importer=source, imported=target, as_packages=True)
    ]
    assert reached == []
    assert graph.chain_exists(importer="vigie.runtime.assembly.service", imported="vigie.services.speakers"), (
        "the check sees the composition root's import: the graph is the real one"
    )
