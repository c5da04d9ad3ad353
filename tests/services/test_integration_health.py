"""Who sees which integration in the health view (issue 21): a webhook endpoint only by a person who sees one of the
communes it receives messages of (a shared endpoint by each of them), loudspeakers and sensors counted per the
person's communes, a section that is off absent rather than shown broken or working."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tests.support.activations import sample_config
from vigie.domain.users import Role, User
from vigie.runtime.assembly.auth import directory
from vigie.services.access import Principal
from vigie.services.integration_health import IntegrationSources, SensorsLive, integrations_for

DIRECTORY = directory(sample_config())


def person(commune: str, *shared: str) -> Principal:
    user = User(f"op.{commune}", "Op", commune, frozenset({Role.OPERATOR}), "x", id=1)
    return Principal(user, frozenset({commune, *shared}), DIRECTORY, None)


@dataclass(frozen=True)
class Endpoint:
    """An endpoint as the runtime reads it from the configuration and the database (here, given)."""

    name: str
    shown_url: str
    communes: tuple[str, ...]
    waiting_count: int = 0

    def waiting(self) -> int:
        return self.waiting_count

    def disabled_at(self) -> datetime | None:
        return None

    def failed(self) -> int | None:
        return None


class Subscriber:
    """The subscriber's live state as ``vigie serve`` holds it: messages received per sensor."""

    def __init__(self) -> None:
        self.received = {"radar-a": 4, "radar-b": 7}

    def live(self, sensor_ids: frozenset[str]) -> SensorsLive | None:
        received = sum(n for sensor, n in self.received.items() if sensor in sensor_ids)
        return SensorsLive(True, None, received, {"malformed": 1})


SOURCES = IntegrationSources(
    webhooks=(
        Endpoint("a-only", "https://a.example/hook", ("a",), 2),
        Endpoint("shared", "https://metro.example/hook", ("a", "b")),
        Endpoint("c-only", "https://c.example/hook", ("c",)),
    ),
    sensors=Subscriber(),
    sensor_communes={"radar-a": "a", "radar-b": "b"},
    speaker_communes=("a", "a", "b", "c"),
)


def test_each_person_sees_the_endpoints_sensors_and_speakers_of_their_communes() -> None:
    a = integrations_for(SOURCES, person("a"))
    assert [(w.name, w.waiting) for w in a.webhooks or ()] == [("a-only", 2), ("shared", 0)]
    assert a.speakers == {"a": 2}
    assert a.sensors is not None and a.sensors.configured == 1
    assert a.sensors.live is not None and a.sensors.live.received == 4

    b = integrations_for(SOURCES, person("b"))
    assert [w.name for w in b.webhooks or ()] == ["shared"], "a shared endpoint is each of its communes'"
    assert b.speakers == {"b": 1}

    sharing = integrations_for(SOURCES, person("c", "b"))  # a sharing agreement in force with b
    assert [w.name for w in sharing.webhooks or ()] == ["shared", "c-only"]
    assert sharing.speakers == {"b": 1, "c": 1}


def test_a_section_that_is_off_is_absent_not_working() -> None:
    view = integrations_for(IntegrationSources(), person("a"))
    assert view.mqtt is None and view.webhooks is None and view.sensors is None and view.speakers == {}
