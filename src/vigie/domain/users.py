"""People who use Vigie, what they may do, and which communes' cameras they see (L8–L10, L17).

Every account is a named person (no shared or default account) who belongs to one tenant — a commune, an
inter-communal body or a state service — and holds one or more roles. Access to live or recorded video needs an
individual authorisation with an expiry date (L8) and a recorded data-protection training (L9); a user sees the
cameras of their own tenant, and those of another tenant only while a recorded sharing agreement says so (L10).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final, Protocol


class Role(enum.StrEnum):
    """What a person does in the platform. The vocabulary is closed; a user may hold several roles."""

    OPERATOR = "operator"
    """Watches live video in the supervision centre and decides alerts."""
    SUPERVISOR = "supervisor"
    """Operator in charge of a room: decides alerts, requests activations, engages stop switches."""
    INVESTIGATOR = "investigator"
    """Plays back and exports footage on a requisition (police officer, judicial investigator)."""
    DPO = "dpo"
    """Data protection officer: audit, compliance, access requests, approves activations."""
    AUDITOR = "auditor"
    """Reads and verifies the audit log (an outside auditor, the CNIL): no video."""
    AUTHORITY = "authority"
    """The mayor, or the prefect's delegate for a state tenant: approves activations."""
    ADMINISTRATOR = "administrator"
    """Manages accounts and sharing agreements of their tenant, re-enables its webhook endpoints: no video."""


SECOND_FACTOR_ROLES: Final = frozenset({Role.ADMINISTRATOR, Role.DPO})
"""Roles whose holders cannot log in without a TOTP second factor."""

VIDEO_ROLES: Final = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.INVESTIGATOR, Role.DPO})
"""Roles that see live or recorded video, and so need an authorisation and a training (L8, L9)."""


class Permission(enum.StrEnum):
    """One thing a request may do; routes and services ask for these, never for role names."""

    VIEW_CAMERAS = "view_cameras"
    """Camera list, health and map (no pixels)."""
    VIEW_LIVE = "view_live"
    PLAYBACK = "playback"
    EXPORT = "export"
    READ_ALERTS = "read_alerts"
    DECIDE_ALERTS = "decide_alerts"
    READ_GOVERNANCE = "read_governance"
    REQUEST_ACTIVATION = "request_activation"
    APPROVE_ACTIVATION = "approve_activation"
    ENGAGE_STOP = "engage_stop"
    RELEASE_STOP = "release_stop"
    READ_AUDIT = "read_audit"
    MANAGE_USERS = "manage_users"
    VIEW_SYSTEM_HEALTH = "view_system_health"
    """Nodes, disks, cameras offline and recording gaps (no pixels, no personal data)."""
    READ_PLATE_MATCHES = "read_plate_matches"
    """Plate reads of one's own state tenant that matched its hit lists, and their crops (LAPI, L35); audited."""
    MANAGE_HIT_LISTS = "manage_hit_lists"
    """Import one's own state tenant's hit lists (LAPI); audited with the file's SHA-256."""
    HOLD_PLATE_MATCHES = "hold_plate_matches"
    """Keep a match past its month for a procedure, and lift that hold (L35); audited."""
    CONTROL_PTZ = "control_ptz"
    """Drive a dome (move, zoom, recall presets, run a tour); a video permission: it needs what live view needs."""
    MANAGE_PTZ = "manage_ptz"
    """Store and remove a dome's presets and its home position."""
    PLAY_SPEAKER_MESSAGE = "play_speaker_message"
    """Play a pre-recorded message of one's commune on its loudspeakers (a person only, never an algorithm);
    audited."""
    MANAGE_INTEGRATIONS = "manage_integrations"
    """Re-enable a webhook endpoint of one's commune that a 410 Gone answer disabled (issue 21); audited."""
    MANAGE_CASES = "manage_cases"
    """Open a case from a judicial requisition, place holds on its scope, close it (issue 22)."""
    READ_CASES = "read_cases"
    """Read the cases of one's commune (investigators, the DPO and auditors, who check them)."""
    MANAGE_SITE_PLANS = "manage_site_plans"
    """Upload and remove the site plans drawn on the map, for one's own commune (issue 24); audited."""
    HANDLE_ACCESS_REQUESTS = "handle_access_requests"
    """Record and answer filmed persons' requests of access (L19): a video permission, since whoever handles one
    sees its footage (an authorisation and a training, L8/L9)."""


