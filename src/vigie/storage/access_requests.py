"""The ``access_requests`` table (L19; implements :class:`vigie.domain.access_requests.AccessRequestRepo`).

A request's steps (scope, prepared copy, review, refusal, release) are JSON text, read and written whole with the
request. A request's changes are written only while the stored request is in the states the caller saw
(``save(if_states=…)``): two processes never both move one request, and a copy failed by another process (its
preparer taken for dead) is never revived by a late write of its own."""

from __future__ import annotations

import builtins
import json
from dataclasses import replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Engine, Table, insert, select, update

from vigie.domain.access_requests import (
    AccessRequest,
    AccessRequestState,
    CopyFile,
    CopyScope,
    IdentityDocument,
    NormalisedBox,
    PreparedCopy,
    Refusal,
    RefusalReason,
    Release,
    Review,
)
from vigie.storage.database import for_reading, storage_errors
from vigie.storage.tables import AccessRequestRow, require_aware

_T = cast(Table, AccessRequestRow.__table__)  # a declarative class's table is a Table
_LONGEST_LIST = 1000


class SqlAccessRequestStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._reader = for_reading(engine)

    def add(self, request: AccessRequest) -> AccessRequest:
        if request.id is not None:
            raise ValueError(f"access request {request.id} is already stored")
        values = {
            "commune_id": request.commune_id,
            "created_by": request.created_by,
            "created_at": require_aware(request.created_at, "access request created_at"),
            **_columns(request),
        }
        with storage_errors(self._engine, "record an access request"), self._engine.begin() as conn:
            request_id = conn.execute(insert(_T).returning(_T.c.id), values).scalar_one()
        return replace(request, id=int(request_id))

    def get(self, request_id: int) -> AccessRequest | None:
        statement = select(_T).where(_T.c.id == request_id)
        with storage_errors(self._engine, f"read access request {request_id}"), self._reader.connect() as conn:
            row = conn.execute(statement).first()
        return None if row is None else _request(row)

    def list(self, commune_id: str, state: AccessRequestState | None = None) -> builtins.list[AccessRequest]:
        statement = select(_T).where(_T.c.commune_id == commune_id)
        if state is not None:
            statement = statement.where(_T.c.state == state.value)
        statement = statement.order_by(_T.c.received_on, _T.c.id).limit(_LONGEST_LIST)
        with storage_errors(self._engine, "list the access requests"), self._reader.connect() as conn:
            return [_request(row) for row in conn.execute(statement)]

    def save(
        self, request: AccessRequest, *, if_states: frozenset[AccessRequestState], if_runner: str | None = None
    ) -> bool:
        if request.id is None:
            raise ValueError("save a stored access request (with an id)")
        statement = update(_T).where(_T.c.id == request.id, _T.c.state.in_(sorted(s.value for s in if_states)))
        if if_runner is not None:
            statement = statement.where(_T.c.runner == if_runner[:128])
        statement = statement.values(**_columns(request))
        with storage_errors(self._engine, f"record access request {request.id}"), self._engine.begin() as conn:
            return bool(conn.execute(statement).rowcount)

    def beat(self, runner: str, at: datetime) -> None:
        statement = (
            update(_T)
            .where(_T.c.runner == runner, _T.c.state == AccessRequestState.PREPARING.value)
            .values(heartbeat_at=require_aware(at, "heartbeat"))
        )
        with storage_errors(self._engine, "say this process's copies are alive"), self._engine.begin() as conn:
            conn.execute(statement)

    def preparing(self) -> builtins.list[AccessRequest]:
        statement = select(_T).where(_T.c.state == AccessRequestState.PREPARING.value).order_by(_T.c.id)
        with storage_errors(self._engine, "list the copies being prepared"), self._reader.connect() as conn:
            return [_request(row) for row in conn.execute(statement)]

    def ended_before(self, cutoff: datetime) -> builtins.list[AccessRequest]:
        statement = (
            select(_T)
            .where(_T.c.ended_at < require_aware(cutoff, "cutoff"), _T.c.erased_at.is_(None))
            .order_by(_T.c.id)
            .limit(_LONGEST_LIST)
        )
        with storage_errors(self._engine, "list the ended access requests"), self._reader.connect() as conn:
            return [_request(row) for row in conn.execute(statement)]


def _columns(r: AccessRequest) -> dict[str, Any]:
    """The columns a step changes (every one but the id, the commune and the creation)."""
    return {
        "state": r.state.value,
        "requester_name": r.requester_name,
        "requester_contact": r.requester_contact,
        "identity_document": r.identity_document.value,
        "identity_checked_by": r.identity_checked_by,
        "received_on": r.received_on,
        "description": r.description,
        "handled_by": r.handled_by,
        "scope": None if r.scope is None else json.dumps(_scope_json(r.scope), sort_keys=True),
        "copy": None if r.copy is None else json.dumps(_copy_json(r.copy), sort_keys=True),
        "copy_error": r.copy_error,
        "prepared_by": r.prepared_by,
        "review": None if r.review is None else json.dumps(_review_json(r.review), sort_keys=True),
        "refusal": None if r.refusal is None else json.dumps(_refusal_json(r.refusal), sort_keys=True),
        "release": None if r.release is None else json.dumps(_release_json(r.release), sort_keys=True),
        "extended_because": r.extended_because,
        "progress_done": None if r.progress is None else int(r.progress[0]),
        "progress_total": None if r.progress is None else int(r.progress[1]),
        "copies": int(r.copies),
        "runner": None if r.runner is None else r.runner[:128],
        "heartbeat_at": None if r.heartbeat_at is None else require_aware(r.heartbeat_at, "heartbeat"),
        "ended_at": None if r.ended_at is None else require_aware(r.ended_at, "ended_at"),
        "erased_at": None if r.erased_at is None else require_aware(r.erased_at, "erased_at"),
    }


