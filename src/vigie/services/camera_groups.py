"""A person's own camera groups and favourites (issue 24, :mod:`vigie.domain.camera_groups`): only cameras the
person may see go in, only those they may see come out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from vigie.domain.camera_groups import (
    MAX_GROUPS,
    CameraGroup,
    CameraGroupError,
    CameraGroupStore,
    camera_list,
    group_name,
)
from vigie.domain.users import Permission
from vigie.services.access import NotVisibleError, Principal


@dataclass(frozen=True, slots=True)
class MyCameraGroups:
    favourites: tuple[str, ...]
    groups: tuple[CameraGroup, ...]


class CameraGroupService:
    def __init__(self, store: CameraGroupStore, clock: Callable[[], datetime]) -> None:
        self._store, self._clock = store, clock

    def mine(self, viewer: Principal) -> MyCameraGroups:
        viewer.require(Permission.VIEW_CAMERAS)
        owner = viewer.user.username
        groups = tuple(replace(g, cameras=tuple(viewer.visible_cameras(g.cameras))) for g in self._store.groups(owner))
        return MyCameraGroups(tuple(viewer.visible_cameras(self._store.favourites(owner))), groups)

    def set_favourites(self, viewer: Principal, cameras: Sequence[str]) -> tuple[str, ...]:
        viewer.require(Permission.VIEW_CAMERAS)
        chosen = _seen(viewer, cameras)
        self._store.set_favourites(viewer.user.username, chosen, self._clock())
        return chosen

    def create(self, viewer: Principal, name: str, cameras: Sequence[str]) -> CameraGroup:
        viewer.require(Permission.VIEW_CAMERAS)
        owner = viewer.user.username
        group = CameraGroup(owner, group_name(name), _seen(viewer, cameras), self._clock())
        if len(self._store.groups(owner)) >= MAX_GROUPS:
            raise CameraGroupError(f"you keep at most {MAX_GROUPS} groups: remove one before making another")
        return self._store.add(group)

    def change(
        self, viewer: Principal, group_id: int, *, name: str | None = None, cameras: Sequence[str] | None = None
    ) -> CameraGroup:
        """Renames and/or refills one of the person's groups (what is not given is kept)."""
        viewer.require(Permission.VIEW_CAMERAS)
        owner = viewer.user.username
        current = next((g for g in self._store.groups(owner) if g.id == group_id), None)
        if current is None:
            raise NotVisibleError(f"no camera group {group_id} among your groups")
        changed = CameraGroup(
            owner,
            current.name if name is None else group_name(name),
            current.cameras if cameras is None else _seen(viewer, cameras),
            self._clock(),
            group_id,
        )
        stored = self._store.replace(changed)
        if stored is None:  # removed meanwhile, from another workstation
            raise NotVisibleError(f"no camera group {group_id} among your groups")
        return replace(stored, cameras=tuple(viewer.visible_cameras(stored.cameras)))

    def delete(self, viewer: Principal, group_id: int) -> None:
        viewer.require(Permission.VIEW_CAMERAS)
        if not self._store.delete(viewer.user.username, group_id):
            raise NotVisibleError(f"no camera group {group_id} among your groups")


def _seen(viewer: Principal, cameras: Sequence[str]) -> tuple[str, ...]:
    chosen = camera_list(list(cameras))
    hidden = [c for c in chosen if not viewer.sees_camera(c)]
    if hidden:
        raise CameraGroupError(
            f"no camera {hidden[0]!r} among the cameras you may see"
            + (f" (nor {len(hidden) - 1} other(s))" if len(hidden) > 1 else "")
            + ": a group holds only cameras you may see"
        )
    return chosen
