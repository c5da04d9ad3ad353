"""The searches made under a case (issue 22) as every process sees them: the jobs (who searched what, when, how it
ended: the case's history, kept when the case closes) and the hits of motion-in-region searches (results, purged
with the case).

A job lives in the database, not in the memory of the process that runs it: after a restart, or through another
API process, ``GET /api/cases/{id}/searches/{job}`` still answers. The process running a job names itself in
``runner`` and says it is alive (``heartbeat_at``) while the job is in its hands; a job whose process stopped saying
so is failed, with that reason, by the next process that looks (or starts).
"""

from __future__ import annotations

import builtins
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Protocol


class SearchKind(enum.StrEnum):
    """What a search looks for."""

    OBJECTS = "objects"
    """Objects found by the camera's detector and the tracker (``vigie.analytics.forensics.object_search``)."""
    MOTION = "motion"
    """Pixels changed in a region drawn on one camera, no detector (``vigie.analytics.forensics.motion_region``)."""


class SearchState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


ACTIVE_STATES: Final = frozenset({SearchState.QUEUED, SearchState.RUNNING})
"""States of a job still in some process's hands (``done`` and ``failed`` are final)."""


@dataclass(frozen=True, slots=True)
class SearchJob:
    """A search of a case's recordings and where it stands."""

    case_id: int
    camera_ids: tuple[str, ...]
    start: datetime
    end: datetime
    requested_by: str
    requested_at: datetime
    kind: SearchKind = SearchKind.OBJECTS
    parameters: Mapping[str, Any] = field(default_factory=dict)
    """JSON data: what the search was asked beyond cameras and period (a motion search's region and thresholds)."""
    state: SearchState = SearchState.QUEUED
    progress: float = 0.0
    found: int = 0
    """Results stored: objects (an object search) or motion hits (a motion search). Kept after a purge."""
    error: str | None = None
    finished_at: datetime | None = None
    runner: str = ""
    """The process running the job (host, pid and a random token)."""
    heartbeat_at: datetime | None = None
    """When ``runner`` last said it was alive with the job in its hands."""
    id: int | None = None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES


@dataclass(frozen=True, slots=True)
class MotionHit:
    """A span where the region of a motion search changed: ``peak_at`` is where playback should open,
    ``peak_fraction`` the largest fraction of the region's pixels changed in the span (0 to 1)."""

    case_id: int
    job_id: int
    camera_id: str
    start: datetime
    end: datetime
    peak_at: datetime
    peak_fraction: float
    id: int | None = None


class CaseSearches(Protocol):
    """Where the jobs of a case's searches and the hits of its motion searches are kept (one short transaction per
    call)."""

    def add(self, job: SearchJob) -> SearchJob:
        """Store a new job; it comes back with its id."""
        ...

    def get(self, case_id: int, job_id: int) -> SearchJob | None: ...

    def list(self, case_id: int, *, limit: int, offset: int) -> builtins.list[SearchJob]:
        """The case's jobs, newest first."""
        ...

    def active(self) -> builtins.list[SearchJob]:
        """Jobs queued or running, of every case and every process."""
        ...

    def save(self, job: SearchJob, *, if_state: Sequence[SearchState] = tuple(ACTIVE_STATES)) -> bool:
        """Write the job's state, progress, count, error, end, runner and heartbeat over its row, only when the
        stored state is one of ``if_state``: False when nothing was written (it ended meanwhile)."""
        ...

    def beat(self, runner: str, at: datetime) -> None:
        """``runner`` is alive at ``at``: the heartbeat of its active jobs."""
        ...

    def add_hits(self, hits: Sequence[MotionHit]) -> int:
        """Store a motion search's hits; how many."""
        ...

    def hits(self, case_id: int, job_id: int, *, limit: int, offset: int) -> builtins.list[MotionHit]:
        """A job's hits in time order."""
        ...

    def purge_hits(self, case_id: int) -> int:
        """Delete every motion hit of the case (its jobs stay); how many there were."""
        ...
