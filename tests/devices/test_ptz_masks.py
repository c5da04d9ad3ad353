"""Privacy masks on a PTZ dome stay on their window while the dome moves (checked on the simulated dome's pixels),
and a dome with masks but no position feedback is refused."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vigie.devices.masks import (
    MaskingRefusedError,
    PtzMask,
    apply_ptz_masks,
    mask_raster,
    masking_refusal,
    project_mask,
    require_trustworthy_masking,
)
from vigie.domain.camera import CameraKind
from vigie.domain.ptz import DomeOptics, PtzVector, View, unproject
from vigie.sim.dome import SimulatedDome
from vigie.sim.panorama import panorama

WIDTH, HEIGHT = 640, 360


class ManualClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def rectangle(name: str, pan: tuple[float, float], tilt: tuple[float, float]) -> PtzMask:
    return PtzMask(name, ((pan[0], tilt[0]), (pan[1], tilt[0]), (pan[1], tilt[1]), (pan[0], tilt[1])))


def window_pixels(view: View, pan: tuple[float, float], tilt: tuple[float, float]) -> np.ndarray:
    """Pixels whose centre looks into the window (the ground truth: every pixel's ray, independent of the mask's
    polygon); pan bounds may straddle the seam (pan[0] > pan[1])."""
    xs, ys = np.meshgrid(np.arange(view.width) + 0.5, np.arange(view.height) + 0.5)
    pans, tilts = unproject(view, xs, ys)
    in_pan = (pans >= pan[0]) & (pans <= pan[1]) if pan[0] <= pan[1] else (pans >= pan[0]) | (pans <= pan[1])
    return in_pan & (tilts >= tilt[0]) & (tilts <= tilt[1])


def check_mask_on_window(frame: np.ndarray, view: View, pan: tuple[float, float], tilt: tuple[float, float]) -> int:
    """Every pixel of the window is black after masking; nothing farther than 4 px from it changed. Returns how
    many window pixels the frame holds."""
    masked = apply_ptz_masks(frame, [rectangle("window", pan, tilt)], view)
    window = window_pixels(view, pan, tilt)
    assert (masked[window] == 0).all(), "a pixel of the private window is visible"
    near = cv2.dilate(window.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    changed = (masked != frame).any(axis=2)
    assert not (changed & ~near).any(), "the mask hides pixels away from its window"
    return int(window.sum())


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def dome(clock: ManualClock) -> SimulatedDome:
    return SimulatedDome(DomeOptics(), panorama(), clock)


def test_a_mask_stays_on_its_window_while_the_dome_pans_tilts_and_zooms(
    dome: SimulatedDome, clock: ManualClock
) -> None:
    pan, tilt = (20.0, 24.0), (3.0, 7.0)  # the upper floors of a building on the square
    dome.absolute_move(dome.optics.from_angles(18.0, 2.0, 50.0))
    clock.now += 10.0
    dome.continuous_move(PtzVector(0.02, 0.01, 0.25))  # 2.4°/s right, 1.2°/s up, zooming in
    seen = []
    for _ in range(8):
        view = dome.view(WIDTH, HEIGHT)
        seen.append(check_mask_on_window(dome.frame(WIDTH, HEIGHT), view, pan, tilt))
        clock.now += 0.5
    assert min(seen) > 0 and max(seen) > 4 * min(seen)  # in view throughout, and growing with the zoom


@pytest.mark.parametrize(
    ("angles", "pan", "tilt"),
    [
        ((0.0, 0.0, 40.0), (15.0, 35.0), (-12.0, 2.0)),  # partly out of the frame on the right
        ((179.0, -30.0, 30.0), (174.0, -176.0), (-40.0, -25.0)),  # across the ±180° seam
        ((80.0, 0.0, 60.0), (-60.0, 60.0), (-5.0, 5.0)),  # some vertices behind the dome
        ((-90.0, -85.0, 60.0), (-100.0, -80.0), (-80.0, -70.0)),  # looking down near the nadir
    ],
)
def test_masks_are_clipped_where_they_leave_the_frame(
    dome: SimulatedDome,
    clock: ManualClock,
    angles: tuple[float, float, float],
    pan: tuple[float, float],
    tilt: tuple[float, float],
) -> None:
    dome.absolute_move(dome.optics.from_angles(*angles))
    clock.now += 10.0
    view = dome.view(WIDTH, HEIGHT)
    assert check_mask_on_window(dome.frame(WIDTH, HEIGHT), view, pan, tilt) > 0


def test_a_mask_behind_the_dome_hides_nothing() -> None:
    view = View(0.0, 0.0, 60.0, WIDTH, HEIGHT)
    behind = rectangle("behind", (170.0, -170.0), (-5.0, 5.0))
    assert project_mask(behind, view) is None
    assert not mask_raster([behind], view).any()


def test_masks_fill_whole_blocks_black_and_keep_the_input() -> None:
    view = View(0.0, 0.0, 60.0, 64, 36)
    frame = np.full((36, 64, 3), 200, np.uint8)
    masked = apply_ptz_masks(frame, [rectangle("w", (-3.0, 3.0), (-3.0, 3.0))], view)
    hidden = (masked == 0).all(axis=2)
    assert hidden.any() and (frame == 200).all()
    blocks = hidden.reshape(18, 2, 32, 2)
    assert (blocks.all(axis=(1, 3)) == blocks.any(axis=(1, 3))).all()
    with pytest.raises(ValueError, match="not the view's 64×36"):
        apply_ptz_masks(np.zeros((10, 10, 3), np.uint8), [], view)


def test_a_mask_needs_a_polygon_of_directions() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        PtzMask("line", ((0.0, 0.0), (1.0, 1.0)))
    with pytest.raises(ValueError, match=r"tilt in -90\.\.90"):
        PtzMask("sky", ((0.0, 0.0), (1.0, 100.0), (2.0, 0.0)))


def test_a_dome_with_masks_and_no_position_feedback_refuses_to_record() -> None:
    masks = [rectangle("w", (0.0, 1.0), (0.0, 1.0))]
    reason = masking_refusal("cam-002", CameraKind.PTZ, masks, position_feedback=False)
    assert reason is not None
    assert "cam-002" in reason and "does not report its position" in reason and "GetStatus" in reason
    with pytest.raises(MaskingRefusedError, match="cam-002"):
        require_trustworthy_masking("cam-002", CameraKind.PTZ, masks, position_feedback=False)
    assert masking_refusal("cam-002", CameraKind.PTZ, masks, position_feedback=True) is None
    assert masking_refusal("cam-002", CameraKind.PTZ, [], position_feedback=False) is None
    assert masking_refusal("cam-001", CameraKind.FIXED, masks, position_feedback=False) is None
