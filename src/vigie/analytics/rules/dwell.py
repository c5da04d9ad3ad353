"""Time spent by each track inside any of a set of zones, with a grace period for missed detections, firing
once per stay: the mechanics of ``intrusion`` and ``loitering``, which differ only in their defaults."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

import numpy as np

from vigie.analytics.rules.base import BoundedMemory, ClassName, FrameSize, RuleHit, RuleInput, normalised, of_classes
from vigie.analytics.zones import Anchor, PolygonZone
from vigie.domain.detections import Detections
from vigie.domain.geometry import Box, Point


@dataclass(slots=True)
class _Stay:
    entered: float
    fired: bool = False


class ZoneDwell:
    def __init__(self, zones: Sequence[Sequence[Point]], grace_s: float) -> None:
        self._zones = [PolygonZone(z, anchor=Anchor.BOTTOM_CENTER) for z in zones]
        self._stays: BoundedMemory[_Stay] = BoundedMemory(forget_after_s=max(grace_s, 1e-6))

    def update(
        self, tracks: Detections, frame_size: FrameSize, at: float, min_duration_s: float
    ) -> list[tuple[Box, float]]:
        """Hits (region, score) of tracks that have just completed ``min_duration_s`` inside a zone."""
        self._stays.expire(at)
        if not len(tracks):
            return []
        inside = np.zeros(len(tracks), np.bool_)
        for zone in self._zones:
            inside |= zone.trigger(tracks, frame_size)
        hits: list[tuple[Box, float]] = []
        for i, track_id in enumerate(tracks.track_ids.tolist()):
            if not inside[i]:
                self._stays.pop(track_id)
                continue
            stay = self._stays.get(track_id) or _Stay(at)
            self._stays.put(track_id, stay, at)
            if not stay.fired and at - stay.entered >= min_duration_s:
                stay.fired = True
                hits.append((normalised(tracks.boxes[i], frame_size), float(tracks.scores[i])))
        return hits

    def reset(self) -> None:
        self._stays.clear()


class DwellSettings(Protocol):
    @property
    def zones(self) -> tuple[tuple[Point, ...], ...]: ...
    @property
    def classes(self) -> frozenset[ClassName]: ...
    @property
    def min_duration_s(self) -> float: ...
    @property
    def grace_s(self) -> float: ...


class DwellRule:
    """A hit when an object of ``classes`` has stood in a zone for ``min_duration_s``; once per stay."""

    module: ClassVar[str]
    kind: ClassVar[str]
    needs_frame: ClassVar[bool] = False

    def __init__(self, config: DwellSettings) -> None:
        self.config = config
        self._dwell = ZoneDwell(config.zones, config.grace_s)

    def update(self, data: RuleInput) -> list[RuleHit]:
        tracks = of_classes(data.tracks, self.config.classes)
        return [
            RuleHit(self.kind, region, score)
            for region, score in self._dwell.update(tracks, data.frame_size, data.at, self.config.min_duration_s)
        ]

    def reset(self) -> None:
        self._dwell.reset()
