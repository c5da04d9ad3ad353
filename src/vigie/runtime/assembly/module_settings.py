"""Checks of the event modules' settings in a configuration file (``analysis.modules`` of each camera).

The configuration package cannot know the modules (analytics depends on config, not the reverse), so their
settings are validated here, against the modules' own configuration classes, and reported like every other
configuration issue: file, line, field, message, hint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pydantic import ValidationError

from vigie.analytics.autotrack import MODULE as AUTOTRACK
from vigie.analytics.autotrack import AutoTrackingConfig
from vigie.analytics.plates import PLATE_MODULE, PlateReadingConfig
from vigie.analytics.rules.registry import MODULES
from vigie.analytics.rules.weapon import ModuleUnavailable, WeaponConfig, check_weapon_model
from vigie.config.camera import Camera
from vigie.config.detectors import DetectorSettings
from vigie.config.fields import Loc
from vigie.config.models import VigieConfig
from vigie.domain.activation import ActivationRequest
from vigie.domain.camera import CameraKind
from vigie.governance.activation import Refusal

PIXEL_MODULES = frozenset({"crowd_movement", "fire_start"})
"""Modules that read the picture itself; every other one reads objects from a detection model."""


def check_module_settings(config: VigieConfig) -> Iterator[tuple[Loc, str, str]]:
    """Every problem of every camera's ``analysis.modules`` (unknown module, invalid setting, no detector)."""
    for c, commune in enumerate(config.communes):
        for s, site in enumerate(commune.sites):
            for k, camera in enumerate(site.cameras):
                base: Loc = ("communes", c, "sites", s, "cameras", k, "analysis", "modules")
                for module, params in camera.analysis.modules.items():
                    if module == AUTOTRACK:
                        yield from _check_autotracking((*base, module), params, camera)
                        continue
                    yield from _check((*base, module), module, params, camera.analysis.detector)


def _check_autotracking(loc: Loc, params: dict[str, Any], camera: Camera) -> Iterator[tuple[Loc, str, str]]:
    """Auto-tracking's settings, on a dome Vigie drives (it moves the dome: nothing else can run it)."""
    try:
        AutoTrackingConfig.model_validate(params)
    except ValidationError as err:
        for error in err.errors(include_url=False, include_input=False):
            yield (*loc, *error["loc"]), error["msg"], "see docs/devices.md, Auto-tracking"
        return
    if camera.kind is not CameraKind.PTZ or camera.onvif is None:
        yield (
            loc,
            f"{AUTOTRACK} moves a dome, and camera {camera.id} is not a dome Vigie drives",
            "set `kind: ptz` and its `onvif:` device (with `credentials`), or remove the module's settings",
        )


def _check(
    loc: Loc, module: str, params: dict[str, Any], detector: DetectorSettings | None
) -> Iterator[tuple[Loc, str, str]]:
    if module == PLATE_MODULE:
        yield from _check_plates(loc, params, detector)
        return
    if module not in MODULES:
        known = ", ".join(sorted([*MODULES, PLATE_MODULE, AUTOTRACK]))
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
        # Its detections must come from its own model: the camera's object detector knows no weapons (its class
        # 0 is a person). Until the worker runs a second model, the module is refused rather than mis-fed.
        yield loc, "weapon needs its own detection model in the camera worker, which this version does not run", ""
        return
    if module not in PIXEL_MODULES and detector is None:
        yield (
            loc,
            f"{module} reads objects (people, vehicles, bags) but this camera has no detection model",
            "set analysis.detector to a model registered with `vigie models add` or `vigie models install`",
        )


def _check_plates(
    loc: Loc, params: dict[str, Any], detector: DetectorSettings | None
) -> Iterator[tuple[Loc, str, str]]:
    try:
        settings = PlateReadingConfig.model_validate(params)
    except ValidationError as err:
        for error in err.errors(include_url=False, include_input=False):
            yield (*loc, *error["loc"]), error["msg"], "see docs/lpr-pipeline.md"
        return
    if not settings.lpr_camera and detector is None:
        yield (
            loc,
            "plate_reading reads the plates of the vehicles a detection model finds, and this camera has none",
            "set analysis.detector to a registered model, or lpr_camera: true on a camera dedicated to one lane",
        )


def module_readiness(config: VigieConfig) -> Callable[[ActivationRequest], list[Refusal]]:
    """Refusals for an activation of an event module on cameras where it could not run as configured: no
    settings (an intrusion needs its zones), invalid ones, no detection model, or — for ``weapon`` — no approved
    model file. Built-in modules (motion, tracking) need no settings."""
    cameras = {p.camera.id: p.camera for p in config.placements()}

    def refusals(request: ActivationRequest) -> list[Refusal]:
        if request.module not in MODULES and request.module != PLATE_MODULE:
            return []
        found: list[Refusal] = []
        for camera_id in request.camera_ids:
            camera = cameras.get(camera_id)
            if camera is None:
                continue  # the perimeter check names unknown cameras
            params = camera.analysis.modules.get(request.module)
            if params is None:
                found.append(
                    Refusal(
                        "module_not_configured",
                        f"camera {camera_id} has no settings for {request.module}: add "
                        f"analysis.modules.{request.module} to its configuration (docs/event-modules.md) first",
                    )
                )
                continue
            problems = [message for _, message, _ in _check((), request.module, params, camera.analysis.detector)]
            if problems:
                found.append(
                    Refusal("module_unavailable", f"{request.module} cannot run on {camera_id}: {'; '.join(problems)}")
                )
        return found

    return refusals
