"""The photo-real simulator's scene features (perspective, sizes, ``style: photoreal``), its street-level vehicles
cut out of plate photos, scoring vehicles with ``vigie eval detect``, and the demo's refusal to composite anything
but the pinned public footage.

Tests on the cut-out bank need the development data in ../shared/data (TUD-Campus, the plate photos) and are
skipped without it; the scene and evaluation tests draw their own scenes."""

from __future__ import annotations

import json
import logging
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.sim.sample_scenes import small_scene_data
from vigie.cli.commands.evaluation import eval_detect_command
from vigie.runtime.assembly.demo_scenes import demo_photo_bank, demo_scene_names
from vigie.sim import builtin_scene_path, cutouts, load_scene
from vigie.sim.cli_commands import EXIT_INVALID_SCENE, EXIT_OK, render_command
from vigie.sim.cutouts import PhotoBank, default_cutout_cache_dir, photo_vehicle_cutouts, unpinned_sources
from vigie.sim.render import PhotorealNeeded, SceneRenderer
from vigie.sim.scene import ActorKind, Scene

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
TUD_CAMPUS = DATA / "tracking" / "tud-campus"
PLATES_FR = DATA / "plates-fr-dev"
PARKING = DATA / "video" / "car-detection.mp4"
NO_DATA = "development data not in ../shared/data (TUD-Campus, plates-fr-dev; not redistributable)"
needs_data = pytest.mark.skipif(not (TUD_CAMPUS.is_dir() and PLATES_FR.is_dir()), reason=NO_DATA)
heavy = pytest.mark.slow
"""Builds a cut-out bank (GrabCut over the plate photos on every core for about a minute): run on the serial worker
(tests/conftest.py), not beside the timed end-to-end tests."""


def _walker(y: float, **extra: object) -> Scene:
    """A 2-second scene: one person standing at row ``y`` (centre column)."""
    data = {
        "name": "walker",
        "seed": 1,
        "width": 320,
        "height": 240,
        "duration_s": 2,
        "actors": [{"kind": "person", "path": [{"t": 0, "x": 0.5, "y": y}, {"t": 2, "x": 0.5, "y": y}]}],
    }
    return Scene.model_validate(data | extra)


def _person_height(scene: Scene) -> int:
    (box,) = SceneRenderer(scene).frame(0).boxes
    return box.h


def test_perspective_shrinks_people_towards_the_horizon() -> None:
    perspective = {"horizon_y": 0.5}
    sizes = {"person": {"w": 0.1, "h": 0.6}}
    near = _person_height(_walker(1.0, perspective=perspective, sizes=sizes))
    middle = _person_height(_walker(0.75, perspective=perspective, sizes=sizes))
    far = _person_height(_walker(0.6, perspective=perspective, sizes=sizes))
    assert abs(near - 0.6 * 240) <= 3  # the given size at the reference row (the bottom)
    assert abs(middle - near / 2) <= 3 and abs(far - near / 5) <= 3  # linear to nothing at the horizon
    # Without a perspective every row gets the scene's size; without sizes the built-in one (0.16 of the height).
    assert _person_height(_walker(0.6, sizes=sizes)) == near
    assert abs(_person_height(_walker(0.6)) - 0.16 * 240) <= 2


def test_a_perspective_must_have_its_reference_below_the_horizon() -> None:
    with pytest.raises(ValueError, match=r"reference_y must lie at least 0\.05 below horizon_y"):
        _walker(0.9, perspective={"horizon_y": 0.6, "reference_y": 0.62})
    with pytest.raises(ValueError, match="horizon_y"):
        _walker(0.9, perspective={"horizon_y": 0.99})


