"""Checks of the event modules' settings in a configuration file (``analysis.modules`` of each camera).

The configuration package cannot know the modules (analytics depends on config, not the reverse), so their
settings are validated here, against the modules' own configuration classes, and reported like every other
configuration issue: file, line, field, message, hint.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from vigie.analytics.rules.registry import MODULES
from vigie.analytics.rules.weapon import ModuleUnavailable, WeaponConfig, check_weapon_model
from vigie.config.fields import Loc
from vigie.config.models import VigieConfig

PIXEL_MODULES = frozenset({"crowd_movement", "fire_start"})
"""Modules that read the picture itself; every other one reads objects from a detection model."""


def check_module_settings(config: VigieConfig) -> Iterator[tuple[Loc, str, str]]:
    """Every problem of every camera's ``analysis.modules`` (unknown module, invalid setting, no detector)."""
    for c, commune in enumerate(config.communes):
        for s, site in enumerate(commune.sites):
            for k, camera in enumerate(site.cameras):
                base: Loc = ("communes", c, "sites", s, "cameras", k, "analysis", "modules")
                for module, params in camera.analysis.modules.items():
                    yield from _check((*base, module), module, params, camera.analysis.detector)


def _check(loc: Loc, module: str, params: dict[str, Any], detector: str | None) -> Iterator[tuple[Loc, str, str]]:
    if module not in MODULES:
        known = ", ".join(sorted(MODULES))
        yield loc, f"unknown event module {module!r}", f"one of {known} (motion and tracking need no settings)"
        return
    config_class, _ = MODULES[module]
    try:
        settings = config_class.model_validate(params)
    except ValidationError as err:
        for error in err.errors(include_url=False, include_input=False):
            yield (*loc, *error["loc"]), error["msg"], "see docs/event-modules.md"
        return
    if module == "weapon":
        assert isinstance(settings, WeaponConfig)
        try:
            check_weapon_model(settings)
        except ModuleUnavailable as err:
            yield loc, str(err), "Vigie ships no weapon model"
        return
    if module not in PIXEL_MODULES and detector is None:
        yield (
            loc,
            f"{module} reads objects (people, vehicles, bags) but this camera has no detection model",
            "set analysis.detector to a model registered with `vigie models add` or `vigie models install`",
        )
