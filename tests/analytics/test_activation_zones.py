"""An activation limited to zones is limited on pixels and on alerts (issue #14, D5).

An activation approved for zone ``porte`` (the top-left corner) once raised an alert at x=0.10, y=0.86: the
gate's window carried no zones and the worker used the configuration's. Here the gate's window carries the
activation's zones and every pipeline analyses only inside them: motion does not see movement outside, an event
module reads a frame black outside the zones and its hits outside are dropped, tracks outside are not tracked.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import numpy as np

from vigie.analytics.detect.motion import MotionDetector
from vigie.analytics.pipeline import MotionPipeline
from vigie.analytics.rules.base import RuleHit, RuleInput
from vigie.analytics.rules.pipeline import RulePipeline
from vigie.analytics.zones import PolygonZone
from vigie.domain.geometry import Box
from vigie.governance.gate import ActivationGate, GateRules, Window

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PORTE = PolygonZone([(0.0, 0.0), (0.3, 0.0), (0.3, 0.3), (0.0, 0.3)])
QUAI = PolygonZone([(0.0, 0.6), (1.0, 0.6), (1.0, 1.0), (0.0, 1.0)])
POLYGONS: Mapping[str, PolygonZone] = {"porte": PORTE, "quai": QUAI}
W, H = 160, 120


class Rules:
    def __init__(self, module: str, zone_ids: tuple[str, ...]) -> None:
        window = Window(7, T0 - timedelta(hours=1), T0 + timedelta(hours=1), zone_ids)
        self._rules = GateRules(windows={(module, "cam-1"): (window,)})

    def rules(self, now: datetime) -> GateRules:
        return self._rules


def gate(module: str, zone_ids: tuple[str, ...]) -> ActivationGate:
    return ActivationGate(Rules(module, zone_ids), lambda: T0, cache_ttl_s=0)


BACKGROUND = np.random.default_rng(0).integers(60, 120, size=(H, W), dtype=np.uint8)


def square_at(x: int, y: int) -> np.ndarray:
    frame = BACKGROUND.copy()
    frame[y : y + 12, x : x + 12] = 230
    return frame


def motion_seen(zone_ids: tuple[str, ...], x0: int, y0: int) -> int:
    """Frames with motion reported: 30 of the still background, then a square walking right from (x0, y0)."""
    pipeline = MotionPipeline("cam-1", MotionDetector(), gate("motion", zone_ids), zone_polygons=POLYGONS)
    seen = 0
    for i in range(30):
        pipeline.process(BACKGROUND, T0 + timedelta(seconds=i / 5))
    for step in range(10):
        if pipeline.process(square_at(x0 + 2 * step, y0), T0 + timedelta(seconds=6 + step / 5)) is not None:
            seen += 1
    return seen


def test_motion_outside_the_activation_zones_is_not_seen() -> None:
    bottom = (16, 100)  # x ≈ 0.1, y ≈ 0.86: where the alert of the defect was raised
    assert motion_seen((), *bottom) > 0, "without zones the whole image is analysed"
    assert motion_seen(("porte",), *bottom) == 0
    assert motion_seen(("porte",), 4, 4) > 0, "inside the zone motion is seen"
    assert motion_seen(("porte", "quai"), *bottom) > 0, "the union of the activation's zones"


def test_zones_that_are_not_on_the_camera_let_nothing_through() -> None:
    assert motion_seen((), 4, 4) > 0
    assert motion_seen(("ailleurs",), 4, 4) == 0


class BrightSpot:
    """A pixel module: reports the brightest pixel, and remembers what it was shown."""

    module: ClassVar[str] = "fire_start"
    needs_frame: ClassVar[bool] = True

    def __init__(self) -> None:
        self.frames: list[np.ndarray] = []

    def reset(self) -> None:
        self.frames.clear()

    def update(self, data: RuleInput) -> list[RuleHit]:
        assert data.frame is not None
        self.frames.append(data.frame)
        grey = data.frame.max(axis=2)
        y, x = np.unravel_index(int(np.argmax(grey)), grey.shape)
        if grey[y, x] < 200:
            return []
        return [RuleHit("fire", Box(x / W - 0.02, y / H - 0.02, 0.04, 0.04), 0.9)]


def rule_run(zone_ids: tuple[str, ...], spot: tuple[int, int]) -> tuple[list[str], BrightSpot]:
    rule = BrightSpot()
    pipeline = RulePipeline("cam-1", [rule], gate("fire_start", zone_ids), zone_polygons=POLYGONS)  # type: ignore[list-item]
    frame = np.full((H, W, 3), 30, np.uint8)
    frame[spot[1] : spot[1] + 4, spot[0] : spot[0] + 4] = 255
    out = pipeline.process(frame, T0, 0.0, 0.2)
    return [o.kind for o in out.observations], rule


def test_an_event_module_reads_only_the_pixels_of_its_zones_and_raises_no_alert_outside() -> None:
    outside = (16, 102)
    kinds, _ = rule_run((), outside)
    assert kinds == ["fire"], "without zones the whole image is analysed"
    kinds, rule = rule_run(("porte",), outside)
    assert kinds == []
    shown = rule.frames[0]
    assert shown[int(0.5 * H) :, :].max() == 0, "pixels outside the zone are black when the module reads them"
    assert shown[: int(0.25 * H), : int(0.25 * W)].min() == 30, "pixels inside are untouched"
    kinds, _ = rule_run(("porte",), (10, 10))
    assert kinds == ["fire"]
