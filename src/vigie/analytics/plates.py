"""Plate reading (LAPI) on one camera: vehicles → plate in the vehicle's box → read → one read per track, by vote.

Only under an activation of ``plate_reading``, asked to the gate on every frame like every module; the catalogue
lets only state tenants have one (L34). When the gate closes, every track and every vote is forgotten at once:
nothing read under an authorisation outlives it, and no read is made of frames analysed without one.

Vehicles come from the camera's detector (cars, trucks, buses, motorcycles), tracked here by a tracker of this
module's own, as each module of a camera tracks for itself; each vehicle's best plate is one read of its track. A
dedicated LPR camera (``lpr_camera``: a narrow view on a lane or two, where a vehicle fills much of the picture) has
no detection model: plates are looked for in what moves (the union of the motion detector's regions), and each plate
found is a read of the track of its own text (:meth:`PlateVoter.add_by_text`): two vehicles in view at once, side by
side or one behind the other, are two tracks. The plate is looked for in the vehicle's box only — for a detector's
vehicle, never in its top :data:`CABIN`, its windows (a moving region is no vehicle outline: it is read whole) — and
the only image kept is the plate's own crop (L35: occupants are never analysed nor kept).

The reader and the voter are injected (:class:`PlateLocaliser`, :class:`PlateVoter`): this package does not import
``vigie.lpr`` (both sit in the same layer); the runtime hands ``vigie.lpr.reader.PlateReader`` and
``vigie.lpr.vote.TrackVoter``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np
from pydantic import Field

from vigie.analytics.detect.motion import MotionConfig, MotionDetector
from vigie.analytics.rules.base import VEHICLE_CLASSES, BoundedMemory, RuleConfig
from vigie.analytics.track import ByteTracker
from vigie.domain.detections import Detections
from vigie.domain.geometry import Box
from vigie.domain.plates import MODULE, PlateRead
from vigie.domain.ports import Frame, Gate

log = logging.getLogger(__name__)

PLATE_MODULE = MODULE
_VEHICLE_IDS = np.array(sorted(int(c) for c in VEHICLE_CLASSES), np.int32)
CABIN = 0.4
"""The top of a vehicle's box never read: its windows, and whoever is behind them (L35: occupants are never
analysed). Plates are on the bumpers, in the lower half of a car, a van, a truck or a motorcycle seen from the front
or the back."""
LPR_PAD = 0.1
"""On an LPR camera, the moving region is grown by this fraction of its size on each side."""
MAX_PLATES_PER_FRAME = 4
"""On an LPR camera, the plates of one frame that are read into tracks (the most confident first): a lane or two in
view holds a few vehicles at most, and anything more is text in the scene, not plates."""
JPEG_QUALITY = 85
"""Quality of the stored plate crop: a few kB, legible."""


class PlateReadingConfig(RuleConfig):
    """Settings of ``plate_reading`` on one camera (``analysis.modules.plate_reading``)."""

    lpr_camera: bool = Field(
        default=False,
        title="Dedicated LPR camera",
        description="A narrow view on one lane: vehicles are found by motion, no detection model is needed.",
    )
    min_confidence: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        title="Minimum confidence",
        description="A track's voted read below this confidence (agreement of its frames) is not reported.",
    )
    min_frames: int = Field(
        default=2,
        ge=1,
        le=100,
        title="Minimum frames",
        description="Frames of the track that must agree on the plate for it to be reported.",
    )
    track_end_s: float = Field(
        default=1.0,
        gt=0.0,
        le=30.0,
        title="Track end",
        description="Seconds without a read of its plate after which a track's vote is closed and reported.",
    )
    detect_side: int = Field(
        default=640,
        ge=160,
        le=2048,
        title="Detection size",
        description="Pixels the longer side of a vehicle's box is scaled to for finding the plate: the plate should "
        "be 100 px wide or more there (bigger costs more: 480 reads the demo's lane at two thirds the cost of 640).",
    )
    min_vehicle_width: float = Field(
        default=0.08,
        gt=0.0,
        le=1.0,
        title="Minimum vehicle width",
        description="Fraction of the frame width: narrower vehicles (or moving regions) are too far to read.",
    )


class Candidate(Protocol):
    """One plate found in one frame (``vigie.lpr.reader.PlateCandidate``)."""

    @property
    def text(self) -> str: ...
    @property
    def confidence(self) -> float: ...
    @property
    def box(self) -> Any: ...


class PlateLocaliser(Protocol):
    """Finds and reads plates inside a region of a frame (``vigie.lpr.reader.PlateReader``)."""

    def read(self, image_bgr: np.ndarray, region: Any = None) -> Sequence[Any]: ...


class Voted(Protocol):
    """One track's voted read (``vigie.lpr.vote.VotedPlate``)."""

    @property
    def text(self) -> str: ...
    @property
    def display(self) -> str: ...
    @property
    def plate_format(self) -> str: ...
    @property
    def confidence(self) -> float: ...
    @property
    def frames(self) -> int: ...
    @property
    def votes(self) -> int: ...
    @property
    def crop(self) -> np.ndarray: ...


