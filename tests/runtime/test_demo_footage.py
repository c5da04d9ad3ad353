"""``vigie demo`` analyses its cameras without an activation only because their footage is simulated (issue 14
D14): a video copied into the demo's scene cache under a render's name must not be what a camera shows."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.support.videos import write_moving_square_video
from vigie.runtime.assembly.demo_scenes import render_demo_scenes
from vigie.sim.rtsp import file_sha256


def test_a_video_swapped_into_the_scene_cache_is_replaced_by_the_render(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "demo"
    footage = render_demo_scenes(data, 1)["sim1"]
    rendered = file_sha256(footage)
    other = write_moving_square_video(tmp_path / "OTHER.mp4", seconds=2)
    footage.write_bytes(other.read_bytes())  # cp OTHER.mp4 demo/scenes/street-<hash>.mp4

    with caplog.at_level(logging.WARNING, logger="vigie.runtime.assembly.demo_scenes"):
        again = render_demo_scenes(data, 1)["sim1"]
    assert again == footage and file_sha256(again) == rendered, "the simulated camera shows the scene's render"
    assert file_sha256(again) != file_sha256(other)
    warning = " ".join(r.getMessage() for r in caplog.records)
    assert "not the render of the scene" in warning and file_sha256(other)[:16] in warning
