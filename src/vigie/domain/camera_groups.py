"""A person's own camera groups and favourites (issue 24): how an operator finds the cameras they watch every day
among thousands, kept by the server so that they follow the operator from workstation to workstation.

They name cameras only (ids), never footage or people: a preference of the console, like a bookmark in a browser.
They are not audited (nothing is seen, changed or sent by them; opening a camera from a group is audited as every
live view is). They are bounded (:data:`MAX_GROUPS` groups of at most :data:`MAX_GROUP_CAMERAS` cameras each), and
read filtered to the cameras the person may see that day (a sharing agreement may end).

Pure data and the port that stores it; the SQL is ``vigie.storage.camera_groups.SqlCameraGroups``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

MAX_GROUPS: Final = 50
"""Most groups one person keeps (the console lists them whole)."""
MAX_GROUP_CAMERAS: Final = 400
"""Most cameras in one group, and in one's favourites."""
MAX_GROUP_NAME: Final = 80
"""Longest group name, in characters, once stripped."""


class CameraGroupError(ValueError):
    """A group cannot be stored as asked (the message says what and how to fix it)."""


class CameraGroupConflictError(ValueError):
    """Another of the person's groups already has this name."""


@dataclass(frozen=True, slots=True)
class CameraGroup:
    owner: str
    name: str
    cameras: tuple[str, ...]
    updated_at: datetime
    id: int | None = None


def group_name(name: str) -> str:
    """``name`` stripped, or :class:`CameraGroupError` saying why it cannot name a group."""
    stripped = " ".join(name.split())
    if not stripped:
        raise CameraGroupError("a group needs a name: give one of 1 to 80 characters")
    if len(stripped) > MAX_GROUP_NAME:
        raise CameraGroupError(f"a group name has at most {MAX_GROUP_NAME} characters (this one {len(stripped)})")
    return stripped


def camera_list(cameras: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``cameras`` without repeats, in the given order, or :class:`CameraGroupError` when there are too many."""
    unique = tuple(dict.fromkeys(cameras))
    if len(unique) > MAX_GROUP_CAMERAS:
        raise CameraGroupError(
            f"a group holds at most {MAX_GROUP_CAMERAS} cameras (this one {len(unique)}): make several groups"
        )
    return unique


class CameraGroupStore(Protocol):
    """Where a person's groups and favourites are kept (one row each)."""

    def groups(self, owner: str) -> list[CameraGroup]: ...

    def favourites(self, owner: str) -> tuple[str, ...]: ...

    def set_favourites(self, owner: str, cameras: tuple[str, ...], at: datetime) -> None: ...

    def add(self, group: CameraGroup) -> CameraGroup:
        """Stored with its id; :class:`CameraGroupConflictError` when the owner has a group of that name."""
        ...

    def replace(self, group: CameraGroup) -> CameraGroup | None:
        """The owner's group ``group.id`` renamed and refilled (None: no such group of theirs)."""
        ...

    def delete(self, owner: str, group_id: int) -> bool: ...
