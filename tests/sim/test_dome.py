"""The simulated PTZ dome: it moves at the commanded speeds on an injected clock, and its picture shows the part of
the panorama it points at (checked on pixels)."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

from vigie.domain.ptz import DomeOptics, PresetLimitError, PtzError, PtzVector, UnknownPresetError, View, project
from vigie.sim.dome import SimulatedDome, render
from vigie.sim.panorama import Panorama, PanoramaSpec, panorama, walkers_at

WIDTH, HEIGHT = 640, 360


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="module")
def world() -> Panorama:
    return panorama()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def dome(world: Panorama, clock: ManualClock) -> SimulatedDome:
    return SimulatedDome(DomeOptics(), world, clock, walkers=False)


def angles(dome: SimulatedDome) -> tuple[float, float, float]:
    return dome.optics.to_angles(dome.status().position)


def settle(dome: SimulatedDome, clock: ManualClock) -> None:
    """Let the current move finish (every move ends within 10 s on the default optics)."""
    clock.advance(10.0)
    assert not dome.status().moving


def locate(frame: np.ndarray, world: Panorama, pan: float, tilt: float, scale: float) -> tuple[float, float]:
    """Where a 64×64 patch of the panorama centred on (pan, tilt), scaled by ``scale``, is found in ``frame``
    (the panorama stretches a degree of pan by 1/cos(tilt): the patch is narrowed back)."""
    x, y = (float(v) for v in world.pixel_of(pan, tilt))
    patch = world.image[round(y) - 32 : round(y) + 32, round(x) - 32 : round(x) + 32]
    patch = cv2.resize(
        patch,
        None,
        fx=scale * np.cos(np.radians(tilt)),
        fy=scale,
        interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
    )
    scores = cv2.matchTemplate(frame, patch, cv2.TM_CCOEFF_NORMED)
    _, best, _, (left, top) = cv2.minMaxLoc(scores)
    assert best > 0.8, f"the patch at pan {pan}, tilt {tilt} is not in the picture (best score {best:.2f})"
    return left + patch.shape[1] / 2, top + patch.shape[0] / 2


@pytest.mark.parametrize(
    ("pan", "tilt", "hfov"),
    [(0.0, 0.0, 28.125), (-97.0, -20.0, 28.125), (178.5, 5.0, 28.125), (63.0, -45.0, 28.125), (12.0, -4.0, 9.0)],
)
def test_after_an_absolute_move_the_picture_shows_the_panorama_there(
    dome: SimulatedDome, clock: ManualClock, world: Panorama, pan: float, tilt: float, hfov: float
) -> None:
    target = dome.optics.from_angles(pan, tilt, hfov)
    dome.absolute_move(target)
    settle(dome, clock)
    assert angles(dome) == pytest.approx((pan, tilt, hfov))
    frame = dome.frame(WIDTH, HEIGHT)
    view = View(pan, tilt, hfov, WIDTH, HEIGHT)
    scale = view.focal_px * np.radians(world.spec.deg_per_px)  # frame pixels per panorama pixel at the centre
    # the centre, and points off it (across the ±180 seam for one view): each found where the projection puts it
    for d_pan, d_tilt in ((0.0, 0.0), (0.15 * hfov, 0.08 * hfov), (-0.12 * hfov, -0.08 * hfov)):
        expected_x, expected_y, front = project(view, pan + d_pan, tilt + d_tilt)
        assert front
        found_x, found_y = locate(frame, world, pan + d_pan, tilt + d_tilt, float(scale))
        assert abs(found_x - float(expected_x)) <= 0.01 * WIDTH
        assert abs(found_y - float(expected_y)) <= 0.01 * WIDTH


def survey_markers(frame: np.ndarray) -> list[tuple[float, float]]:
    """Centres of the panorama's survey markers (red rings around a white dot) seen in ``frame``."""
    blue, green, red = (frame[..., c].astype(np.int16) for c in range(3))
    ring = ((red > 180) & (green < 70) & (blue < 70)).astype(np.uint8)
    _, _, stats, centres = cv2.connectedComponentsWithStats(ring)
    return [
        (float(x), float(y))
        for (x, y), area in zip(centres[1:], stats[1:, cv2.CC_STAT_AREA], strict=True)
        if area >= 12
    ]


@pytest.mark.parametrize(("pan", "tilt", "hfov"), [(7.0, -8.0, 40.0), (-172.0, -50.0, 45.0), (97.0, -5.0, 32.0)])
def test_survey_markers_appear_where_their_angles_project(
    dome: SimulatedDome, clock: ManualClock, pan: float, tilt: float, hfov: float
) -> None:
    """The panorama's markers sit every 15° of pan and tilt: each one in view is drawn within 1 % of the frame
    width of where its angles project (across the frame, tilted views and the ±180° seam included)."""
    dome.absolute_move(dome.optics.from_angles(pan, tilt, hfov))
    settle(dome, clock)
    frame = dome.frame(WIDTH, HEIGHT)
    view = dome.view(WIDTH, HEIGHT)
    found = survey_markers(frame)
    grid_pan, grid_tilt = np.meshgrid(np.arange(-180.0, 180.0, 15.0), np.arange(-75.0, 45.0, 15.0))
    x, y, front = project(view, grid_pan, grid_tilt)
    inside = front & (x > 10) & (x < WIDTH - 10) & (y > 10) & (y < HEIGHT - 10)
    assert inside.sum() >= 2
    for ex, ey in zip(x[inside], y[inside], strict=True):
        nearest = min(np.hypot(fx - ex, fy - ey) for fx, fy in found)
        assert nearest <= 0.01 * WIDTH, f"no marker drawn near ({ex:.0f}, {ey:.0f}): nearest {nearest:.1f} px"


def test_different_positions_show_different_pictures(dome: SimulatedDome, clock: ManualClock) -> None:
    frames = []
    for pan in (-120.0, 0.0, 120.0):
        dome.absolute_move(dome.optics.from_angles(pan, -10.0, 40.0))
        settle(dome, clock)
        frames.append(dome.frame(WIDTH, HEIGHT).astype(np.int16))
    for a, b in ((0, 1), (1, 2), (0, 2)):
        assert np.abs(frames[a] - frames[b]).mean() > 20


def test_preset_recall_returns_to_the_position_and_the_picture(dome: SimulatedDome, clock: ManualClock) -> None:
    dome.absolute_move(dome.optics.from_angles(-33.0, -18.0, 15.0))
    settle(dome, clock)
    stored = dome.frame(WIDTH, HEIGHT)
    token = dome.set_preset("Entrée mairie")
    dome.continuous_move(PtzVector(0.7, 0.4, 0.2))
    clock.advance(1.3)
    dome.stop()
    assert abs(angles(dome)[0] - -33.0) > 50
    dome.goto_preset(token, PtzVector(0.5, 0.5, 0.5))
    clock.advance(0.2)
    assert dome.status().moving
    settle(dome, clock)
    pan, tilt, _ = angles(dome)
    assert abs(pan - -33.0) <= 0.01 * 15.0 and abs(tilt - -18.0) <= 0.01 * 15.0
    recalled = dome.frame(WIDTH, HEIGHT)
    (shift_x, shift_y), _ = cv2.phaseCorrelate(
        cv2.cvtColor(stored, cv2.COLOR_BGR2GRAY).astype(np.float32),
        cv2.cvtColor(recalled, cv2.COLOR_BGR2GRAY).astype(np.float32),
    )
    assert abs(shift_x) <= 0.01 * WIDTH and abs(shift_y) <= 0.01 * WIDTH
    assert np.abs(stored.astype(np.int16) - recalled).mean() < 2.0
    assert [(p.token, p.name) for p in dome.presets()] == [(token, "Entrée mairie")]


def test_presets_are_bounded_named_once_and_refused_by_unknown_token(dome: SimulatedDome) -> None:
    tokens = [dome.set_preset(f"P{n}") for n in range(64)]
    assert len(set(tokens)) == 64
    with pytest.raises(PresetLimitError, match="64 presets at most"):
        dome.set_preset("one too many")
    dome.remove_preset(tokens[10])
    assert dome.set_preset("again") == tokens[10]
    with pytest.raises(PtzError, match="named 'P3' exists"):
        dome.set_preset("P3")
    assert dome.set_preset("P3", tokens[3]) == tokens[3]  # overwriting a preset keeps its name
    with pytest.raises(UnknownPresetError, match="no preset with token 'nope'"):
        dome.goto_preset("nope")
    with pytest.raises(UnknownPresetError):
        dome.remove_preset("nope")


def test_home_is_the_horizon_until_set(dome: SimulatedDome, clock: ManualClock) -> None:
    dome.absolute_move(PtzVector(0.4, -0.5, 0.5))
    settle(dome, clock)
    dome.goto_home()
    settle(dome, clock)
    assert angles(dome) == pytest.approx((0.0, 0.0, 60.0))
    dome.absolute_move(PtzVector(0.4, -0.5, 0.5))
    settle(dome, clock)
    dome.set_home()
    dome.absolute_move(PtzVector(0.0, 0.0, 0.0))
    settle(dome, clock)
    dome.goto_home()
    settle(dome, clock)
    position = dome.status().position
    assert (position.pan, position.tilt, position.zoom) == pytest.approx((0.4, -0.5, 0.5))


def test_continuous_move_runs_at_the_commanded_speed_until_stop(dome: SimulatedDome, clock: ManualClock) -> None:
    dome.continuous_move(PtzVector(0.25, -0.25, 0.0))
    clock.advance(2.0)
    status = dome.status()
    assert status.moving and status.at == clock.now
    pan, tilt, _ = angles(dome)
    assert pan == pytest.approx(0.25 * 120.0 * 2.0)
    assert tilt == pytest.approx(-0.25 * 120.0 * 2.0)
    clock.advance(0.5)
    dome.stop()
    clock.advance(3.0)
    assert not dome.status().moving
    assert angles(dome)[0] == pytest.approx(0.25 * 120.0 * 2.5)


def test_continuous_move_stops_at_its_timeout(dome: SimulatedDome, clock: ManualClock) -> None:
    dome.continuous_move(PtzVector(-0.1, 0.0, 1.0), timeout_s=1.5)
    clock.advance(1.0)
    assert dome.status().moving
    clock.advance(4.0)
    status = dome.status()
    assert not status.moving
    pan, _, _ = angles(dome)
    assert pan == pytest.approx(-0.1 * 120.0 * 1.5)
    assert status.position.zoom == pytest.approx(1.5 / 3.0)  # full zoom range in 3 s


def test_absolute_move_takes_the_time_its_speed_gives(dome: SimulatedDome, clock: ManualClock) -> None:
    dome.absolute_move(dome.optics.from_angles(90.0, 0.0, 60.0), PtzVector(0.5, 0.0, 0.0))  # 60°/s
    clock.advance(1.0)
    assert dome.status().moving
    assert angles(dome)[0] == pytest.approx(60.0)
    clock.advance(0.5)
    assert not dome.status().moving
    assert angles(dome)[0] == pytest.approx(90.0)


def test_pan_wraps_around_and_tilt_and_zoom_stop_at_their_ends(dome: SimulatedDome, clock: ManualClock) -> None:
    dome.absolute_move(dome.optics.from_angles(170.0, 0.0, 60.0))
    settle(dome, clock)
    dome.continuous_move(PtzVector(1 / 3, 0.0, 0.0))  # 40°/s
    clock.advance(0.5)
    assert angles(dome)[0] == pytest.approx(-170.0)
    dome.absolute_move(dome.optics.from_angles(170.0, 0.0, 60.0))  # the short way: 20° back, not 340°
    clock.advance(20.0 / 120.0 + 1e-9)
    assert not dome.status().moving
    assert angles(dome)[0] == pytest.approx(170.0)
    dome.relative_move(PtzVector(1.0, 0.0, 0.0))  # half a turn clockwise, the way it was told
    clock.advance(0.5)
    assert angles(dome)[0] == pytest.approx(-130.0)
    settle(dome, clock)
    assert angles(dome)[0] == pytest.approx(-10.0)
    dome.continuous_move(PtzVector(0.0, 1.0, 1.0))
    clock.advance(30.0)
    status = dome.status()
    assert not status.moving  # at the ends of tilt and zoom the move is over
    assert status.position.tilt == 1.0 and status.position.zoom == 1.0
    assert angles(dome)[1:] == pytest.approx((10.0, 3.0))
    dome.relative_move(PtzVector(0.0, 0.5, 0.5))
    settle(dome, clock)
    position = dome.status().position
    assert (position.pan, position.tilt, position.zoom) == pytest.approx((-10.0 / 180.0, 1.0, 1.0))


