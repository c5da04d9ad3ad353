"""The plate reader on rendered plates: SIV plates drawn by the simulator (DejaVu Sans Bold from Debian), an FNI plate
drawn here, in a street-like picture, straight and at an angle; the real PP-OCRv4 models from the wheel."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from vigie.lpr.reader import PlateReader, PlateReaderError, iou
from vigie.sim.plates import font_path, plate_picture
from vigie.sim.scene import SceneError


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    return PlateReader(threads=1)


def _font() -> str:
    try:
        return str(font_path())
    except SceneError as err:
        pytest.skip(str(err))


def street(seed: int = 0) -> np.ndarray:
    """A 960×640 grey picture with a car-like dark block and some noise, no text."""
    rng = np.random.default_rng(seed)
    image = np.full((640, 960, 3), 120, dtype=np.uint8)
    cv2.rectangle(image, (250, 180), (750, 560), (60, 40, 30), -1)
    noise = rng.integers(-12, 12, image.shape)
    return np.clip(image.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def paste(image: np.ndarray, plate: np.ndarray, x: int, y: int) -> tuple[int, int, int, int]:
    h, w = plate.shape[:2]
    image[y : y + h, x : x + w] = plate
    return x, y, w, h


@pytest.mark.parametrize("text", ["GE-042-ZR", "AB-123-CD", "FS-066-SR", "BQ-360-YQ"])
def test_a_siv_plate_is_found_and_read_in_the_full_image(reader: PlateReader, text: str) -> None:
    _font()
    image = street()
    box = paste(image, plate_picture(text, 220), 380, 430)
    found = reader.read(image)
    assert found, "no plate found"
    best = found[0]
    assert (best.display, best.plate_format) == (text, "FR-SIV")
    assert iou(best.box, box) >= 0.5
    assert 0.5 < best.confidence <= 1.0
    assert best.crop.shape[0] == 48 and best.crop.shape[1] < 400  # the plate only, not the vehicle


def test_the_region_limits_the_search_and_boxes_stay_in_image_coordinates(reader: PlateReader) -> None:
    _font()
    image = street()
    inside = paste(image, plate_picture("EL-902-WL", 200), 400, 450)
    paste(image, plate_picture("CN-976-MT", 200), 20, 40)  # another plate, outside the vehicle
    found = reader.read(image, region=(250, 180, 500, 380))
    assert [c.text for c in found] == ["EL902WL"]
    assert iou(found[0].box, inside) >= 0.5
    assert {c.text for c in reader.read(image)} >= {"EL902WL", "CN976MT"}


def test_a_plate_seen_at_an_angle_is_rectified(reader: PlateReader) -> None:
    _font()
    image = street(1)
    plate = plate_picture("DW-664-GT", 240)
    h, w = plate.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[400, 420], [620, 450], [615, 500], [398, 470]])  # turned and foreshortened
    warp = cv2.getPerspectiveTransform(src, dst)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), warp, (960, 640))
    image[mask > 0] = cv2.warpPerspective(plate, warp, (960, 640))[mask > 0]
    found = reader.read(image)
    assert found and found[0].text == "DW664GT"


def test_an_fni_plate_is_read_with_its_department(reader: PlateReader) -> None:
    font = ImageFont.truetype(_font(), 80)
    canvas = Image.new("RGB", (520, 110), (250, 250, 250))
    ImageDraw.Draw(canvas).text((260, 55), "6935 XY 64", font=font, fill=(20, 20, 20), anchor="mm")
    plate = cv2.resize(np.asarray(canvas)[:, :, ::-1], (230, 49), interpolation=cv2.INTER_AREA)
    image = street(2)
    paste(image, plate, 360, 420)
    found = reader.read(image)
    assert found
    assert (found[0].text, found[0].display, found[0].plate_format) == ("6935XY64", "6935 XY 64", "FR-FNI")


def test_recognition_alone_reads_an_annotated_box(reader: PlateReader) -> None:
    _font()
    candidate = reader.recognise(plate_picture("FR-697-HF", 180))
    assert candidate is not None
    assert candidate.text == "FR697HF"


def test_a_picture_without_plate_gives_nothing(reader: PlateReader) -> None:
    assert reader.read(street(3)) == []
    assert reader.read(street(3), region=(0, 0, 4, 4)) == []


def test_bad_input_is_refused_with_what_to_fix(reader: PlateReader) -> None:
    with pytest.raises(PlateReaderError, match="H×W×3"):
        reader.read(np.zeros((10, 10, 2), dtype=np.uint8))
    with pytest.raises(ValueError, match="threads"):
        PlateReader(threads=0)
    with pytest.raises(ValueError, match="unknown plate formats"):
        PlateReader(formats_allowed=["FR-SIV", "US"])


def test_missing_models_are_reported_with_the_folder(tmp_path: object) -> None:
    with pytest.raises(PlateReaderError, match="cannot load the plate models"):
        PlateReader(model_dir=tmp_path)  # type: ignore[arg-type]
