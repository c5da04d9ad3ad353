"""Privacy masks burnt into recordings (L6), verified on the pixels of the written file."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from tests.sim.sample_scenes import small_scene_data
from tests.support.configs import camera_data
from vigie.config.camera import Camera
from vigie.ingest.masking import apply_masks, burn_masks, mask_polygons, mask_raster
from vigie.sim.render import RenderResult, render
from vigie.sim.scene import Scene

WINDOW = ((0.10, 0.05), (0.45, 0.05), (0.45, 0.40), (0.10, 0.40))
"""Upper-left block of windows of the street background."""
DOOR = ((0.70, 0.30), (0.90, 0.30), (0.80, 0.80))
MASKS = (WINDOW, DOOR)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> RenderResult:
    """4 s of a 320×180, 10 fps street with people and a vehicle, H.264 in MP4."""
    out = tmp_path_factory.mktemp("masking") / "source.mp4"
    return render(Scene.model_validate(small_scene_data()), out)


def decode(path: Path, pixel_format: str = "bgr24") -> tuple[list[np.ndarray], list[bool]]:
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    return [frame.to_ndarray(format=pixel_format) for frame in frames], [frame.key_frame for frame in frames]


def well_inside(masks: tuple[tuple[tuple[float, float], ...], ...]) -> np.ndarray:
    """Masked pixels 4 px or more from a mask edge: nearer, the encoder's ringing from the visible side (never
    from the hidden content, which it never saw) can shift stored values by a few levels."""
    raster = mask_raster(masks, 320, 180).astype(np.uint8)
    return cv2.erode(raster, np.ones((9, 9), np.uint8)).astype(bool)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def test_stored_pixels_are_uniform_under_the_masks_and_faithful_elsewhere(source: RenderResult, tmp_path: Path) -> None:
    result = burn_masks(source.video_path, MASKS, tmp_path / "masked.ts")
    assert (result.frames, result.width, result.height, result.fps) == (40, 320, 180, 10)
    original, _ = decode(source.video_path)
    stored, keyframes = decode(result.output)
    assert len(stored) == len(original) == 40
    assert [i for i, key in enumerate(keyframes) if key] == [0, 20], "GOP of 2 s at 10 fps"

    luma, _ = decode(result.output, "gray")
    raster = mask_raster(MASKS, 320, 180)
    inside = well_inside(MASKS)
    outside = ~cv2.dilate(raster.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    for before, after, grey in zip(original, stored, luma, strict=True):
        hidden = grey[inside].astype(np.int16)
        assert hidden.max() - hidden.min() <= 3 and hidden.max() <= 4, "masked pixels are solid black"
        assert psnr(before[outside], after[outside]) > 30
    assert psnr(original[0][inside], stored[0][inside]) < 15, "the hidden content is really gone"


def test_what_was_hidden_cannot_be_recovered_from_the_file(source: RenderResult, tmp_path: Path) -> None:
    """Two different scenes behind the same masks give the same stored pixels under the masks."""
    other = render(Scene.model_validate(small_scene_data(seed=9)), tmp_path / "other.mp4")
    first, _ = decode(burn_masks(source.video_path, MASKS, tmp_path / "a.ts").output, "gray")
    second, _ = decode(burn_masks(other.video_path, MASKS, tmp_path / "b.ts").output, "gray")
    inside = well_inside(MASKS)
    assert first, "no frame decoded"
    for a, b in zip(first, second, strict=True):
        assert np.abs(a[inside].astype(np.int16) - b[inside]).max() <= 3


def test_packets_of_an_open_container_can_be_burnt(source: RenderResult, tmp_path: Path) -> None:
    with av.open(str(source.video_path)) as container:
        result = burn_masks(container.demux(video=0), [DOOR], tmp_path / "door.mp4")
    assert result.frames == 40


def test_a_camera_without_masks_is_remuxed_not_transcoded(source: RenderResult, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="remux"):
        burn_masks(source.video_path, [], tmp_path / "never.ts")
    assert not (tmp_path / "never.ts").exists()


def test_apply_masks_fills_bgr_grey_yuv_and_av_frames_alike() -> None:
    rng = np.random.default_rng(0)
    bgr = rng.integers(30, 220, (180, 320, 3), dtype=np.uint8)
    raster = mask_raster(MASKS, 320, 180)
    masked = apply_masks(bgr, MASKS)
    assert (masked[raster] == 0).all() and (masked[~raster] == bgr[~raster]).all()
    assert (bgr[raster] != 0).any(), "the input is not modified"
    grey = apply_masks(bgr[..., 0], MASKS)
    assert (grey[raster] == 0).all()

    frame = av.VideoFrame.from_ndarray(bgr, format="bgr24")
    frame.pts = 7
    out = apply_masks(frame, MASKS)
    assert out.pts == 7 and out.format.name == "yuv420p"
    planar = out.to_ndarray()
    assert (planar[:180][raster] == 16).all()
    assert (planar[180:][:45].reshape(90, 160)[raster[::2, ::2]] == 128).all()
    assert (apply_masks(frame.to_ndarray(format="yuv420p"), MASKS, "yuv420p") == planar).all()


def test_raster_follows_normalised_polygons_in_whole_2x2_blocks() -> None:
    raster = mask_raster([((0.0, 0.0), (0.5, 0.0), (0.5, 0.5), (0.0, 0.5))], 64, 36)
    assert raster[:18, :32].all() and not raster[20:, :].any() and not raster[:, 34:].any()
    blocks = raster.reshape(18, 2, 32, 2)
    assert (blocks.all(axis=(1, 3)) == blocks.any(axis=(1, 3))).all()


def test_mask_polygons_come_from_the_camera_configuration() -> None:
    data = camera_data()
    data["zones"] = [{"kind": "privacy_mask", "id": "flat-12", "points": [[0.1, 0.1], [0.3, 0.1], [0.2, 0.4]]}]
    assert mask_polygons(Camera.model_validate(data)) == (((0.1, 0.1), (0.3, 0.1), (0.2, 0.4)),)
    assert mask_polygons(Camera.model_validate(camera_data())) == ()