class PlateVoter(Protocol):
    """Votes the reads of each track, its memory bounded (``vigie.lpr.vote.TrackVoter``)."""

    def add(self, track_id: int, candidate: Any, t: float) -> None: ...

    def add_by_text(self, candidate: Any, t: float) -> int:
        """A read without a vehicle track: it joins the recent track of a text within two edits, or starts one;
        returns the track's id."""
        ...

    def expire(self, now: float) -> Sequence[tuple[int, Voted]]:
        """The votes of the tracks not read for the voter's age (and of those it had to finish early)."""
        ...


@dataclass(frozen=True, slots=True)
class PlateTools:
    """What the runtime hands a camera's plate reading: its reader, a voter factory (one voter per camera, its
    tracks ended after the given seconds without a read), and the reader's identity recorded with every read
    (L30)."""

    reader: PlateLocaliser
    voter: Callable[[float], PlateVoter]
    model_version: str


@runtime_checkable
class ActivationAware(Protocol):
    """A gate that also says which activation let a module run (``vigie.governance.gate.ActivationGate``)."""

    def activation_id(self, module: str, camera_id: str) -> int | None: ...


@dataclass(frozen=True, slots=True)
class _Track:
    """What a track's read will carry: the activation it was last read under, when, and the plate's box."""

    track_id: int
    activation_id: int
    last_at: datetime
    box: Box
    """The plate's last box, normalised."""


