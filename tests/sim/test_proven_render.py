"""Simulated footage is proven simulated by rendering it again (issue 14 D14): whatever sits in the render cache is
compared with a fresh, deterministic render and replaced by it, never trusted because of its name."""

from __future__ import annotations

from pathlib import Path

from tests.sim.sample_scenes import small_scene_data
from tests.support.videos import write_moving_square_video
from vigie.sim.rtsp import file_sha256, proven_render, render_cache_path
from vigie.sim.scene import Scene


def scene() -> Scene:
    return Scene.model_validate(small_scene_data() | {"duration_s": 1, "situations": []})


def test_a_render_is_deterministic_so_a_cached_one_is_verified(tmp_path: Path) -> None:
    first = proven_render(scene(), tmp_path)
    assert first.verdict == "rendered" and first.path == render_cache_path(scene(), tmp_path)
    again = proven_render(scene(), tmp_path)
    assert again.verdict == "verified" and again.sha256 == first.sha256 == file_sha256(again.path)
    assert [p.name for p in tmp_path.iterdir()] == [first.path.name], "no proof file is left behind"


def test_other_footage_at_the_cache_path_is_discarded_and_replaced_by_the_render(tmp_path: Path) -> None:
    rendered = proven_render(scene(), tmp_path)
    other = write_moving_square_video(tmp_path / "other.mp4", seconds=1)
    rendered.path.write_bytes(other.read_bytes())  # `cp OTHER.mp4 scenes/small-<hash>.mp4`
    proof = proven_render(scene(), tmp_path)
    assert proof.verdict == "replaced" and proof.found_sha256 == file_sha256(other)
    assert file_sha256(proof.path) == proof.sha256 == rendered.sha256, "the camera shows the render, not the copy"
