"""Time spent by each track inside any of a set of zones, with a grace period for missed detections, firing
once per stay. Shared by ``intrusion`` and ``loitering``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vigie.analytics.rules.base import BoundedMemory, FrameSize, normalised
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
