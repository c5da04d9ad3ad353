"""plate_reading's settings are checked with the configuration, and an activation of it is refused on a camera
where it could not run (no settings, or no vehicles to read: neither a detection model nor ``lpr_camera``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tests.support.activations import make_request
from tests.support.configs import camera_yaml, config_yaml
from vigie.config import load_config_text
from vigie.config.models import VigieConfig
from vigie.runtime.assembly.module_settings import check_module_settings, module_readiness


def _config(tmp_path: Path, modules: str) -> VigieConfig:
    camera = camera_yaml("lapi-1", "rtsp://lapi.example/1")
    if modules:
        camera += "            analysis:\n              modules:\n" + modules
    state = config_yaml(tmp_path, camera).replace("kind: municipal", "kind: state")
    return load_config_text(state)


def _problems(config: VigieConfig) -> list[str]:
    return [
        f"{'.'.join(str(p) for p in loc)}: {message} ({hint})" for loc, message, hint in check_module_settings(config)
    ]


def test_plate_reading_settings_are_checked(tmp_path: Path) -> None:
    config = _config(tmp_path, "                plate_reading: {lpr_camera: true, min_frames: 0, colour: blue}\n")
    problems = _problems(config)
    assert any("plate_reading.min_frames" in p and "greater than or equal to 1" in p for p in problems)
    assert any("plate_reading.colour" in p and "Extra inputs are not permitted" in p for p in problems)
    assert _problems(_config(tmp_path, "                plate_reading: {lpr_camera: true}\n")) == []


def test_plate_reading_without_vehicles_to_read_is_reported(tmp_path: Path) -> None:
    (problem,) = _problems(_config(tmp_path, "                plate_reading: {}\n"))
    assert "a detection model" in problem and "analysis.detector" in problem and "lpr_camera: true" in problem


def test_an_activation_needs_plate_reading_configured_on_its_cameras(tmp_path: Path) -> None:
    request = replace(
        make_request(), tenant="testville", module="plate_reading", camera_ids=("lapi-1",), framework="lapi-csi-l233-1"
    )
    (refusal,) = module_readiness(_config(tmp_path, ""))(request)
    assert refusal.code == "module_not_configured" and "analysis.modules.plate_reading" in refusal.message
    ready = _config(tmp_path, "                plate_reading: {lpr_camera: true}\n")
    assert module_readiness(ready)(request) == []
