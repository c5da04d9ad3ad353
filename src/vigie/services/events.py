"""Reading events: the use case behind ``GET /api/events``.

A person reads the events of the cameras they may see (their tenant's, and those shared with it: L10), and
nothing else: a camera of another tenant answers as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from vigie.domain.observation import Event
from vigie.domain.ports import EventRepo
from vigie.domain.users import Permission
from vigie.services.access import NotVisibleError, Principal

MAX_PAGE = 500


class InvalidQuery(ValueError):
    """A query a person can fix: the message says how."""


def check_range(start: datetime, end: datetime, longest: timedelta, too_long: str) -> None:
    """Raise :class:`InvalidQuery` unless [start, end) is a range of at most ``longest`` with time zones, within
    the years Python holds in UTC; ``too_long`` is the message when it is longer."""
    if start.utcoffset() is None or end.utcoffset() is None:
        raise InvalidQuery("start and end must carry a time zone, e.g. 2026-11-28T18:00:00Z")
    try:
        start.astimezone(UTC), end.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 is before the first instant Python can hold in UTC
        raise InvalidQuery("start and end must be between years 1 and 9999 in UTC") from None
    if not start < end:
        raise InvalidQuery("start must be before end")
    if end - start > longest:
        raise InvalidQuery(too_long)


@dataclass(frozen=True, slots=True)
class EventPage:
    items: Sequence[Event]
    limit: int
    offset: int
    next_offset: int | None


class EventService:
    def __init__(self, repo: EventRepo) -> None:
        self._repo = repo

    def list_events(
        self,
        viewer: Principal,
        *,
        camera_id: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> EventPage:
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidQuery(f"limit must be between 1 and {MAX_PAGE}, got {limit}")
        if offset < 0:
            raise InvalidQuery(f"offset must be 0 or more, got {offset}")
        if since is not None and since.tzinfo is None:
            raise InvalidQuery("since must carry a time zone, e.g. 2026-11-28T18:00:00Z")
        viewer.require(Permission.VIEW_CAMERAS)
        if camera_id is not None and not viewer.sees_camera(camera_id):
            raise NotVisibleError(f"no camera {camera_id!r} among the cameras you may see")
        visible = viewer.visible_cameras()
        items = self._repo.list(camera_id=camera_id, since=since, limit=limit, offset=offset, camera_ids=visible)
        next_offset = offset + limit if len(items) == limit else None
        return EventPage(items=items, limit=limit, offset=offset, next_offset=next_offset)
