"""Objects in recorded footage (issue 22): the real car-detection clip cut into MPEG-TS segments as the recorder
writes them, run through the real YOLOX-nano detector and ByteTrack (skipped when ../shared/data is absent)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest

from tests.analytics.onnx_models import DATA, MODELS, require
from tests.support.clip_segments import cut_segments
from vigie.analytics.detect.onnx import OnnxDetector, OnnxDetectorConfig
from vigie.analytics.forensics.motion_region import RecordedFile
from vigie.analytics.forensics.object_search import (
    CameraLayout,
    NamedLine,
    NamedZone,
    ObjectSearchError,
    ObjectSearchParams,
    ObjectSearchResult,
    compass,
    search_objects,
    thumbnail,
    vehicle_colour,
)
from vigie.domain.case_objects import COLOURED_CLASSES, Direction, ObjectClass, VehicleColour

Found = tuple[ObjectSearchResult, list[float]]
"""What the search found in the window, and the progress it reported."""
T0 = datetime(2026, 3, 14, 14, 0, tzinfo=UTC)  # the footage's own time; nothing compares it with today
CLIP = DATA / "video" / "car-detection.mp4"
VEHICLES = {ObjectClass.CAR, ObjectClass.BUS, ObjectClass.TRUCK}
# Between 14 s and 20 s of the clip a red car drives up the picture (from y ≈ 0.56 to 0.28 of the height at the
# bottom of its box); YOLOX-nano, seeing it from above, calls it a car or a bus.
LAYOUT = CameraLayout(
    heading=90.0,  # the camera looks east: up the picture is east
    zones=(
        NamedZone("far", ((0.0, 0.0), (1.0, 0.0), (1.0, 0.35), (0.0, 0.35))),
        NamedZone("corner", ((0.0, 0.9), (0.1, 0.9), (0.1, 1.0))),
    ),
    lines=(
        NamedLine("middle-up", (0.0, 0.45), (1.0, 0.45), "right_to_left"),  # drawn left to right: counts going up
        NamedLine("middle-down", (0.0, 0.45), (1.0, 0.45), "left_to_right"),
    ),
)


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> list[RecordedFile]:
    require(CLIP)
    return cut_segments(CLIP, tmp_path_factory.mktemp("segments"), T0, seconds=4.0, limit=21.0)


@pytest.fixture(scope="module")
def detector() -> OnnxDetector:
    model = require(MODELS / "yolox_nano.onnx")
    return OnnxDetector(OnnxDetectorConfig.model_validate({"model_path": model, "format": "yolox"}))


@pytest.fixture(scope="module")
def found(footage: list[RecordedFile], detector: OnnxDetector) -> Found:
    progress: list[float] = []
    result = search_objects(
        footage,
        T0 + timedelta(seconds=14),
        T0 + timedelta(seconds=20),
        detector,
        case_id=7,
        camera_id="vil-1",
        layout=LAYOUT,
        params=ObjectSearchParams(fps=5.0, batch=8),
        progress=progress.append,
    )
    return result, progress


def test_the_red_car_is_found_with_its_times_colour_heading_zone_and_line(found: Found) -> None:
    result, progress = found
    assert result.pictures == 30  # 6 s at 5 pictures a second, across two segment files
    vehicles = [o for o in result.objects if o.object_class in VEHICLES]
    assert vehicles, result.objects
    car = max(vehicles, key=lambda o: o.dwell_seconds)
    assert (
        T0 + timedelta(seconds=16) <= car.first_seen <= car.thumbnail_at <= car.last_seen <= T0 + timedelta(seconds=20)
    )
    assert car.colour is VehicleColour.RED
    assert car.direction is Direction.EAST  # up the picture, the camera looking east
    assert car.zones == ("far",)
    assert car.lines == ("middle-up",)
    assert car.case_id == 7 and car.camera_id == "vil-1"
    assert progress and progress == sorted(progress) and progress[-1] <= 1.0


def test_only_vehicles_carry_a_colour(found: Found) -> None:
    result, _ = found
    for o in result.objects:
        if o.object_class not in COLOURED_CLASSES:
            assert o.colour is None, o


def test_without_a_heading_there_is_no_direction(footage: list[RecordedFile], detector: OnnxDetector) -> None:
    result = search_objects(
        footage,
        T0 + timedelta(seconds=16),
        T0 + timedelta(seconds=19),
        detector,
        case_id=7,
        camera_id="vil-1",
        params=ObjectSearchParams(fps=4.0),
    )
    assert result.objects and all(o.direction is None and o.zones == () and o.lines == () for o in result.objects)


def test_the_thumbnail_is_the_box_cut_from_the_recording(found: Found, footage: list[RecordedFile]) -> None:
    car = max((o for o in found[0].objects if o.object_class in VEHICLES), key=lambda o: o.dwell_seconds)
    jpeg = thumbnail(footage, car.thumbnail_at, car.box)
    picture = np.asarray(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR), np.uint8)
    assert picture.ndim == 3 and max(picture.shape[:2]) <= 256
    assert vehicle_colour(picture) is VehicleColour.RED  # the picture shows the red car


def test_an_empty_window_finds_nothing(footage: list[RecordedFile], detector: OnnxDetector) -> None:
    later = T0 + timedelta(hours=1)
    result = search_objects(footage, later, later + timedelta(seconds=5), detector, case_id=7, camera_id="vil-1")
    assert result.objects == () and result.pictures == 0


def test_bad_parameters_are_refused_naming_them() -> None:
    with pytest.raises(ObjectSearchError, match="fps"):
        ObjectSearchParams(fps=100)
    with pytest.raises(ObjectSearchError, match="batch"):
        ObjectSearchParams(batch=0)


@pytest.mark.parametrize(
    ("bgr", "colour"),
    [
        ((255, 255, 255), VehicleColour.WHITE),
        ((20, 20, 20), VehicleColour.BLACK),
        ((110, 110, 110), VehicleColour.GREY),
        ((30, 30, 200), VehicleColour.RED),
        ((200, 60, 20), VehicleColour.BLUE),
        ((30, 200, 230), VehicleColour.YELLOW),
        ((40, 160, 40), VehicleColour.GREEN),
    ],
)
def test_a_body_colour_is_named_from_the_centre_of_the_box(bgr: tuple[int, int, int], colour: VehicleColour) -> None:
    crop = np.full((40, 60, 3), 90, np.uint8)  # road around the car
    crop[8:32, 12:48] = bgr
    assert vehicle_colour(crop) is colour


@pytest.mark.parametrize(
    ("dx", "dy", "heading", "expected"),
    [
        (0, -1, 0, Direction.NORTH),
        (0, -1, 90, Direction.EAST),
        (1, 0, 0, Direction.EAST),
        (0, 1, 0, Direction.SOUTH),
        (-1, -1, 0, Direction.NORTH_WEST),
        (0, -1, 350, Direction.NORTH),
        (1, 0, 180, Direction.WEST),
    ],
)
def test_a_displacement_becomes_a_compass_heading(dx: float, dy: float, heading: float, expected: Direction) -> None:
    assert compass(dx, dy, heading) is expected
