"""The event modules by catalogue id, with their configuration classes, and how to build one from plain data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from vigie.analytics.rules.abandoned_object import AbandonedObject, AbandonedObjectConfig
from vigie.analytics.rules.base import Rule, RuleConfig
from vigie.analytics.rules.crowd_movement import CrowdMovement, CrowdMovementConfig
from vigie.analytics.rules.density import Density, DensityConfig
from vigie.analytics.rules.fire_start import FireStart, FireStartConfig
from vigie.analytics.rules.intrusion import Intrusion, IntrusionConfig
from vigie.analytics.rules.line_count import LineCount, LineCountConfig
from vigie.analytics.rules.loitering import Loitering, LoiteringConfig
from vigie.analytics.rules.occupancy import Occupancy, OccupancyConfig
from vigie.analytics.rules.person_on_ground import PersonOnGround, PersonOnGroundConfig
from vigie.analytics.rules.stationary_vehicle import StationaryVehicle, StationaryVehicleConfig
from vigie.analytics.rules.weapon import ModuleUnavailable, Weapon, WeaponConfig
from vigie.analytics.rules.wrong_way import WrongWay, WrongWayConfig

MODULES: dict[str, tuple[type[RuleConfig], type[Any]]] = {
    "intrusion": (IntrusionConfig, Intrusion),
    "abandoned_object": (AbandonedObjectConfig, AbandonedObject),
    "wrong_way": (WrongWayConfig, WrongWay),
    "person_on_ground": (PersonOnGroundConfig, PersonOnGround),
    "crowd_movement": (CrowdMovementConfig, CrowdMovement),
    "density": (DensityConfig, Density),
    "fire_start": (FireStartConfig, FireStart),
    "weapon": (WeaponConfig, Weapon),
    "loitering": (LoiteringConfig, Loitering),
    "stationary_vehicle": (StationaryVehicleConfig, StationaryVehicle),
    "line_count": (LineCountConfig, LineCount),
    "occupancy": (OccupancyConfig, Occupancy),
}
"""Every event and statistics module, keyed by its id in ``governance/catalogue.yaml``."""

STATISTICS = frozenset({"line_count", "occupancy"})
"""Modules that produce time-bucketed totals (L33), never alerts."""


class RuleConfigError(ValueError):
    """A module configuration that does not validate; the message lists every problem with its field."""


def parse_config(module: str, params: Mapping[str, Any]) -> RuleConfig:
    """Validate ``params`` as ``module``'s configuration."""
    if module not in MODULES:
        raise RuleConfigError(f"unknown module {module!r}; expected one of {', '.join(sorted(MODULES))}")
    config_class, _ = MODULES[module]
    try:
        return config_class.model_validate(dict(params))
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(module)'}: {e['msg']}" for e in err.errors(include_url=False)
        )
        raise RuleConfigError(f"{module}: {problems}") from None


def build_rule(module: str, params: Mapping[str, Any] | RuleConfig) -> Rule:
    """A ready module for one camera. Raises ``RuleConfigError`` or ``ModuleUnavailable`` with the reason."""
    config = params if isinstance(params, RuleConfig) else parse_config(module, params)
    _, rule_class = MODULES[module]
    rule: Rule = rule_class(config)
    return rule


__all__ = ["MODULES", "STATISTICS", "ModuleUnavailable", "RuleConfigError", "build_rule", "parse_config"]
