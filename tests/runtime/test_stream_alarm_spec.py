"""What the service gives each camera's stream alarms (L18): a dome's sharpness is judged on its reference view."""

from __future__ import annotations

import pytest

from vigie.config import load_config_text
from vigie.config.models import Camera
from vigie.domain.ports import Gate
from vigie.runtime.assembly.service import worker_spec


def camera(kind: str) -> Camera:
    text = f"""version: 1
communes:
  - id: testville
    name: Testville
    kind: municipal
    sites:
      - id: place
        name: Place de la mairie
        signage:
          pictogram: true
          controller: Ville de Testville
          contact: dpo@testville.example
          panel: PAN-TEST-001
          posted_on: 2000-01-01
        cameras:
          - id: cam-1
            name: Parvis
            kind: {kind}
            main_stream: rtsp://cam.example.invalid/main
            location: {{lat: 45.74, lon: 4.91}}
            authorisation:
              reference: 2026-TEST-001
              valid_from: 2026-01-01
              valid_until: 2099-12-31
              purposes: [public_buildings]
              retention_days: 7
"""
    return load_config_text(text, "cameras.yaml").communes[0].sites[0].cameras[0]


def no_gate(on_transition: object) -> Gate:
    raise AssertionError("not built here")


@pytest.mark.parametrize(("kind", "moves"), [("ptz", True), ("fixed", False), ("thermal", False)])
def test_only_a_dome_has_its_sharpness_judged_on_its_reference_view(kind: str, moves: bool) -> None:
    assert worker_spec(camera(kind), no_gate).alarms.view_moves is moves
