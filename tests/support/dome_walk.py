"""A simulated dome beside a walker, on a clock the test moves: what the auto-tracking tests of the service share
(the dome's picture is rendered at each frame, the walker's true place is ``walkers_at``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np

from vigie.domain.geometry import Box
from vigie.domain.ptz import DomeOptics, View, project
from vigie.runtime.assembly.autotrack import TrackedDome, TrackedFrame
from vigie.sim.dome import SimulatedDome
from vigie.sim.panorama import Panorama, Walker, walkers_at

WIDTH, HEIGHT = 640, 360
ORIGIN = datetime(2026, 1, 1, tzinfo=UTC)
"""The frames' times are ORIGIN + the dome's clock (any origin works: the subject only compares times it is given)."""
WALKER = 1
"""The walker crossing the square at -3.5°/s, swaying up and down."""


class DomeClock:
    """The dome's clock in seconds, and the service's as instants; moved only by the frames."""

    def __init__(self, now: float = 5.0) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def at(self) -> datetime:
        return ORIGIN + timedelta(seconds=self.now)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def dome_beside_walker(world: Panorama, clock: DomeClock, optics: DomeOptics | None = None) -> SimulatedDome:
    """A dome at its widest zoom, looking 8° of pan beside the walker and 3° above it."""
    optics = optics or DomeOptics()
    walker = walkers_at(clock.now)[WALKER]
    home = optics.from_angles(walker.pan_deg + 8.0, walker.tilt_deg + 3.0, optics.hfov_wide_deg)
    return SimulatedDome(optics, world, clock, home=home)


def operator_box(walker: Walker, view: View) -> Box:
    """The box an operator draws around the walker (its outline projected, with a small margin)."""
    h = walker.height_deg
    half_w = 0.14 * h / np.cos(np.radians(walker.tilt_deg))
    x, y, _ = project(view, walker.pan_deg + np.array([-half_w, half_w] * 2), walker.tilt_deg + np.array([0, 0, h, h]))
    x0, x1, y0, y1 = x.min() - 3, x.max() + 3, y.min() - 3, y.max() + 3
    return Box(x0 / view.width, y0 / view.height, (x1 - x0) / view.width, (y1 - y0) / view.height)


def in_central_third(walker: Walker, view: View) -> bool:
    x, y, front = project(view, walker.pan_deg, walker.tilt_deg + walker.height_deg / 2)
    return (
        bool(front)
        and abs(float(x) - view.width / 2) <= view.width / 6
        and abs(float(y) - view.height / 2) <= (view.height / 6)
    )


class WalkFeed:
    """The dome's pictures as its stream would give them, ``fps`` a second of the dome's clock, ``frames`` of them;
    then the feed waits (a live stream holding its next picture) until :meth:`more` lets more through or
    :meth:`release` ends it. Records, for each frame after the first, whether the walker's true centre was in the
    central third of the picture."""

    def __init__(self, dome: SimulatedDome, clock: DomeClock, *, fps: float = 10.0, frames: int = 100) -> None:
        self.dome, self.clock, self.fps, self.frames = dome, clock, fps, frames
        self.inside: list[bool] = []
        self.given = 0
        self.opened = 0
        self.walked = threading.Event()
        """Set each time the feed has given all the frames it may."""
        self._turn = threading.Condition()
        self._released = False

    def more(self, frames: int) -> None:
        with self._turn:
            self.walked.clear()
            self.frames += frames
            self._turn.notify_all()

    def release(self) -> None:
        with self._turn:
            self._released = True
            self._turn.notify_all()

    def __call__(self, tracked: TrackedDome) -> Iterator[TrackedFrame]:
        self.opened += 1
        return self._frames()

    def _frames(self) -> Iterator[TrackedFrame]:
        while True:
            with self._turn:
                if self.given >= self.frames:
                    self.walked.set()
                    self._turn.wait_for(lambda: self._released or self.given < self.frames, timeout=30)
                if self._released or self.given >= self.frames:
                    return
            if self.given:
                self.clock.advance(1.0 / self.fps)
                self.inside.append(in_central_third(walkers_at(self.clock.now)[WALKER], self.dome.view(WIDTH, HEIGHT)))
            self.given += 1
            yield TrackedFrame(self.dome.frame(WIDTH, HEIGHT), self.clock.at())
