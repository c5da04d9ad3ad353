"""The ``layouts`` and ``wall_outputs`` tables (issue 24; implement :class:`vigie.domain.layouts.Layouts` and
:class:`vigie.domain.layouts.WallOutputs`). A layout's tiles are JSON text written and read whole."""

from __future__ import annotations

import builtins
import json
from typing import Any, cast

from sqlalchemy import Engine, Table, delete, func, insert, select, update

from vigie.domain.layouts import MAX_WALL_OUTPUTS, Layout, Tile, WallOutput
from vigie.storage.database import for_reading, storage_errors
from vigie.storage.tables import LayoutRow, WallOutputRow

_L = cast(Table, LayoutRow.__table__)
_W = cast(Table, WallOutputRow.__table__)
_COMMUNE_LIMIT = 5000
"""The most layouts read for one commune at once (each person holds at most MAX_LAYOUTS_PER_PERSON)."""


def _tiles_text(tiles: tuple[Tile, ...]) -> str:
    return json.dumps([{"camera": t.camera, "tour": list(t.tour), "pace_s": t.pace_s} for t in tiles])


def _tiles(text: str) -> tuple[Tile, ...]:
    return tuple(
        Tile(camera=t.get("camera"), tour=tuple(t.get("tour") or ()), pace_s=int(t.get("pace_s", 10)))
        for t in json.loads(text)
    )


class SqlLayouts:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._reader = for_reading(engine)

    def _values(self, layout: Layout) -> dict[str, Any]:
        body = {"grid": layout.grid, "tiles": json.loads(_tiles_text(layout.tiles)), "alarm_tile": layout.alarm_tile}
        return {
            "commune_id": layout.commune_id,
            "owner": layout.owner,
            "name": layout.name,
            "body": json.dumps(body),
            "shared_roles": ",".join(sorted(layout.shared_roles)),
            "created_at": layout.created_at,
            "updated_at": layout.updated_at,
            "updated_by": layout.updated_by,
        }

    def add(self, layout: Layout) -> Layout:
        if layout.id is not None:
            raise ValueError(f"layout {layout.id} is already stored: add only layouts without an id")
        values = self._values(layout)
        with storage_errors(self._engine, "save a layout"), self._engine.begin() as conn:
            ident = conn.execute(insert(_L).returning(_L.c.id), values).scalar_one()
        return _layout({**values, "id": ident})

    def save(self, layout: Layout) -> Layout:
        if layout.id is None:
            raise ValueError("save only stored layouts: add a new one")
        values = self._values(layout)
        del values["created_at"]
        with storage_errors(self._engine, f"save layout {layout.id}"), self._engine.begin() as conn:
            conn.execute(update(_L).where(_L.c.id == layout.id).values(values))
        return layout

    def get(self, layout_id: int) -> Layout | None:
        with storage_errors(self._engine, f"read layout {layout_id}"), self._reader.connect() as conn:
            row = conn.execute(select(_L).where(_L.c.id == layout_id)).first()
        return None if row is None else _layout(row._mapping)

    def of_commune(self, commune_id: str) -> builtins.list[Layout]:
        statement = select(_L).where(_L.c.commune_id == commune_id).order_by(_L.c.name, _L.c.id).limit(_COMMUNE_LIMIT)
        with storage_errors(self._engine, f"read the layouts of {commune_id}"), self._reader.connect() as conn:
            return [_layout(row._mapping) for row in conn.execute(statement)]

    def count_of(self, commune_id: str, owner: str) -> int:
        statement = select(func.count()).select_from(_L).where(_L.c.commune_id == commune_id, _L.c.owner == owner)
        with storage_errors(self._engine, "count layouts"), self._reader.connect() as conn:
            return int(conn.execute(statement).scalar_one())

    def delete(self, layout_id: int) -> bool:
        with storage_errors(self._engine, f"remove layout {layout_id}"), self._engine.begin() as conn:
            return bool(getattr(conn.execute(delete(_L).where(_L.c.id == layout_id)), "rowcount", 0))


def _layout(row: Any) -> Layout:
    body = json.loads(row["body"])
    return Layout(
        commune_id=row["commune_id"],
        owner=row["owner"],
        name=row["name"],
        grid=body["grid"],
        tiles=_tiles(json.dumps(body["tiles"])),
        alarm_tile=body.get("alarm_tile"),
        shared_roles=frozenset(r for r in row["shared_roles"].split(",") if r),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
        id=row["id"],
    )


class SqlWallOutputs:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._reader = for_reading(engine)

    def get(self, commune_id: str, name: str) -> WallOutput | None:
        statement = select(_W).where(_W.c.commune_id == commune_id, _W.c.name == name)
        with storage_errors(self._engine, f"read wall output {name}"), self._reader.connect() as conn:
            row = conn.execute(statement).first()
        return None if row is None else _output(row._mapping)

    def of_commune(self, commune_id: str) -> builtins.list[WallOutput]:
        statement = select(_W).where(_W.c.commune_id == commune_id).order_by(_W.c.name).limit(MAX_WALL_OUTPUTS)
        with storage_errors(self._engine, f"read the wall outputs of {commune_id}"), self._reader.connect() as conn:
            return [_output(row._mapping) for row in conn.execute(statement)]

    def put(self, output: WallOutput) -> WallOutput:
        """Store what the output shows now; its version is the stored one plus one."""
        body = json.dumps({"grid": output.grid, "tiles": json.loads(_tiles_text(output.tiles))})
        key = (_W.c.commune_id == output.commune_id, _W.c.name == output.name)
        with storage_errors(self._engine, f"set wall output {output.name}"), self._engine.begin() as conn:
            current = conn.execute(select(_W.c.version).where(*key)).scalar()
            values = {"body": body, "updated_by": output.updated_by, "updated_at": output.updated_at}
            if current is None:
                version = 1
                conn.execute(insert(_W), {"commune_id": output.commune_id, "name": output.name, "version": 1, **values})
            else:
                version = int(current) + 1
                conn.execute(update(_W).where(*key).values(version=version, **values))
        return WallOutput(
            output.commune_id, output.name, output.grid, output.tiles, version, output.updated_by, output.updated_at
        )


def _output(row: Any) -> WallOutput:
    body = json.loads(row["body"])
    return WallOutput(
        commune_id=row["commune_id"],
        name=row["name"],
        grid=body["grid"],
        tiles=_tiles(json.dumps(body["tiles"])),
        version=int(row["version"]),
        updated_by=row["updated_by"],
        updated_at=row["updated_at"],
    )


__all__ = ["SqlLayouts", "SqlWallOutputs"]
