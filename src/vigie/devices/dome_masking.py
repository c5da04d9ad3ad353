"""Privacy masks that follow a moving dome (L6): the dome's position read continuously, each frame masked with
every position the dome can have had while that frame was taken.

A frame arriving at ``at`` was exposed at most ``video_delay_s`` earlier (encoding, network; the recorder's
timestamps are anchored on the least delayed packet, so never later than the exposure plus the shortest delay). The
dome's position is read every ``poll_s`` (ONVIF ``GetStatus``) by :class:`PositionTrack`, each reading stamped with
the interval during which it was true (request sent → answer received, on the service's clock). A frame's mask is
the union, over the readings bracketing ``[at - video_delay_s, at]`` and the positions between consecutive readings
(interpolated in steps of an eighth of the field of view, and swept: the convex hull of a mask's projections at two
neighbouring positions), of the projections of the masks (:mod:`vigie.devices.masks`). So a frame waits for a
reading taken after it (``poll_s`` at most, plus the round trip: the delay the masks add to recording and live),
a still dome costs one projection (cached), and a moving dome's masks are widened over its motion, never late.

It fails closed: a frame with no reading before its window (the track just started), a gap between readings longer
than :data:`MAX_GAP_POLLS` periods (the dome stopped answering), no reading after it within :attr:`wait_s`, or a
motion too wide to sweep (:data:`MAX_STEPS`) is blanked entirely, and counted; a dome that never answers records
black frames, never unmasked ones.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import math
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from vigie.devices.masks import PtzMask, project_mask
from vigie.devices.onvif import OnvifPtz
from vigie.domain.ptz import DomeOptics, PtzVector, View, wrap_deg

log = logging.getLogger(__name__)

Raster = npt.NDArray[np.bool_]

MAX_GAP_POLLS: Final = 5
"""Readings further apart than this many polling periods (at least a second) leave the dome's path unknown."""
MAX_STEPS: Final = 96
"""Positions swept for one frame; a wider motion within a frame's window blanks the frame."""
STEP_FIELDS: Final = 0.125
"""Interpolation step between readings, as a fraction of the narrowest field of view of the two."""
ZOOM_STEP: Final = 1.25
"""Interpolation step of the field of view between readings (ratio)."""
MARGIN_PX: Final = 2.0
"""Widening of every mask (the position's rounding, the picture's interpolation)."""


@dataclass(frozen=True, slots=True)
class DomeMaskSpec:
    """A dome's pan/tilt privacy masks and how to read its position (picklable: built by the runtime, sent to the
    recorder and analysis workers, which poll the dome themselves)."""

    camera_id: str
    masks: tuple[PtzMask, ...]
    optics: DomeOptics
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    profile: str | None = None
    poll_s: float = 0.1
    video_delay_s: float = 0.5

    @property
    def wait_s(self) -> float:
        """How long a frame waits for a reading taken after it before it is blanked."""
        return max(1.0, MAX_GAP_POLLS * self.poll_s)


@dataclass(frozen=True, slots=True)
class Reading:
    """The dome's position, true at some instant between ``sent`` and ``received`` (seconds, service clock)."""

    sent: float
    received: float
    position: PtzVector


