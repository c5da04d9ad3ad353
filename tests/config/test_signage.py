"""Signage records (L7): a camera is commissioned only once a panel (pictogram, controller, contact) covers it, its
own or its site's; ``vigie config check`` names every camera that no panel covers, and the public page's data lists
each site's controller and contact."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from config_samples import BASE, line_of, replace_once
from tests.support.clocks import FakeClock
from tests.support.configs import camera_data

from vigie.config import ConfigError, check_command, load_config_text
from vigie.config.camera import Camera
from vigie.config.models import Site
from vigie.config.signage import Signage, effective_signage
from vigie.governance.authorisation import CameraAuthorisations
from vigie.governance.signage import camera_signage, site_panels

PANEL = {
    "pictogram": True,
    "controller": "Ville de Belvédère",
    "contact": "dpo@belvedere.example",
    "panel": "PAN-2024-001",
    "posted_on": "2024-03-01",
}
SITE_SIGNAGE = """        signage:
          pictogram: true
          controller: Ville de Belvédère
          contact: dpo@belvedere.example
          panel: PAN-2024-001
          posted_on: 2024-03-01
"""
OWN_SIGNAGE = """            signage:
              pictogram: true
              controller: Métropole de Belvédère
              contact: 3 rue du Port, 69999 Belvédère
              panel: photos/cam-002.jpg
              posted_on: 2025-06-01
