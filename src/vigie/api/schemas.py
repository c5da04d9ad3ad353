"""Response schemas: what the API promises to clients (separate from domain types on purpose)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError


class RequestModel(BaseModel):
    """Base of every request body: a key the schema does not know is refused (422 naming it), never dropped.

    A misspelt field silently dropped changes the meaning of a request (``zones`` instead of ``zone_ids``
    activated a module on the whole camera, issue 14 D4)."""

    model_config = ConfigDict(extra="forbid")


# --- Dates given by clients: one type for every route, in queries and bodies (issue 15, D13) -----------------------

FIRST_INSTANT: Final = datetime(1970, 1, 1, tzinfo=UTC)
"""No footage, audit entry, decision or account of Vigie is older than the Unix epoch."""
END_INSTANT: Final = datetime(9999, 12, 31, tzinfo=UTC)
"""Excluded: a day before the last instant Python can hold, so that any time zone (UTC±14:00) and the services'
arithmetic of hours around a given instant stay representable. 9999-12-31T23:59:59-14:00 is past it once in UTC."""
FIRST_DAY: Final = FIRST_INSTANT.date()
LAST_DAY: Final = date(9999, 12, 31)
DATE_ERRORS: Final = frozenset({"time_zone_missing", "instant_out_of_range", "day_out_of_range"})
"""Error types of :data:`Instant` and :data:`Day`: the 422's message names the field with them."""


def _instant(value: datetime) -> datetime:
    # Written by hand because pydantic checks neither that a time zone is given in a form we can explain, nor that
    # the instant exists in UTC: 0001-01-01T00:00:00+14:00 parses, then overflows wherever it is converted (storage,
    # comparisons with stored times, the audit's UTC spelling): a 500 before (issue 15, D13).
    if value.utcoffset() is None:
        raise PydanticCustomError(
            "time_zone_missing", "must carry a time zone, e.g. 2026-11-28T18:00:00Z or 2026-11-28T19:00:00+01:00"
        )
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not FIRST_INSTANT <= utc < END_INSTANT:
        raise PydanticCustomError(
            "instant_out_of_range",
            "must be between 1970 and 9999 in UTC: from 1970-01-01T00:00:00Z, before 9999-12-31T00:00:00Z",
        )
    return utc


