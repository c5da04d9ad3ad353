"""The ``camera_groups`` table (issue 24; implements :class:`vigie.domain.camera_groups.CameraGroupStore`): a
person's groups of cameras and their favourites, one row each, read by owner (the unique constraint's index)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Engine, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from vigie.domain.camera_groups import MAX_GROUPS, CameraGroup, CameraGroupConflictError
from vigie.storage.database import for_reading, storage_errors
from vigie.storage.tables import CameraGroupRow

_G = cast(Table, CameraGroupRow.__table__)  # a declarative class's table is a Table
GROUP, FAVOURITES = "group", "favourites"


class SqlCameraGroups:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._reader = for_reading(engine)

    def groups(self, owner: str) -> list[CameraGroup]:
        statement = (
            select(_G).where(_G.c.owner == owner, _G.c.kind == GROUP).order_by(_G.c.name, _G.c.id).limit(MAX_GROUPS)
        )  # bounded: the service refuses a group past the maximum
        with storage_errors(self._engine, f"read the camera groups of {owner}"), self._reader.connect() as conn:
            return [_group(row._mapping) for row in conn.execute(statement)]

    def count(self, owner: str) -> int:
        return len(self.groups(owner))

    def favourites(self, owner: str) -> tuple[str, ...]:
        statement = select(_G.c.cameras).where(_G.c.owner == owner, _G.c.kind == FAVOURITES)
        with storage_errors(self._engine, f"read the favourites of {owner}"), self._reader.connect() as conn:
            text = conn.execute(statement).scalar_one_or_none()
        return () if text is None else tuple(json.loads(text))

    def set_favourites(self, owner: str, cameras: tuple[str, ...], at: datetime) -> None:
        values = {"cameras": json.dumps(list(cameras)), "updated_at": at}
        where = (_G.c.owner == owner, _G.c.kind == FAVOURITES)
        with storage_errors(self._engine, f"keep the favourites of {owner}"), self._engine.begin() as conn:
            if not getattr(conn.execute(update(_G).where(*where).values(values)), "rowcount", 0):
                conn.execute(insert(_G), {**values, "owner": owner, "kind": FAVOURITES, "name": ""})

    def add(self, group: CameraGroup) -> CameraGroup:
        if group.id is not None:
            raise ValueError(f"group {group.id} is already stored: add only groups without an id")
        values = {
            "owner": group.owner,
            "kind": GROUP,
            "name": group.name,
            "cameras": json.dumps(list(group.cameras)),
            "updated_at": group.updated_at,
        }
        with storage_errors(self._engine, f"keep a camera group of {group.owner}"):
            try:
                with self._engine.begin() as conn:
                    ident = conn.execute(insert(_G).returning(_G.c.id), values).scalar_one()
            except IntegrityError:  # the owner's unique name, checked by the database
                raise _conflict(group.name) from None
        return CameraGroup(group.owner, group.name, group.cameras, group.updated_at, ident)

    def replace(self, group: CameraGroup) -> CameraGroup | None:
        values = {"name": group.name, "cameras": json.dumps(list(group.cameras)), "updated_at": group.updated_at}
        statement = update(_G).where(_G.c.id == group.id, _G.c.owner == group.owner, _G.c.kind == GROUP)
        with storage_errors(self._engine, f"change camera group {group.id}"):
            try:
                with self._engine.begin() as conn:
                    changed = getattr(conn.execute(statement.values(values)), "rowcount", 0)
            except IntegrityError:  # the owner's unique name, checked by the database
                raise _conflict(group.name) from None
        return group if changed else None

    def delete(self, owner: str, group_id: int) -> bool:
        statement = delete(_G).where(_G.c.id == group_id, _G.c.owner == owner, _G.c.kind == GROUP)
        with storage_errors(self._engine, f"remove camera group {group_id}"), self._engine.begin() as conn:
            return bool(getattr(conn.execute(statement), "rowcount", 0))


def _conflict(name: str) -> CameraGroupConflictError:
    return CameraGroupConflictError(f"you already have a group named {name!r}: choose another name")


def _group(row: Any) -> CameraGroup:
    return CameraGroup(row["owner"], row["name"], tuple(json.loads(row["cameras"])), row["updated_at"], row["id"])