ROLE_PERMISSIONS: Final[dict[Role, frozenset[Permission]]] = {
    Role.OPERATOR: frozenset(
        {
            Permission.VIEW_CAMERAS,
            Permission.VIEW_LIVE,
            Permission.PLAYBACK,
            Permission.READ_ALERTS,
            Permission.DECIDE_ALERTS,
            Permission.READ_GOVERNANCE,
            Permission.ENGAGE_STOP,
            Permission.VIEW_SYSTEM_HEALTH,
            Permission.READ_PLATE_MATCHES,
            Permission.CONTROL_PTZ,
            Permission.PLAY_SPEAKER_MESSAGE,
        }
    ),
    Role.SUPERVISOR: frozenset(
        {
            Permission.VIEW_CAMERAS,
            Permission.VIEW_LIVE,
            Permission.PLAYBACK,
            Permission.READ_ALERTS,
            Permission.DECIDE_ALERTS,
            Permission.READ_GOVERNANCE,
            Permission.REQUEST_ACTIVATION,
            Permission.ENGAGE_STOP,
            Permission.VIEW_SYSTEM_HEALTH,
            Permission.READ_PLATE_MATCHES,
            Permission.MANAGE_HIT_LISTS,
            Permission.CONTROL_PTZ,
            Permission.MANAGE_PTZ,
            Permission.PLAY_SPEAKER_MESSAGE,
        }
    ),
    Role.INVESTIGATOR: frozenset(
        {
            Permission.VIEW_CAMERAS,
            Permission.PLAYBACK,
            Permission.EXPORT,
            Permission.READ_GOVERNANCE,
            Permission.READ_PLATE_MATCHES,
            Permission.HOLD_PLATE_MATCHES,
            Permission.MANAGE_CASES,
            Permission.READ_CASES,
        }
    ),
    Role.DPO: frozenset(
        {
            Permission.VIEW_CAMERAS,
            Permission.READ_ALERTS,
            Permission.READ_GOVERNANCE,
            Permission.REQUEST_ACTIVATION,
            Permission.APPROVE_ACTIVATION,
            Permission.ENGAGE_STOP,
            Permission.RELEASE_STOP,
            Permission.READ_AUDIT,
            Permission.READ_CASES,
            Permission.HANDLE_ACCESS_REQUESTS,
        }
    ),
    Role.AUDITOR: frozenset(
        {Permission.VIEW_CAMERAS, Permission.READ_GOVERNANCE, Permission.READ_AUDIT, Permission.READ_CASES}
    ),
    Role.AUTHORITY: frozenset(
        {
            Permission.VIEW_CAMERAS,
            Permission.READ_ALERTS,
            Permission.READ_GOVERNANCE,
            Permission.APPROVE_ACTIVATION,
            Permission.ENGAGE_STOP,
            Permission.RELEASE_STOP,
        }
    ),
    Role.ADMINISTRATOR: frozenset(
        {
            Permission.VIEW_CAMERAS,
            Permission.READ_GOVERNANCE,
            Permission.MANAGE_USERS,
            Permission.MANAGE_INTEGRATIONS,
            Permission.MANAGE_SITE_PLANS,
        }
    ),
}

VIDEO_PERMISSIONS: Final = frozenset(
    {
        Permission.VIEW_LIVE,
        Permission.PLAYBACK,
        Permission.EXPORT,
        Permission.CONTROL_PTZ,
        Permission.MANAGE_CASES,
        Permission.HANDLE_ACCESS_REQUESTS,
    }
)
STATE_SERVICE_PERMISSIONS: Final = frozenset(
    {Permission.READ_PLATE_MATCHES, Permission.MANAGE_HIT_LISTS, Permission.HOLD_PLATE_MATCHES}
)
"""Plate reading's permissions: roles carry them, but only the people of a state tenant can use them (L34)."""

