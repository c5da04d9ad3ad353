"""PTZ geometry: generic positions ↔ world angles, and the projection shared by the renderer and the masks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vigie.domain.ptz import DomeOptics, PtzError, PtzVector, View, check_position, project, unproject


def test_generic_positions_map_to_the_documented_angles() -> None:
    optics = DomeOptics()
    assert optics.to_angles(PtzVector(0.0, -1.0, 0.0)) == pytest.approx((0.0, -90.0, 60.0))
    assert optics.to_angles(PtzVector(0.5, 1.0, 1.0)) == pytest.approx((90.0, 10.0, 3.0))
    # an endless dome: +1 and -1 are the same direction, reported as -180
    assert optics.pan_deg(1.0) == pytest.approx(-180.0)
    # zoom is logarithmic in magnification: half way is the square root of the ratio
    half = optics.hfov_deg(0.5)
    ratio = math.tan(math.radians(30)) / math.tan(math.radians(half / 2))
    assert ratio == pytest.approx(math.sqrt(optics.magnification))


@pytest.mark.parametrize("angles", [(0.0, 0.0, 60.0), (-135.5, -42.0, 12.0), (179.0, 10.0, 3.0), (45.0, -90.0, 25.0)])
def test_from_angles_inverts_to_angles(angles: tuple[float, float, float]) -> None:
    optics = DomeOptics()
    assert optics.to_angles(optics.from_angles(*angles)) == pytest.approx(angles)


def test_from_angles_clamps_to_what_the_dome_reaches() -> None:
    optics = DomeOptics(pan_range_deg=340.0)
    vector = optics.from_angles(200.0, 30.0, 90.0)
    assert vector == PtzVector(1.0, 1.0, 0.0)


def test_out_of_range_positions_are_refused_with_the_axis_named() -> None:
    with pytest.raises(PtzError, match=r"zoom position 1\.5"):
        check_position(PtzVector(0.0, 0.0, 1.5))
    with pytest.raises(PtzError, match="pan position nan"):
        check_position(PtzVector(float("nan"), 0.0, 0.0))


def test_project_and_unproject_are_inverse_and_centre_is_the_view_direction() -> None:
    view = View(pan_deg=170.0, tilt_deg=-30.0, hfov_deg=40.0, width=640, height=360)
    pan, tilt = unproject(view, 320.0, 180.0)
    assert (float(pan), float(tilt)) == pytest.approx((170.0, -30.0))
    xs, ys = np.meshgrid(np.linspace(0, 640, 9), np.linspace(0, 360, 7))
    pans, tilts = unproject(view, xs, ys)
    x, y, front = project(view, pans, tilts)
    assert front.all()
    assert np.allclose(x, xs, atol=1e-6) and np.allclose(y, ys, atol=1e-6)
    # the right edge's ray: tan(20°) to the right of the axis, i.e. further in pan than 20° on a tilted camera,
    # across the ±180 seam, and closer to the horizon
    edge_pan, edge_tilt = unproject(view, 640.0, 180.0)
    half = math.radians(20.0)
    expected_pan = 170.0 + math.degrees(math.atan(math.tan(half) / math.cos(math.radians(30.0)))) - 360.0
    expected_tilt = math.degrees(math.asin(math.sin(math.radians(-30.0)) * math.cos(half)))
    assert (float(edge_pan), float(edge_tilt)) == pytest.approx((expected_pan, expected_tilt))


def test_points_behind_the_camera_are_flagged() -> None:
    view = View(pan_deg=0.0, tilt_deg=0.0, hfov_deg=60.0, width=640, height=360)
    _, _, front = project(view, np.array([0.0, 180.0, 95.0]), np.array([0.0, 0.0, 0.0]))
    assert front.tolist() == [True, False, False]
