"""The shipped examples: the sample validates, the broken one shows every kind of mistake."""

from __future__ import annotations

from pathlib import Path

from vigie.config import (
    Camera,
    CommuneKind,
    DirectedLineZone,
    LineDirection,
    PrivacyMaskZone,
    check_config,
    load_config,
)
from vigie.domain.camera import CameraKind

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_metropole_example_validates() -> None:
    config = load_config(EXAMPLES / "metropole.yaml")
    assert config.version == 1
    assert {c.kind for c in config.communes} == {CommuneKind.MUNICIPAL, CommuneKind.STATE}
    cameras = [placement.camera for placement in config.placements()]
    assert len(cameras) == config.camera_count >= 6
    assert {camera.kind for camera in cameras} == set(CameraKind)
    assert len({camera.id for camera in cameras}) == len(cameras)
    assert any(not camera.enabled for camera in cameras)
    assert any(camera.main_stream.startswith("file:") for camera in cameras)
    assert all("@" not in camera.main_stream for camera in cameras)
    assert all(camera.authorisation.retention_days <= 30 for camera in cameras)
    kinds = {type(zone) for camera in cameras for zone in camera.zones}
    assert PrivacyMaskZone in kinds and DirectedLineZone in kinds


def test_metropole_placements_and_lookup() -> None:
    config = load_config(EXAMPLES / "metropole.yaml")
    placement = config.find_camera("cam-501")
    assert placement is not None
    assert placement.commune.kind is CommuneKind.STATE
    assert placement.site.id == "rocade-est"
    assert config.find_camera("nope") is None
    # The YAML anchor shares one authorisation between two cameras.
    first, second = config.find_camera("cam-001"), config.find_camera("cam-002")
    assert first is not None and second is not None
    assert first.camera.authorisation == second.camera.authorisation
    line = config.find_camera("cam-003")
    assert line is not None
    assert isinstance(line.camera, Camera)
    assert line.camera.directed_lines[0].direction is LineDirection.LEFT_TO_RIGHT
    assert line.camera.analysis.fps == 8
    assert line.camera.analysis.motion.cooldown_s == 10
    assert line.camera.analysis_stream.endswith("/live/sub")


def test_invalid_example_reports_every_deliberate_mistake() -> None:
    issues = check_config(EXAMPLES / "invalid.yaml")
    cam0 = "communes.0.sites.0.cameras.0"
    assert [issue.field for issue in issues] == [
        "api.prot",
        f"{cam0}.main_stream",
        f"{cam0}.authorisation.valid_until",
        f"{cam0}.authorisation.purposes.1",
        f"{cam0}.authorisation.retention_days",
        f"{cam0}.zones.0.points.1.0",
        f"{cam0}.zones.1.points",
        "communes.0.sites.0.cameras.1.id",
        "communes.0.sites.0.cameras.1.main_stream",
    ]
    assert all(issue.file.endswith("invalid.yaml") and issue.line for issue in issues)
    assert all("admin:admin" not in issue.format() for issue in issues)


def test_check_config_of_the_valid_example_is_empty() -> None:
    assert check_config(EXAMPLES / "metropole.yaml") == []
