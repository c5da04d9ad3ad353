"""Shared samples for the governance tests (a plain module: the test folders have no conftest of their own)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from vigie.config import load_config_text
from vigie.config.models import VigieConfig
from vigie.domain.activation import ActivationRequest
from vigie.domain.audit import GENESIS_HASH, AuditEvent, AuditRecord, seal

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _camera(cam_id: str, setting: str) -> str:
    return f"""\
          - id: {cam_id}
            name: {cam_id}
            kind: fixed
            setting: {setting}
            main_stream: rtsp://{cam_id}.example.invalid/stream1
            location: {{lat: 45.77, lon: 4.86}}
            authorisation:
              reference: 2024-DS-0142
              valid_from: 2024-03-01
              valid_until: 2029-02-28
              purposes: [crime_prevention]
              retention_days: 15
            zones:
              - kind: analysis
                id: quai
                points: [[0.1, 0.5], [0.9, 0.5], [0.5, 0.9]]
"""


CONFIG_TEXT = f"""\
version: 1
governance:
  controller: Ville de Belvédère, représentée par son maire
  controller_contact: mairie@belvedere.example
  dpo_contact: dpo@belvedere.example
communes:
  - id: belvedere
    name: Ville de Belvédère
    kind: municipal
    sites:
      - id: centre
        name: Centre
        cameras:
{_camera("cam-street", "public_street")}{_camera("cam-transit", "transit")}{_camera("cam-depot", "private_site")}\
{_camera("cam-depot-2", "private_site")}
  - id: police
    name: Police nationale
    kind: state
    sites:
      - id: rocade
        name: Rocade
        cameras:
{_camera("cam-lapi", "public_street")}"""


def sample_config(extra: str = "") -> VigieConfig:
    return load_config_text(CONFIG_TEXT + extra, "governance sample")


def make_request(**changes: Any) -> ActivationRequest:
    """A valid request: motion on a private-site camera for a week, under `site-prive`."""
    base = ActivationRequest(
        tenant="belvedere",
        module="motion",
        camera_ids=("cam-depot",),
        framework="site-prive",
        decision_number="2026-PREF-0042",
        decision_date=date(2026, 2, 20),
        dpia_reference="AIPD-2026-07",
        purpose="intrusions au dépôt municipal",
        starts_at=NOW,
        ends_at=NOW + timedelta(days=7),
        requested_by="cli:alice",
        requested_role="police-chief",
    )
    return replace(base, **changes)


@dataclass
class RecordingSink:
    """An AuditSink that keeps what it is given (the real chain is wired by the runtime)."""

    records: list[AuditRecord] = field(default_factory=list)

    def append(self, event: AuditEvent) -> AuditRecord:
        prev = self.records[-1].hash if self.records else GENESIS_HASH
        record = seal(len(self.records) + 1, event, event.at or datetime.now(UTC), prev)
        self.records.append(record)
        return record

    def actions(self) -> list[str]:
        return [r.action for r in self.records]


class FakeClock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta
