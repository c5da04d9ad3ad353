"""Masks that follow a moving dome, tested on pixels: a private window painted in the simulated dome's panorama
never shows in a masked frame, while the dome pans across it with the picture arriving late."""

from __future__ import annotations

from collections import deque

import numpy as np
import numpy.typing as npt
import pytest

from vigie.devices.dome_masking import DomeMasker, DomeMaskSpec, PositionTrack, Reading
from vigie.devices.masks import PtzMask
from vigie.domain.ptz import DomeOptics, PtzVector
from vigie.sim.dome import SimulatedDome, render
from vigie.sim.panorama import Panorama, PanoramaSpec

WINDOW = PtzMask("voisin", ((20.0, 0.0), (30.0, 0.0), (30.0, 8.0), (20.0, 8.0)))
"""The window, in world degrees: painted magenta in the panorama, masked by the dome."""
WIDTH, HEIGHT = 320, 180


class Clock:
    def __init__(self) -> None:
        self.t = 1_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def scenes() -> tuple[Panorama, Panorama]:
    """The same panorama without and with the window painted (the window is what differs between them)."""
    plain = Panorama(PanoramaSpec(2048, 768, seed=3))
    painted = Panorama.__new__(Panorama)
    painted.spec = plain.spec
    image = plain.image.copy()
    xs, ys = plain.pixel_of(np.array([20.0, 30.0]), np.array([8.0, 0.0]))
    image[round(ys[0]) : round(ys[1]), round(xs[0]) : round(xs[1])] = (255, 0, 255)
    image.setflags(write=False)
    painted.image = image
    return plain, painted


