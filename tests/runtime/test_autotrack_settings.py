"""Auto-tracking's settings on a dome (`analysis.modules.ptz_autotracking`): checked by `vigie config check`, read
by the service's auto-tracking runner, kept out of the analysis workers' event rules (the module runs beside the
dome's PTZ service), refused on a camera Vigie does not drive."""

from __future__ import annotations

from pathlib import Path

from tests.support.configs import camera_yaml, config_yaml
from vigie.config import load_config_text
from vigie.config.models import VigieConfig
from vigie.domain.ports import Gate
from vigie.runtime.assembly.autotrack import tracked_domes
from vigie.runtime.assembly.module_settings import check_module_settings
from vigie.runtime.assembly.service import worker_spec

SETTINGS = "            analysis:\n              modules:\n                ptz_autotracking: {settings}\n"


def dome(camera_id: str, settings: str) -> str:
    url = f"rtsp://127.0.0.1:9/{camera_id}"
    text = camera_yaml(camera_id, url).replace("kind: fixed", "kind: ptz")
    text = text.replace(
        f"main_stream: {url}\n",
        f"main_stream: {url}\n            credentials: {camera_id}\n"
        "            onvif: {host: 127.0.0.1, port: 8081}\n",
    )
    return text + SETTINGS.format(settings=settings)


def no_gate(on_transition: object) -> Gate:
    raise AssertionError("the spec is built, no worker runs")


def problems(config: VigieConfig) -> list[str]:
    return [f"{'.'.join(map(str, loc))}: {message} ({hint})" for loc, message, hint in check_module_settings(config)]


def test_a_domes_autotracking_settings_reach_its_runner_not_its_analysis(tmp_path: Path) -> None:
    config = load_config_text(config_yaml(tmp_path, dome("dome-1", "{max_duration_s: 30, lost_after_frames: 5}")))
    assert problems(config) == []
    [placement] = config.placements()
    tracked = tracked_domes([placement])["dome-1"]
    assert (tracked.config.max_duration_s, tracked.config.lost_after_frames) == (30.0, 5)
    spec = worker_spec(placement.camera, no_gate)
    assert spec.rules == (), "the analysis workers' event rules never see it"


def test_bad_settings_and_cameras_that_are_not_domes_are_reported(tmp_path: Path) -> None:
    bad = load_config_text(config_yaml(tmp_path, dome("dome-1", "{max_duration_s: 0}")))
    [problem] = problems(bad)
    assert "ptz_autotracking.max_duration_s" in problem and "greater than 0" in problem
    fixed = camera_yaml("cam-1", "rtsp://127.0.0.1:9/cam-1") + SETTINGS.format(settings="{}")
    [problem] = problems(load_config_text(config_yaml(tmp_path, fixed)))
    assert "moves a dome" in problem and "kind: ptz" in problem
