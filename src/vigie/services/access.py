"""Who is asking, what they may do, and which cameras they may see (L8–L10).

A :class:`Principal` is a logged-in person with their permissions and the communes whose cameras they see: their
own, plus those of owners with a sharing agreement in force (L10). Every service that returns or touches a camera
asks :class:`Directory` through :meth:`Principal.require_camera` or :meth:`Principal.visible_cameras`; a camera of
another tenant answers exactly like a camera that does not exist, so its existence does not leak.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from vigie.domain.users import VIDEO_PERMISSIONS, Permission, Role, SharingAgreement, User


class AccessDeniedError(PermissionError):
    """The person may not do this; the message says why and, where they can, what to do."""


class NotVisibleError(LookupError):
    """No such thing among what the person may see (it does not exist, or belongs to another tenant)."""


@dataclass(frozen=True, slots=True)
class CommuneInfo:
    id: str
    name: str
    kind: str
    """``municipal`` or ``state``."""
    sites: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Directory:
    """Tenants and which tenant owns each camera, from the configuration."""

    communes: tuple[CommuneInfo, ...]
    camera_commune: dict[str, str]

    def commune(self, commune_id: str) -> CommuneInfo | None:
        return next((c for c in self.communes if c.id == commune_id), None)

    def owner(self, camera_id: str) -> str | None:
        return self.camera_commune.get(camera_id)


def visible_communes(user: User, agreements: Iterable[SharingAgreement], today: date) -> frozenset[str]:
    """The user's own tenant and every tenant that shares its cameras with it today."""
    shared = {a.owner_commune for a in agreements if a.partner_commune == user.commune_id and a.in_force(today)}
    return frozenset({user.commune_id, *shared})


@dataclass(frozen=True, slots=True)
class Principal:
    user: User
    communes: frozenset[str]
    """Tenants whose cameras this person sees (own + shared in force)."""
    directory: Directory
    video_refusal: str | None
    """Why this person may not see video today (L8, L9), or None."""
    csrf_token: str = ""
    session_key: str = ""
    """SHA-256 of the session token (to end this session)."""

    @property
    def actor(self) -> str:
        """How the audit log names this person: their (unique) username."""
        return self.user.username

    @property
    def user_id(self) -> int:
        if self.user.id is None:
            raise ValueError("a principal is a stored user")
        return self.user.id

    def has_role(self, role: Role) -> bool:
        return role in self.user.roles

    def can(self, permission: Permission) -> bool:
        if permission not in self.user.permissions():
            return False
        return permission not in VIDEO_PERMISSIONS or self.video_refusal is None

    def require(self, permission: Permission) -> None:
        if permission in VIDEO_PERMISSIONS and permission in self.user.permissions() and self.video_refusal:
            raise AccessDeniedError(self.video_refusal)
        if not self.can(permission):
            roles = ", ".join(sorted(r.value for r in self.user.roles)) or "none"
            raise AccessDeniedError(f"your roles ({roles}) do not allow {permission.value.replace('_', ' ')}")

    def sees_commune(self, commune_id: str) -> bool:
        return commune_id in self.communes

    def sees_camera(self, camera_id: str) -> bool:
        owner = self.directory.owner(camera_id)
        return owner is not None and owner in self.communes

    def require_camera(self, camera_id: str) -> None:
        if not self.sees_camera(camera_id):
            raise NotVisibleError(f"no camera {camera_id!r} among the cameras you may see")

    def visible_cameras(self, camera_ids: Sequence[str] | None = None) -> list[str]:
        """Of ``camera_ids`` (default: every camera), those this person may see, in the given order."""
        ids = list(self.directory.camera_commune) if camera_ids is None else list(camera_ids)
        return [c for c in ids if self.sees_camera(c)]

    def role_for(self, allowed: Iterable[str]) -> str | None:
        """The role this person acts in for a step open to ``allowed`` roles (first in a fixed order), or None."""
        wanted = set(allowed)
        return next((r.value for r in Role if r in self.user.roles and r.value in wanted), None)