def test_a_photoreal_scene_without_its_footage_says_what_to_give(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    plaza = load_scene(builtin_scene_path("plaza"))
    with pytest.raises(PhotorealNeeded, match="--photoreal DATA_DIR"):
        SceneRenderer(plaza)
    assert render_command(Path("plaza"), tmp_path / "plaza.mp4", None) == EXIT_INVALID_SCENE
    assert "background.style: photoreal" in capsys.readouterr().err
    assert not (tmp_path / "plaza.mp4").exists()


def test_render_images_make_a_sequence_eval_detect_scores_for_vehicles(tmp_path: Path) -> None:
    scene = tmp_path / "scene.yaml"
    scene.write_text(json.dumps(small_scene_data()))
    gt = tmp_path / "gt"
    assert render_command(scene, tmp_path / "out.mp4", gt, images=True) == EXIT_OK
    images = sorted((gt / "img1").glob("*.jpg"))
    assert len(images) == 40 and cv2.imread(str(images[0])).shape == (180, 320, 3)
    rows = [line.split(",") for line in (gt / "gt" / "gt.txt").read_text().splitlines()]
    assert {row[7] for row in rows} == {"1", "3", "13"}  # persons, the vehicle, the bag
    # Vehicles are scored on a model's detections: without one, a clear error (exit 2), not a silent zero.
    assert eval_detect_command(gt, model=None, model_format=None, json_out=None, objects="vehicle") == 2


def test_render_images_need_a_ground_truth_folder(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    scene = tmp_path / "scene.yaml"
    scene.write_text(json.dumps(small_scene_data()))
    assert render_command(scene, tmp_path / "out.mp4", None, images=True) == EXIT_INVALID_SCENE
    assert "--gt DIR" in capsys.readouterr().err


def test_demo_cameras_show_the_plaza_first_when_photoreal() -> None:
    assert demo_scene_names(3, photo=False) == ["street", "situations", "street"]
    assert demo_scene_names(4, photo=True) == ["plaza", "situations", "street", "plaza"]


@pytest.fixture(scope="module")
def photo_vehicles() -> list:  # type: ignore[type-arg]
    """The cut-outs as the bank gets them: from the masks' cache that every bank uses (segmented now when another
    process has not left them there)."""
    return photo_vehicle_cutouts(PLATES_FR, cache_dir=default_cutout_cache_dir())


@needs_data
@heavy
def test_vehicles_from_plate_photos_are_whole_street_level_cars_with_the_plate_blurred(photo_vehicles) -> None:  # type: ignore[no-untyped-def]
    assert len(photo_vehicles) >= 15
    labels = {line.split("\t")[0]: line.split("\t") for line in _plate_lines(PLATES_FR)}
    for cutout in photo_vehicles:
        assert cutout.kind == "vehicle" and not cutout.from_above
        name = cutout.source.split()[0]
        _, px, py, pw, ph, _text = labels[name]
        x, y, w, h = cutout.box
        assert w >= 2.6 * int(pw) and h >= 1.8 * int(pw), cutout.source  # a whole vehicle, not its tail light
        assert x <= int(px) and x + w >= int(px) + int(pw) and y + h >= int(py) + int(ph), cutout.source
        # The plate is blurred: the detail (Laplacian energy) of its middle, where the characters are, is a fraction
        # of the same place in the photo scaled alike.
        scale = cutout.rgba.shape[1] / w
        photo = cv2.imread(str(PLATES_FR / name), cv2.IMREAD_GRAYSCALE)
        small = cv2.resize(photo, (round(photo.shape[1] * scale), round(photo.shape[0] * scale)), cv2.INTER_AREA)
        grey = cv2.cvtColor(np.ascontiguousarray(cutout.rgba[:, :, :3]), cv2.COLOR_BGR2GRAY)
        mx0, my0 = round((int(px) + 0.2 * int(pw)) * scale), round((int(py) + 0.25 * int(ph)) * scale)
        mx1, my1 = round((int(px) + 0.8 * int(pw)) * scale), round((int(py) + 0.75 * int(ph)) * scale)
        ox, oy = round(x * scale), round(y * scale)
        blurred = cv2.Laplacian(grey[my0 - oy : my1 - oy, mx0 - ox : mx1 - ox], cv2.CV_64F).var()
        original = cv2.Laplacian(small[my0:my1, mx0:mx1], cv2.CV_64F).var()
        assert blurred < 0.3 * original + 1.0, cutout.source
    # Deterministic: segmented again now, without the cache, the same cut-outs as the cached masks give.
    again = photo_vehicle_cutouts(PLATES_FR)
    assert [c.source for c in again] == [c.source for c in photo_vehicles]
    assert all(np.array_equal(a.rgba, b.rgba) for a, b in zip(again, photo_vehicles, strict=True))


def _few_plate_photos(folder: Path, count: int = 8) -> Path:
    """The first ``count`` photos of plates-fr-dev with their plate boxes, copied into ``folder``."""
    folder.mkdir(parents=True)
    for label in sorted(PLATES_FR.glob("*.txt"))[:count]:
        shutil.copy(label, folder / label.name)
        shutil.copy(PLATES_FR / label.read_text().split("\t")[0], folder)
    return folder


def _same_cutouts(one: list, other: list) -> bool:  # type: ignore[type-arg]
    return [(c.source, c.box) for c in one] == [(c.source, c.box) for c in other] and all(
        np.array_equal(a.rgba, b.rgba) for a, b in zip(one, other, strict=True)
    )


@needs_data
def test_the_vehicles_grabcut_masks_are_cached_and_give_the_same_cutouts_until_a_photo_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    photos = _few_plate_photos(tmp_path / "plates")
    cache = tmp_path / "cache"
    segmented: list[int] = []
    grabcut = cutouts._vehicle_mask

    def counted(*args: object) -> object:
        segmented.append(1)
        return grabcut(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(cutouts, "_vehicle_mask", counted)
    fresh = photo_vehicle_cutouts(photos)  # no cache: every photo segmented
    assert len(fresh) >= 1 and len(segmented) == 8
    # Two processes started together (pytest's workers, the demo beside them): one segments, the other waits for
    # its masks. Two threads take the lock as two processes do (one open file each).
    with ThreadPoolExecutor(2) as pool:
        both = list(pool.map(lambda _: photo_vehicle_cutouts(photos, cache_dir=cache), range(2)))
    assert len(segmented) == 16  # 8 more, not 16 more
    assert _same_cutouts(both[0], fresh) and _same_cutouts(both[1], fresh)
    assert len(list(cache.glob("*.npz"))) == 1
    assert _same_cutouts(photo_vehicle_cutouts(photos, cache_dir=cache), fresh) and len(segmented) == 16
    # Another version of the photos (one changed): segmented again, under another key.
    changed = photos / sorted(p.name for p in photos.glob("*.jpg"))[-1]
    image = cv2.imread(str(changed))
    cv2.imwrite(str(changed), cv2.GaussianBlur(image, (0, 0), 1.5))
    now = photo_vehicle_cutouts(photos, cache_dir=cache)
    assert len(segmented) == 24 and len(list(cache.glob("*.npz"))) == 2
    assert _same_cutouts(now, photo_vehicle_cutouts(photos)) and len(segmented) == 32
    # A cache file that is not what was written (truncated, forged in another format): segmented again, replaced.
    for kept in cache.glob("*.npz"):
        kept.write_bytes(b"not masks")
    with caplog.at_level(logging.WARNING, logger="vigie.sim.cutouts"):
        assert _same_cutouts(photo_vehicle_cutouts(photos, cache_dir=cache), now)
    assert len(segmented) == 40 and "unreadable" in caplog.text
    assert _same_cutouts(photo_vehicle_cutouts(photos, cache_dir=cache), now) and len(segmented) == 40


@needs_data
def test_the_cache_holds_masks_never_pixels_the_cutouts_pixels_are_the_photos(tmp_path: Path) -> None:
    photos = _few_plate_photos(tmp_path / "plates")
    cache = tmp_path / "cache"
    fresh = photo_vehicle_cutouts(photos, cache_dir=cache)
    [kept] = cache.glob("*.npz")
    with np.load(kept, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    assert all(a.dtype == np.uint8 and a.ndim == 1 for a in arrays.values())  # packed bits, flags
    # Whoever can write the cache can change which pixels of the photos are cut, not bring others in: every mask
    # widened by 3 pixels still gives cut-outs whose pixels are the photos' own (plate blurred as before).
    shapes = {}
    for label in sorted(photos.glob("*.txt")):
        name = label.read_text().split("\t")[0]
        image = cv2.imread(str(photos / name))
        scale = min(1.0, 280 / max(image.shape[:2]))
        shapes[name] = (round(image.shape[0] * scale), round(image.shape[1] * scale))
    order = list(shapes)
    for key, packed in arrays.items():
        if key == "present":
            continue
        shape = shapes[order[int(key[1:])]]
        mask = np.unpackbits(packed, count=shape[0] * shape[1]).reshape(shape)
        arrays[key] = np.packbits(cv2.dilate(mask, np.ones((7, 7), np.uint8)).astype(bool))
    with kept.open("wb") as stream:
        np.savez_compressed(stream, **arrays)  # type: ignore[arg-type]
    forged = photo_vehicle_cutouts(photos, cache_dir=cache)
    assert forged and not _same_cutouts(forged, fresh)  # the forged masks were used
    for cutout in forged:
        name = cutout.source.split()[0]
        image = cv2.imread(str(photos / name))
        small = cv2.resize(image, shapes[name][::-1], interpolation=cv2.INTER_AREA)
        found = cv2.matchTemplate(small, np.ascontiguousarray(cutout.rgba[:, :, :3]), cv2.TM_SQDIFF)
        alpha = cutout.rgba[:, :, 3] > 0
        top = np.unravel_index(int(found.argmin()), found.shape)
        crop = small[top[0] : top[0] + alpha.shape[0], top[1] : top[1] + alpha.shape[1]]
        differs = np.abs(crop.astype(int) - cutout.rgba[:, :, :3]).max(axis=2) > 0
        assert differs.mean() < 0.1, cutout.source  # the photo's pixels, but for the blurred plate


def _plate_lines(folder: Path) -> list[str]:
    return [line for path in sorted(folder.glob("*.txt")) for line in path.read_text().splitlines() if line.strip()]


@needs_data
@heavy
def test_the_shared_footage_is_pinned_and_a_changed_frame_is_not(tmp_path: Path) -> None:
    # Cars from the parking clip (no plate photos here): quick to build, same pinning.
    data = tmp_path / "data"
    shutil.copytree(TUD_CAMPUS, data / "tracking" / "tud-campus")
    (data / "video").mkdir()
    shutil.copy(PARKING, data / "video" / PARKING.name)
    bank = PhotoBank.from_data(data)
    assert {name for name, _ in bank.sources} >= {"tracking/tud-campus/gt/gt.txt", "video/car-detection.mp4"}
    assert unpinned_sources(bank) == []
    frame = data / "tracking" / "tud-campus" / "img1" / "000001.jpg"
    image = cv2.imread(str(frame))
    cv2.rectangle(image, (10, 10), (60, 120), (0, 0, 255), -1)  # someone else in the picture
    cv2.imwrite(str(frame), image)
    assert unpinned_sources(PhotoBank.from_data(data)) == ["tracking/tud-campus/img1/000001.jpg"]


@needs_data
@heavy
def test_the_demo_refuses_to_composite_footage_it_does_not_know(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    shutil.copytree(TUD_CAMPUS, data / "tracking" / "tud-campus")
    (data / "video").mkdir()
    shutil.copy(PARKING, data / "video" / PARKING.name)
    (data / "tracking" / "tud-campus" / "gt" / "gt.txt").write_text(
        (TUD_CAMPUS / "gt" / "gt.txt").read_text() + "1,999,10,10,40,120,1,-1,-1,-1\n"
    )
    with caplog.at_level(logging.ERROR, logger="vigie.runtime.assembly.demo_scenes"):
        assert demo_photo_bank(data) is None
    message = " ".join(r.getMessage() for r in caplog.records)
    assert "not the pinned public footage" in message and "tracking/tud-campus/gt/gt.txt" in message
    assert demo_photo_bank(tmp_path / "nothing") is None  # no footage at all: refused, with the reason


@needs_data
@heavy
def test_a_photoreal_plaza_frame_has_real_people_and_cars_at_the_perspective_s_sizes() -> None:
    bank = PhotoBank.from_data(DATA)
    renderer = SceneRenderer(load_scene(builtin_scene_path("plaza")), bank)
    frame = renderer.frame(int(33 * renderer.scene.fps))  # the flow along the building, the stopped car
    people = [b for b in frame.boxes if b.kind is ActorKind.PERSON and b.visibility == 1.0]
    cars = [b for b in frame.boxes if b.kind is ActorKind.VEHICLE]
    assert people and cars
    for box in people:
        row = (box.y + box.h) / renderer.scene.height
        expected = 0.7 * (row - 0.52) / 0.48 * renderer.scene.height
        assert 0.8 * expected <= box.h <= 1.2 * expected or box.w > box.h  # standing at their row's size, or lying
    assert all(not c.from_above for c in bank.vehicles)  # street-level cars from the plate photos


@needs_data
@heavy
def test_photoreal_walkers_walk_through_their_own_poses_and_face_their_way() -> None:
    bank = PhotoBank.from_data(DATA)
    still = next(c for c in bank.people if c.facing == 1)
    walk = [c for c in bank.people if c.track == still.track]
    assert len(walk) >= 5
    assert bank.pose(still, 0.0, 1) is still  # at its own frame, facing its own way
    later = bank.pose(still, 0.2, 1)  # five frames of the footage later
    assert later.track == still.track and later.frame != still.frame
    turned = bank.pose(still, 0.0, -1)
    assert turned.facing == -1 and np.array_equal(turned.rgba, still.rgba[:, ::-1])
    renderer = SceneRenderer(load_scene(builtin_scene_path("plaza")), bank)
    index = int(30 * renderer.scene.fps)  # the flow along the building
    first = {t.id: s for t, s in renderer.sprites(index) if t.kind is ActorKind.PERSON and t.moving(30.0)}
    second = {t.id: s for t, s in renderer.sprites(index + 2) if t.kind is ActorKind.PERSON}
    moving = [i for i in first if i in second]
    assert moving
    assert any(first[i].mask.shape != second[i].mask.shape or (first[i].mask != second[i].mask).any() for i in moving)
