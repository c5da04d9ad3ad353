"""Thermal hot-blob detection on synthetic frames whose truth is known, and the thermal picture an object
detector reads (grey replicated to three channels)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from pydantic import ValidationError

from vigie.analytics.detect.thermal import (
    HotSpotsBeside,
    ThermalConfig,
    ThermalDetector,
    ThermalPicture,
    explained,
    grey_picture,
)
from vigie.config.detectors import HotBlobDetectorSettings
from vigie.domain.detections import Detections, ObjectClass

W, H = 320, 240


def scene(rng: np.random.Generator, base: float, noise: float) -> np.ndarray:
    frame: np.ndarray = base + rng.normal(0, noise, (H, W))
    frame += np.linspace(0, 3 * noise, W)[None, :]  # a mild gradient, as a warm wall would give
    return frame


def with_person(frame: np.ndarray, warmth: float, x: int = 150, y: int = 90) -> np.ndarray:
    out = frame.copy()
    out[y : y + 60, x : x + 20] += warmth  # 20×60 px: an upright person at this range
    return out


def as_u8(frame: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.clip(frame, 0, 255).astype(np.uint8)
    return out


def test_warm_person_on_cool_noisy_background() -> None:
    rng = np.random.default_rng(1)
    detector = ThermalDetector()
    dets = detector.detect(as_u8(with_person(scene(rng, 80, 3), 60)))
    assert len(dets) == 1
    x1, y1, x2, y2 = dets.boxes[0]
    assert abs(x1 - 150) <= 4 and abs(y1 - 90) <= 4 and abs(x2 - 170) <= 4 and abs(y2 - 150) <= 4
    assert dets.class_ids[0] == ObjectClass.PERSON and 0.5 < dets.scores[0] <= 1.0
    for _ in range(5):  # a cool frame: nothing
        assert len(detector.detect(as_u8(scene(rng, 80, 3)))) == 0


def test_wide_blob_is_a_hot_spot_and_classification_can_be_off() -> None:
    rng = np.random.default_rng(2)
    frame = scene(rng, 80, 3)
    frame[100:130, 100:180] += 80  # wider than tall: a vehicle engine, a fire, not a person
    dets = ThermalDetector().detect(as_u8(frame))
    assert dets.class_ids.tolist() == [ObjectClass.HOT_SPOT]
    off = ThermalDetector(ThermalConfig(classify_persons=False))
    assert off.detect(as_u8(with_person(scene(rng, 80, 3), 60))).class_ids.tolist() == [ObjectClass.HOT_SPOT]


def test_uniform_drift_is_not_a_detection() -> None:
    rng = np.random.default_rng(3)
    detector = ThermalDetector()
    for step in range(30):  # the whole scene warms by 2 grey levels per frame: +60 in all
        assert len(detector.detect(as_u8(scene(rng, 60 + 2 * step, 3)))) == 0
    dets = detector.detect(as_u8(with_person(scene(rng, 120, 3), 50)))
    assert len(dets) == 1 and dets.class_ids[0] == ObjectClass.PERSON


def test_sixteen_bit_radiometric_input() -> None:
    rng = np.random.default_rng(4)
    detector = ThermalDetector()  # 100 counts per kelvin
    background = 29315 + scene(rng, 0, 15)  # 20 °C ± 0.15 K
    for drift in (0, 500, 1000):  # the scene warms by 10 K: still nothing
        frame = np.clip(background + drift + rng.normal(0, 15, (H, W)), 0, 65535).astype(np.uint16)
        assert len(detector.detect(frame)) == 0
    person = with_person(background + 1000, 1200)  # a 12 K warmer person
    dets = detector.detect(np.clip(person, 0, 65535).astype(np.uint16))
    assert len(dets) == 1 and dets.class_ids[0] == ObjectClass.PERSON
    faint = with_person(background, 100, x=40)  # 1 K: below the 2 K minimum contrast
    assert len(ThermalDetector().detect(np.clip(faint, 0, 65535).astype(np.uint16))) == 0


def test_bad_input_and_config_are_refused() -> None:
    with pytest.raises(ValueError):
        ThermalDetector().detect(np.zeros((H, W), np.float32))  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        ThermalConfig(k_sigma=5, unknown=1)  # type: ignore[call-arg]


def test_the_settings_are_the_camera_configurations_hot_blob_detector() -> None:
    assert ThermalConfig is HotBlobDetectorSettings and ThermalConfig().kind == "hot_blob"


class Recorder:
    """An object detector that records what it is shown."""

    def __init__(self) -> None:
        self.frames: list[np.ndarray] = []

    def detect(self, frame_bgr: np.ndarray) -> Detections:
        self.frames.append(frame_bgr)
        return Detections()

    def detect_batch(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        return [self.detect(f) for f in frames]


def test_an_object_detector_reads_the_thermal_picture_as_grey_in_three_channels() -> None:
    rng = np.random.default_rng(5)
    grey = as_u8(with_person(scene(rng, 80, 3), 60))
    palette = np.stack([grey // 3, grey, 255 - grey], axis=-1)  # a false-colour palette, decoded in colour
    recorder = Recorder()
    reader = ThermalPicture(recorder)
    reader.detect(grey)
    reader.detect_batch([palette])
    shown_grey, shown_palette = recorder.frames
    assert shown_grey.shape == (H, W, 3) and all((shown_grey[..., c] == grey).all() for c in range(3))
    assert shown_palette.shape == (H, W, 3)
    assert (shown_palette[..., 0] == shown_palette[..., 1]).all() and (
        shown_palette[..., 1] == shown_palette[..., 2]
    ).all()
    with pytest.raises(ValueError):
        grey_picture(np.zeros((H, W), np.uint16))  # radiometric frames are for the hot-blob detector


class Fixed:
    """An object detector that finds the same boxes on every frame."""

    def __init__(self, dets: Detections) -> None:
        self.dets = dets

    def detect(self, frame: np.ndarray) -> Detections:
        return self.dets


def test_beside_a_model_a_hot_blob_inside_its_object_is_that_objects_warmth_not_a_hot_spot() -> None:
    rng = np.random.default_rng(4)
    frame = scene(rng, 80, 3)
    frame[90:150, 150:170] += 60  # a warm walker…
    frame[30:50, 30:70] += 90  # …and a fire start nobody stands in
    walker = Detections.create([[146, 86, 174, 154]], [0.8], [ObjectClass.PERSON])
    both = HotSpotsBeside(Fixed(walker), ThermalDetector(ThermalConfig(classify_persons=False)))
    found = both.detect(as_u8(frame))
    assert sorted(ObjectClass(int(c)).name for c in found.class_ids) == ["HOT_SPOT", "PERSON"]
    [spot] = found.boxes[found.class_ids == ObjectClass.HOT_SPOT]
    assert 25 <= spot[0] <= 35 and 25 <= spot[1] <= 35  # the fire's box
    nobody = HotSpotsBeside(Fixed(Detections()), ThermalDetector(ThermalConfig(classify_persons=False)))
    assert (nobody.detect(as_u8(frame)).class_ids == ObjectClass.HOT_SPOT).sum() == 2  # a missed person stays heat


def test_explained_is_the_share_of_the_blob_not_an_iou() -> None:
    person = np.array([[100, 100, 140, 220]], np.float32)
    head = np.array([[110, 100, 130, 120]], np.float32)  # a small part of the person: IoU 0.08, all of it inside
    half_out = np.array([[120, 100, 160, 120]], np.float32)
    away = np.array([[300, 100, 320, 120]], np.float32)
    assert explained(np.concatenate([head, half_out, away]), person).tolist() == [True, True, False]
    assert explained(head, np.zeros((0, 4), np.float32)).tolist() == [False]


def test_hot_blobs_beside_a_model_must_not_classify_persons() -> None:
    with pytest.raises(ValueError, match="must not classify persons"):
        HotSpotsBeside(Fixed(Detections()), ThermalDetector(ThermalConfig()))


def test_hot_spots_beside_a_model_forget_their_background_when_reset() -> None:
    blobs = ThermalDetector(ThermalConfig(classify_persons=False))
    both = HotSpotsBeside(Fixed(Detections()), blobs)
    both.detect(as_u8(scene(np.random.default_rng(2), 80, 3)))
    assert blobs._background is not None
    both.reset()
    assert blobs._background is None
