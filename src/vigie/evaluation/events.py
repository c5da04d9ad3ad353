"""Scoring an event module against event ground truth (the ``events.json`` format of ``vigie.sim``).

A ground-truth event is ``{kind, start_s, end_s, region: {x, y, w, h}, ...}`` (normalised region). A module's
hit *detects* an event of a matching kind when it comes between ``start_s − before_s`` and ``end_s + after_s``
and its region overlaps the event's region grown by ``margin``. Each event counts once (its earliest matching
hit gives the detection delay, ``hit time − start_s``); further hits on an already detected event are repeats
(counted, neither right nor wrong); a hit within reach of two undetected events detects the one whose region it
overlaps most; hits that detect nothing are false positives, and those that fall on a hard negative (e.g.
``light_flicker``) are also counted as such.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigie.domain.geometry import Box

EVENT_KINDS: dict[str, tuple[str, ...]] = {
    "intrusion": ("enter_zone",),
    "loitering": ("enter_zone",),
    "abandoned_object": ("bag_left",),
    "person_on_ground": ("person_falls",),
    "stationary_vehicle": ("vehicle_stops",),
    "wrong_way": ("wrong_way",),
    "crowd_movement": ("crowd",),
    "density": ("crowd",),
    "fire_start": ("fire",),
    "weapon": ("weapon",),
    "line_count": ("line_cross",),
    "occupancy": ("enter_zone",),
}
"""Which ground-truth kinds each module should report (simulator vocabulary). The statistics modules are scored
by totals (:func:`score_totals`): ``line_cross`` events (one per crossing, at ``start_s``) for ``line_count``, time
spent in the zone (``enter_zone`` events) for ``occupancy``."""

HARD_NEGATIVES = frozenset({"light_flicker", "sign_lit", "emergency_light", "reflection", "person_sits"})
"""Ground-truth kinds that are there to be ignored."""

TOLERANCE_S: dict[str, tuple[float, float]] = {"crowd_movement": (8.0, 8.0)}
"""(before, after) seconds around an event in which a hit still counts; default (1, 2). Crowd movement is the
gathering or the scattering, which the simulator's ``crowd`` event (the gathered period) brackets."""
DEFAULT_TOLERANCE_S = (1.0, 2.0)


class GroundTruthError(ValueError):
    """An events file that cannot be read; the message says which entry and what is wrong."""


@dataclass(frozen=True, slots=True)
class TruthEvent:
    kind: str
    start_s: float
    end_s: float
    region: Box


@dataclass(frozen=True, slots=True)
class TimedHit:
    at_s: float
    region: Box
    score: float


@dataclass(slots=True)
class EventScore:
    module: str
    events: int = 0
    detected: int = 0
    hits: int = 0
    false_positives: int = 0
    on_hard_negatives: int = 0
    repeats: int = 0
    delays_s: list[float] = field(default_factory=list)
    missed: list[TruthEvent] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.detected / self.events if self.events else 0.0

    @property
    def precision(self) -> float:
        judged = self.detected + self.false_positives
        return self.detected / judged if judged else 0.0

    def as_dict(self) -> dict[str, float | int]:
        out: dict[str, float | int] = {
            "precision": round(self.precision, 3),
            "recall": round(self.recall, 3),
            "events": self.events,
            "detected": self.detected,
            "hits": self.hits,
            "false_positives": self.false_positives,
            "on_hard_negatives": self.on_hard_negatives,
            "repeats": self.repeats,
        }
        if self.delays_s:
            out["mean_delay_s"] = round(sum(self.delays_s) / len(self.delays_s), 2)
            out["max_delay_s"] = round(max(self.delays_s), 2)
        return out


