"""Simulated vehicles seen from the rear carry legible SIV plates, and the plates are in the ground truth.

The reading side is PaddleOCR's recogniser (``rapidocr_onnxruntime``, the models Vigie's plate reader runs): a plate
that it cannot read in the encoded video would make the demo's LAPI camera show nothing.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import av
import numpy as np
import pytest
from rapidocr_onnxruntime import RapidOCR

from vigie.sim import SceneRenderer, builtin_scene_path, load_scene, render
from vigie.sim.groundtruth import GroundTruthPlate
from vigie.sim.scene import Scene, SceneError
from vigie.sim.siv import SIV_LETTERS, normalised, random_siv, siv_problem


@cache
def _ocr() -> RapidOCR:
    return RapidOCR()


def _read(image: np.ndarray) -> set[str]:
    """Every text line the recogniser finds, without separators."""
    found, _ = _ocr()(image)
    return {normalised(str(line[1])).replace(" ", "") for line in found or ()}


def _lane_scene(plate: str, seconds: float = 3.0) -> Scene:
    return Scene.model_validate(
        {
            "name": "plate-test",
            "seed": 4,
            "width": 960,
            "height": 540,
            "fps": 10,
            "duration_s": seconds,
            "background": {"texture": "plain"},
            "actors": [
                {
                    "kind": "vehicle",
                    "view": "rear",
                    "plate": plate,
                    "size": {"w": 0.46, "h": 0.68},
                    "path": [{"t": 0, "x": 0.5, "y": 1.3}, {"t": seconds, "x": 0.5, "y": 0.7}],
                }
            ],
        }
    )


def test_random_plates_follow_the_siv_grammar() -> None:
    rng = np.random.default_rng(7)
    plates = [random_siv(rng) for _ in range(2000)]
    assert all(siv_problem(p) is None for p in plates)
    letters = {c for p in plates for c in p if c.isalpha()}
    assert letters <= set(SIV_LETTERS) and not letters & {"I", "O", "U"}
    assert not any(p.startswith(("SS", "WW")) or p.endswith("SS") or "-000-" in p for p in plates)
    assert len(set(plates)) > 1990  # drawn, not a handful repeated


@pytest.mark.parametrize(
    ("plate", "why"),
    [("AB-123-CO", "no I, O or U"), ("SS-123-AB", "SS"), ("WW-123-AB", "WW"), ("AB-000-CD", "not 000")],
)
def test_a_scene_refuses_a_plate_that_is_not_siv(plate: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        _lane_scene(plate)


def test_a_plate_needs_a_vehicle_seen_from_the_rear(write_scene) -> None:  # type: ignore[no-untyped-def]
    data = _lane_scene("AB-123-CD").model_dump(mode="json")
    data["actors"][0]["view"] = "side"
    with pytest.raises(SceneError, match="view: rear"):
        load_scene(write_scene(data))


def test_ground_truth_plate_box_is_where_the_plate_is_drawn() -> None:
    renderer = SceneRenderer(_lane_scene("GE-042-ZR"))
    frame = renderer.frame(20)
    (plate,) = frame.plates
    assert plate.text == "GE-042-ZR" and plate.visibility == 1.0
    (car,) = frame.boxes
    assert car.x < plate.x and plate.x + plate.w < car.x + car.w and car.y < plate.y < car.y + car.h
    crop = frame.image[plate.y : plate.y + plate.h, plate.x : plate.x + plate.w]
    assert np.median(crop) > 200  # a white plate (black characters, a small blue band)
    above = frame.image[plate.y - 3, plate.x : plate.x + plate.w]
    assert np.median(above) < 120  # the car's body just above it
    assert plate.w >= 120  # large enough to be read at the scene's size


def test_the_plate_is_read_in_the_encoded_video(tmp_path: Path) -> None:
    scene = _lane_scene("GE-042-ZR")
    result = render(scene, tmp_path / "lane.mp4", tmp_path / "gt")
    lines = (tmp_path / "gt" / "gt" / "plates.txt").read_text().splitlines()
    truth = {int(line.split(",")[0]): line.split(",") for line in lines}
    assert {fields[-1] for fields in truth.values()} == {"GE-042-ZR"}
    read = 0
    with av.open(str(result.video_path)) as container:
        for number, decoded in enumerate(container.decode(video=0), start=1):
            fields = truth.get(number)
            if number % 5 or fields is None or float(fields[6]) < 1.0:
                continue
            x, y, w, h = (int(v) for v in fields[2:6])
            image = decoded.to_ndarray(format="bgr24")
            crop = image[max(0, y - h) : y + 2 * h, max(0, x - w // 4) : x + w + w // 4]
            assert "GE042ZR" in _read(crop), number
            read += 1
    assert read >= 3


def test_every_plate_of_the_lane_scene_is_read_on_the_whole_vehicle() -> None:
    """The built-in LAPI scene: each car's plate, read from the car's box in a frame where it is fully visible."""
    renderer = SceneRenderer(load_scene(builtin_scene_path("lane")))
    expected = {t.id: t.plate for t in renderer.cast.tracks}
    assert expected[1] == "GE-042-ZR" and all(expected.values())
    seen: dict[int, GroundTruthPlate] = {}
    for index in range(0, renderer.frame_count, 2):
        frame = renderer.frame(index)
        for plate in frame.plates:
            if plate.visibility == 1.0 and plate.actor_id not in seen:
                box = next(b for b in frame.boxes if b.actor_id == plate.actor_id)
                vehicle = frame.image[box.y : box.y + box.h, box.x : box.x + box.w]
                assert normalised(plate.text) in _read(vehicle), (index, plate)
                seen[plate.actor_id] = plate
    assert set(seen) == set(expected)
