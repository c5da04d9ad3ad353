"""Raw frames: determinism, boxes that are exactly what was drawn, stable identities."""

from __future__ import annotations

import numpy as np

from tests.sim.sample_scenes import small_scene_data
from vigie.sim import SceneRenderer, builtin_scene_path, frames, load_scene
from vigie.sim.scene import ActorKind, Scene


def test_same_seed_gives_identical_frames() -> None:
    first = list(frames(Scene.model_validate(small_scene_data(seed=5))))
    second = list(frames(Scene.model_validate(small_scene_data(seed=5))))
    assert len(first) == len(second) == 40
    for a, b in zip(first, second, strict=True):
        assert a.image.dtype == np.uint8 and a.image.shape == (180, 320, 3)
        assert a.image.tobytes() == b.image.tobytes()
        assert a.boxes == b.boxes


def test_frames_do_not_depend_on_access_order(small_scene: Scene) -> None:
    renderer = SceneRenderer(small_scene)
    late = renderer.frame(30).image
    in_order = [f.image for f in SceneRenderer(small_scene).frames()]
    assert late.tobytes() == in_order[30].tobytes()


def test_different_seed_gives_different_frames() -> None:
    a = SceneRenderer(Scene.model_validate(small_scene_data(seed=5))).frame(10)
    b = SceneRenderer(Scene.model_validate(small_scene_data(seed=6))).frame(10)
    assert a.image.tobytes() != b.image.tobytes()


def test_consecutive_frames_differ_by_lighting_noise(small_scene: Scene) -> None:
    renderer = SceneRenderer(small_scene.model_copy(update={"actors": [], "situations": []}))
    a, b = renderer.frame(1).image.astype(int), renderer.frame(2).image.astype(int)
    diff = np.abs(a - b)
    assert 0 < diff.mean() < 10


def _drawn_box(renderer: SceneRenderer, index: int, actor_id: int) -> tuple[int, int, int, int] | None:
    """Bounding box of the pixels that change when only this actor is drawn over the background."""
    empty = renderer.frame(index, only=()).image
    alone = renderer.frame(index, only=(actor_id,)).image
    ys, xs = np.nonzero(np.any(alone != empty, axis=2))
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def _check_boxes_match_pixels(renderer: SceneRenderer, indices: range) -> int:
    checked = 0
    for index in indices:
        for box in renderer.frame(index).boxes:
            drawn = _drawn_box(renderer, index, box.actor_id)
            assert drawn is not None, (index, box)
            gt = (box.x, box.y, box.w, box.h)
            assert max(abs(g - d) for g, d in zip(gt, drawn, strict=True)) <= 1, (index, box, drawn)
            checked += 1
    return checked


def test_ground_truth_boxes_are_what_was_drawn(small_scene: Scene) -> None:
    renderer = SceneRenderer(small_scene)
    assert _check_boxes_match_pixels(renderer, range(0, renderer.frame_count, 3)) > 40


def test_ground_truth_boxes_match_pixels_in_builtin_scenes() -> None:
    for name in ("situations", "street"):
        renderer = SceneRenderer(load_scene(builtin_scene_path(name)))
        assert _check_boxes_match_pixels(renderer, range(0, renderer.frame_count, 47)) > 20


def test_boxes_are_clipped_integers_inside_the_frame(small_scene: Scene) -> None:
    boxes = [box for frame in frames(small_scene) for box in frame.boxes]
    assert boxes, "the scene shows someone"
    for box in boxes:
        assert all(isinstance(v, int) for v in (box.x, box.y, box.w, box.h))
        assert box.x >= 0 and box.y >= 0 and box.w > 0 and box.h > 0
        assert box.x + box.w <= 320 and box.y + box.h <= 180
        assert 0.0 <= box.visibility <= 1.0


def test_identities_are_stable_along_each_path(small_scene: Scene) -> None:
    renderer = SceneRenderer(small_scene)
    tracks = {track.id: track for track in renderer.cast.tracks}
    seen: dict[int, list[int]] = {}
    for frame in renderer.frames():
        for box in frame.boxes:
            track = tracks[box.actor_id]
            assert box.kind is track.kind
            seen.setdefault(box.actor_id, []).append(frame.index)
            if box.x > 0 and box.x + box.w < 320 and box.y + box.h < 180 and not track.fallen(frame.time_s):
                # the id's box sits on that actor's own scripted foot point
                fx, fy = track.position(frame.time_s)
                assert abs(box.x + box.w / 2 - fx * 320) <= 1.5
                assert abs(box.y + box.h - fy * 180) <= 1.5
    assert set(seen) == set(tracks)
    for actor_id, indices in seen.items():
        assert indices == list(range(indices[0], indices[-1] + 1)), f"actor {actor_id} has gaps"


def test_fallen_person_box_becomes_wide_and_low(small_scene: Scene) -> None:
    renderer = SceneRenderer(small_scene)
    before = next(b for b in renderer.frame(15).boxes if b.actor_id == 3)
    after = next(b for b in renderer.frame(25).boxes if b.actor_id == 3)
    assert before.h > before.w and after.w > after.h
    assert abs((after.y + after.h) - (before.y + before.h)) <= 2  # still on the ground


def test_bag_stays_where_it_was_dropped(small_scene: Scene) -> None:
    renderer = SceneRenderer(small_scene)
    bag = next(t for t in renderer.cast.tracks if t.kind is ActorKind.BAG)
    positions = {
        (b.x, b.y, b.w, b.h) for index in range(25, 40) for b in renderer.frame(index).boxes if b.actor_id == bag.id
    }
    assert len(positions) == 1


def test_street_moves_from_the_start_and_regularly() -> None:
    """The demo scene: something moves in the first 3 seconds and in every 3-second window after."""
    scene = load_scene(builtin_scene_path("street"))
    renderer = SceneRenderer(scene)
    assert scene.duration_s >= 55
    window = 3 * scene.fps
    for start in range(0, renderer.frame_count - window, window):
        moving = False
        for index in range(start, start + window, 5):
            t = renderer.time_of(index)
            moving = moving or any(
                track.moving(t) and track.present(t) and 0 < track.position(t)[0] < 1 for track in renderer.cast.tracks
            )
        assert moving, f"nothing moves between {start / scene.fps} s and {(start + window) / scene.fps} s"