"""


def unsigned_base() -> str:
    """The sample configuration with no signage anywhere."""
    return replace_once(BASE, SITE_SIGNAGE, "")


def test_a_record_needs_the_pictogram_and_every_field() -> None:
    assert Signage.model_validate(PANEL).controller == "Ville de Belvédère"
    with pytest.raises(ValueError, match="does not show the camera pictogram"):
        Signage.model_validate({**PANEL, "pictogram": False})
    for field in ("controller", "contact", "panel", "posted_on"):
        data = {k: v for k, v in PANEL.items() if k != field}
        with pytest.raises(ValueError, match=field):
            Signage.model_validate(data)
    with pytest.raises(ValueError, match="contact"):
        Signage.model_validate({**PANEL, "contact": ""})
    with pytest.raises(ValueError, match="extra"):
        Signage.model_validate({**PANEL, "installer": "Jean Dupont"})


def test_a_camera_record_replaces_its_sites() -> None:
    site = Site.model_validate({"id": "gare", "name": "Gare", "signage": PANEL})
    own = Camera.model_validate(camera_data(signage={**PANEL, "controller": "SYTRAL"}))
    bare = Camera.model_validate(camera_data())
    assert effective_signage(site, own.signage) == own.signage
    assert effective_signage(site, bare.signage) == site.signage
    assert effective_signage(Site.model_validate({"id": "gare", "name": "Gare"}), bare.signage) is None


def test_the_file_reports_a_bad_record_at_its_line() -> None:
    text = replace_once(BASE, "          pictogram: true\n", "          pictogram: false\n")
    with pytest.raises(ConfigError) as err:
        load_config_text(text, "vigie.yaml")
    [issue] = err.value.issues
    assert issue.field == "communes.0.sites.0.signage.pictogram"
    assert issue.line == line_of(text, "pictogram: false")
    assert "does not show the camera pictogram" in issue.message and "set `pictogram: true`" in issue.hint


def refusals_on(text: str, day: datetime) -> dict[str, str | None]:
    config = load_config_text(text)
    placements = list(config.placements())
    authorisations = CameraAuthorisations.of(
        [p.camera for p in placements], FakeClock(day), signage=camera_signage(placements)
    )
    return {p.camera.id: authorisations.refusal(p.camera.id) for p in placements}


NOON = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)  # within the sample's authorisation (2024-03-01 .. 2029-02-28)


def test_a_camera_no_panel_covers_is_not_commissioned_and_the_reason_says_what_to_add() -> None:
    assert refusals_on(BASE, NOON) == {"cam-001": None, "cam-002": None}
    refusals = refusals_on(unsigned_base(), NOON)
    assert refusals["cam-001"] == (
        "camera cam-001: not commissioned: no signage record (L7) — add `signage:` to camera cam-001 or its site mairie"
    )
    assert refusals["cam-002"] is not None and "its site mairie" in refusals["cam-002"]


def test_an_expired_authorisation_is_said_before_the_missing_panel() -> None:
    late = datetime(2029, 3, 2, 10, 0, tzinfo=UTC)
    refusal = refusals_on(unsigned_base(), late)["cam-001"]
    assert refusal is not None and "expired on 2029-02-28" in refusal


def test_a_panel_dated_after_today_keeps_its_cameras_off_until_that_day() -> None:
    text = replace_once(BASE, "posted_on: 2024-03-01", "posted_on: 2026-06-03")
    clock = FakeClock(datetime(2026, 6, 2, 21, 30, tzinfo=UTC))  # 23:30 in Paris on the 2nd
    placements = list(load_config_text(text).placements())
    authorisations = CameraAuthorisations.of([p.camera for p in placements], clock, signage=camera_signage(placements))
    refusal = authorisations.refusal("cam-001")
    assert refusal is not None
    assert "PAN-2024-001 is dated 2026-06-03, after today (L7)" in refusal
    clock.now = datetime(2026, 6, 2, 22, 30, tzinfo=UTC)  # 00:30 in Paris on the 3rd: the panel is up
    assert authorisations.refusal("cam-001") is None


def own_panel_text() -> str:
    """No site panel; cam-002 carries its own."""
    anchor = "              purposes: [crime_prevention]\n              retention_days: 15\n"
    return replace_once(unsigned_base(), anchor, anchor + OWN_SIGNAGE)


def test_a_camera_own_panel_commissions_it_alone() -> None:
    refusals = refusals_on(own_panel_text(), NOON)
    assert refusals["cam-002"] is None
    assert refusals["cam-001"] is not None and "add `signage:` to camera cam-001" in refusals["cam-001"]


def test_config_check_names_each_camera_no_panel_covers(tmp_path: Path) -> None:
    path = tmp_path / "vigie.yaml"
    path.write_text(own_panel_text(), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert check_command(path, stdout=out, stderr=err) == 0  # valid: the camera merely stays off
    assert out.getvalue() == "OK: 1 communes, 2 cameras\n"
    [warning] = err.getvalue().splitlines()
    line = line_of(own_panel_text(), "- id: cam-001")
    assert warning.startswith(f"warning: {path}:{line}:")
    assert "communes.0.sites.0.cameras.0: camera cam-001: not commissioned: no signage record (L7)" in warning
    assert "its site mairie" in warning and "(hint: signage: {pictogram: true" in warning
    path.write_text(BASE, encoding="utf-8")
    err = io.StringIO()
    assert check_command(path, stdout=io.StringIO(), stderr=err) == 0
    assert err.getvalue() == ""


def test_a_switched_off_camera_draws_no_warning(tmp_path: Path) -> None:
    path = tmp_path / "vigie.yaml"
    text = replace_once(
        own_panel_text(), "            name: Parvis\n", "            name: Parvis\n            enabled: false\n"
    )
    path.write_text(text, encoding="utf-8")
    err = io.StringIO()
    assert check_command(path, stdout=io.StringIO(), stderr=err) == 0
    assert err.getvalue() == ""


def test_each_site_lists_its_controllers_and_contacts() -> None:
    site_panel = replace_once(own_panel_text(), "        cameras:\n", SITE_SIGNAGE + "        cameras:\n")
    config = load_config_text(site_panel)
    [site] = site_panels(config.communes)
    assert (site.commune_id, site.site_id, site.site_name) == ("belvedere", "mairie", "Place de la Mairie")
    assert [(p.controller, p.contact, p.camera_ids) for p in site.panels] == [
        ("Ville de Belvédère", "dpo@belvedere.example", ("cam-001",)),
        ("Métropole de Belvédère", "3 rue du Port, 69999 Belvédère", ("cam-002",)),
    ]
    assert site_panels(load_config_text(unsigned_base()).communes) == []  # nothing commissioned: nothing to list
