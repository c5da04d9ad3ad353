"""Behaviour of the models used directly (as the runtime and other packages will)."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError
from tests.support.configs import camera_data

from vigie.config import (
    AnalysisSettings,
    Authorisation,
    Camera,
    DirectedLineZone,
    LineDirection,
    StorageSettings,
    VigieConfig,
)
from vigie.config.zones import polygon_area
from vigie.domain.camera import Purpose


def test_defaults_of_a_camera() -> None:
    camera = Camera.model_validate(camera_data())
    assert camera.enabled is True
    assert camera.sub_stream is None
    assert camera.analysis_stream == camera.main_stream
    assert camera.zones == ()
    assert camera.analysis == AnalysisSettings()
    assert (camera.analysis.fps, camera.analysis.width) == (5.0, 640)
    motion = camera.analysis.motion
    assert (motion.min_area, motion.threshold, motion.history, motion.cooldown_s) == (0.002, 16.0, 500, 5.0)
    assert camera.authorisation.purposes == (Purpose.CRIME_PREVENTION,)


@pytest.mark.parametrize(
    "url",
    [
        "rtsp://cam.example.invalid/s",
        "rtsps://cam.example.invalid:322/s",
        "http://cam.example.invalid/mjpeg",
        "https://cam.example.invalid/live.m3u8",
        "file:///srv/replay/a.mp4",
        "rtsp://operator:long-unique-pass@cam.example.invalid/s",
    ],
)
def test_accepted_stream_urls(url: str) -> None:
    assert Camera.model_validate(camera_data(main_stream=url)).main_stream == url


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://cam.example.invalid/s", "unsupported"),
        ("cam.example.invalid/s", "unsupported"),
        ("rtsp:///s", "no host"),
        ("file://", "no file"),
        ("rtsp://cam.example.invalid/a b", "spaces"),
        ("rtsp://cam.example.invalid:99999/s", "not a valid URL"),
        ("rtsp://admin:admin@cam.example.invalid/s", "factory credentials"),
    ],
)
def test_refused_stream_urls(url: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Camera.model_validate(camera_data(main_stream=url))
    assert words in caught.value.errors()[0]["msg"]


def test_analysis_ranges() -> None:
    for analysis in ({"fps": 0.4}, {"fps": 31}, {"width": 100}, {"motion": {"min_area": 0}}):
        with pytest.raises(ValidationError):
            Camera.model_validate(camera_data(analysis=analysis))
    ok = Camera.model_validate(camera_data(analysis={"fps": 0.5, "motion": {"cooldown_s": 0}}))
    assert ok.analysis.fps == 0.5 and ok.analysis.motion.cooldown_s == 0


def test_authorisation_rules() -> None:
    base = camera_data()["authorisation"]
    auth = Authorisation.model_validate(base)
    assert auth.is_valid_on(date(2024, 1, 1)) and auth.is_valid_on(date(2029, 1, 1))
    assert not auth.is_valid_on(date(2029, 1, 2))
    for change in (
        {"purposes": []},
        {"purposes": ["crime_prevention", "crime_prevention"]},
        {"retention_days": 0},
        {"retention_days": 31},
        {"valid_until": "2024-01-01"},
        {"reference": ""},
    ):
        with pytest.raises(ValidationError):
            Authorisation.model_validate({**base, **change})


def test_zone_ids_are_unique_per_camera_only() -> None:
    zone = {"kind": "analysis", "id": "z", "points": [[0, 0], [1, 0], [0, 1]]}
    with pytest.raises(ValidationError, match="zone ids"):
        Camera.model_validate(camera_data(zones=[zone, zone]))
    one = Camera.model_validate(camera_data(zones=[zone]))
    other = Camera.model_validate(camera_data(id="cam-002", zones=[zone]))
    assert one.analysis_zones[0].id == other.analysis_zones[0].id == "z"


def test_model_level_uniqueness_when_built_without_the_loader() -> None:
    site = {"id": "s", "name": "S", "cameras": [camera_data(), camera_data()]}
    with pytest.raises(ValidationError, match="camera ids must be unique"):
        VigieConfig.model_validate(
            {"version": 1, "communes": [{"id": "c", "name": "C", "kind": "municipal", "sites": [site]}]}
        )
    commune = {"id": "c", "name": "C", "kind": "municipal", "sites": [{"id": "s", "name": "S"}] * 2}
    with pytest.raises(ValidationError, match="site ids"):
        VigieConfig.model_validate({"version": 1, "communes": [commune]})


def test_polygon_area() -> None:
    assert polygon_area(((0, 0), (1, 0), (1, 1), (0, 1))) == pytest.approx(1.0)
    assert polygon_area(((0, 0), (0.5, 0.5), (1, 1))) == pytest.approx(0.0)


def test_directed_line_sides_follow_the_documented_convention() -> None:
    line = DirectedLineZone.model_validate(
        {"kind": "directed_line", "id": "l", "points": [[0, 0.5], [1, 0.5]], "direction": "left_to_right"}
    )
    assert line.direction is LineDirection.LEFT_TO_RIGHT
    # Drawn left to right across the image: left is the upper part, right the lower part.
    assert line.side((0.5, 0.2)) == -1
    assert line.side((0.5, 0.8)) == 1
    assert line.side((0.3, 0.5)) == 0
    with pytest.raises(ValidationError, match="same"):
        DirectedLineZone.model_validate(
            {"kind": "directed_line", "id": "l", "points": [[0.5, 0.5], [0.5, 0.5]], "direction": "both"}
        )


@pytest.mark.parametrize(
    "url",
    ["sqlite:///var/vigie.db", "sqlite://", "postgresql+psycopg://vigie@db.example.invalid:5432/vigie"],
)
def test_database_urls(url: str) -> None:
    assert StorageSettings(database_url=url).database_url == url


@pytest.mark.parametrize("url", ["not a url", "mysql://db.example.invalid/v", "postgresql://h:notaport/x"])
def test_refused_database_urls(url: str) -> None:
    with pytest.raises(ValidationError):
        StorageSettings(database_url=url)