def _request(row: Any) -> AccessRequest:
    return AccessRequest(
        id=row.id,
        commune_id=row.commune_id,
        state=AccessRequestState(row.state),
        requester_name=row.requester_name,
        requester_contact=row.requester_contact,
        identity_document=IdentityDocument(row.identity_document),
        identity_checked_by=row.identity_checked_by,
        received_on=row.received_on,
        description=row.description,
        created_by=row.created_by,
        created_at=row.created_at,
        handled_by=row.handled_by,
        scope=None if row.scope is None else _scope(json.loads(row.scope)),
        copy=None if row.copy is None else _copy(json.loads(row.copy)),
        copy_error=row.copy_error,
        prepared_by=row.prepared_by,
        review=None if row.review is None else _review(json.loads(row.review)),
        refusal=None if row.refusal is None else _refusal(json.loads(row.refusal)),
        release=None if row.release is None else _release(json.loads(row.release)),
        extended_because=row.extended_because,
        progress=None if row.progress_total is None else (int(row.progress_done or 0), int(row.progress_total)),
        copies=int(row.copies),
        runner=row.runner,
        heartbeat_at=row.heartbeat_at,
        ended_at=row.ended_at,
        erased_at=row.erased_at,
    )


def _time(value: datetime) -> str:
    return require_aware(value, "instant").isoformat()


def _box_json(b: NormalisedBox) -> dict[str, Any]:
    return {
        "camera_id": b.camera_id,
        "x1": b.x1,
        "y1": b.y1,
        "x2": b.x2,
        "y2": b.y2,
        "start_s": b.start_s,
        "end_s": b.end_s,
    }


def _box(d: dict[str, Any]) -> NormalisedBox:
    return NormalisedBox(d["camera_id"], d["x1"], d["y1"], d["x2"], d["y2"], d["start_s"], d["end_s"])


def _scope_json(s: CopyScope) -> dict[str, Any]:
    return {
        "camera_ids": list(s.camera_ids),
        "start": _time(s.start),
        "end": _time(s.end),
        "keep_clear": [_box_json(b) for b in s.keep_clear],
        "manual": [_box_json(b) for b in s.manual],
    }


def _scope(d: dict[str, Any]) -> CopyScope:
    return CopyScope(
        camera_ids=tuple(d["camera_ids"]),
        start=datetime.fromisoformat(d["start"]),
        end=datetime.fromisoformat(d["end"]),
        keep_clear=tuple(_box(b) for b in d["keep_clear"]),
        manual=tuple(_box(b) for b in d["manual"]),
    )


def _copy_json(c: PreparedCopy) -> dict[str, Any]:
    return {
        "folder": c.folder,
        "files": [
            {
                "name": f.name,
                "camera_id": f.camera_id,
                "frames": f.frames,
                "sha256": f.sha256,
                "bytes": f.bytes,
                "start": _time(f.start),
                "end": _time(f.end),
            }
            for f in c.files
        ],
        "source_manifest_sha256": c.source_manifest_sha256,
        "detector": c.detector,
        "options": dict(c.options),
    }


def _copy(d: dict[str, Any]) -> PreparedCopy:
    return PreparedCopy(
        folder=d["folder"],
        files=tuple(
            CopyFile(
                f["name"],
                f["camera_id"],
                int(f["frames"]),
                f["sha256"],
                int(f["bytes"]),
                datetime.fromisoformat(f["start"]),
                datetime.fromisoformat(f["end"]),
            )
            for f in d["files"]
        ),
        source_manifest_sha256=d["source_manifest_sha256"],
        detector=d["detector"],
        options=dict(d["options"]),
    )


def _review_json(r: Review) -> dict[str, Any]:
    return {
        "reviewer": r.reviewer,
        "at": _time(r.at),
        "approved": r.approved,
        "frames_reviewed": r.frames_reviewed,
        "comment": r.comment,
    }


def _review(d: dict[str, Any]) -> Review:
    return Review(
        d["reviewer"], datetime.fromisoformat(d["at"]), bool(d["approved"]), int(d["frames_reviewed"]), d["comment"]
    )


def _refusal_json(r: Refusal) -> dict[str, Any]:
    return {"reason": r.reason.value, "explanation": r.explanation, "by": r.by, "at": _time(r.at)}


def _refusal(d: dict[str, Any]) -> Refusal:
    return Refusal(RefusalReason(d["reason"]), d["explanation"], d["by"], datetime.fromisoformat(d["at"]))


def _release_json(r: Release) -> dict[str, Any]:
    return {
        "at": _time(r.at),
        "by": r.by,
        "package_name": r.package_name,
        "package_sha256": r.package_sha256,
        "manifest_sha256": r.manifest_sha256,
        "key_id": r.key_id,
    }


def _release(d: dict[str, Any]) -> Release:
    return Release(
        datetime.fromisoformat(d["at"]),
        d["by"],
        d["package_name"],
        d["package_sha256"],
        d["manifest_sha256"],
        d["key_id"],
    )
