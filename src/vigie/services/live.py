"""Watching a camera live: who may, on which cameras, and the trace it leaves (L8–L11).

Opening a live view needs the ``view_live`` permission (an operator's, with an authorisation in force and a
training, L8–L9) and a camera of one's tenant or shared with it (L10); another tenant's camera answers like a
missing one. A camera whose prefectoral authorisation is not in force today (expired, not yet valid) shows
nothing (L1): the view is refused (403, audited), and a view in progress ends when it is checked again. Every view
is in the audit log when it starts, and again when it ends with how long it lasted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from vigie.domain.audit import AuditAction, AuditEvent
from vigie.domain.ports import AuditSink, LiveQuality
from vigie.domain.users import Permission
from vigie.governance.authorisation import CameraAuthorisations
from vigie.services.access import NotVisibleError, Principal
from vigie.services.cameras import require_authorised


class LiveFeed(Protocol):
    """The live images of one camera stream (implemented by :class:`vigie.ingest.live.LiveFeed`)."""

    @property
    def error(self) -> str: ...
    def subscribe(self) -> Any: ...
    def unsubscribe(self, viewer: Any) -> None: ...
    async def next_frame(self, viewer: Any, after: int, timeout: float) -> LiveImage | None: ...


class LiveImage(Protocol):
    @property
    def jpeg(self) -> bytes: ...
    @property
    def seq(self) -> int: ...


class LiveHub(Protocol):
    """Every camera's feeds (implemented by :class:`vigie.ingest.live.LiveHub`); KeyError for an unknown one."""

    def feed(self, camera_id: str, quality: LiveQuality = "wall") -> LiveFeed: ...
    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class LiveView:
    """One person watching one camera: the feed to read frames from, and what the end of the view records."""

    feed: LiveFeed
    camera_id: str
    quality: LiveQuality
    actor: str
    started: datetime


class LiveService:
    def __init__(
        self,
        hub: LiveHub,
        audit: AuditSink,
        clock: Callable[[], datetime],
        *,
        authorisations: CameraAuthorisations | None = None,
    ) -> None:
        """``authorisations``: the cameras' prefectoral authorisations on the service's clock (L1; the runtime
        always gives it)."""
        self._hub = hub
        self._audit = audit
        self._clock = clock
        self._authorisations = authorisations

    def open(self, viewer: Principal, camera_id: str, quality: LiveQuality = "wall") -> LiveView:
        """Check ``viewer`` may watch ``camera_id`` live, record it, and hand out the camera's feed."""
        viewer.require(Permission.VIEW_LIVE)
        viewer.require_camera(camera_id)
        require_authorised(self._authorisations, camera_id, "live view")
        try:
            feed = self._hub.feed(camera_id, quality)
        except KeyError:
            raise NotVisibleError(f"no camera {camera_id!r} among the cameras you may see") from None
        now = self._clock()
        self._audit.append(AuditEvent(viewer.actor, AuditAction.LIVE_VIEWED, camera_id, {"quality": quality}, at=now))
        return LiveView(feed, camera_id, quality, viewer.actor, now)

    def refusal(self, camera_id: str) -> str | None:
        """Why ``camera_id`` may no longer be watched (its authorisation ended, L1), or None: asked again while a
        view is open."""
        return None if self._authorisations is None else self._authorisations.refusal(camera_id)

    def close(self, view: LiveView, *, frames: int, reason: str) -> None:
        """Record the end of a view: its length, the frames sent, and why it ended (left, session ended)."""
        now = self._clock()
        details = {
            "quality": view.quality,
            "seconds": round((now - view.started).total_seconds(), 1),
            "frames": frames,
            "ended": reason,
        }
        self._audit.append(AuditEvent(view.actor, AuditAction.LIVE_ENDED, view.camera_id, details, at=now))

    def shutdown(self) -> None:
        self._hub.close()
