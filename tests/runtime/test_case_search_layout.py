"""The forensic search's view of a camera as ``vigie serve`` builds it (issue 22): the heading the configuration
gives (``location.heading_deg``) turns movement into compass directions; without one, none is stored; a heading
outside [0, 360) is refused at load, naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.configs import camera_yaml, config_yaml
from vigie.config import ConfigError, load_config_text
from vigie.config.camera import Camera
from vigie.runtime.assembly.case_search import camera_layout


def config_with(tmp_path: Path, location_extra: str) -> str:
    camera = camera_yaml("cam-h", "rtsp://127.0.0.1:9/cam-h", enabled=False)
    return config_yaml(tmp_path, camera.replace("lat: 45.76", f"lat: 45.76{location_extra}", 1))


def camera_of(text: str) -> Camera:
    return next(iter(load_config_text(text).placements())).camera


def test_the_configured_heading_reaches_the_search(tmp_path: Path) -> None:
    text = config_with(tmp_path, ", heading_deg: 90")
    assert "heading_deg: 90" in text, "the test's configuration must carry the heading"
    assert camera_layout(camera_of(text)).heading == 90.0


def test_without_a_heading_no_direction_is_given(tmp_path: Path) -> None:
    assert camera_layout(camera_of(config_with(tmp_path, ""))).heading is None


def test_a_heading_of_360_is_refused_naming_the_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config_text(config_with(tmp_path, ", heading_deg: 360"))
    assert "heading_deg" in str(refused.value.issues)