def window_pixels(frame: npt.NDArray[np.uint8], reference: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Pixels where the painted window shows (the frame differs from the plain scene's)."""
    return np.abs(frame.astype(int) - reference.astype(int)).max(axis=2) > 24


def spec(**kw: float) -> DomeMaskSpec:
    return DomeMaskSpec(
        "dome", (WINDOW,), DomeOptics(), "127.0.0.1", 80, "u", "p", poll_s=0.1, video_delay_s=kw.get("delay", 0.3)
    )


def run(
    dome: SimulatedDome, plain: Panorama, clock: Clock, masker: DomeMasker, seconds: float, latency: float
) -> list[tuple[int, int, float]]:
    """Drive the clock in 10-ms ticks: a reading every 100 ms, a frame exposed every 40 ms and arriving ``latency``
    later, masked once a reading after its arrival exists. Returns per frame: the window's pixels in the picture,
    those of them the mask leaves visible, and the fraction of the frame hidden."""
    start = clock.t
    pending: deque[tuple[float, npt.NDArray[np.bool_]]] = deque()
    out = []
    for tick in range(round(seconds / 0.01)):
        clock.t = start + tick * 0.01
        if tick % 10 == 0:
            masker.track.poll_once()
        if tick % 4 == 0:
            view = dome.view(WIDTH, HEIGHT)
            pending.append((clock.t + latency, window_pixels(dome.frame(WIDTH, HEIGHT), render(plain, view))))
        while pending and tick % 10 == 0 and pending[0][0] <= clock.t:
            arrival, window = pending.popleft()
            hidden = masker.raster(arrival, WIDTH, HEIGHT)
            out.append((int(window.sum()), int((window & ~hidden).sum()), float(hidden.mean())))
    return out


def test_the_window_stays_hidden_while_the_dome_pans_across_it(scenes: tuple[Panorama, Panorama]) -> None:
    plain, painted = scenes
    clock = Clock()
    optics = DomeOptics()
    dome = SimulatedDome(optics, painted, clock, home=optics.from_angles(-15.0, 4.0, 40.0), walkers=False)
    track = PositionTrack("dome", lambda: dome.status().position, clock, 0.1, history_s=5.0)
    masker = DomeMasker(spec(), track)
    warm_up = run(dome, plain, clock, masker, 0.5, latency=0.15)  # still: the window is out of view
    assert masker.blanked == 4 and all(fraction == 1.0 for _, _, fraction in warm_up[:4])  # no reading before them
    dome.continuous_move(PtzVector(0.25, 0.0, 0.0))  # 30°/s to the right: the window crosses the picture
    frames = run(dome, plain, clock, masker, 2.5, latency=0.15)
    dome.stop()
    frames += run(dome, plain, clock, masker, 1.0, latency=0.15)
    seen = [f for f in frames if f[0] > 50]
    assert len(seen) >= 20, "the window never crossed the picture: the test shows nothing"
    assert all(after == 0 for _, after, _ in frames), [after for _, after, _ in frames]
    # the masks are widened while moving, not the whole picture: the rest of the scene stays visible
    assert max(fraction for _, _, fraction in frames) < 0.6
    assert masker.blanked == 4


def test_a_still_dome_costs_one_projection(scenes: tuple[Panorama, Panorama]) -> None:
    plain, painted = scenes
    clock = Clock()
    optics = DomeOptics()
    dome = SimulatedDome(optics, painted, clock, home=optics.from_angles(25.0, 4.0, 40.0), walkers=False)
    masker = DomeMasker(spec(), PositionTrack("dome", lambda: dome.status().position, clock, 0.1, 5.0))
    frames = run(dome, plain, clock, masker, 1.0, latency=0.1)
    assert frames and all(before > 0 and after == 0 for before, after, _ in frames)
    first = masker.raster(clock.t - 0.2, WIDTH, HEIGHT)
    assert masker.raster(clock.t - 0.25, WIDTH, HEIGHT) is first  # cached while the dome stands still
    # tight: the window's share of the picture, plus its margin
    assert first.mean() < 2.0 * frames[0][0] / (WIDTH * HEIGHT)


def test_frames_without_a_known_position_are_blanked() -> None:
    clock = Clock()
    failing = PositionTrack("dome", lambda: (_ for _ in ()).throw(ConnectionError("no route")), clock, 0.1, 5.0)
    masker = DomeMasker(spec(), failing)
    for _ in range(3):
        failing.poll_once()
    assert failing.failures == 3
    assert masker.raster(clock.t, WIDTH, HEIGHT).all()  # no reading at all (waits wait_s, then blanks)
    assert masker.blanked == 1


def test_a_gap_in_the_readings_blanks_the_frames_it_covers() -> None:
    clock = Clock()
    track = PositionTrack("dome", lambda: PtzVector(0.0, 0.0, 0.0), clock, 0.1, 10.0)
    masker = DomeMasker(spec(), track)
    here = PtzVector(0.1, 0.0, 0.0)
    track.add(Reading(990.0, 990.01, here))
    track.add(Reading(993.0, 993.01, here))  # three seconds without an answer in between
    assert masker.raster(992.0, WIDTH, HEIGHT).all()
    track.add(Reading(993.1, 993.11, here))
    assert masker.raster(993.05, WIDTH, HEIGHT).all()  # exposed as early as 992.75: within the gap
    track.add(Reading(993.5, 993.51, here))
    assert not masker.raster(993.4, WIDTH, HEIGHT).all()  # exposed 993.1..993.4: between readings 0.4 s apart


def test_a_reading_before_the_window_is_needed() -> None:
    clock = Clock()
    track = PositionTrack("dome", lambda: PtzVector(0.0, 0.0, 0.0), clock, 0.1, 10.0)
    masker = DomeMasker(spec(delay=0.5), track)
    track.add(Reading(1_000.0, 1_000.01, PtzVector(0.0, 0.0, 0.0)))
    track.add(Reading(1_000.1, 1_000.11, PtzVector(0.0, 0.0, 0.0)))
    # a frame at 1000.05 may have been exposed at 999.55, before the first reading: where the dome was is unknown
    assert masker.raster(1_000.05, WIDTH, HEIGHT).all()
    assert masker.blanked == 1
