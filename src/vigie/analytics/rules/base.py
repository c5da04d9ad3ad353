"""What every event module shares: its input (one analysed frame of one camera), its output, its memory.

A rule is a plain object, one per camera and module, fed every analysed frame in time order. It keeps only what
its decision needs — a few numbers per track, bounded in count and forgotten after a while — and answers with
``RuleHit``s: the event type, the image region, a score. The pipeline turns hits into observations that carry
nothing more (L28, L30): no track id, no identity, no appearance.

Hits are edge-triggered: a rule reports an incident once (an intrusion when it starts, not at every frame of it)
and re-arms when the situation has ended, so an operator sees one alert per incident.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Generic, Protocol, TypeVar

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer

from vigie.domain.detections import Detections, ObjectClass
from vigie.domain.geometry import Box
from vigie.domain.ports import Frame

FrameSize = tuple[int, int]
"""``(width, height)`` of the analysed frame, in pixels."""


def _class_by_name(value: Any) -> Any:
    if isinstance(value, str) and not isinstance(value, ObjectClass):
        try:
            return ObjectClass[value.strip().upper()]
        except KeyError:
            names = ", ".join(c.name.lower() for c in ObjectClass)
            raise ValueError(f"unknown object class {value!r}; expected one of {names}") from None
    return value


ClassName = Annotated[
    ObjectClass, BeforeValidator(_class_by_name), PlainSerializer(lambda c: c.name.lower(), return_type=str)
]
"""An object class in a module's settings, written by name (``person``, ``car``, ``bag``…)."""

PERSON_CLASSES = frozenset({ObjectClass.PERSON})
VEHICLE_CLASSES = frozenset({ObjectClass.CAR, ObjectClass.BUS, ObjectClass.TRUCK, ObjectClass.MOTORCYCLE})


class RuleConfig(BaseModel):
    """Base of every module's configuration: strict (unknown keys are errors) and immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class RuleInput:
    """One analysed frame of one camera, as the event modules see it."""

    at: float
    """Seconds on a monotonic clock (media time for recorded footage)."""
    frame_size: FrameSize
    tracks: Detections
    """Tracked objects of this frame (``track_ids`` ≥ 0), boxes in pixels of the analysed frame."""
    frame: Frame | None = None
    """The analysed picture (grey or BGR) for modules that read pixels (crowd movement, fire); else None."""


@dataclass(frozen=True, slots=True)
class RuleHit:
    """An incident a module reports: what (``kind``), where (normalised box), how sure (0..1)."""

    kind: str
    region: Box
    score: float


class Rule(Protocol):
    """An event module for one camera."""

    module: ClassVar[str]
    """Catalogue id of the module (``governance/catalogue.yaml``): what the gate is asked about."""
    needs_frame: ClassVar[bool]
    """True when the module reads pixels (then ``RuleInput.frame`` must be given)."""

    def update(self, data: RuleInput) -> list[RuleHit]: ...

    def reset(self) -> None:
        """Forget everything (the gate closed, the stream was cut): nothing outlives an authorisation."""


def normalised(box: np.ndarray, frame_size: FrameSize) -> Box:
    """A pixel box ``x1, y1, x2, y2`` as a normalised ``Box`` clipped to the frame."""
    width, height = frame_size
    x1, y1 = max(0.0, float(box[0]) / width), max(0.0, float(box[1]) / height)
    x2, y2 = min(1.0, float(box[2]) / width), min(1.0, float(box[3]) / height)
    return Box(x1, y1, max(0.0, x2 - x1), max(0.0, y2 - y1))


def of_classes(tracks: Detections, classes: frozenset[ObjectClass]) -> Detections:
    """The tracked detections of these classes that have a track id."""
    keep = tracks.track_ids >= 0
    if len(classes) < len(ObjectClass):
        wanted = np.zeros(len(tracks), np.bool_)
        for cls in classes:
            wanted |= tracks.class_ids == int(cls)
        keep &= wanted
    return tracks[keep]


S = TypeVar("S")


@dataclass(slots=True)
class BoundedMemory(Generic[S]):
    """Per-key state (usually per track id) that forgets keys unseen for ``forget_after_s`` and never holds more
    than ``max_keys`` (the least recently seen go first): a rule's memory is bounded whatever the scene does."""

    forget_after_s: float = 10.0
    max_keys: int = 1024
    _items: OrderedDict[object, tuple[float, S]] = field(default_factory=OrderedDict)

    def get(self, key: object) -> S | None:
        item = self._items.get(key)
        return None if item is None else item[1]

    def put(self, key: object, state: S, now: float) -> None:
        self._items.pop(key, None)
        self._items[key] = (now, state)
        while len(self._items) > self.max_keys:
            self._items.popitem(last=False)

    def pop(self, key: object) -> S | None:
        item = self._items.pop(key, None)
        return None if item is None else item[1]

    def expire(self, now: float) -> list[S]:
        """Drop and return the states of keys not seen for ``forget_after_s``."""
        gone: list[S] = []
        while self._items:
            key, (seen, state) = next(iter(self._items.items()))
            if now - seen <= self.forget_after_s:
                break
            del self._items[key]
            gone.append(state)
        return gone

    def items(self) -> Iterator[tuple[object, S]]:
        for key, (_, state) in self._items.items():
            yield key, state

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