TRAINING_VALID_DAYS: Final = 3 * 365
"""A data-protection training older than this must be refreshed before video access again (L9, R252-12)."""


@dataclass(frozen=True, slots=True)
class User:
    username: str
    display_name: str
    commune_id: str
    roles: frozenset[Role]
    password_hash: str
    authorised_until: date | None = None
    """End of the individual authorisation to view video (L8); None for accounts without video roles."""
    trained_on: date | None = None
    """Date of the last data-protection training (L9)."""
    totp_secret: str | None = None
    """Base-32 TOTP secret (sealed at rest by the service); None until enrolled."""
    totp_last_step: int | None = None
    """Last TOTP time step accepted: a code is never accepted twice."""
    disabled: bool = False
    failed_logins: int = 0
    locked_until: datetime | None = None
    created_at: datetime | None = None
    created_by: str = ""
    id: int | None = None

    def permissions(self) -> frozenset[Permission]:
        return frozenset().union(*(ROLE_PERMISSIONS[role] for role in self.roles))

    @property
    def needs_second_factor(self) -> bool:
        return bool(self.roles & SECOND_FACTOR_ROLES)


def video_access_refusal(user: User, today: date) -> str | None:
    """Why ``user`` may not see video today (L8, L9), or None when they may."""
    if not user.roles & VIDEO_ROLES:
        return "your roles give no access to video"
    if user.authorised_until is None:
        return "no individual authorisation to view video is recorded for you (ask your administrator)"
    if user.authorised_until < today:
        return f"your authorisation to view video ended on {user.authorised_until.isoformat()}"
    if user.trained_on is None:
        return "no data-protection training is recorded for you (ask your administrator)"
    if (today - user.trained_on).days > TRAINING_VALID_DAYS:
        return f"your data-protection training of {user.trained_on.isoformat()} must be refreshed"
    return None


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in browser: only the SHA-256 of its token is stored."""

    token_sha256: str
    user_id: int
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    client: str = ""


@dataclass(frozen=True, slots=True)
class SharingAgreement:
    """``owner`` lets ``partner``'s users see its cameras from ``starts_on`` to ``ends_on`` included (L10)."""

    owner_commune: str
    partner_commune: str
    reference: str
    starts_on: date
    ends_on: date
    recorded_by: str
    recorded_at: datetime
    revoked_at: datetime | None = None
    id: int | None = None

    def in_force(self, today: date) -> bool:
        return self.revoked_at is None and self.starts_on <= today <= self.ends_on


class UserExistsError(ValueError):
    """An account with this username exists already."""


class UserNotFoundError(LookupError):
    """No account has this username or id."""


class UserRepo(Protocol):
    def add(self, user: User) -> User: ...
    def get(self, user_id: int) -> User | None: ...
    def by_username(self, username: str) -> User | None: ...
    def list(self, commune_ids: Sequence[str] | None = None) -> Sequence[User]: ...
    def count_with_role(self, role: Role) -> int: ...
    def record_failure(self, user_id: int, *, failed_logins: int, locked_until: datetime | None) -> None: ...
    def record_success(self, user_id: int, *, totp_last_step: int | None) -> None: ...
    def update(self, user: User) -> User: ...

    def add_session(self, session: Session) -> None: ...
    def session(self, token_sha256: str) -> Session | None: ...
    def touch_session(self, token_sha256: str, *, last_seen_at: datetime) -> None: ...
    def drop_session(self, token_sha256: str) -> None: ...
    def drop_sessions_of(self, user_id: int) -> int: ...
    def drop_expired_sessions(self, now: datetime) -> int: ...

    def add_agreement(self, agreement: SharingAgreement) -> SharingAgreement: ...
    def agreements(self) -> Sequence[SharingAgreement]: ...
    def revoke_agreement(self, agreement_id: int, at: datetime) -> SharingAgreement: ...
