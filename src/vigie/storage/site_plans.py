"""The ``site_plans`` table (issue 24; implements :class:`vigie.domain.site_plans.SitePlans`): plans and their
images, read by commune. The image is read alone (``image``), never with the list."""

from __future__ import annotations

import builtins
import json
from typing import Any, cast

from sqlalchemy import Engine, Table, delete, func, insert, select

from vigie.domain.site_plans import SitePlan, checked_corners
from vigie.storage.database import for_reading, storage_errors
from vigie.storage.tables import SitePlanRow

_P = cast(Table, SitePlanRow.__table__)  # a declarative class's table is a Table
_LISTED = [c for c in _P.c if c.name != "image"]


class SqlSitePlans:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._reader = for_reading(engine)

    def add(self, plan: SitePlan, image: bytes) -> SitePlan:
        if plan.id is not None:
            raise ValueError(f"site plan {plan.id} is already stored: add only plans without an id")
        values = {
            "commune_id": plan.commune_id,
            "site_id": plan.site_id,
            "name": plan.name,
            "media_type": plan.media_type,
            "width": plan.width,
            "height": plan.height,
            "size": plan.size,
            "sha256": plan.sha256,
            "corners": json.dumps([list(c) for c in plan.corners]),
            "uploaded_by": plan.uploaded_by,
            "uploaded_at": plan.uploaded_at,
        }
        with storage_errors(self._engine, f"store a plan of site {plan.site_id}"), self._engine.begin() as conn:
            ident = conn.execute(insert(_P).returning(_P.c.id), {**values, "image": image}).scalar_one()
        return _plan({**values, "id": ident})

    def list(self, commune_ids: frozenset[str]) -> builtins.list[SitePlan]:
        statement = select(*_LISTED).where(_P.c.commune_id.in_(sorted(commune_ids))).order_by(_P.c.id)
        with storage_errors(self._engine, "read the site plans"), self._reader.connect() as conn:
            return [_plan(row._mapping) for row in conn.execute(statement)]

    def get(self, plan_id: int) -> SitePlan | None:
        statement = select(*_LISTED).where(_P.c.id == plan_id)
        with storage_errors(self._engine, f"read site plan {plan_id}"), self._reader.connect() as conn:
            row = conn.execute(statement).first()
        return None if row is None else _plan(row._mapping)

    def image(self, plan_id: int) -> bytes | None:
        statement = select(_P.c.image).where(_P.c.id == plan_id)
        with storage_errors(self._engine, f"read the image of site plan {plan_id}"), self._reader.connect() as conn:
            found = conn.execute(statement).scalar_one_or_none()
        return None if found is None else bytes(found)

    def count(self, commune_id: str, site_id: str) -> int:
        statement = select(func.count()).select_from(_P).where(_P.c.commune_id == commune_id, _P.c.site_id == site_id)
        with storage_errors(self._engine, f"count the plans of site {site_id}"), self._reader.connect() as conn:
            return int(conn.execute(statement).scalar_one())

    def delete(self, plan_id: int) -> bool:
        with storage_errors(self._engine, f"delete site plan {plan_id}"), self._engine.begin() as conn:
            return conn.execute(delete(_P).where(_P.c.id == plan_id)).rowcount > 0


def _plan(row: Any) -> SitePlan:
    return SitePlan(
        id=int(row["id"]),
        commune_id=row["commune_id"],
        site_id=row["site_id"],
        name=row["name"],
        media_type=row["media_type"],
        width=int(row["width"]),
        height=int(row["height"]),
        size=int(row["size"]),
        sha256=row["sha256"],
        corners=checked_corners(json.loads(row["corners"])),
        uploaded_by=row["uploaded_by"],
        uploaded_at=row["uploaded_at"],
    )