def test_bad_commands_are_refused_with_the_value_named(dome: SimulatedDome) -> None:
    with pytest.raises(PtzError, match=r"tilt position -1\.2"):
        dome.absolute_move(PtzVector(0.0, -1.2, 0.0))
    with pytest.raises(PtzError, match="zoom velocity 2"):
        dome.continuous_move(PtzVector(0.0, 0.0, 2.0))
    with pytest.raises(PtzError, match="timeout"):
        dome.continuous_move(PtzVector(0.1, 0.0, 0.0), timeout_s=0)
    with pytest.raises(PtzError, match=r"pan speed 1\.5"):
        dome.absolute_move(PtzVector(0.0, 0.0, 0.0), PtzVector(1.5, 1.0, 1.0))
    with pytest.raises(PtzError, match="pan translation 3"):
        dome.relative_move(PtzVector(3.0, 0.0, 0.0))


def test_walkers_are_drawn_where_they_are_and_move_with_time(world: Panorama, clock: ManualClock) -> None:
    dome = SimulatedDome(DomeOptics(), world, clock)
    walker = walkers_at(clock.now + 10.0)[0]
    dome.absolute_move(dome.optics.from_angles(walker.pan_deg, walker.tilt_deg + walker.height_deg / 2, 20.0))
    clock.advance(10.0)
    walker = walkers_at(clock.now)[0]
    view = dome.view(WIDTH, HEIGHT)
    x, y, _ = project(view, walker.pan_deg, walker.tilt_deg + walker.height_deg / 2)
    with_people = dome.frame(WIDTH, HEIGHT)
    empty = render(world, view)
    changed = np.abs(with_people.astype(np.int16) - empty).sum(axis=2) > 30
    ys, xs = np.nonzero(changed)
    assert len(xs) > 200
    assert abs(xs.mean() - float(x)) < 0.05 * WIDTH and abs(ys.mean() - float(y)) < 0.05 * WIDTH
    clock.advance(5.0)
    assert walkers_at(clock.now)[0].pan_deg != pytest.approx(walker.pan_deg)


def test_moves_and_frames_from_several_threads(dome: SimulatedDome) -> None:
    errors: list[Exception] = []

    def drive() -> None:
        try:
            for n in range(50):
                dome.continuous_move(PtzVector(((n % 5) - 2) / 4, 0.1, 0.0))
                dome.status()
        except Exception as err:
            errors.append(err)

    def watch() -> None:
        try:
            for _ in range(10):
                assert dome.frame(160, 90).shape == (90, 160, 3)
        except Exception as err:
            errors.append(err)

    threads = [threading.Thread(target=drive), threading.Thread(target=watch), threading.Thread(target=drive)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_the_panorama_is_the_same_for_a_seed_and_differs_between_seeds() -> None:
    small = PanoramaSpec(width=1024, height=384, seed=7)
    first, again = Panorama(small), Panorama(small)
    other = Panorama(PanoramaSpec(width=1024, height=384, seed=8))
    assert np.array_equal(first.image, again.image)
    assert np.abs(first.image.astype(np.int16) - other.image).mean() > 10
    assert panorama(small) is panorama(small)  # drawn once per process
    with pytest.raises(ValueError, match="more than 180° of tilt"):
        PanoramaSpec(width=1024, height=600)
