"""The per-camera analysis pipeline: frames in, observations out, gated by governance.

A plain object with no global state, so the same code runs in a local worker process or, later, a Ray actor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

import numpy as np

from vigie.analytics.detect.motion import MotionDetector
from vigie.analytics.track import ByteTracker
from vigie.analytics.zones import PolygonZone, ZoneLimit, zone_limit
from vigie.domain.detections import Detections, ObjectClass
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation
from vigie.domain.ports import Frame, Gate

MOTION_MODULE = "motion"


class MotionPipeline:
    """Motion detection on one camera's analysis frames.

    The gate is asked before every frame batch; when it says no, the detector's state is dropped so nothing
    learnt while the module was authorised outlives the authorisation.
    """

    def __init__(
        self,
        camera_id: str,
        detector: MotionDetector,
        gate: Gate,
        *,
        zone_polygons: Mapping[str, PolygonZone] | None = None,
    ) -> None:
        """``zone_polygons``: the camera's analysis zones by id, for activations limited to some of them."""
        self.camera_id = camera_id
        self._detector = detector
        self._gate = gate
        self._limits = _Limits(camera_id, gate, zone_polygons)
        self._was_allowed = False
        self.frames_analysed = 0
        self.frames_refused = 0

    def process(self, frame: Frame, at: datetime) -> Observation | None:
        """Analyse one frame taken at ``at``; return an observation when there is motion."""
        if not self._gate.allows(MOTION_MODULE, self.camera_id, at):
            if self._was_allowed:
                self._detector.reset()
            self._was_allowed = False
            self.frames_refused += 1
            return None
        self._was_allowed = True
        self.frames_analysed += 1
        limit = self._limits.of(MOTION_MODULE)
        regions = self._detector.detect(frame if limit is None else limit.frame(frame))
        if not regions:
            return None
        union: Box = regions[0][0]
        for box, _ in regions[1:]:
            union = union.union(box)
        score = max(fill for _, fill in regions)
        return Observation(
            camera_id=self.camera_id,
            module=MOTION_MODULE,
            kind="motion",
            at=at,
            regions=tuple(box for box, _ in regions[:16]),
            score=round(score, 3),
            model_version="mog2",
        )


class _Limits:
    """The zone limit of each module's current activation on one camera, cached by zone ids."""

    def __init__(self, camera_id: str, gate: Gate, polygons: Mapping[str, PolygonZone] | None) -> None:
        self._camera_id = camera_id
        self._gate = gate
        self._polygons = dict(polygons or {})
        self._cache: dict[tuple[str, ...], ZoneLimit | None] = {}

    def of(self, module: str) -> ZoneLimit | None:
        zone_ids = self._gate.zones(module, self._camera_id)
        if zone_ids not in self._cache:
            self._cache[zone_ids] = zone_limit(zone_ids, self._polygons)
        return self._cache[zone_ids]


DETECTION_MODULE = "tracking"
"""Catalogue module of object detection + single-camera tracking (private sites, or simulated footage)."""
MAX_REGIONS = 16


class BoxDetector(Protocol):
    def detect(self, frame_bgr: Frame) -> Detections: ...


class DetectionPipeline:
    """Deep detection → tracking → zones → observations on one camera, asked to the gate before every frame.

    Observations are per class (person, car…): event type, camera, time, the tracked boxes as regions, the best
    score and the model's identity (L28, L30) — never an identity or an appearance (L25). When the gate closes the
    tracker forgets everything, so no track outlives its authorisation.
    """

    def __init__(
        self,
        camera_id: str,
        detector: BoxDetector,
        tracker: ByteTracker,
        gate: Gate,
        *,
        model_version: str,
        class_versions: Mapping[ObjectClass, str] | None = None,
        zones: Sequence[PolygonZone] = (),
        zone_polygons: Mapping[str, PolygonZone] | None = None,
    ) -> None:
        """``class_versions``: the identity of the detector that finds a class when it is not ``model_version``'s
        (a thermal camera's hot spots beside its model, L30); ``zones``: configured zones observations are kept to;
        ``zone_polygons``: the camera's analysis zones by id, for activations limited to some of them."""
        self.camera_id = camera_id
        self._detector = detector
        self._tracker = tracker
        self._gate = gate
        self._model_version = model_version
        self._class_versions = dict(class_versions or {})
        self._zones = tuple(zones)
        self._limits = _Limits(camera_id, gate, zone_polygons)
        self.frames_analysed = 0
        self.frames_refused = 0

    def process(self, frame: Frame, at: datetime, period: float) -> list[Observation]:
        if not self._gate.allows(DETECTION_MODULE, self.camera_id, at):
            self._tracker.reset()
            self.frames_refused += 1
            return []
        self.frames_analysed += 1
        tracked = self._tracker.update(self._detector.detect(frame), period)
        height, width = frame.shape[:2]
        limit = self._limits.of(DETECTION_MODULE)
        if limit is not None:
            tracked = limit.detections(tracked, (width, height))
        if self._zones and len(tracked):
            inside = np.zeros(len(tracked), bool)
            for zone in self._zones:
                inside |= zone.trigger(tracked, (width, height))
            tracked = tracked[inside]
        return [
            self._observation(tracked[tracked.class_ids == cls], ObjectClass(int(cls)), at, width, height)
            for cls in np.unique(tracked.class_ids)
        ]

    def _observation(self, dets: Detections, cls: ObjectClass, at: datetime, width: int, height: int) -> Observation:
        order = np.argsort(-dets.scores)[:MAX_REGIONS]
        regions = tuple(
            Box(float(x1) / width, float(y1) / height, float(x2 - x1) / width, float(y2 - y1) / height)
            for x1, y1, x2, y2 in dets.boxes[order]
        )
        return Observation(
            camera_id=self.camera_id,
            module=DETECTION_MODULE,
            kind=cls.name.lower(),
            at=at,
            regions=regions,
            score=round(float(dets.scores.max()), 3),
            model_version=self._class_versions.get(cls, self._model_version),
        )