def _day(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise PydanticCustomError("day_out_of_range", "must be a day between 1970-01-01 and 9999-12-31")
    return value


Instant = Annotated[datetime, AfterValidator(_instant)]
"""An instant a client gives (query parameter or body field): with a time zone, between 1970 and 9999 in UTC;
answered in UTC (one spelling per instant). Anything else is a 422 naming the field."""
Day = Annotated[date, AfterValidator(_day)]
"""A calendar day a client gives (a training, a decision, an agreement's end): between 1970-01-01 and
9999-12-31; the services refuse what their rules do not allow within that (a training in the future…)."""


class RegionOut(BaseModel):
    x: float = Field(description="left edge, normalised 0..1")
    y: float = Field(description="top edge, normalised 0..1")
    w: float = Field(description="width, normalised 0..1")
    h: float = Field(description="height, normalised 0..1")


class EventOut(BaseModel):
    id: int
    camera_id: str
    module: str = Field(description="analysis module that produced the event")
    kind: str
    started_at: datetime
    ended_at: datetime
    region: RegionOut
    score: float
    model_version: str
    observations: int


class EventPageOut(BaseModel):
    items: list[EventOut]
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page, null on the last page")


class LocationOut(BaseModel):
    lat: float = Field(description="WGS84 latitude in degrees")
    lon: float = Field(description="WGS84 longitude in degrees")
    address: str | None = Field(default=None, description="street address, when configured")


class CameraOut(BaseModel):
    id: str
    name: str
    commune_id: str
    site_id: str
    kind: str
    simulated: bool
    state: str = Field(description="starting, online, degraded or offline")
    reason: str = Field(description="why the camera is degraded or offline (credentials never shown)")
    since: datetime | None
    fps_in: float
    location: LocationOut | None = Field(default=None, description="where the camera stands, for an offline map")
    commune_name: str = Field(default="", description="the name of the camera's commune (tenant)")
    site_name: str = Field(default="", description="the name of the camera's site")
    tags: list[str] = Field(default_factory=list, description="short labels from the configuration (tram, parvis…)")
    authorisation: str = Field(
        default="valid",
        description="its prefectoral authorisation today: valid, expiring, expired, not_yet_valid or missing (L1)",
    )
    recording: bool = Field(
        default=False,
        description="whether it is being recorded: authorised today, reporting, and no recording failure reported",
    )
    analysis: list[str] = Field(
        default_factory=list, description="analysis modules active on it now (under an activation or simulated)"
    )


class HealthOut(BaseModel):
    status: str
    version: str


# --- Authentication and accounts (issue #7) --------------------------------------------------------------------


class LoginIn(RequestModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    totp: str = Field(default="", max_length=16, description="6-digit code; required for administrators and DPOs")


class MeOut(BaseModel):
    username: str
    display_name: str
    commune_id: str
    roles: list[str]
    permissions: list[str]
    communes: list[str] = Field(description="tenants whose cameras this person sees (own + shared)")
    video_access: bool
    video_refusal: str = Field(description="why video is not accessible (authorisation, training), or empty")
    csrf_token: str = Field(description="send it back in the X-CSRF-Token header of every POST/PUT/PATCH/DELETE")


class OidcMethodOut(BaseModel):
    label: str = Field(description="the login button's label (e.g. Compte Grand Lyon)")
    url: str = Field(description="where the button leads (a plain link: the browser navigates there)")


class AuthMethodsOut(BaseModel):
    password: bool = Field(description="local accounts with a password (and a code for admins and DPOs): always")
    oidc: OidcMethodOut | None = Field(description="single sign-on through an OpenID provider; null when off")


class PasswordChangeIn(RequestModel):
    current: str = Field(min_length=1, max_length=256)
    new: str = Field(min_length=1, max_length=256)


class UserOut(BaseModel):
    username: str
    display_name: str
    commune_id: str
    roles: list[str]
    authorised_until: date | None
    trained_on: date | None
    second_factor: bool
    disabled: bool
    locked: bool


class UserIn(RequestModel):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")
    display_name: str = Field(min_length=1, max_length=256)
    roles: list[Literal["operator", "supervisor", "investigator", "dpo", "auditor", "authority", "administrator"]] = (
        Field(min_length=1, max_length=7)
    )
    password: str = Field(min_length=1, max_length=256)
    authorised_until: Day | None = Field(default=None, description="end of the authorisation to view video (L8)")
    trained_on: Day | None = Field(default=None, description="date of the data-protection training (L9)")


class NewUserOut(BaseModel):
    user: UserOut
    totp_uri: str | None = Field(description="otpauth:// URI of the second factor, shown only now")


class UserPatchIn(RequestModel):
    authorised_until: Day | None = None
    trained_on: Day | None = None
    disabled: bool | None = None
    unlock: bool = False


class AgreementIn(RequestModel):
    partner_commune: str = Field(min_length=1, max_length=64)
    reference: str = Field(min_length=1, max_length=256, description="reference of the signed agreement")
    starts_on: Day
    ends_on: Day


class AgreementOut(BaseModel):
    id: int
    owner_commune: str
    partner_commune: str
    reference: str
    starts_on: date
    ends_on: date
    recorded_by: str
    revoked: bool
    in_force: bool


class CommuneOut(BaseModel):
    id: str
    name: str
    kind: str
    sites: list[str]
    own: bool = Field(description="the caller's own tenant (otherwise shared with it by an agreement)")


class RoleOut(BaseModel):
    role: str
    permissions: list[str]
    second_factor: bool = Field(description="holders cannot log in without a TOTP code")
    video: bool = Field(description="holders see video, so need an authorisation in force and a training (L8, L9)")


class PublicCameraOut(BaseModel):
    id: str
    name: str
    commune_id: str
    site_id: str
    kind: str
    address: str | None = Field(default=None, description="where the camera stands, when configured")
    authorisation: Literal["valid", "expiring", "expired", "not_yet_valid", "missing"] | None = Field(
        default=None,
        description="its prefectoral authorisation today (L1): valid, expiring (within four months), expired or "
        "not_yet_valid (then it neither records nor streams), missing; null where this server does not know",
    )
    authorisation_reference: str | None = Field(default=None, description="the prefectoral decision's reference")
    authorised_until: date | None = Field(default=None, description="last day of the authorisation (Paris day)")


class PublicPanelOut(BaseModel):
    controller: str = Field(description="the controller the panel names: an organisation, as printed")
    contact: str = Field(description="where to exercise one's rights: the service's address, e-mail or telephone")
    camera_ids: list[str] = Field(description="the site's cameras this panel covers")


class PublicSiteSignageOut(BaseModel):
    commune_id: str
    site_id: str
    site_name: str
    panels: list[PublicPanelOut] = Field(
        description="one entry per distinct controller and contact printed on the site's panels (L7)"
    )


class PublicActivationOut(BaseModel):
    module: str
    module_title: str
    framework: str = Field(description="the legal framework that allows it")
    commune_id: str
    camera_ids: list[str]
    purpose: str
    decision_number: str
    decision_date: date | None
    starts_at: datetime
    runs_until: datetime


class PublicAnalysisOut(BaseModel):
    at: datetime
    stopped: bool = Field(description="the global stop switch is engaged: no analysis runs")
    activations: list[PublicActivationOut] = Field(description="algorithmic analysis in force now")


# --- Alerts ------------------------------------------------------------------------------------------------------


class AlertOut(BaseModel):
    id: int
    camera_id: str
    module: str
    kind: str
    at: datetime
    region: RegionOut
    score: float
    model_version: str
    state: str = Field(description="pending, confirmed or dismissed")
    verdict: str | None
    decided_by: str | None
    decided_role: str | None
    decided_at: datetime | None
    note: str
    priority: str = Field(
        description="critical, high, normal or low: how soon a person should look at it, by its module "
        "(configuration `alerts.priorities`); it orders the operators' queue and decides nothing"
    )
    priority_rank: int = Field(description="0 for critical … 3 for low: sort pending alerts by it, then oldest first")


class AlertPageOut(BaseModel):
    items: list[AlertOut]
    limit: int
    offset: int
    next_offset: int | None


class ConfirmIn(RequestModel):
    note: str = Field(default="", max_length=2000)


class DismissIn(RequestModel):
    verdict: Literal["false_positive", "not_actionable", "duplicate"] = "false_positive"
    note: str = Field(default="", max_length=2000)


class ModuleStatisticsOut(BaseModel):
    module: str
    camera_id: str
    raised: int
    pending: int
    confirmed: int
    false_positives: int
    not_actionable: int
    duplicates: int
    false_positive_rate: float | None


# --- Sites, zones and the recordings timeline ---------------------------------------------------------------------


class SiteOut(BaseModel):
    id: str
    commune_id: str
    name: str
    address: str | None
    camera_ids: list[str] = Field(description="cameras of the site you may see, in configuration order")


class SitePageOut(BaseModel):
    items: list[SiteOut]
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page, null on the last page")


class ZoneOut(BaseModel):
    id: str
    kind: str = Field(description="analysis, privacy_mask (burnt out of every frame) or directed_line")
    description: str | None
    points: list[tuple[float, float]] = Field(
        description="[x, y] normalised 0..1, origin top-left: a closed polygon, or a line's start and end"
    )
    direction: str | None = Field(description="directed lines only: left_to_right, right_to_left or both")


class CameraZonesOut(BaseModel):
    camera_id: str
    zones: list[ZoneOut]


class SpanOut(BaseModel):
    start: datetime
    end: datetime
    segments: int = Field(description="segments merged into this span")


class UnavailableSpanOut(SpanOut):
    state: str = Field(
        description="quarantined (after a crash), missing (from the store) or deleted (retention, disk pressure)"
    )


class GapOut(BaseModel):
    start: datetime
    end: datetime


class RecordingTimelineOut(BaseModel):
    camera_id: str
    start: datetime
    end: datetime
    recorded: list[SpanOut] = Field(description="playable spans, contiguous segments merged, clipped to the range")
    gaps: list[GapOut] = Field(description="parts of the range with nothing playable")
    unavailable: list[UnavailableSpanOut] = Field(description="recorded but not playable, and why")
