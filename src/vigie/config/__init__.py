"""The YAML configuration of Vigie: pydantic models (unknown keys refused, every field titled and described,
no I/O in validators) and a loader that reports every problem at once, with its line and a fix.

Imports only :mod:`vigie.domain` from the project (checked by import-linter).
"""

from vigie.config.check_command import check_command
from vigie.config.issues import ConfigError, ConfigIssue, format_issues
from vigie.config.loader import check_config, load_config, load_config_text
from vigie.config.models import (
    MAX_RETENTION_DAYS,
    AnalysisSettings,
    AnalysisZone,
    ApiSettings,
    Authorisation,
    Camera,
    CameraPlacement,
    Commune,
    CommuneKind,
    DirectedLineZone,
    LineDirection,
    Location,
    MotionSettings,
    PrivacyMaskZone,
    Site,
    StorageSettings,
    VigieConfig,
    Zone,
)

__all__ = [
    "MAX_RETENTION_DAYS",
    "AnalysisSettings",
    "AnalysisZone",
    "ApiSettings",
    "Authorisation",
    "Camera",
    "CameraPlacement",
    "Commune",
    "CommuneKind",
    "ConfigError",
    "ConfigIssue",
    "DirectedLineZone",
    "LineDirection",
    "Location",
    "MotionSettings",
    "PrivacyMaskZone",
    "Site",
    "StorageSettings",
    "VigieConfig",
    "Zone",
    "check_command",
    "check_config",
    "format_issues",
    "load_config",
    "load_config_text",
]
