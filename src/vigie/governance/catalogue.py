"""The legal catalogue: which analysis modules exist, which legal frameworks can authorise them, where and for
whom (L22–L26, L33, L34).

The catalogue is data (``catalogue.yaml``, versioned) so that what the software allows can be read next to the
texts; the forbidden capabilities are code, so that no edit of that file can bring them in: a catalogue that
declares one — as a module id or as a capability of a module — does not load (L25, L26).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Final

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vigie.config.models import CameraSetting, CommuneKind
from vigie.domain.clock import LEGAL_TIME_ZONE

"""Statutory end dates are French calendar days: a framework ending on 31 March ends at midnight, Paris time."""

FORBIDDEN_CAPABILITIES: Final[Mapping[str, str]] = {
    "facial_recognition": "L25 (loi 2023-380 art. 10; AI Act art. 5(1)(h))",
    "face_recognition": "L25 (loi 2023-380 art. 10; AI Act art. 5(1)(h))",
    "face_identification": "L25 (loi 2023-380 art. 10; AI Act art. 5(1)(h))",
    "biometric_identification": "L25 (loi 2023-380 art. 10; AI Act art. 5(1)(h))",
    "biometric_categorisation": "L25 (AI Act art. 5(1)(g))",
    "reidentification": "L25 (re-identification across cameras; loi 2023-380 art. 10)",
    "re_identification": "L25 (re-identification across cameras; loi 2023-380 art. 10)",
    "cross_camera_tracking": "L25 (re-identification across cameras; loi 2023-380 art. 10)",
    "appearance_search": "L25 (appearance search of persons; loi 2023-380 art. 10)",
    "person_search": "L25 (appearance search of persons; loi 2023-380 art. 10)",
    "age_classification": "L25 (AI Act art. 5(1)(g))",
    "age_estimation": "L25 (AI Act art. 5(1)(g))",
    "gender_classification": "L25 (AI Act art. 5(1)(g))",
    "ethnicity_classification": "L25 (AI Act art. 5(1)(g))",
    "demographic_classification": "L25 (AI Act art. 5(1)(g))",
    "emotion_recognition": "L26 (AI Act art. 5(1)(f))",
    "emotion_detection": "L26 (AI Act art. 5(1)(f))",
}
"""Capabilities that can never be in the build, with the requirement forbidding them."""

DEFAULT_CATALOGUE: Final = "catalogue.yaml"

CatalogueId = Annotated[str, Field(pattern=r"^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$")]


class CatalogueError(ValueError):
    """The catalogue cannot be loaded; the message says what is wrong and where."""


class ForbiddenCapabilityError(CatalogueError):
    """The catalogue declares a capability that can never be in the build (L25, L26)."""


def forbidden_reason(name: str) -> str | None:
    """The requirement forbidding capability or module ``name`` (any spelling), or None when it is allowed."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    return FORBIDDEN_CAPABILITIES.get(key) or FORBIDDEN_CAPABILITIES.get(key.replace("_", ""))


class _CatalogueModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Framework(_CatalogueModel):
    """A legal text that can authorise some modules, on some camera settings, for some tenants, until a date."""

    id: CatalogueId = Field(title="Framework id", description="Identifier used in activations.")
    title: str = Field(min_length=1, title="Title", description="Name of the framework for people.")
    description: str = Field(min_length=1, title="Description", description="What the framework allows.")
    reference: str = Field(min_length=1, title="Reference", description="The legal texts it rests on.")
    ends_on: date | None = Field(
        default=None,
        title="Statutory end date",
        description="Last day (inclusive, Paris time) the framework applies; none when it has no end date (L23).",
    )
    settings: tuple[CameraSetting, ...] = Field(
        min_length=1, title="Camera settings", description="Camera settings the framework covers."
    )
    tenant_kinds: tuple[CommuneKind, ...] = Field(
        min_length=1, title="Tenant kinds", description="Kinds of tenant that may act under the framework."
    )
    note: str | None = Field(default=None, title="Note", description="What the deployer must check before use.")

    @property
    def ends_at(self) -> datetime | None:
        """The instant the framework stops applying: midnight (Paris) after its last day."""
        if self.ends_on is None:
            return None
        return datetime.combine(self.ends_on + timedelta(days=1), time(0), tzinfo=LEGAL_TIME_ZONE)

    def in_force(self, at: datetime) -> bool:
        end = self.ends_at
        return end is None or at < end


