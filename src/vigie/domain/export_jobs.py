"""Export jobs as every API process sees them (issue 17): the port of the store they are kept in.

With several API processes behind a load balancer, an export asked on one is listed, cancelled and downloaded
through any other: the job lives in the database, not in the memory of the process that runs it. The process
making a job says it is alive (``heartbeat_at``) while it has the job; a job whose process stopped saying so is
failed, with that reason, by whichever process looks at it next.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

ACTIVE_STATES = frozenset({"queued", "running"})
"""States of a job still in someone's hands (the rest, ``done`` and ``failed``, are final)."""


@dataclass(frozen=True, slots=True)
class StoredExportJob:
    """One export job as stored: the fields a query needs, and the rest (``document``) as JSON-ready values."""

    id: str
    owner: str
    state: str
    progress: float
    created_at: datetime
    runner: str
    """The API process making the job (its own random name)."""
    heartbeat_at: datetime
    """When ``runner`` last said it was alive, with the job still in its hands."""
    cancel_requested: bool
    document: Mapping[str, Any]


class ExportJobStore(Protocol):
    """Where the export jobs of every API process are kept (one short transaction per call)."""

    def add(self, job: StoredExportJob) -> None: ...

    def get(self, job_id: str) -> StoredExportJob | None: ...

    def owned_by(self, owner: str) -> list[StoredExportJob]:
        """``owner``'s jobs, newest first."""
        ...

    def active(self) -> list[StoredExportJob]:
        """Jobs queued or running, on any process."""
        ...

    def finished_ids(self) -> list[str]:
        """Ids of the jobs done or failed, oldest first."""
        ...

    def save(self, job: StoredExportJob, *, if_state: Sequence[str] = ()) -> bool:
        """Write ``job`` over its row (``cancel_requested`` is never cleared here); with ``if_state``, only when
        the stored state is one of them. False when nothing was written."""
        ...

    def request_cancel(self, job_id: str) -> bool:
        """Ask the process making an active job to stop it; False when the job is no longer active."""
        ...

    def beat(self, runner: str, at: datetime) -> None:
        """``runner`` is alive at ``at``: the heartbeat of its active jobs."""
        ...

    def forget(self, job_ids: Sequence[str]) -> None: ...
