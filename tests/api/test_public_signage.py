"""The public page lists, per site, the controller and the contact its signage panels print (L7, L36), without any
login, from the configuration of the service as `vigie serve` builds it: a camera's own panel beside its site's,
a site no panel covers left out (its cameras are not commissioned), nothing else of the record (the panel's photo or
reference is evidence for the DPO, not public data)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.support.clocks import T0, FakeClock
from tests.support.configs import authorised_around, camera_yaml, config_yaml, unsigned_site_yaml
from vigie.config import load_config_text
from vigie.runtime.assembly.service import VigieService

OWN_PANEL = """            signage:
              pictogram: true
              controller: SYTRAL Mobilités
              contact: droits-video@sytral.example, 21 boulevard Vivier-Merle, Lyon
              panel: photos/tram-3.jpg
              posted_on: 2024-01-10
"""


def service(tmp_path: Path) -> VigieService:
    valid = authorised_around(T0.date())
    cameras = (
        camera_yaml("parvis", "rtsp://127.0.0.1:9/a", valid=valid)
        + camera_yaml("tram", "rtsp://127.0.0.1:9/b", valid=valid)
        + OWN_PANEL
        + camera_yaml("halle", "rtsp://127.0.0.1:9/c", valid=valid)
    )
    gare = unsigned_site_yaml("gare", "Gare", camera_yaml("quai", "rtsp://127.0.0.1:9/d", valid=valid))
    return VigieService(load_config_text(config_yaml(tmp_path, cameras) + gare), clock=FakeClock(T0))


def test_each_site_lists_the_controller_and_contact_of_its_panels_without_login(tmp_path: Path) -> None:
    answer = TestClient(service(tmp_path).app).get("/api/public/signage")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "public, max-age=60"
    assert answer.json() == [
        {
            "commune_id": "testville",
            "site_id": "centre",
            "site_name": "Centre",
            "panels": [
                {
                    "controller": "Ville de Testville",
                    "contact": "dpo@testville.example",
                    "camera_ids": ["parvis", "halle"],
                },
                {
                    "controller": "SYTRAL Mobilités",
                    "contact": "droits-video@sytral.example, 21 boulevard Vivier-Merle, Lyon",
                    "camera_ids": ["tram"],
                },
            ],
        }
    ]
    assert "PAN-TEST-001" not in answer.text and "photos/tram-3.jpg" not in answer.text


def test_the_public_page_shows_the_panels(tmp_path: Path) -> None:
    client = TestClient(service(tmp_path).app)
    assert 'id="public-signage"' in client.get("/public").text
    assert "/api/public/signage" in client.get("/static/public.js").text