class PositionTrack:
    """The dome's position read every ``poll_s`` on a thread (:meth:`start`/:meth:`close`), kept for
    ``history_s``; :meth:`readings` hands a frame the readings that bracket its window, waiting for the one after.

    ``read`` returns the dome's position (``PtzDevice.status().position``); it may raise anything (the dome does
    not answer): the failure is logged once per :data:`LOG_EVERY_S`, never with credentials, and the gap it leaves
    blanks the frames it covers. ``clock`` is the service's clock in epoch seconds, the frames' time scale."""

    LOG_EVERY_S: Final = 30.0

    def __init__(
        self,
        camera_id: str,
        read: Callable[[], PtzVector],
        clock: Callable[[], float],
        poll_s: float,
        history_s: float,
        *,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.camera_id = camera_id
        self._on_close = on_close
        self._read, self._clock, self.poll_s = read, clock, poll_s
        self._history_s = max(history_s, 2.0)
        self._readings: deque[Reading] = deque()
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failures = 0
        self._logged_at = -math.inf

    def start(self) -> PositionTrack:
        self._thread = threading.Thread(target=self._run, name=f"dome-position-{self.camera_id}", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        if self._on_close is not None:
            self._on_close()

    def __enter__(self) -> PositionTrack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def poll_once(self) -> None:
        """Read the position once and keep it (the thread's step; tests call it directly)."""
        sent = self._clock()
        try:
            position = self._read()
        except Exception as err:  # any failure of the device: a gap, reported; the frames it covers are blanked
            self.failures += 1
            if sent - self._logged_at >= self.LOG_EVERY_S:
                self._logged_at = sent
                log.warning(
                    "camera %s: dome position unreadable (%s): frames without a position are blanked",
                    self.camera_id,
                    type(err).__name__,
                )
            return
        self.add(Reading(sent, max(sent, self._clock()), position))

    def add(self, reading: Reading) -> None:
        with self._changed:
            self._readings.append(reading)
            while self._readings and self._readings[0].received < reading.sent - self._history_s:
                self._readings.popleft()
            self._changed.notify_all()

    def readings(self, start: float, end: float, wait_s: float) -> list[Reading] | None:
        """The readings bracketing ``[start, end]``: the last one received by ``start``, every one after, up to the
        first one sent at or after ``end`` (waited for, at most ``wait_s`` of real time). None when the window's
        path is unknown: no reading before it, none after it in time, or a gap longer than the polls allow."""
        with self._changed:
            if not self._changed.wait_for(
                lambda: self._stop.is_set() or (bool(self._readings) and self._readings[-1].sent >= end), wait_s
            ):
                return None
            readings = list(self._readings)
        if not readings or readings[-1].sent < end:
            return None
        received = [r.received for r in readings]
        first = bisect.bisect_right(received, start) - 1
        if first < 0:
            return None
        last = next(i for i in range(first, len(readings)) if readings[i].sent >= end)
        chosen = readings[first : last + 1]
        gap = max(MAX_GAP_POLLS * self.poll_s, 1.0)
        if any(b.sent - a.received > gap for a, b in itertools.pairwise(chosen)):
            return None
        return chosen

    def _run(self) -> None:
        while not self._stop.is_set():
            started = self._clock()
            self.poll_once()
            self._stop.wait(max(0.0, self.poll_s - (self._clock() - started)))


class OnvifPosition:
    """Reads a dome's position over ONVIF (``GetStatus``) for a :class:`PositionTrack`: the session is opened at the
    first read and again after a failure (a dome that restarts comes back by itself)."""

    def __init__(self, spec: DomeMaskSpec) -> None:
        self._spec = spec
        self._device: OnvifPtz | None = None

    def __call__(self) -> PtzVector:
        spec = self._spec
        if self._device is None:
            self._device = OnvifPtz(spec.host, spec.port, spec.username, spec.password, profile_token=spec.profile)
        try:
            return self._device.status().position
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        device, self._device = self._device, None
        if device is not None:
            device.close()


def open_position_track(spec: DomeMaskSpec, clock: Callable[[], float]) -> PositionTrack:
    """The dome's position read over ONVIF every ``spec.poll_s`` (not started)."""
    reader = OnvifPosition(spec)
    history = spec.video_delay_s + spec.wait_s + 2.0
    track = PositionTrack(spec.camera_id, reader, clock, spec.poll_s, history, on_close=reader.close)
    return track


class DomeMasker:
    """Masks of one dome's frames from its :class:`PositionTrack` (see the module's docstring)."""

    def __init__(self, spec: DomeMaskSpec, track: PositionTrack) -> None:
        self.spec = spec
        self.track = track
        self.frames = 0
        self.blanked = 0
        """Frames blanked entirely because the dome's path during them was unknown or too wide."""
        self._still: tuple[tuple[float, float, float, int, int], Raster] | None = None
        self._blanking = False

    def raster(self, at: float, width: int, height: int) -> Raster:
        """The pixels of a ``width``×``height`` frame arriving at ``at`` that must be hidden (True), widened to
        whole 2×2 blocks; every pixel when the dome's path is unknown."""
        self.frames += 1
        spec = self.spec
        readings = self.track.readings(at - spec.video_delay_s, at, spec.wait_s)
        views = None if readings is None else self._views(readings, width, height)
        if views is None:
            self.blanked += 1
            if not self._blanking:
                log.warning(
                    "camera %s: the dome's position during a frame is unknown: frames are blanked until it is "
                    "known again (%d so far)",
                    spec.camera_id,
                    self.blanked,
                )
            self._blanking = True
            return np.ones((height, width), bool)
        self._blanking = False
        if len(views) == 1:
            view = views[0]
            key = (view.pan_deg, view.tilt_deg, view.hfov_deg, width, height)
            if self._still is not None and self._still[0] == key:
                return self._still[1]
            raster = swept_raster(spec.masks, views)
            raster.setflags(write=False)
            self._still = (key, raster)
            return raster
        return swept_raster(spec.masks, views)

    def _views(self, readings: Sequence[Reading], width: int, height: int) -> list[View] | None:
        optics = self.spec.optics
        angles = [optics.to_angles(r.position) for r in readings]
        distinct = [angles[0], *(b for a, b in itertools.pairwise(angles) if b != a)]
        views = [View(*distinct[0], width, height)]
        for (pan0, tilt0, fov0), (pan1, tilt1, fov1) in itertools.pairwise(distinct):
            d_pan = wrap_deg(pan1 - pan0) if optics.endless_pan else pan1 - pan0
            d_tilt = tilt1 - tilt0
            steps = max(
                1,
                math.ceil(max(abs(d_pan), abs(d_tilt)) / (STEP_FIELDS * min(fov0, fov1))),
                math.ceil(abs(math.log(fov1 / fov0)) / math.log(ZOOM_STEP)),
            )
            if len(views) + steps > MAX_STEPS:
                return None
            for step in range(1, steps + 1):
                f = step / steps
                fov = fov0 * (fov1 / fov0) ** f
                views.append(View(wrap_deg(pan0 + f * d_pan), tilt0 + f * d_tilt, fov, width, height))
        return views


def swept_raster(masks: Sequence[PtzMask], views: Sequence[View]) -> Raster:
    """Pixels hidden by ``masks`` at any of ``views`` (one frame size), the motion between consecutive views swept:
    the convex hull of each mask's projections at two neighbouring views is filled (a conservative sweep: exact for
    a convex mask moved in a straight line, wider for a concave one). Widened by :data:`MARGIN_PX` and to whole
    2×2 blocks. Only the bounding box of what is hidden is rasterised."""
    width, height = views[0].width, views[0].height
    raster = np.zeros((height, width), bool)
    grow = width / 4.0  # projected beyond the frame, so that a mask entering it between two views is swept in
    shapes: list[npt.NDArray[np.float64]] = []
    for mask in masks:
        projected = [project_mask(mask, view, margin_px=grow) for view in views]
        if len(projected) == 1:  # a still dome: the polygon itself, concave or not
            shapes += [projected[0]] if projected[0] is not None else []
            continue
        for a, b in itertools.pairwise(projected):
            parts = [p for p in (a, b) if p is not None]
            if parts:
                points = np.concatenate(parts)
                shapes.append(points[cv2.convexHull(points.astype(np.float32), returnPoints=False).ravel()])
    if not shapes:
        return raster
    pad = math.ceil(MARGIN_PX) + 2
    points = np.concatenate(shapes)
    x0 = max(0, (math.floor(points[:, 0].min()) - pad) // 2 * 2)
    y0 = max(0, (math.floor(points[:, 1].min()) - pad) // 2 * 2)
    x1 = min(width + width % 2, math.ceil(points[:, 0].max()) + pad + 1)
    y1 = min(height + height % 2, math.ceil(points[:, 1].max()) + pad + 1)
    if x1 <= x0 or y1 <= y0:
        return raster
    x1, y1 = x0 + (x1 - x0 + 1) // 2 * 2, y0 + (y1 - y0 + 1) // 2 * 2
    canvas = np.zeros((y1 - y0, x1 - x0), np.uint8)
    for shape in shapes:  # one at a time: fillPoly given several contours leaves their overlaps as holes
        cv2.fillPoly(canvas, [_fixed(shape - (x0, y0))], 255, cv2.LINE_8, shift=4)
    size = 2 * math.ceil(MARGIN_PX) + 1
    canvas = np.asarray(cv2.dilate(canvas, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))), np.uint8)
    blocks = canvas.reshape(canvas.shape[0] // 2, 2, canvas.shape[1] // 2, 2).max(axis=(1, 3)) > 0
    whole = np.repeat(np.repeat(blocks, 2, axis=0), 2, axis=1)
    raster[y0:y1, x0:x1] = whole[: min(y1, height) - y0, : min(x1, width) - x0]
    return raster


def _fixed(polygon: npt.NDArray[np.float64]) -> npt.NDArray[np.int32]:
    """Image coordinates as OpenCV's fixed point (4 fractional bits; its integer coordinates are pixel centres)."""
    return np.round((polygon - 0.5) * 16.0).astype(np.int32)
