"""What analysis produces (observations) and what the platform keeps of it (events).

Per L28/L30 an observation carries only the event type, the camera, the time, the image region, a score and the
module (and model) that produced it: no identity and no appearance description.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from vigie.domain.geometry import Box

MESSAGE_VERSION = 1
"""Version of the typed messages exchanged between workers; bump when a field changes meaning."""


@dataclass(frozen=True, slots=True)
class Observation:
    """One analysis result for one batch of frames of one camera."""

    camera_id: str
    module: str
    kind: str
    at: datetime
    regions: tuple[Box, ...]
    score: float
    model_version: str = ""
    version: int = MESSAGE_VERSION


@dataclass(slots=True)
class Event:
    """A stored event: consecutive observations of one kind on one camera, merged into an interval."""

    camera_id: str
    module: str
    kind: str
    started_at: datetime
    ended_at: datetime
    region: Box
    score: float
    model_version: str = ""
    observations: int = 1
    id: int | None = field(default=None)
