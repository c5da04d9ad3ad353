"""``wrong_way`` (décret 2023-828): a person or vehicle moving against the configured flow of a zone for at least
a minimum distance.

The flow is a direction drawn on the image (``flow``: from its first point towards its second). Each track keeps
its anchor positions of the last ``window_s`` seconds; when the displacement over that window is at least
``min_distance`` (a fraction of the image diagonal) and points against the flow (angle to the flow's opposite
below ``max_angle_deg``), the track raises one hit. Jitter and people turning round on the spot do not travel
far enough; crossing the flow at right angles is not going against it.
"""

from __future__ import annotations

import math
from collections import deque
from typing import ClassVar

import numpy as np
from pydantic import Field

from vigie.analytics.rules.base import (
    PERSON_CLASSES,
    VEHICLE_CLASSES,
    BoundedMemory,
    ClassName,
    RuleConfig,
    RuleHit,
    RuleInput,
    normalised,
    of_classes,
)
from vigie.analytics.zones import Anchor, PolygonZone
from vigie.config.zones import NormalisedPoint, Polygon


class WrongWayConfig(RuleConfig):
    flow: tuple[NormalisedPoint, NormalisedPoint] = Field(
        title="Usual direction",
        description="Two points (normalised): the allowed flow goes from the first to the second.",
    )
    zones: tuple[Polygon, ...] = Field(
        default=(), title="Zones", description="Where the flow applies (normalised polygons); empty: everywhere."
    )
    classes: frozenset[ClassName] = Field(
        default=PERSON_CLASSES | VEHICLE_CLASSES, title="Classes", description="Which objects are checked."
    )
    min_distance: float = Field(
        default=0.08,
        gt=0.0,
        le=1.0,
        title="Minimum distance",
        description="Travel against the flow (fraction of the image diagonal) before a hit.",
    )
    max_angle_deg: float = Field(
        default=45.0,
        gt=0.0,
        lt=90.0,
        title="Angle",
        description="Largest angle between the motion and the reverse of the flow that still counts as against it.",
    )
    window_s: float = Field(
        default=4.0, gt=0.0, le=60.0, title="Window", description="Seconds of motion over which travel is measured."
    )


class WrongWay:
    module: ClassVar[str] = "wrong_way"
    needs_frame: ClassVar[bool] = False
    kind: ClassVar[str] = "wrong_way"

    def __init__(self, config: WrongWayConfig) -> None:
        self.config = config
        (x0, y0), (x1, y1) = config.flow
        if math.hypot(x1 - x0, y1 - y0) < 1e-6:
            raise ValueError("wrong_way: the flow needs two distinct points")
        self._cos = math.cos(math.radians(config.max_angle_deg))
        self._zones = [PolygonZone(z, anchor=Anchor.BOTTOM_CENTER) for z in config.zones]
        self._paths: BoundedMemory[tuple[deque[tuple[float, float, float]], list[bool]]] = BoundedMemory(
            forget_after_s=max(2.0, config.window_s)
        )

    def update(self, data: RuleInput) -> list[RuleHit]:
        self._paths.expire(data.at)
        tracks = of_classes(data.tracks, self.config.classes)
        if not len(tracks):
            return []
        if self._zones:
            inside = np.zeros(len(tracks), np.bool_)
            for zone in self._zones:
                inside |= zone.trigger(tracks, data.frame_size)
            tracks = tracks[inside]
        width, height = data.frame_size
        diagonal = math.hypot(width, height)
        (x0, y0), (x1, y1) = self.config.flow
        against = np.array([(x0 - x1) * width, (y0 - y1) * height])  # in pixels: angles as seen on screen
        against /= np.linalg.norm(against)
        anchors = tracks.bottom_centers
        hits = []
        for i, track_id in enumerate(tracks.track_ids.tolist()):
            x, y = float(anchors[i, 0]), float(anchors[i, 1])
            state = self._paths.get(track_id) or (deque(), [False])
            path, fired = state
            path.append((data.at, x, y))
            while path and data.at - path[0][0] > self.config.window_s:
                path.popleft()
            self._paths.put(track_id, state, data.at)
            if fired[0] or len(path) < 2:
                continue
            dx, dy = x - path[0][1], y - path[0][2]
            travel = math.hypot(dx, dy)
            if travel / diagonal < self.config.min_distance:
                continue
            if (dx * against[0] + dy * against[1]) / travel >= self._cos:
                fired[0] = True
                score = float(tracks.scores[i])
                hits.append(RuleHit(self.kind, normalised(tracks.boxes[i], data.frame_size), round(score, 3)))
        return hits

    def reset(self) -> None:
        self._paths.clear()