class Module(_CatalogueModel):
    """An analysis module, and who may authorise it for whom."""

    id: CatalogueId = Field(title="Module id", description="Identifier the analytics runtime asks the gate for.")
    title: str = Field(min_length=1, title="Title", description="Name of the module for people.")
    description: str = Field(min_length=1, title="Description", description="What the module detects.")
    frameworks: tuple[CatalogueId, ...] = Field(
        min_length=1, title="Frameworks", description="Ids of the frameworks that can authorise the module."
    )
    tenant_kinds: tuple[CommuneKind, ...] = Field(
        default=(CommuneKind.MUNICIPAL, CommuneKind.STATE),
        title="Tenant kinds",
        description="Kinds of tenant that may use the module at all (plate reading: state only, L34).",
    )
    capabilities: tuple[CatalogueId, ...] = Field(
        default=(),
        title="Capabilities",
        description="Technical capabilities the module needs; forbidden ones (L25, L26) are refused at load.",
    )

    @model_validator(mode="after")
    def _nothing_forbidden(self) -> Module:
        for name in (self.id, *self.capabilities):
            reason = forbidden_reason(name)
            if reason is not None:
                what = "module" if name == self.id else f"capability {name!r} of module"
                raise ValueError(
                    f"{what} {self.id!r} is forbidden in the build by {reason}; remove it from the catalogue"
                )
        return self


class Catalogue(_CatalogueModel):
    """The versioned legal catalogue."""

    version: int = Field(ge=1, title="Version", description="Version of the catalogue, raised at every change.")
    updated: date = Field(title="Updated", description="Day the catalogue was last checked against the law.")
    frameworks: tuple[Framework, ...] = Field(title="Frameworks", description="The legal frameworks.")
    modules: tuple[Module, ...] = Field(title="Modules", description="The analysis modules.")

    @model_validator(mode="after")
    def _consistent(self) -> Catalogue:
        for kind, ids in (("framework", [f.id for f in self.frameworks]), ("module", [m.id for m in self.modules])):
            repeated = sorted({i for i in ids if ids.count(i) > 1})
            if repeated:
                raise ValueError(f"{kind} ids must be unique: {', '.join(repeated)}")
        known = {f.id for f in self.frameworks}
        for module in self.modules:
            unknown = [f for f in module.frameworks if f not in known]
            if unknown:
                raise ValueError(f"module {module.id!r} names unknown frameworks: {', '.join(unknown)}")
        return self

    def module(self, module_id: str) -> Module | None:
        return next((m for m in self.modules if m.id == module_id), None)

    def framework(self, framework_id: str) -> Framework | None:
        return next((f for f in self.frameworks if f.id == framework_id), None)

    def authorises(self, framework_id: str, module_id: str) -> bool:
        """Whether the framework can authorise the module (settings and tenants aside)."""
        module = self.module(module_id)
        return module is not None and framework_id in module.frameworks and self.framework(framework_id) is not None

    def frameworks_for(self, module_id: str, setting: CameraSetting, kind: CommuneKind) -> tuple[Framework, ...]:
        """The frameworks that could authorise the module on a camera of this setting for this tenant kind."""
        module = self.module(module_id)
        if module is None or kind not in module.tenant_kinds:
            return ()
        return tuple(
            f for f in self.frameworks if f.id in module.frameworks and setting in f.settings and kind in f.tenant_kinds
        )


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Load the catalogue from ``path``, or the one packaged with Vigie.

    Raises :class:`ForbiddenCapabilityError` when it declares a forbidden capability (L25, L26) and
    :class:`CatalogueError` for any other problem.
    """
    try:
        if path is None:
            text = resources.files("vigie.governance").joinpath(DEFAULT_CATALOGUE).read_text(encoding="utf-8")
            where = f"packaged {DEFAULT_CATALOGUE}"
        else:
            text = path.read_text(encoding="utf-8")
            where = str(path)
        data = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as err:
        raise CatalogueError(f"cannot read the legal catalogue {path or DEFAULT_CATALOGUE}: {err}") from err
    try:
        return Catalogue.model_validate(data)
    except ValidationError as err:
        problems = [f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in err.errors()]
        message = f"invalid legal catalogue {where}: " + "; ".join(problems)
        if any("forbidden in the build" in p for p in problems):
            raise ForbiddenCapabilityError(message) from None
        raise CatalogueError(message) from None