def load_events(path: Path) -> list[TruthEvent]:
    """Read an ``events.json`` (a list, or ``{"events": [...]}``)."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise GroundTruthError(f"{path}: cannot read ({err.strerror})") from None
    except json.JSONDecodeError as err:
        raise GroundTruthError(f"{path}: not JSON ({err.msg} at line {err.lineno})") from None
    entries = data.get("events") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise GroundTruthError(f"{path}: expected a list of events (or {{'events': [...]}})")
    events = []
    for index, entry in enumerate(entries):
        try:
            region = entry.get("region") or {"x": 0.0, "y": 0.0, "w": 1.0, "h": 1.0}
            event = TruthEvent(
                str(entry["kind"]),
                float(entry["start_s"]),
                float(entry["end_s"]),
                Box(float(region["x"]), float(region["y"]), float(region["w"]), float(region["h"])),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise GroundTruthError(
                f"{path}: event {index} is not {{kind, start_s, end_s, region: {{x, y, w, h}}}} ({err!r})"
            ) from None
        if event.end_s < event.start_s:
            raise GroundTruthError(f"{path}: event {index} ends ({event.end_s}) before it starts ({event.start_s})")
        events.append(event)
    return events


def _overlaps(a: Box, b: Box, margin: float) -> bool:
    return (
        a.x <= b.x + b.w + margin
        and b.x - margin <= a.x + a.w
        and a.y <= b.y + b.h + margin
        and b.y - margin <= a.y + a.h
    )


def _intersection(a: Box, b: Box) -> float:
    width = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    height = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    return max(width, 0.0) * max(height, 0.0)


def score_events(
    module: str,
    hits: Sequence[TimedHit],
    truth: Sequence[TruthEvent],
    *,
    kinds: Sequence[str] | None = None,
    margin: float = 0.05,
    tolerance_s: tuple[float, float] | None = None,
    min_event_s: float = 0.0,
) -> EventScore:
    """Precision, recall and delays of ``module``'s hits against the ground truth.

    ``min_event_s``: events shorter than this are not expected (a zone visit shorter than the module's minimum
    stay is not loitering); a hit on one is a false positive.
    """
    wanted = set(kinds if kinds is not None else EVENT_KINDS.get(module, (module,)))
    before, after = tolerance_s or TOLERANCE_S.get(module, DEFAULT_TOLERANCE_S)
    positives = [e for e in truth if e.kind in wanted and e.end_s - e.start_s >= min_event_s]
    negatives = [e for e in truth if e.kind in HARD_NEGATIVES]
    score = EventScore(module, events=len(positives), hits=len(hits))
    first_hit: dict[int, float] = {}
    for hit in sorted(hits, key=lambda h: h.at_s):
        matched = [
            k
            for k, e in enumerate(positives)
            if e.start_s - before <= hit.at_s <= e.end_s + after and _overlaps(hit.region, e.region, margin)
        ]
        fresh = [k for k in matched if k not in first_hit]
        if fresh:
            # Two events side by side (two cars passing each other) are both within the margin of one hit: it
            # detects the one it covers most, not the one listed first.
            first_hit[max(fresh, key=lambda k: _intersection(hit.region, positives[k].region))] = hit.at_s
        elif matched:
            score.repeats += 1
        else:
            score.false_positives += 1
            if any(
                n.start_s - before <= hit.at_s <= n.end_s + after and _overlaps(hit.region, n.region, margin)
                for n in negatives
            ):
                score.on_hard_negatives += 1
    score.detected = len(first_hit)
    score.delays_s = [first_hit[k] - positives[k].start_s for k in sorted(first_hit)]
    score.missed = [e for k, e in enumerate(positives) if k not in first_hit]
    return score


@dataclass(frozen=True, slots=True)
class TotalScore:
    """One time bucket of a statistics module: the total the ground truth gives and the one the module measured
    (None: withheld below its ``min_count``)."""

    start_s: float
    end_s: float
    annotated: float
    measured: float | None


def score_totals(
    module: str,
    buckets: Sequence[tuple[float, float, float | None]],
    truth: Sequence[TruthEvent],
    *,
    video_s: float,
    kinds: Sequence[str] | None = None,
) -> list[TotalScore]:
    """Each closed bucket ``(start, end, value)`` of ``line_count`` or ``occupancy`` beside the ground truth's.

    ``line_count``: the crossings (events of its kinds) whose ``start_s`` falls in the bucket. ``occupancy``: the
    mean number of objects present, i.e. the time the events spend in the bucket divided by its length, the length
    cut at ``video_s`` (the module's mean is over the frames it saw).
    """
    wanted = set(kinds if kinds is not None else EVENT_KINDS.get(module, (module,)))
    events = [e for e in truth if e.kind in wanted]
    out = []
    for start, end, value in buckets:
        if module == "occupancy":
            seen_end = min(end, video_s)
            overlap = sum(max(0.0, min(e.end_s, seen_end) - max(e.start_s, start)) for e in events)
            annotated = round(overlap / (seen_end - start), 3) if seen_end > start else 0.0
        else:
            annotated = float(sum(1 for e in events if start <= e.start_s < end))
        out.append(TotalScore(start, end, annotated, value))
    return out
