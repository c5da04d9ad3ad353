"""density (alert) and the statistics modules line_count / occupancy (L33: totals per bucket, small ones withheld),
and weapon's refusal to run without an approved model."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.analytics.rules.scripted import Walker, run_scene
from vigie.analytics.rules.base import RuleInput
from vigie.analytics.rules.density import Density, DensityConfig
from vigie.analytics.rules.line_count import LineCount, LineCountConfig
from vigie.analytics.rules.occupancy import Occupancy, OccupancyConfig
from vigie.analytics.rules.registry import RuleConfigError, build_rule
from vigie.analytics.rules.weapon import ModuleUnavailable, Weapon, WeaponConfig
from vigie.domain.detections import Detections, ObjectClass

P = ObjectClass.PERSON
SQUARE = ((0.3, 0.5), (0.7, 0.5), (0.7, 0.9), (0.3, 0.9))


def people_in_square(n: int, arrive: float, leave: float) -> list[Walker]:
    """``n`` people standing in a grid inside SQUARE from ``arrive`` to ``leave`` seconds (coming from the left)."""
    out = []
    for k in range(n):
        x, y = 0.33 + 0.07 * (k % 5), 0.6 + 0.1 * (k // 5)
        out.append(Walker(P, [(arrive - 3, -0.05, y), (arrive, x, y), (leave, x, y), (leave + 3, 1.05, y)]))
    return out


def test_density_above_the_count_for_long_enough_is_one_alert() -> None:
    config = DensityConfig.model_validate({"zones": [{"points": SQUARE, "max_count": 6}], "min_duration_s": 5})
    run = run_scene(Density(config), people_in_square(8, 5, 40), 45)
    # The 7th person's feet cross into the square at ≈ 4.7 s (they come from the left), then 5 s above.
    assert len(run.hits) == 1 and 9.6 <= run.times[0] <= 11.0


def test_density_below_the_threshold_or_too_briefly_is_nothing() -> None:
    config = DensityConfig.model_validate({"zones": [{"points": SQUARE, "max_count": 6}], "min_duration_s": 5})
    assert run_scene(Density(config), people_in_square(5, 5, 40), 45).hits == []
    assert run_scene(Density(config), people_in_square(8, 5, 8), 15).hits == []  # 3 s above


def test_density_per_square_metre_uses_the_measured_area() -> None:
    config = DensityConfig.model_validate({"zones": [{"points": SQUARE, "area_m2": 4.0}], "max_per_m2": 2.0})
    config = config.model_copy(update={"min_duration_s": 2.0})
    assert len(run_scene(Density(config), people_in_square(9, 3, 20), 20).hits) == 1  # 2.25 per m²
    assert run_scene(Density(config), people_in_square(7, 3, 20), 20).hits == []  # 1.75 per m²


def test_a_density_zone_needs_an_area_or_a_count() -> None:
    with pytest.raises(RuleConfigError, match="area_m2"):
        build_rule("density", {"zones": [{"points": SQUARE}]})


def test_line_count_reports_bucket_totals_and_withholds_small_ones() -> None:
    rule = LineCount(LineCountConfig.model_validate({"line": [(0.5, 0.3), (0.5, 1.0)], "bucket_s": 60, "min_count": 3}))
    walkers = [Walker(P, [(t0, 0.1, 0.8), (t0 + 6, 0.9, 0.8)]) for t0 in (2, 10, 20, 30)]  # 4 in the first minute
    walkers += [Walker(P, [(70, 0.9, 0.7), (76, 0.1, 0.7)])]  # 1 in the second minute
    closed = []
    for step in range(0, 5 * 130):
        t = step / 5
        rule.update(RuleInput(t, (640, 360), _tracked(walkers, t)))
        closed += rule.closed
    assert [(b.start, b.value) for b in closed] == [(0.0, 4.0), (60.0, None)]
    assert all(b.module == "line_count" for b in closed)


def test_occupancy_reports_the_mean_and_withholds_quiet_buckets() -> None:
    rule = Occupancy(OccupancyConfig.model_validate({"zones": [SQUARE], "bucket_s": 60, "min_count": 5}))
    crowd = people_in_square(6, 3, 57)
    closed = []
    for step in range(0, 5 * 125):
        t = step / 5
        rule.update(RuleInput(t, (640, 360), _tracked(crowd, t)))
        closed += rule.closed
    first, second = closed[0], closed[1]
    assert first.value is not None and 4.5 <= first.value <= 6.0 and second.value is None


def _tracked(walkers: list[Walker], t: float) -> Detections:
    """Detections with stable ids (one per walker): the statistics modules' own logic, not the tracker's."""
    boxes, ids = [], []
    for k, walker in enumerate(walkers):
        state = walker.at(t)
        if state is None:
            continue
        x, y, w, h = state
        boxes.append([(x - w / 2) * 640, (y - h) * 360, (x + w / 2) * 640, y * 360])
        ids.append(k + 1)
    return Detections.create(boxes if boxes else [[0, 0, 0, 0]][:0], [0.9] * len(ids), [int(P)] * len(ids), ids)


def test_weapon_refuses_without_an_approved_model(tmp_path: Path) -> None:
    with pytest.raises(ModuleUnavailable, match="no approved model"):
        build_rule("weapon", {})
    model = tmp_path / "weapon.onnx"
    model.write_bytes(b"weights v1")
    approved = hashlib.sha256(b"weights v1").hexdigest()
    with pytest.raises(ModuleUnavailable, match="missing"):
        Weapon(WeaponConfig(model_path=tmp_path / "gone.onnx", model_sha256=approved))
    model.write_bytes(b"weights v2, swapped")
    with pytest.raises(ModuleUnavailable, match="approved again"):
        Weapon(WeaponConfig(model_path=model, model_sha256=approved))
    model.write_bytes(b"weights v1")
    rule = Weapon(WeaponConfig(model_path=model, model_sha256=approved, min_score=0.5))
    frame = Detections.create([[10, 10, 40, 60], [100, 10, 130, 60]], [0.9, 0.3], [0, 0], [1, 2])
    assert len(rule.update(RuleInput(0.0, (640, 360), frame))) == 1
    assert rule.update(RuleInput(0.2, (640, 360), frame)) == []  # same track: once
