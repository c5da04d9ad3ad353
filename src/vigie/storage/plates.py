"""Plate reads, hit lists and matches (LAPI, issue 18; L35), on SQLite and PostgreSQL.

Reads are written with the instant they expire at (computed by ``vigie.domain.plates``); the purge deletes, in one
transaction, every match and read whose time has come, except the reads of held matches. Nothing here returns a
read that matched nothing: :meth:`SqlPlateRepo.matches`, :meth:`~SqlPlateRepo.match` and
:meth:`~SqlPlateRepo.match_crop` all go through ``plate_matches``, and :meth:`~SqlPlateRepo.counts` returns
numbers only.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, Select, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from vigie.domain.plates import (
    HitListEntry,
    HitListImport,
    MatchHold,
    PlateMatch,
    PlateRead,
    PurgeResult,
    ReadCount,
    legal_day_of,
)
from vigie.storage.database import for_reading, storage_errors
from vigie.storage.tables import (
    HitListEntryRow,
    HitListImportRow,
    PlateMatchRow,
    PlateReadCountRow,
    PlateReadRow,
    require_aware,
)

MAX_PAGE = 500
_ENTRY_BATCH = 5000
"""Hit-list entries are inserted in batches of this many rows (one statement each)."""


class MatchNotFoundError(LookupError):
    """No match has this id."""


class SqlPlateRepo:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._write = sessionmaker(engine, expire_on_commit=False)
        self._read = sessionmaker(for_reading(engine), expire_on_commit=False)

    # --- reads -----------------------------------------------------------------------------------------------

    def add_read(self, read: PlateRead, *, expires_at: datetime) -> int:
        """Store ``read`` and count it for its camera's Paris day; returns its id."""
        return self.add_read_with_matches(read, (), expires_at=expires_at)[0]

    def add_read_with_matches(
        self, read: PlateRead, hits: Sequence[HitListEntry], *, expires_at: datetime
    ) -> tuple[int, tuple[int, ...]]:
        """Store ``read``, a match for each of ``hits``, and their counts, in one transaction (a read is never
        kept a month without the match that justifies it, nor a match without its read); returns the ids."""
        expires_at = require_aware(expires_at, "expires_at")
        values = {
            "camera_id": read.camera_id,
            "commune_id": read.commune_id,
            "at": require_aware(read.at, "at"),
            "plate": read.text,
            "display": read.display,
            "plate_format": read.plate_format,
            "confidence": read.confidence,
            "frames": read.frames,
            "crop_jpeg": read.crop_jpeg,
            "activation_id": read.activation_id,
            "model_version": read.model_version,
            "expires_at": expires_at,
        }
        with storage_errors(self._engine, "store a plate read"), self._write.begin() as session:
            row = PlateReadRow(**values)
            session.add(row)
            session.flush()
            matches = [_match_row(row, hit, expires_at) for hit in hits]
            session.add_all(matches)
            session.flush()
            self._count(session, read.camera_id, legal_day_of(read.at), reads=1, matches=len(matches))
            return row.id, tuple(m.id for m in matches)

    def _count(self, session: Session, camera_id: str, day: date, *, reads: int, matches: int) -> None:
        dialect = sqlite if self._engine.dialect.name == "sqlite" else postgresql
        statement = dialect.insert(PlateReadCountRow).values(camera_id=camera_id, day=day, reads=reads, matches=matches)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=[PlateReadCountRow.camera_id, PlateReadCountRow.day],
                set_={
                    "reads": PlateReadCountRow.reads + reads,
                    "matches": PlateReadCountRow.matches + matches,
                },
            )
        )

    # --- hit lists -------------------------------------------------------------------------------------------

    def replace_lists(self, record: HitListImport, entries: Sequence[HitListEntry]) -> HitListImport:
        """Record the import and replace, in one transaction, the tenant's lists it names by its entries."""
        names = sorted({e.list_name for e in entries})
        with storage_errors(self._engine, "import a hit list"), self._write.begin() as session:
            imported = HitListImportRow(
                commune_id=record.commune_id,
                list_names=",".join(names),
                entries=len(entries),
                sha256=record.sha256,
                verified_by=record.verified_by,
                imported_by=record.imported_by,
                imported_at=require_aware(record.imported_at, "imported_at"),
            )
            session.add(imported)
            session.flush()
            import_id = imported.id
            session.execute(
                delete(HitListEntryRow).where(
                    HitListEntryRow.commune_id == record.commune_id, HitListEntryRow.list_name.in_(names)
                )
            )
            for batch in _batches(entries, _ENTRY_BATCH):
                session.execute(
                    insert(HitListEntryRow),
                    [
                        {
                            "commune_id": record.commune_id,
                            "list_name": e.list_name,
                            "plate": e.plate,
                            "reason": e.reason,
                            "import_id": import_id,
                        }
                        for e in batch
                    ],
                )
        return HitListImport(
            record.commune_id,
            tuple(names),
            len(entries),
            record.sha256,
            record.verified_by,
            record.imported_by,
            record.imported_at,
            import_id,
        )

    def hits(self, commune_id: str, plate: str) -> Sequence[HitListEntry]:
        """The entries of ``commune_id``'s lists seeking ``plate``, by list name."""
        query = (
            select(HitListEntryRow.plate, HitListEntryRow.reason, HitListEntryRow.list_name)
            .where(HitListEntryRow.commune_id == commune_id, HitListEntryRow.plate == plate)
            .order_by(HitListEntryRow.list_name)
        )
        with storage_errors(self._engine, "compare a plate with the hit lists"), self._read() as session:
            return [HitListEntry(p, r, n) for p, r, n in session.execute(query).all()]

    def imports(self, commune_id: str, limit: int = 50) -> Sequence[HitListImport]:
        query = (
            select(HitListImportRow)
            .where(HitListImportRow.commune_id == commune_id)
            .order_by(HitListImportRow.id.desc())
            .limit(min(limit, MAX_PAGE))
        )
        with storage_errors(self._engine, "list the hit-list imports"), self._read() as session:
            return [
                HitListImport(
                    r.commune_id,
                    tuple(n for n in r.list_names.split(",") if n),
                    r.entries,
                    r.sha256,
                    r.verified_by,
                    r.imported_by,
                    r.imported_at,
                    r.id,
                )
                for r in session.scalars(query)
            ]

    # --- matches ---------------------------------------------------------------------------------------------

    def add_match(self, read_id: int, entry: HitListEntry, *, expires_at: datetime) -> int:
        """Record that read ``read_id`` matched ``entry``; the read is then kept until ``expires_at`` too."""
        expires_at = require_aware(expires_at, "expires_at")
        with storage_errors(self._engine, "record a plate match"), self._write.begin() as session:
            read = session.get(PlateReadRow, read_id)
            if read is None:
                raise LookupError(f"no plate read {read_id}")
            read.expires_at = max(read.expires_at, expires_at)
            match = _match_row(read, entry, expires_at)
            session.add(match)
            session.flush()
            match_id = match.id
            self._count(session, read.camera_id, legal_day_of(read.at), reads=0, matches=1)
        return match_id

    def set_alert(self, match_id: int, alert_id: int) -> None:
        with storage_errors(self._engine, "link a match to its alert"), self._write.begin() as session:
            session.execute(update(PlateMatchRow).where(PlateMatchRow.id == match_id).values(alert_id=alert_id))

    def matches(
        self,
        camera_ids: Sequence[str],
        *,
        since: datetime | None = None,
        alert_id: int | None = None,
        limit: int = 100,
    ) -> Sequence[PlateMatch]:
        """Matches on ``camera_ids``, newest first."""
        if not 0 < limit <= MAX_PAGE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE}, got {limit}")
        query = _match_query().where(PlateMatchRow.camera_id.in_(list(camera_ids)))
        if since is not None:
            query = query.where(PlateMatchRow.at >= require_aware(since, "since"))
        if alert_id is not None:
            query = query.where(PlateMatchRow.alert_id == alert_id)
        query = query.order_by(PlateMatchRow.at.desc(), PlateMatchRow.id.desc()).limit(limit)
        with storage_errors(self._engine, "list plate matches"), self._read() as session:
            return [_match(row) for row in session.execute(query).all()]

    def match(self, match_id: int) -> PlateMatch | None:
        with storage_errors(self._engine, "read a plate match"), self._read() as session:
            row = session.execute(_match_query().where(PlateMatchRow.id == match_id)).one_or_none()
            return None if row is None else _match(row)

    def match_crop(self, match_id: int) -> bytes | None:
        """The plate crop of a match's read (only ever reached through a match)."""
        query = (
            select(PlateReadRow.crop_jpeg)
            .join(PlateMatchRow, PlateMatchRow.read_id == PlateReadRow.id)
            .where(PlateMatchRow.id == match_id)
        )
        with storage_errors(self._engine, "read a match's plate crop"), self._read() as session:
            crop = session.scalar(query)
            return None if crop is None else bytes(crop)

    def hold(self, match_id: int, hold: MatchHold | None) -> PlateMatch:
        """Place (``hold``) or lift (None) the procedure hold of a match."""
        values: dict[str, Any] = (
            {"hold_reference": None, "hold_by": None, "hold_at": None}
            if hold is None
            else {
                "hold_reference": hold.reference,
                "hold_by": hold.placed_by,
                "hold_at": require_aware(hold.placed_at, "placed_at"),
            }
        )
        with storage_errors(self._engine, "hold a plate match"), self._write.begin() as session:
            changed = session.execute(update(PlateMatchRow).where(PlateMatchRow.id == match_id).values(values))
            if getattr(changed, "rowcount", 0) == 0:
                raise MatchNotFoundError(f"no plate match {match_id}")
        found = self.match(match_id)
        if found is None:  # purged between the two transactions
            raise MatchNotFoundError(f"no plate match {match_id}")
        return found

    # --- counts and purge --------------------------------------------------------------------------------------

    def counts(self, camera_ids: Sequence[str], since: date, until: date) -> Sequence[ReadCount]:
        """Reads and matches per camera per Paris day, ``since`` <= day <= ``until``."""
        query = (
            select(PlateReadCountRow)
            .where(
                PlateReadCountRow.camera_id.in_(list(camera_ids)),
                PlateReadCountRow.day >= since,
                PlateReadCountRow.day <= until,
            )
            .order_by(PlateReadCountRow.day, PlateReadCountRow.camera_id)
        )
        with storage_errors(self._engine, "count plate reads"), self._read() as session:
            return [ReadCount(r.camera_id, r.day, r.reads, r.matches) for r in session.scalars(query)]

    def purge(self, now: datetime) -> PurgeResult:
        """Delete, in one transaction, the matches and reads expired at ``now`` (L35), except held matches and
        their reads."""
        now = require_aware(now, "now")
        held = select(PlateMatchRow.read_id).where(PlateMatchRow.hold_reference.is_not(None))
        with storage_errors(self._engine, "purge expired plate reads"), self._write.begin() as session:
            matches = session.execute(
                delete(PlateMatchRow).where(PlateMatchRow.expires_at <= now, PlateMatchRow.hold_reference.is_(None))
            )
            reads = session.execute(
                delete(PlateReadRow).where(PlateReadRow.expires_at <= now, PlateReadRow.id.not_in(held))
            )
        return PurgeResult(reads=int(getattr(reads, "rowcount", 0)), matches=int(getattr(matches, "rowcount", 0)))


