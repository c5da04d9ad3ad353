"""The segment index read as a history, for the playback timeline: every segment of a camera over a range, whatever
its state (implements ``vigie.services.recordings.SegmentHistory``).

:class:`~vigie.storage.recording.SqlSegmentIndex` answers what plays (complete and recovered segments); the
timeline also needs what does not — quarantined, missing, deleted — to say why a stretch cannot be played. The
query selects columns rather than ORM rows: a week of a camera is tens of thousands of rows, read once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select

from vigie.domain.recording import Segment, SegmentState
from vigie.storage.database import for_reading, storage_errors
from vigie.storage.tables import SegmentRow, require_aware


class SqlSegmentHistory:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._read = for_reading(engine)

    def overlapping(self, camera_id: str, start: datetime, end: datetime) -> list[Segment]:
        """Every indexed segment of ``camera_id`` overlapping [start, end), in any state, by start time."""
        query = (
            select(
                SegmentRow.id,
                SegmentRow.camera_id,
                SegmentRow.key,
                SegmentRow.start,
                SegmentRow.end,
                SegmentRow.bytes,
                SegmentRow.sha256,
                SegmentRow.state,
            )
            .where(
                SegmentRow.camera_id == camera_id,
                SegmentRow.start < require_aware(end, "end"),
                SegmentRow.end > require_aware(start, "start"),
            )
            .order_by(SegmentRow.start, SegmentRow.id)
        )
        with storage_errors(self._engine, f"read the segment history of {camera_id}"), self._read.connect() as conn:
            return [
                Segment(
                    camera_id=row.camera_id,
                    key=row.key,
                    start=row.start,
                    end=row.end,
                    bytes=row.bytes,
                    sha256=row.sha256,
                    state=SegmentState(row.state),
                    id=row.id,
                )
                for row in conn.execute(query)
            ]
