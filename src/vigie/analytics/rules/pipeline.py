"""Event modules on one camera: detect → track → every module the gate allows, hits → observations.

Each module is asked to the gate on every frame, on its own: a module whose activation ended (or whose camera's
stop switch was pulled) is reset at once and runs no more, while the others go on. Detection and tracking run
only when at least one allowed module reads tracks, so a camera with only pixel modules (fire, crowd movement)
or none allowed costs no inference. Observations carry the module, event type, time, region, score and model
version — nothing else (L28, L30).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from vigie.analytics.rules.base import Rule, RuleHit, RuleInput
from vigie.analytics.rules.statistics import Bucket
from vigie.analytics.track import ByteTracker
from vigie.analytics.zones import PolygonZone, ZoneLimit, zone_limit
from vigie.domain.detections import Detections
from vigie.domain.observation import Observation
from vigie.domain.ports import Frame, Gate


class BoxDetector(Protocol):
    def detect(self, frame_bgr: Frame) -> Detections: ...


@dataclass(slots=True)
class RuleOutput:
    observations: list[Observation] = field(default_factory=list)
    buckets: list[Bucket] = field(default_factory=list)
    hits: list[RuleHit] = field(default_factory=list)


class RulePipeline:
    def __init__(
        self,
        camera_id: str,
        rules: Sequence[Rule],
        gate: Gate,
        *,
        detector: BoxDetector | None = None,
        tracker: ByteTracker | None = None,
        model_version: str = "",
        zone_polygons: Mapping[str, PolygonZone] | None = None,
    ) -> None:
        """``zone_polygons``: the camera's analysis zones by id, for activations limited to some of them."""
        modules = [rule.module for rule in rules]
        if len(set(modules)) != len(modules):
            raise ValueError(f"one instance per module and camera, got {modules}")
        if "weapon" in modules:
            raise ValueError("weapon reads the detections of its own approved model, not the camera's detector")
        needs_tracks = [rule.module for rule in rules if not rule.needs_frame]
        if needs_tracks and detector is None:
            raise ValueError(f"{', '.join(needs_tracks)} need an object detector (no model configured)")
        self.camera_id = camera_id
        self._rules = list(rules)
        self._gate = gate
        self._detector = detector
        self._tracker = tracker or ByteTracker()
        self._model_version = model_version
        self._allowed: dict[str, bool] = {}
        self._polygons = dict(zone_polygons or {})
        self._limits: dict[tuple[str, ...], ZoneLimit | None] = {}
        self.frames_analysed = 0

    def process(self, frame: Frame, at: datetime, media_s: float, period: float) -> RuleOutput:
        """One analysed frame taken at ``at`` (``media_s``: seconds on the stream's clock)."""
        out = RuleOutput()
        allowed = []
        for rule in self._rules:
            ok = self._gate.allows(rule.module, self.camera_id, at)
            if not ok and self._allowed.get(rule.module, False):
                rule.reset()  # nothing learnt under an authorisation outlives it
            self._allowed[rule.module] = ok
            if ok:
                allowed.append(rule)
        if not allowed:
            self._tracker.reset()
            return out
        self.frames_analysed += 1
        tracks = Detections()
        if self._detector is not None and any(not rule.needs_frame for rule in allowed):
            tracks = self._tracker.update(self._detector.detect(frame), period)
        size = (frame.shape[1], frame.shape[0])
        data = RuleInput(media_s, size, tracks, frame)
        for rule in allowed:
            limit = self._limit(rule.module)
            if limit is not None and not limit.zones:
                continue  # limited to zones this camera does not have: nothing to look at
            mine = data
            if limit is not None:
                pixels = limit.frame(frame) if rule.needs_frame else frame
                mine = RuleInput(media_s, size, limit.detections(tracks, size), pixels)
            for hit in rule.update(mine):
                if limit is not None and not limit.contains(hit.region, size):
                    continue
                out.hits.append(hit)
                out.observations.append(
                    Observation(
                        camera_id=self.camera_id,
                        module=rule.module,
                        kind=hit.kind,
                        at=at,
                        regions=(hit.region,),
                        score=round(hit.score, 3),
                        model_version=self._model_version if not rule.needs_frame else f"{rule.module}-rules",
                    )
                )
            out.buckets.extend(getattr(rule, "closed", ()))
        return out

    def _limit(self, module: str) -> ZoneLimit | None:
        """The zones the module's activation limits it to on this camera (None: the whole image)."""
        zone_ids = self._gate.zones(module, self.camera_id)
        if zone_ids not in self._limits:
            self._limits[zone_ids] = zone_limit(zone_ids, self._polygons)
        return self._limits[zone_ids]
