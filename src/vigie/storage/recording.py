"""SQL implementations of the recording ports: the segment index, holds and the destruction register (L3–L5).

Same habits as :mod:`vigie.storage.repositories`: one short transaction per call on a fresh session, writes
``BEGIN IMMEDIATE`` on SQLite, reads deferred, every database error raised as a
:class:`~vigie.storage.errors.StorageError`. Segment rows are never deleted: a destroyed segment keeps its row
(state ``deleted``), so the register and the audit log can always name what was destroyed.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Final

from sqlalchemy import Engine, Select, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from vigie.domain.recording import DestructionRecord, Hold, Segment, SegmentState
from vigie.storage.database import for_reading, storage_errors
from vigie.storage.errors import StorageError
from vigie.storage.tables import DestructionRegisterRow, HoldRow, SegmentRow, require_aware

PLAYABLE: Final = (SegmentState.COMPLETE, SegmentState.RECOVERED)
"""States whose segments play and export."""

STORED: Final = (SegmentState.COMPLETE, SegmentState.RECOVERED, SegmentState.QUARANTINED)
"""States whose bytes are (supposed to be) in the store: what retention and disk pressure may destroy."""

MAX_BATCH: Final = 10_000
"""The most segments one query returns: callers page beyond that."""


class SegmentNotFoundError(StorageError, LookupError):
    """No segment has this id."""


class HoldNotFoundError(StorageError, LookupError):
    """No hold has this id."""


class HoldAlreadyLiftedError(StorageError, ValueError):
    """The hold was lifted already; a lift is never overwritten."""


class _Repo:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._write = sessionmaker(engine, expire_on_commit=False)
        self._read = sessionmaker(for_reading(engine), expire_on_commit=False)


class SqlSegmentIndex(_Repo):
    """The ``segments`` table (implements ``vigie.domain.recording.SegmentIndex``)."""

    def add(self, segment: Segment) -> Segment:
        """Index a new segment; return it with its id. A key already indexed raises :class:`StorageError`."""
        if segment.id is not None:
            raise ValueError(f"segment {segment.id} is already indexed")
        if segment.end < segment.start:
            raise ValueError(f"segment {segment.key} ends ({segment.end}) before it starts ({segment.start})")
        row = SegmentRow(
            camera_id=segment.camera_id,
            key=segment.key,
            start=require_aware(segment.start, "segment.start"),
            end=require_aware(segment.end, "segment.end"),
            bytes=segment.bytes,
            sha256=segment.sha256,
            state=segment.state.value,
            state_changed_at=None,
        )
        with storage_errors(self._engine, f"index segment {segment.key}"), self._write.begin() as session:
            session.add(row)
            session.flush()
            return _row_to_segment(row)

    def add_many(self, segments: Iterable[Segment]) -> int:
        """Index many new segments in one transaction (one multi-row statement); return how many rows were added.

        A key already indexed is skipped, not an error: the writer thread indexes in batches, and a batch written
        again (a journal replay after an outage, an upload confirmed twice) must neither fail nor duplicate rows.
        Ids are not returned: callers that need one read the segment back with :meth:`by_key`."""
        rows = [_segment_values(segment) for segment in segments]
        if not rows:
            return 0
        dialect = sqlite if self._engine.dialect.name == "sqlite" else postgresql
        insert = dialect.insert(SegmentRow).on_conflict_do_nothing(index_elements=[SegmentRow.key])
        doing = f"index {len(rows)} segments"
        with storage_errors(self._engine, doing), self._write.begin() as session:
            before = session.scalar(
                select(func.count()).select_from(SegmentRow).where(SegmentRow.key.in_([row["key"] for row in rows]))
            )
            session.connection().execute(insert, rows)
            return len({row["key"] for row in rows}) - int(before or 0)

    def set_state(self, segment_id: int, state: SegmentState, at: datetime) -> None:
        """Move a segment to ``state``; raise :class:`SegmentNotFoundError` when there is no such segment."""
        when = require_aware(at, "at")
        doing = f"set the state of segment {segment_id}"
        with storage_errors(self._engine, doing), self._write.begin() as session:
            row = session.get(SegmentRow, segment_id)
            if row is None:
                raise SegmentNotFoundError(f"segment {segment_id} does not exist")
            row.state = SegmentState(state).value
            row.state_changed_at = when

    def between(self, camera_id: str, start: datetime, end: datetime) -> list[Segment]:
        """Playable segments of ``camera_id`` overlapping [start, end), by start time."""
        query = (
            select(SegmentRow)
            .where(
                SegmentRow.camera_id == camera_id,
                SegmentRow.start < require_aware(end, "end"),
                SegmentRow.end > require_aware(start, "start"),
                SegmentRow.state.in_([s.value for s in PLAYABLE]),
            )
            .order_by(SegmentRow.start, SegmentRow.id)
        )
        return self._list(query, f"list segments of {camera_id}")

    def oldest(self, limit: int) -> list[Segment]:
        """The oldest playable segments, all cameras, by start time."""
        return self.oldest_stored(limit, states=PLAYABLE)

    def oldest_stored(self, limit: int, *, offset: int = 0, states: Iterable[SegmentState] = STORED) -> list[Segment]:
        """The oldest segments whose bytes are stored (quarantined ones included), by start then id."""
        _check_batch(limit, offset)
        query = (
            select(SegmentRow)
            .where(SegmentRow.state.in_([s.value for s in states]))
            .order_by(SegmentRow.start, SegmentRow.id)
            .limit(limit)
            .offset(offset)
        )
        return self._list(query, "list the oldest segments")

    def ended_before(self, camera_id: str, before: datetime, limit: int, *, after_id: int = 0) -> list[Segment]:
        """Stored segments of ``camera_id`` whose end is before ``before``, by id above ``after_id`` (paging)."""
        _check_batch(limit, 0)
        query = (
            select(SegmentRow)
            .where(
                SegmentRow.camera_id == camera_id,
                SegmentRow.end < require_aware(before, "before"),
                SegmentRow.id > after_id,
                SegmentRow.state.in_([s.value for s in STORED]),
            )
            .order_by(SegmentRow.id)
            .limit(limit)
        )
        return self._list(query, f"list expired segments of {camera_id}")

    def cameras(self) -> list[str]:
        """Cameras that have stored segments, sorted."""
        query = select(SegmentRow.camera_id).where(SegmentRow.state.in_([s.value for s in STORED])).distinct()
        with storage_errors(self._engine, "list recorded cameras"), self._read.begin() as session:
            return sorted(session.scalars(query))

    def get(self, segment_id: int) -> Segment | None:
        with storage_errors(self._engine, f"read segment {segment_id}"), self._read.begin() as session:
            row = session.get(SegmentRow, segment_id)
            return None if row is None else _row_to_segment(row)

    def by_key(self, key: str) -> Segment | None:
        query = select(SegmentRow).where(SegmentRow.key == key)
        with storage_errors(self._engine, f"read segment {key}"), self._read.begin() as session:
            row = session.scalars(query).one_or_none()
            return None if row is None else _row_to_segment(row)

    def all_keys(self, camera_id: str | None = None) -> set[str]:
        """Keys of every segment whose bytes should be in the store (for reconciliation with it)."""
        query = select(SegmentRow.key).where(SegmentRow.state.in_([s.value for s in STORED]))
        if camera_id is not None:
            query = query.where(SegmentRow.camera_id == camera_id)
        with storage_errors(self._engine, "list segment keys"), self._read.begin() as session:
            return set(session.scalars(query))

    def count(self, *, camera_id: str | None = None, state: SegmentState | None = None) -> int:
        """How many segment rows (deleted ones included unless ``state`` says otherwise)."""
        query = select(func.count()).select_from(SegmentRow)
        if camera_id is not None:
            query = query.where(SegmentRow.camera_id == camera_id)
        if state is not None:
            query = query.where(SegmentRow.state == SegmentState(state).value)
        with storage_errors(self._engine, "count segments"), self._read.begin() as session:
            return int(session.scalar(query) or 0)

    def total_bytes(self, camera_id: str | None = None) -> int:
        """Bytes of the segments whose bytes are stored (complete, recovered, quarantined)."""
        query = select(func.coalesce(func.sum(SegmentRow.bytes), 0)).where(
            SegmentRow.state.in_([s.value for s in STORED])
        )
        if camera_id is not None:
            query = query.where(SegmentRow.camera_id == camera_id)
        with storage_errors(self._engine, "sum segment bytes"), self._read.begin() as session:
            return int(session.scalar(query) or 0)

    def _list(self, query: Select[SegmentRow], doing: str) -> builtins.list[Segment]:
        with storage_errors(self._engine, doing), self._read.begin() as session:
            return [_row_to_segment(row) for row in session.scalars(query)]


class SqlHoldRepo(_Repo):
    """The ``holds`` table (implements ``vigie.domain.recording.HoldRepo``)."""

    def place(self, hold: Hold) -> Hold:
        if hold.id is not None:
            raise ValueError(f"hold {hold.id} is already stored")
        if hold.end <= hold.start:
            raise ValueError(f"hold ends ({hold.end}) at or before it starts ({hold.start})")
        row = HoldRow(
            camera_id=hold.camera_id,
            start=require_aware(hold.start, "hold.start"),
            end=require_aware(hold.end, "hold.end"),
            requisition_ref=hold.requisition_ref,
            case_number=hold.case_number,
            officer=hold.officer,
            placed_at=require_aware(hold.placed_at, "hold.placed_at"),
            placed_by=hold.placed_by,
            lifted_at=None,
            lifted_by=None,
            lift_reason=None,
        )
        with storage_errors(self._engine, f"place a hold on {hold.camera_id}"), self._write.begin() as session:
            session.add(row)
            session.flush()
            return _row_to_hold(row)

    def lift(self, hold_id: int, at: datetime, by: str, reason: str) -> Hold:
        when = require_aware(at, "at")
        with storage_errors(self._engine, f"lift hold {hold_id}"), self._write.begin() as session:
            row = _locked(session, hold_id)
            if row.lifted_at is not None:
                raise HoldAlreadyLiftedError(
                    f"hold {hold_id} was already lifted at {row.lifted_at.isoformat()} by {row.lifted_by}"
                )
            row.lifted_at, row.lifted_by, row.lift_reason = when, by, reason
            return _row_to_hold(row)

    def get(self, hold_id: int) -> Hold | None:
        with storage_errors(self._engine, f"read hold {hold_id}"), self._read.begin() as session:
            row = session.get(HoldRow, hold_id)
            return None if row is None else _row_to_hold(row)

    def active(self, now: datetime) -> list[Hold]:
        """Holds not lifted at ``now`` (never lifted, or lifted later than ``now``)."""
        at = require_aware(now, "now")
        query = (
            select(HoldRow)
            .where((HoldRow.lifted_at.is_(None)) | (HoldRow.lifted_at > at))
            .order_by(HoldRow.placed_at, HoldRow.id)
        )
        with storage_errors(self._engine, "list active holds"), self._read.begin() as session:
            return [_row_to_hold(row) for row in session.scalars(query)]

    def all(self) -> builtins.list[Hold]:
        query = select(HoldRow).order_by(HoldRow.placed_at, HoldRow.id)
        with storage_errors(self._engine, "list holds"), self._read.begin() as session:
            return [_row_to_hold(row) for row in session.scalars(query)]


class SqlDestructionRegister(_Repo):
    """The ``destruction_register`` table (implements ``vigie.domain.recording.DestructionRegister``).

    One line per segment: a transmission to the prosecutor and the later destruction fill the same line.
    """

    def record_destruction(self, segment: Segment, at: datetime, reason: str) -> DestructionRecord:
        when = require_aware(at, "at")
        with storage_errors(self._engine, f"register the destruction of {segment.key}"), self._write.begin() as s:
            row = self._line(s, segment)
            row.destroyed_at, row.reason = when, reason
            s.flush()
            return _row_to_record(row)

    def record_transmission(self, segment: Segment, at: datetime) -> DestructionRecord:
        when = require_aware(at, "at")
        with storage_errors(self._engine, f"register the transmission of {segment.key}"), self._write.begin() as s:
            row = self._line(s, segment)
            row.transmitted_to_prosecutor_at = when
            s.flush()
            return _row_to_record(row)

    def all(self) -> builtins.list[DestructionRecord]:
        query = select(DestructionRegisterRow).order_by(DestructionRegisterRow.start, DestructionRegisterRow.segment_id)
        with storage_errors(self._engine, "read the destruction register"), self._read.begin() as session:
            return [_row_to_record(row) for row in session.scalars(query)]

    @staticmethod
    def _line(session: Session, segment: Segment) -> DestructionRegisterRow:
        if segment.id is None:
            raise ValueError(f"segment {segment.key} is not indexed: it has no id")
        query = select(DestructionRegisterRow).where(DestructionRegisterRow.segment_id == segment.id)
        row = session.scalars(query.with_for_update()).one_or_none()
        if row is None:
            row = DestructionRegisterRow(
                segment_id=segment.id,
                camera_id=segment.camera_id,
                key=segment.key,
                start=require_aware(segment.start, "segment.start"),
                end=require_aware(segment.end, "segment.end"),
                sha256=segment.sha256,
                reason="",
            )
            session.add(row)
        return row


def _segment_values(segment: Segment) -> dict[str, object]:
    """A new segment's row, checked as :meth:`SqlSegmentIndex.add` checks it."""
    if segment.id is not None:
        raise ValueError(f"segment {segment.id} is already indexed")
    if segment.end < segment.start:
        raise ValueError(f"segment {segment.key} ends ({segment.end}) before it starts ({segment.start})")
    return {
        "camera_id": segment.camera_id,
        "key": segment.key,
        "start": require_aware(segment.start, "segment.start"),
        "end": require_aware(segment.end, "segment.end"),
        "bytes": segment.bytes,
        "sha256": segment.sha256,
        "state": segment.state.value,
        "state_changed_at": None,
    }