def _match_row(read: PlateReadRow, entry: HitListEntry, expires_at: datetime) -> PlateMatchRow:
    return PlateMatchRow(
        read_id=read.id,
        commune_id=read.commune_id,
        camera_id=read.camera_id,
        at=read.at,
        list_name=entry.list_name,
        reason=entry.reason,
        expires_at=expires_at,
    )


def _match_query() -> Select[PlateMatchRow, str, str, str, float]:
    return select(
        PlateMatchRow,
        PlateReadRow.plate,
        PlateReadRow.display,
        PlateReadRow.plate_format,
        PlateReadRow.confidence,
    ).join(PlateReadRow, PlateReadRow.id == PlateMatchRow.read_id)


def _match(row: Any) -> PlateMatch:
    m: PlateMatchRow = row[0]
    hold = (
        None
        if m.hold_reference is None or m.hold_by is None or m.hold_at is None
        else MatchHold(m.hold_reference, m.hold_by, m.hold_at)
    )
    return PlateMatch(
        id=m.id,
        read_id=m.read_id,
        commune_id=m.commune_id,
        camera_id=m.camera_id,
        at=m.at,
        text=row[1],
        display=row[2],
        plate_format=row[3],
        confidence=row[4],
        list_name=m.list_name,
        reason=m.reason,
        expires_at=m.expires_at,
        alert_id=m.alert_id,
        hold=hold,
    )


def _batches(items: Sequence[HitListEntry], size: int) -> Iterator[Sequence[HitListEntry]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
