"""The console's saved layouts and video-wall outputs (issue 24).

Layouts: a person with ``view_live`` saves their own layouts (at most :data:`MAX_LAYOUTS_PER_PERSON`), each only
with cameras they may see; they read their own and those of their commune shared with one of their roles. The
owner changes, shares or removes a layout; a supervisor of the commune may too for a shared one (the room's
layouts). A reader never learns of a camera they may not see: a layout is answered with those cameras left out.

Wall outputs: a named video wall of the commune (the wall controller's browser, logged in with its own account,
shows ``#/wall-output/<name>``). A person with ``view_live`` sets what it shows (only cameras they may see); the
wall's browser reads it, and shows only the cameras its own account may see.

Audited (L11): ``layout.saved``, ``layout.shared``, ``layout.deleted`` and ``wall_output.set`` name the layout or
output, its grid and cameras; a change refused for who asked (another person's layout, a camera not visible) is
``access.denied``. Reading layouts is not audited: it shows no footage (what the tiles then show is ``live.viewed``).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime

from vigie.domain.audit import AuditAction, AuditEvent
from vigie.domain.layouts import (
    MAX_LAYOUTS_PER_PERSON,
    MAX_WALL_OUTPUTS,
    Layout,
    LayoutConflictError,
    LayoutError,
    Layouts,
    Tile,
    WallOutput,
    WallOutputs,
)
from vigie.domain.ports import AuditSink
from vigie.domain.users import Permission, Role
from vigie.services.access import AccessDeniedError, NotVisibleError, Principal

__all__ = ["LayoutService"]


class LayoutService:
    def __init__(self, layouts: Layouts, outputs: WallOutputs, audit: AuditSink, clock: Callable[[], datetime]) -> None:
        self._layouts, self._outputs, self._audit, self._clock = layouts, outputs, audit, clock

    # --- layouts -------------------------------------------------------------------------------------------------

    def list(self, principal: Principal) -> builtins.list[Layout]:
        """The person's own layouts and those of their commune shared with one of their roles, by name."""
        principal.require(Permission.VIEW_LIVE)
        roles = {r.value for r in principal.user.roles}
        found = [
            layout
            for layout in self._layouts.of_commune(principal.user.commune_id)
            if layout.owner == principal.actor or layout.shared_roles & roles
        ]
        return [self._seen(principal, layout) for layout in found]

    def create(
        self, principal: Principal, name: str, grid: str, tiles: Iterable[Tile], alarm_tile: int | None
    ) -> Layout:
        principal.require(Permission.VIEW_LIVE)
        now = self._clock()
        layout = Layout(
            principal.user.commune_id,
            principal.actor,
            name.strip(),
            grid,
            tuple(tiles),
            alarm_tile,
            created_at=now,
            updated_at=now,
            updated_by=principal.actor,
        )
        self._require_cameras(principal, layout.cameras(), "layout:new")
        if self._layouts.count_of(layout.commune_id, principal.actor) >= MAX_LAYOUTS_PER_PERSON:
            raise LayoutConflictError(
                f"you have {MAX_LAYOUTS_PER_PERSON} layouts, the most one person keeps: remove one you no longer use"
            )
        stored = self._layouts.add(layout)
        self._audited(principal, AuditAction.LAYOUT_SAVED, stored, created=True)
        return stored

    def update(
        self,
        principal: Principal,
        layout_id: int,
        *,
        name: str,
        grid: str,
        tiles: Iterable[Tile],
        alarm_tile: int | None,
    ) -> Layout:
        current = self._editable(principal, layout_id)
        changed = replace(
            current,
            name=name.strip(),
            grid=grid,
            tiles=tuple(tiles),
            alarm_tile=alarm_tile,
            updated_at=self._clock(),
            updated_by=principal.actor,
        )
        # a camera the editor may not see stays where another person (the owner) put it; new ones must be visible
        kept = set(current.cameras())
        self._require_cameras(principal, [c for c in changed.cameras() if c not in kept], f"layout:{layout_id}")
        stored = self._layouts.save(changed)
        self._audited(principal, AuditAction.LAYOUT_SAVED, stored, created=False)
        return self._seen(principal, stored)

    def share(self, principal: Principal, layout_id: int, roles: Iterable[str]) -> Layout:
        wanted = frozenset(roles)
        unknown = sorted(wanted - {r.value for r in Role})
        if unknown:
            raise LayoutError(
                f"unknown roles {', '.join(unknown)}: share with roles among {', '.join(r.value for r in Role)}"
            )
        current = self._editable(principal, layout_id)
        stored = self._layouts.save(
            replace(current, shared_roles=wanted, updated_at=self._clock(), updated_by=principal.actor)
        )
        self._audited(principal, AuditAction.LAYOUT_SHARED, stored, created=False)
        return self._seen(principal, stored)

    def delete(self, principal: Principal, layout_id: int) -> None:
        current = self._editable(principal, layout_id)
        if not self._layouts.delete(layout_id):
            raise NotVisibleError(f"no layout {layout_id} among the layouts you may see")
        self._audited(principal, AuditAction.LAYOUT_DELETED, current, created=False)

    def _editable(self, principal: Principal, layout_id: int) -> Layout:
        principal.require(Permission.VIEW_LIVE)
        found = self._layouts.get(layout_id)
        roles = {r.value for r in principal.user.roles}
        if (
            found is None
            or found.commune_id != principal.user.commune_id
            or (found.owner != principal.actor and not found.shared_roles & roles)
        ):
            raise NotVisibleError(f"no layout {layout_id} among the layouts you may see")
        if found.owner != principal.actor and not (found.shared and principal.has_role(Role.SUPERVISOR)):
            self._denied(
                principal, f"layout:{layout_id}", "a layout another person shared: its owner or a supervisor changes it"
            )
        return found

    # --- wall outputs --------------------------------------------------------------------------------------------

    def outputs(self, principal: Principal) -> builtins.list[WallOutput]:
        principal.require(Permission.VIEW_LIVE)
        return [self._output_seen(principal, o) for o in self._outputs.of_commune(principal.user.commune_id)]

    def output(self, principal: Principal, name: str) -> WallOutput:
        """What the output shows now, with only the cameras this person (the wall's account) may see; an output
        never set shows an empty single tile."""
        principal.require(Permission.VIEW_LIVE)
        found = self._outputs.get(principal.user.commune_id, name)
        if found is None:
            return WallOutput(principal.user.commune_id, name, "1", (Tile(),))
        return self._output_seen(principal, found)

    def set_output(self, principal: Principal, name: str, grid: str, tiles: Iterable[Tile]) -> WallOutput:
        principal.require(Permission.VIEW_LIVE)
        output = WallOutput(
            principal.user.commune_id, name, grid, tuple(tiles), updated_by=principal.actor, updated_at=self._clock()
        )
        self._require_cameras(principal, output.cameras(), f"wall_output:{name}")
        known = {o.name for o in self._outputs.of_commune(output.commune_id)}
        if name not in known and len(known) >= MAX_WALL_OUTPUTS:
            raise LayoutConflictError(f"your commune has {MAX_WALL_OUTPUTS} wall outputs, the most it names")
        stored = self._outputs.put(output)
        details = {"name": name, "grid": grid, "cameras": stored.cameras(), "version": stored.version}
        self._audit.append(
            AuditEvent(principal.actor, AuditAction.WALL_OUTPUT_SET, f"wall_output:{name}", details, at=self._clock())
        )
        return stored

    # --- shared --------------------------------------------------------------------------------------------------

    def _require_cameras(self, principal: Principal, cameras: Iterable[str], target: str) -> None:
        hidden = sorted(c for c in set(cameras) if not principal.sees_camera(c))
        if hidden:
            self._denied(principal, target, "cameras you may not see", cameras=hidden)
            # not reached: _denied raises

    def _denied(self, principal: Principal, target: str, why: str, cameras: builtins.list[str] | None = None) -> None:
        details: dict[str, object] = {"reason": why}
        if cameras:
            details["cameras"] = cameras
        self._audit.append(AuditEvent(principal.actor, AuditAction.ACCESS_DENIED, target, details, at=self._clock()))
        if cameras:
            raise NotVisibleError(f"no camera {', '.join(repr(c) for c in cameras)} among the cameras you may see")
        raise AccessDeniedError(why)

    def _seen(self, principal: Principal, layout: Layout) -> Layout:
        return replace(layout, tiles=tuple(t.seen_by(principal.sees_camera) for t in layout.tiles))

    def _output_seen(self, principal: Principal, output: WallOutput) -> WallOutput:
        return replace(output, tiles=tuple(t.seen_by(principal.sees_camera) for t in output.tiles))

    def _audited(self, principal: Principal, action: AuditAction, layout: Layout, *, created: bool) -> None:
        details: dict[str, object] = {
            "name": layout.name,
            "grid": layout.grid,
            "cameras": layout.cameras(),
            "owner": layout.owner,
            "shared_roles": sorted(layout.shared_roles),
        }
        if created:
            details["created"] = True
        self._audit.append(AuditEvent(principal.actor, action, f"layout:{layout.id}", details, at=self._clock()))
