"""The thermal rendering of cut-outs: heat where the silhouette is, warmest at the head, ground truth that is the
painted silhouette's box, and a MOTChallenge folder `vigie eval detect` reads (persons counted, vehicles not)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from vigie.evaluation.sequence import read_sequence
from vigie.sim.cutouts import PERSON, VEHICLE, Cutout
from vigie.sim.thermal import MOT_CAR, HotSpot, Placed, ThermalLook, ThermalRenderer, write_thermal_sequence

W, H = 320, 240


def silhouette(kind: str, width: int, height: int) -> Cutout:
    """A cut-out whose alpha is a filled ellipse, its pixels a vertical ramp (the renderer reads their detail)."""
    rgba = np.zeros((height, width, 4), np.uint8)
    rgba[..., :3] = np.linspace(40, 200, height, dtype=np.uint8)[:, None, None]
    alpha = np.zeros((height, width), np.uint8)
    cv2.ellipse(alpha, (width // 2, height // 2), (width // 2 - 1, height // 2 - 1), 0, 0, 360, 255, -1)
    rgba[..., 3] = alpha
    return Cutout(kind, rgba, "drawn for the test")


def photo() -> np.ndarray:
    rng = np.random.default_rng(0)
    return cv2.GaussianBlur(rng.integers(60, 200, (H, W, 3), dtype=np.uint8), (0, 0), 6)


def quiet() -> ThermalLook:
    return ThermalLook(noise=0.0, stripes=0.0, drift=0.0, optics_sigma=0.0)


def test_a_person_is_warm_where_painted_warmest_at_the_head_and_its_box_is_the_silhouette() -> None:
    renderer = ThermalRenderer(photo(), (W, H), quiet(), seed=1)
    empty = renderer.render(0).image.astype(float)
    frame = renderer.render(0, [Placed(silhouette(PERSON, 30, 100), (100, 200), 100, 40.0)])
    [(x, y, w, h)] = frame.persons
    assert x == 86 and 100 <= y <= 102 and y + h == 200 and 27 <= w <= 30  # the ellipse, bottom-centre on the foot
    excess = frame.image.astype(float) - empty
    assert excess[y : y + h, x : x + w].max() > 30 and np.abs(np.delete(excess, np.s_[x : x + w], 1)).max() == 0
    head = excess[y + 4 : y + 12, x + 10 : x + 20].mean()
    torso = excess[y + 25 : y + 45, x + 8 : x + 22].mean()
    legs = excess[y + 60 : y + 85, x + 8 : x + 22].mean()
    assert head > legs > torso > 15  # skin, then trousers, then an insulating coat


def test_vehicles_and_hot_spots_have_their_own_truth_and_the_sensor_drifts() -> None:
    renderer = ThermalRenderer(photo(), (W, H), ThermalLook(drift=6.0, drift_period=4), seed=2)
    car = Placed(silhouette(VEHICLE, 50, 110), (250, 230), 110, 40.0)
    first = renderer.render(0, vehicles=[car], hot_spots=[HotSpot((60, 50), 10, 100.0)])
    second = renderer.render(1, vehicles=[car], hot_spots=[HotSpot((60, 50), 10, 100.0)])
    assert first.persons == () and len(first.vehicles) == 1 and len(first.hot_spots) == 1
    hx, hy, hw, hh = first.hot_spots[0]
    assert abs(hx + hw / 2 - 60) <= 3 and abs(hy + hh / 2 - 50) <= 3 and hw <= 21
    assert first.image[hy : hy + hh, hx : hx + hw].max() > first.image.mean() + 60
    # a quarter of the drift's period later, every pixel moved by about its amplitude
    assert 4.0 < float(second.image.astype(float).mean() - first.image.astype(float).mean()) < 8.0
    again = ThermalRenderer(photo(), (W, H), ThermalLook(drift=6.0, drift_period=4), seed=2)
    assert np.array_equal(again.render(0, vehicles=[car], hot_spots=[HotSpot((60, 50), 10, 100.0)]).image, first.image)


def test_the_sequence_is_a_motchallenge_folder_whose_persons_are_scored_and_vehicles_kept_apart(
    tmp_path: Path,
) -> None:
    renderer = ThermalRenderer(photo(), (W, H), seed=3)
    person = silhouette(PERSON, 20, 60)
    frames = [
        renderer.render(
            k,
            [Placed(person, (60 + 5 * k, 200), 60, 40.0)],
            [Placed(silhouette(VEHICLE, 40, 80), (250, 220), 80, 40.0)],
        )
        for k in range(3)
    ]
    sequence = read_sequence(write_thermal_sequence(tmp_path / "thermal", frames))
    assert sequence.frames == (1, 2, 3) and (sequence.info.width, sequence.info.height) == (W, H)
    truth = sequence.ground_truth()
    for k, frame in enumerate(frames, start=1):
        [(x, y, w, h)] = frame.persons
        # persons only (the vehicle is not a missed person), in MOTChallenge's 1-based pixels as the reader keeps them
        assert truth[k].boxes.tolist() == [[x + 1, y + 1, x + 1 + w, y + 1 + h]]
    assert (sequence.truth.classes == MOT_CAR).sum() == 3
    image = next(sequence.read_images())[1]
    assert (image[..., 0] == image[..., 1]).all() and np.array_equal(image[..., 0], frames[0].image)
