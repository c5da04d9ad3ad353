"""The ``case_bookmarks`` table (issue 22; implements :class:`vigie.domain.case_bookmarks.CaseBookmarks`): a case's
own bookmarks, read by case in the order of their instants (``ix_case_bookmarks_case_at``). Kept when the case
closes; deleted with it."""

from __future__ import annotations

import builtins
from typing import Any, cast

from sqlalchemy import Engine, Table, delete, func, insert, select

from vigie.domain.case_bookmarks import MAX_CASE_BOOKMARKS, CaseBookmark
from vigie.storage.database import for_reading, storage_errors
from vigie.storage.tables import CaseBookmarkRow

_B = cast(Table, CaseBookmarkRow.__table__)  # a declarative class's table is a Table


class SqlCaseBookmarks:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._reader = for_reading(engine)

    def add(self, bookmark: CaseBookmark) -> CaseBookmark:
        if bookmark.id is not None:
            raise ValueError(f"bookmark {bookmark.id} is already stored: add only bookmarks without an id")
        values = {
            "case_id": bookmark.case_id,
            "camera_id": bookmark.camera_id,
            "at": bookmark.at,
            "note": bookmark.note,
            "created_by": bookmark.created_by,
            "created_at": bookmark.created_at,
        }
        with storage_errors(self._engine, f"bookmark case {bookmark.case_id}"), self._engine.begin() as conn:
            ident = conn.execute(insert(_B).returning(_B.c.id), values).scalar_one()
        return _bookmark({**values, "id": ident})

    def list(self, case_id: int) -> builtins.list[CaseBookmark]:
        statement = (
            select(_B).where(_B.c.case_id == case_id).order_by(_B.c.at, _B.c.id).limit(MAX_CASE_BOOKMARKS)
        )  # bounded: the service refuses a bookmark past the case's maximum
        with storage_errors(self._engine, f"read the bookmarks of case {case_id}"), self._reader.connect() as conn:
            return [_bookmark(row._mapping) for row in conn.execute(statement)]

    def count(self, case_id: int) -> int:
        statement = select(func.count()).select_from(_B).where(_B.c.case_id == case_id)
        with storage_errors(self._engine, f"count the bookmarks of case {case_id}"), self._reader.connect() as conn:
            return int(conn.execute(statement).scalar_one())

    def get(self, case_id: int, bookmark_id: int) -> CaseBookmark | None:
        statement = select(_B).where(_B.c.case_id == case_id, _B.c.id == bookmark_id)
        with (
            storage_errors(self._engine, f"read bookmark {bookmark_id} of case {case_id}"),
            self._reader.connect() as conn,
        ):
            row = conn.execute(statement).first()
        return None if row is None else _bookmark(row._mapping)

    def delete(self, case_id: int, bookmark_id: int) -> bool:
        statement = delete(_B).where(_B.c.case_id == case_id, _B.c.id == bookmark_id)
        with (
            storage_errors(self._engine, f"remove bookmark {bookmark_id} of case {case_id}"),
            self._engine.begin() as conn,
        ):
            return bool(getattr(conn.execute(statement), "rowcount", 0))

    def purge(self, case_id: int) -> int:
        with storage_errors(self._engine, f"purge the bookmarks of case {case_id}"), self._engine.begin() as conn:
            result = conn.execute(delete(_B).where(_B.c.case_id == case_id))
            return int(getattr(result, "rowcount", 0) or 0)


def _bookmark(row: Any) -> CaseBookmark:
    return CaseBookmark(
        case_id=row["case_id"],
        camera_id=row["camera_id"],
        at=row["at"],
        note=row["note"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        id=row["id"],
    )