class PlateReading:
    """Plate reading on one camera's analysed frames (not thread-safe: one per camera thread)."""

    def __init__(
        self,
        camera_id: str,
        commune_id: str,
        config: PlateReadingConfig,
        tools: PlateTools,
        gate: Gate,
        *,
        motion: MotionConfig | None = None,
        tracker: ByteTracker | None = None,
    ) -> None:
        self.camera_id = camera_id
        self.commune_id = commune_id
        self.config = config
        self._reader = tools.reader
        self._new_voter = tools.voter
        self._voter = tools.voter(config.track_end_s)
        self._model_version = tools.model_version
        self._gate = gate
        self._tracker = tracker or ByteTracker()
        self._motion = MotionDetector(motion or MotionConfig()) if config.lpr_camera else None
        self._tracks: BoundedMemory[_Track] = BoundedMemory(forget_after_s=4 * config.track_end_s, max_keys=256)
        """What each track's read will carry, kept a while longer than the voter keeps the track's reads."""
        self._allowed = False
        self.frames_analysed = 0
        self.reads = 0

    @property
    def needs_detector(self) -> bool:
        return self._motion is None

    def process(
        self, frame: Frame, at: datetime, period: float, detect: Callable[[], Detections] | None = None
    ) -> list[PlateRead]:
        """One analysed frame (BGR) taken at ``at``; ``detect``: the camera detector on this frame (called only
        while the gate is open), None on an LPR camera. Returns the reads of the tracks that ended."""
        if not self._gate.allows(PLATE_MODULE, self.camera_id, at):
            if self._allowed:
                self.reset()
            return []
        self._allowed = True
        activation = _activation(self._gate, self.camera_id)
        if activation is None:  # a gate that cannot say under which activation: no read can be attributed
            return []
        self.frames_analysed += 1
        width = frame.shape[1]
        now = at.timestamp()
        if self._motion is not None:
            region = self._moving_region(frame)
            found = self._reader.read(frame, region) if region is not None else []
            for candidate in found[:MAX_PLATES_PER_FRAME]:
                self._remember(self._voter.add_by_text(candidate, now), candidate, activation, at, frame)
            return self._ended(now)
        tracked = self._tracker.update(self._vehicles(detect), period)
        for box, track_id in zip(tracked.boxes, tracked.track_ids, strict=True):
            if track_id < 0:
                continue
            x1, y1, x2, y2 = (float(v) for v in box)
            if x2 - x1 < self.config.min_vehicle_width * width:
                continue
            found = self._reader.read(frame, plate_search_area(x1, y1, x2, y2))
            if not found:
                continue
            self._voter.add(int(track_id), found[0], now)
            self._remember(int(track_id), found[0], activation, at, frame)
        return self._ended(now)

    def _remember(self, track_id: int, candidate: Any, activation: int, at: datetime, frame: Frame) -> None:
        """What the track's read will carry: the activation, the time and the plate's normalised box."""
        height, width = frame.shape[:2]
        px, py, pw, ph = (float(v) for v in candidate.box)
        plate_box = Box(max(0.0, px / width), max(0.0, py / height), pw / width, ph / height)
        self._tracks.put(track_id, _Track(track_id, activation, at, plate_box), at.timestamp())

    def _vehicles(self, detect: Callable[[], Detections] | None) -> Detections:
        found = detect() if detect is not None else Detections()
        return found[np.isin(found.class_ids, _VEHICLE_IDS)]

    def _moving_region(self, frame: Frame) -> tuple[int, int, int, int] | None:
        """An LPR camera's area to read (pixels x, y, w, h): the union of the moving regions, grown by
        :data:`LPR_PAD` of its size so that a plate at its edge is inside (background subtraction splits a uniformly
        painted body into its edges and finds the plate apart); None when nothing moves or it is too narrow."""
        regions = self._motion.detect(_grey(frame)) if self._motion is not None else []
        if not regions:
            return None
        union = regions[0][0]
        for box, _ in regions[1:]:
            union = union.union(box)
        if union.w < self.config.min_vehicle_width:
            return None
        height, width = frame.shape[:2]
        pad_w, pad_h = union.w * LPR_PAD, union.h * LPR_PAD
        x1, y1 = max(0.0, union.x - pad_w) * width, max(0.0, union.y - pad_h) * height
        x2 = min(1.0, union.x + union.w + pad_w) * width
        y2 = min(1.0, union.y + union.h + pad_h) * height
        return round(x1), round(y1), round(x2 - x1), round(y2 - y1)

    def _ended(self, now: float) -> list[PlateRead]:
        """The reads of the tracks the voter closed (no read for ``track_end_s``)."""
        reads = []
        for track_id, voted in self._voter.expire(now):
            track = self._tracks.pop(track_id)
            read = None if track is None else self._read(track, voted)
            if read is not None:
                reads.append(read)
        self._tracks.expire(now)
        return reads

    def _read(self, track: _Track, voted: Voted) -> PlateRead | None:
        if voted.confidence < self.config.min_confidence or voted.votes < self.config.min_frames:
            return None
        crop = _jpeg(voted.crop)
        if crop is None:
            return None
        self.reads += 1
        return PlateRead(
            camera_id=self.camera_id,
            commune_id=self.commune_id,
            at=track.last_at,
            text=voted.text,
            display=voted.display,
            plate_format=voted.plate_format,
            confidence=round(float(voted.confidence), 3),
            frames=int(voted.frames),
            crop_jpeg=crop,
            activation_id=track.activation_id,
            box=track.box,
            model_version=self._model_version,
        )

    def reset(self) -> None:
        """Forget every track and vote (the gate closed): nothing read under an authorisation outlives it."""
        self._allowed = False
        self._tracker.reset()
        self._tracks.clear()
        self._voter = self._new_voter(self.config.track_end_s)
        if self._motion is not None:
            self._motion.reset()


def _activation(gate: Gate, camera_id: str) -> int | None:
    """The activation the gate opened the module under; None from a gate that cannot say (no read is attributed
    to nothing: such a gate reads no plate)."""
    return gate.activation_id(PLATE_MODULE, camera_id) if isinstance(gate, ActivationAware) else None


def plate_search_area(x1: float, y1: float, x2: float, y2: float) -> tuple[int, int, int, int]:
    """The part of a vehicle's box (pixels, corners) where its plate is looked for, as x, y, w, h: all but its top
    :data:`CABIN`."""
    top = y1 + CABIN * (y2 - y1)
    return round(x1), round(top), round(x2 - x1), round(y2 - top)


def _jpeg(crop: np.ndarray) -> bytes | None:
    if crop.size == 0:
        return None
    ok, data = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    return bytes(data.tobytes()) if ok else None


def _grey(frame: Frame) -> Frame:
    return frame if frame.ndim == 2 else np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), np.uint8)
