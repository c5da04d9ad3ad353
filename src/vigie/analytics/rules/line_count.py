"""``line_count`` (statistics, CNIL anonymous-statistics framework, L33): crossings of a directed line per time
bucket. Frames are not kept (the module reads tracks only); per-track memory is the line counter's, seconds long;
what leaves is ``Bucket`` totals, withheld below ``min_count``."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from vigie.analytics.rules.base import PERSON_CLASSES, ClassName, RuleConfig, RuleHit, RuleInput, of_classes
from vigie.analytics.rules.statistics import Bucket, Buckets
from vigie.analytics.zones import LineCounter
from vigie.config.zones import LineDirection, NormalisedPoint


class LineCountConfig(RuleConfig):
    line: tuple[NormalisedPoint, NormalisedPoint] = Field(title="Line", description="Two points (normalised).")
    direction: LineDirection = Field(default=LineDirection.BOTH, title="Direction", description="Crossings counted.")
    classes: frozenset[ClassName] = Field(default=PERSON_CLASSES, title="Classes", description="Objects counted.")
    bucket_s: float = Field(default=900.0, ge=60.0, le=86400.0, title="Bucket", description="Seconds per total.")
    min_count: int = Field(default=5, ge=1, le=1000, title="Minimum count", description="Totals below are withheld.")


class LineCount:
    module: ClassVar[str] = "line_count"
    needs_frame: ClassVar[bool] = False
    kind: ClassVar[str] = "line_count"

    def __init__(self, config: LineCountConfig) -> None:
        self.config = config
        self._counter = LineCounter(config.line, config.direction, classes=config.classes)
        self._buckets = Buckets(self.module, self.kind, config.bucket_s, config.min_count, mean=False)
        self.closed: list[Bucket] = []
        """Buckets closed by the last ``update`` (the pipeline takes them)."""

    def update(self, data: RuleInput) -> list[RuleHit]:
        crossed_in, crossed_out = self._counter.trigger(
            of_classes(data.tracks, self.config.classes), data.frame_size, data.at
        )
        self.closed = self._buckets.add(data.at, float(crossed_in.sum() + crossed_out.sum()))
        return []  # statistics never raise alerts

    def reset(self) -> None:
        self._counter = LineCounter(self.config.line, self.config.direction, classes=self.config.classes)
        self._buckets.reset()
        self.closed = []
