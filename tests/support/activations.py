"""Governance samples: a commune with cameras in every setting, and a valid activation request.

:data:`NOW` is the samples' instant; tests whose code under test reads the host's clock (the gate in real time,
the CLI commands) pass their own ``now`` / ``today`` instead, so that nothing here expires with the calendar."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from vigie.config import load_config_text
from vigie.config.models import VigieConfig
from vigie.domain.activation import ActivationRequest

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
"""After the end of the JO law's first experiment (2025-03-31), inside its prolongation (to 2027-12-31)."""


def _camera(cam_id: str, setting: str, today: date) -> str:
    return f"""\
          - id: {cam_id}
            name: {cam_id}
            kind: fixed
            setting: {setting}
            main_stream: rtsp://{cam_id}.example.invalid/stream1
            location: {{lat: 45.77, lon: 4.86}}
            authorisation:
              reference: 2024-DS-0142
              valid_from: {today - timedelta(days=2 * 365)}
              valid_until: {today + timedelta(days=3 * 365)}
              purposes: [crime_prevention]
              retention_days: 15
            zones:
              - kind: analysis
                id: quai
                points: [[0.1, 0.5], [0.9, 0.5], [0.5, 0.9]]
"""


def config_text(today: date = NOW.date()) -> str:
    """The configuration, its cameras authorised from two years before ``today`` to three years after."""
    return f"""\
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
        signage:
          pictogram: true
          controller: Ville de Testville
          contact: dpo@testville.example
          panel: PAN-TEST-001
          posted_on: 2000-01-01
        cameras:
{_camera("cam-street", "public_street", today)}{_camera("cam-transit", "transit", today)}\
{_camera("cam-depot", "private_site", today)}{_camera("cam-depot-2", "private_site", today)}
  - id: police
    name: Police nationale
    kind: state
    sites:
      - id: rocade
        name: Rocade
        signage:
          pictogram: true
          controller: Ville de Testville
          contact: dpo@testville.example
          panel: PAN-TEST-001
          posted_on: 2000-01-01
        cameras:
{_camera("cam-lapi", "public_street", today)}"""


def sample_config(extra: str = "", today: date = NOW.date()) -> VigieConfig:
    return load_config_text(config_text(today) + extra, "governance sample")


def make_request(now: datetime = NOW, **changes: Any) -> ActivationRequest:
    """A valid request at ``now``: motion on a private-site camera for a week from ``now``, under `site-prive`,
    decided nine days before."""
    base = ActivationRequest(
        tenant="belvedere",
        module="motion",
        camera_ids=("cam-depot",),
        framework="site-prive",
        decision_number="2026-PREF-0042",
        decision_date=(now - timedelta(days=9)).date(),
        dpia_reference="AIPD-2026-07",
        purpose="intrusions au dépôt municipal",
        starts_at=now,
        ends_at=now + timedelta(days=7),
        requested_by="cli:alice",
        requested_role="police-chief",
    )
    return replace(base, **changes)