def _check_batch(limit: int, offset: int) -> None:
    if not 0 <= limit <= MAX_BATCH:
        raise ValueError(f"limit must be between 0 and {MAX_BATCH}, got {limit}")
    if offset < 0:
        raise ValueError(f"offset must not be negative, got {offset}")


def _locked(session: Session, hold_id: int) -> HoldRow:
    row = session.scalars(select(HoldRow).where(HoldRow.id == hold_id).with_for_update()).one_or_none()
    if row is None:
        raise HoldNotFoundError(f"hold {hold_id} does not exist")
    return row


def _row_to_segment(row: SegmentRow) -> Segment:
    return Segment(
        camera_id=row.camera_id,
        key=row.key,
        start=row.start,
        end=row.end,
        bytes=row.bytes,
        sha256=row.sha256,
        state=SegmentState(row.state),
        id=row.id,
    )


def _row_to_hold(row: HoldRow) -> Hold:
    return Hold(
        camera_id=row.camera_id,
        start=row.start,
        end=row.end,
        requisition_ref=row.requisition_ref,
        case_number=row.case_number,
        officer=row.officer,
        placed_at=row.placed_at,
        lifted_at=row.lifted_at,
        id=row.id,
        placed_by=row.placed_by,
        lifted_by=row.lifted_by,
        lift_reason=row.lift_reason,
    )


def _row_to_record(row: DestructionRegisterRow) -> DestructionRecord:
    return DestructionRecord(
        segment_id=row.segment_id,
        camera_id=row.camera_id,
        key=row.key,
        start=row.start,
        end=row.end,
        sha256=row.sha256,
        destroyed_at=row.destroyed_at,
        reason=row.reason,
        transmitted_to_prosecutor_at=row.transmitted_to_prosecutor_at,
        id=row.id,
    )


if TYPE_CHECKING:
    from vigie.domain.recording import DestructionRegister, HoldRepo, SegmentIndex

    def _implements_the_ports(engine: Engine) -> tuple[SegmentIndex, HoldRepo, DestructionRegister]:
        """Never called: makes mypy prove the repositories satisfy the domain's protocols."""
        return SqlSegmentIndex(engine), SqlHoldRepo(engine), SqlDestructionRegister(engine)
