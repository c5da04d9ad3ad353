"""Photo-real compositing (vigie.sim.cutouts): cut-outs of real people and cars, pasted with exact ground truth.

The bank and detection tests need the development data in ../shared/data (TUD-Campus, the parking-lot clip and the
COCO models) and are skipped without it; the compositing tests build their own cut-out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vigie.sim.cli_commands import EXIT_INVALID_SCENE, EXIT_OK, render_command
from vigie.sim.cutouts import (
    ALPHA_CUT,
    MAX_FILL,
    PERSON,
    VEHICLE,
    Cutout,
    CutoutDataError,
    PhotoBank,
    composite,
    median_background,
    person_cutouts,
    read_clip,
    vehicle_cutouts,
)
from vigie.sim.render import SceneRenderer
from vigie.sim.scene import ActorKind, Scene

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
TUD_CAMPUS = DATA / "tracking" / "tud-campus"
PARKING = DATA / "video" / "car-detection.mp4"
YOLOX = DATA / "models" / "yolox_nano.onnx"
NO_DATA = "development data not in ../shared/data (TUD-Campus, video/car-detection.mp4; not redistributable)"
needs_data = pytest.mark.skipif(not (TUD_CAMPUS.is_dir() and PARKING.is_file()), reason=NO_DATA)


def _ellipse_cutout() -> Cutout:
    """A 40×100 red figure (an ellipse of alpha 255) on transparent pixels."""
    yy, xx = np.mgrid[0:100, 0:40]
    inside = ((xx - 19.5) / 20) ** 2 + ((yy - 49.5) / 50) ** 2 <= 1
    rgba = np.zeros((100, 40, 4), np.uint8)
    rgba[..., 2] = 200
    rgba[..., 3] = inside * 255
    return Cutout(PERSON, rgba, "test ellipse")


def test_composite_ground_truth_is_the_pasted_alpha_with_its_foot_at_the_given_pixel() -> None:
    background = np.full((240, 320, 3), 90, np.uint8)
    done = composite(background, _ellipse_cutout(), (160, 200), 150, shadow_opacity=0.0, colour_match=0.0)
    x, y, w, h = done.box
    ys, xs = np.nonzero(done.mask)
    assert (x, y, w, h) == (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
    assert y + h in (199, 200, 201) and abs(h - 150) <= 3 and abs((x + w / 2) - 160) <= 1.5
    assert abs(w - 60) <= 3  # the cut-out's aspect is kept: 40×100 → 60×150
    # Pixels of the object are red, the rest keeps the background; only a feathered rim lies in between.
    changed = np.abs(done.frame.astype(int) - background).max(axis=2) > 10
    assert changed[done.mask].all()
    rim = changed & ~done.mask
    assert rim.sum() < 0.15 * done.mask.sum()
    assert (done.frame[done.mask][:, 2] > 90 + ALPHA_CUT * 110 - 5).all()


def test_contact_shadow_darkens_the_ground_under_the_feet_only() -> None:
    background = np.full((240, 320, 3), 120, np.uint8)
    plain = composite(background, _ellipse_cutout(), (160, 200), 150, shadow_opacity=0.0)
    shaded = composite(background, _ellipse_cutout(), (160, 200), 150, shadow_opacity=0.5)
    assert shaded.box == plain.box
    below = shaded.frame[201:206, 150:170].astype(int)
    assert (below < 115).all()  # under the feet, outside the object: darker
    assert (shaded.frame[:40] == background[:40]).all()  # far above: untouched


def test_composite_refuses_what_it_cannot_paste() -> None:
    background = np.zeros((100, 100, 3), np.uint8)
    with pytest.raises(ValueError, match="too small"):
        composite(background, _ellipse_cutout(), (50, 90), 2)
    with pytest.raises(ValueError, match="outside the frame"):
        composite(background, _ellipse_cutout(), (500, 90), 50)
    with pytest.raises(ValueError, match="fractions"):
        composite(background, _ellipse_cutout(), (50, 90), 50, shadow_opacity=2.0)


def test_bank_refuses_a_folder_that_is_not_a_sequence(tmp_path: Path) -> None:
    with pytest.raises(CutoutDataError, match=r"img1/\*\.jpg and gt/gt\.txt"):
        person_cutouts(tmp_path)
    with pytest.raises(CutoutDataError, match="does not exist"):
        vehicle_cutouts(tmp_path / "missing.mp4")


@pytest.fixture(scope="module")
def bank() -> PhotoBank:
    return PhotoBank.from_data(DATA)


@pytest.fixture(scope="module")
def people(bank: PhotoBank) -> list[Cutout]:
    return list(bank.people)


@needs_data
@pytest.mark.slow
def test_people_bank_holds_person_shaped_masks(people: list[Cutout]) -> None:
    assert len(people) >= 30
    for cutout in people:
        alpha = cutout.rgba[..., 3]
        width, height = cutout.size
        assert set(np.unique(alpha)) <= {0, 255}
        assert height >= 80 and height > 1.5 * width, cutout.source  # upright people
        assert 0.3 <= float((alpha > 0).mean()) <= 0.95, cutout.source
        assert (alpha[-5:] > 0).any() and (alpha[:5] > 0).any(), cutout.source  # feet and head are kept


@needs_data
def test_vehicle_bank_holds_car_sized_blobs() -> None:
    cars = vehicle_cutouts(PARKING)
    assert len(cars) >= 3
    for cutout in cars:
        assert cutout.kind == VEHICLE
        assert 0.45 <= float((cutout.rgba[..., 3] > 0).mean()) <= MAX_FILL + 0.1, cutout.source
        assert cutout.size[0] * cutout.size[1] >= 4000


@needs_data
@pytest.mark.slow
def test_same_seed_same_pixels(people: list[Cutout]) -> None:
    first = person_cutouts(TUD_CAMPUS, limit=5, seed=7)
    again = person_cutouts(TUD_CAMPUS, limit=5, seed=7)
    other = person_cutouts(TUD_CAMPUS, limit=5, seed=8)
    assert [c.source for c in first] == [c.source for c in again] != [c.source for c in other]
    assert all((a.rgba == b.rgba).all() for a, b in zip(first, again, strict=True))
    background = median_background(read_clip(PARKING, step=40))
    one = composite(background, first[0], (300, 400), 160)
    two = composite(background, again[0], (300, 400), 160)
    assert one.box == two.box and (one.frame == two.frame).all()


@needs_data
@pytest.mark.slow
@pytest.mark.skipif(not YOLOX.is_file(), reason=NO_DATA)
def test_yolox_nano_finds_composited_people(people: list[Cutout]) -> None:
    """The goal of the photo-real simulator: a COCO detector sees the pasted people (≥ 80 %, people ≥ 120 px)."""
    from vigie.analytics.detect.onnx import OnnxDetector, OnnxDetectorConfig
    from vigie.analytics.track.matching import box_iou
    from vigie.domain.detections import ObjectClass

    detector = OnnxDetector(OnnxDetectorConfig.model_validate({"model_path": YOLOX, "format": "yolox"}))
    background = median_background(read_clip(PARKING, step=40))
    rng = np.random.default_rng(5)
    found = 0
    trials = 8
    for k in range(trials):
        height = int(rng.integers(120, 200))
        foot = (int(rng.integers(80, 688)), int(rng.integers(height + 5, 428)))
        done = composite(background, people[int(rng.integers(len(people)))], foot, height)
        dets = detector.detect(done.frame)
        persons = dets.boxes[dets.class_ids == ObjectClass.PERSON]
        x, y, w, h = done.box
        found += bool(len(persons)) and float(box_iou(persons, np.array([[x, y, x + w, y + h]])).max()) >= 0.5
    assert found >= 0.8 * trials


def _check_opaque_boxes(renderer: SceneRenderer, indices: range) -> int:
    """A photo-real box is the extent of the cut-out's opaque pixels (alpha ≥ 0.5) in the frame: its feathered edge
    and its contact shadow change the picture around it but are not the object. Returns the boxes checked."""
    checked = 0
    for index in indices:
        rendered = renderer.frame(index)
        boxes = {box.actor_id: box for box in rendered.boxes}
        changed = rendered.image.astype(int) != renderer.frame(index, only=()).image.astype(int)
        for track, sprite in renderer.sprites(index):
            box = boxes.get(track.id)
            if box is None or box.visibility < 1.0:
                continue
            ys, xs = np.nonzero(sprite.mask)
            x0, y0 = max(0, sprite.left + int(xs.min())), max(0, sprite.top + int(ys.min()))
            x1 = min(renderer.scene.width, sprite.left + int(xs.max()) + 1)
            y1 = min(renderer.scene.height, sprite.top + int(ys.max()) + 1)
            assert (box.x, box.y, box.w, box.h) == (x0, y0, x1 - x0, y1 - y0), (index, box)
            assert changed[box.y : box.y + box.h, box.x : box.x + box.w].any(axis=2).mean() > 0.3, (index, box)
            checked += 1
    return checked


@needs_data
@pytest.mark.slow  # builds the cut-out bank (GrabCut on the plate photos, both cores for ~40 s): the serial worker
def test_photoreal_render_wears_cut_outs_and_keeps_exact_ground_truth(small_scene: Scene, bank: PhotoBank) -> None:
    drawn = SceneRenderer(small_scene)
    photo = SceneRenderer(small_scene, bank)
    assert _check_opaque_boxes(photo, range(0, photo.frame_count, 4)) > 10
    index = 10
    assert [b.actor_id for b in photo.frame(index).boxes] == [b.actor_id for b in drawn.frame(index).boxes]
    assert not np.array_equal(photo.frame(index, only=()).image, drawn.frame(index, only=()).image)  # real backdrop
    kinds = {track.id: track.kind for track in photo.cast.tracks}
    for track, sprite in photo.sprites(index):
        if kinds[track.id] is ActorKind.PERSON and not track.fallen(photo.time_of(index)):
            cutout = bank.cutout_for(ActorKind.PERSON, track.id, small_scene.seed)
            assert cutout is not None and sprite.mask.shape[0] == track.height_px  # the person is a cut-out
    assert photo.frame(index).image.tobytes() == SceneRenderer(small_scene, bank).frame(index).image.tobytes()


@needs_data
@pytest.mark.slow
def test_render_command_photoreal(tmp_path: Path, write_scene) -> None:  # type: ignore[no-untyped-def]
    from tests.sim.sample_scenes import small_scene_data

    scene = write_scene(small_scene_data())
    assert render_command(scene, tmp_path / "out.mp4", tmp_path / "gt", photoreal=DATA) == EXIT_OK
    assert (tmp_path / "out.mp4").stat().st_size > 0 and (tmp_path / "gt" / "gt" / "gt.txt").is_file()


def test_render_command_photoreal_refuses_a_folder_without_the_footage(tmp_path: Path, write_scene, capsys) -> None:  # type: ignore[no-untyped-def]
    from tests.sim.sample_scenes import small_scene_data

    scene = write_scene(small_scene_data())
    code = render_command(scene, tmp_path / "out.mp4", None, photoreal=tmp_path / "nothing")
    assert code == EXIT_INVALID_SCENE
    assert "--photoreal" in capsys.readouterr().err and not (tmp_path / "out.mp4").exists()
