"""Watching a camera live: who may, on which cameras, and the trace it leaves (L8–L11).

Opening a live view needs the ``view_live`` permission (an operator's, with an authorisation in force and a
training, L8–L9) and a camera of one's tenant or shared with it (L10); another tenant's camera answers like a
missing one. A camera whose prefectoral authorisation is not in force today (expired, not yet valid) shows
nothing (L1): the view is refused (403, audited), and a view in progress ends when it is checked again. Every view
is in the audit log when it starts, and again when it ends with how long it lasted.

A view is MJPEG (decoded, privacy masks burnt in, re-encoded: :class:`LiveHub`) or the camera's own H.264 passed
through as fragmented MP4 (:class:`PassThroughHub`, no decoding): the same checks and the same audit for both. A
camera with privacy masks is never passed through (L6): :meth:`LiveService.open_passthrough` refuses it with
:class:`PassThroughUnavailableError` and the viewer falls back to MJPEG.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


class StreamItem(Protocol):
    """What a pass-through viewer is sent: the stream's start (``header`` says its codec and size, ``data`` is
    the MP4 init segment) or a fragment (``header`` is None)."""

    @property
    def data(self) -> bytes: ...
    @property
    def header(self) -> dict[str, object] | None: ...


class PassThroughFeed(Protocol):
    """One camera stream as fragmented MP4 (implemented by :class:`vigie.ingest.live_fmp4.Fmp4Feed`)."""

    @property
    def error(self) -> str: ...
    def subscribe(self) -> Any: ...
    def unsubscribe(self, viewer: Any) -> None: ...
    async def next_items(self, viewer: Any, timeout: float) -> Sequence[StreamItem]: ...


class PassThroughHub(Protocol):
    """The unmasked cameras' streams as fragmented MP4 (:class:`vigie.ingest.live_fmp4.Fmp4Hub`)."""

    def cameras(self) -> frozenset[str]: ...
    def available(self, camera_id: str, quality: LiveQuality = "wall") -> bool: ...
    def feed(self, camera_id: str, quality: LiveQuality = "wall") -> PassThroughFeed: ...
    def close(self) -> None: ...


class PassThroughUnavailableError(Exception):
    """This camera's live view is MJPEG only: it has privacy masks (its raw stream never leaves the server, L6), or
    this server passes no stream through."""


@dataclass(frozen=True, slots=True)
class LiveView:
    """One person watching one camera: the feed to read frames from, and what the end of the view records."""

    feed: Any
    """A :class:`LiveFeed` (MJPEG) or a :class:`PassThroughFeed` (``transport`` fmp4)."""
    camera_id: str
    quality: LiveQuality
    actor: str
    started: datetime
    transport: str = "mjpeg"


class LiveService:
    def __init__(
        self,
        hub: LiveHub,
        audit: AuditSink,
        clock: Callable[[], datetime],
        *,
        authorisations: CameraAuthorisations | None = None,
        passthrough: PassThroughHub | None = None,
    ) -> None:
        """``authorisations``: the cameras' prefectoral authorisations on the service's clock (L1; the runtime
        always gives it). ``passthrough``: the unmasked cameras' H.264 as fragmented MP4 (None: MJPEG only)."""
        self._hub = hub
        self._passthrough = passthrough
        self._audit = audit
        self._clock = clock
        self._authorisations = authorisations

    def open(self, viewer: Principal, camera_id: str, quality: LiveQuality = "wall") -> LiveView:
        """Check ``viewer`` may watch ``camera_id`` live, record it, and hand out the camera's feed."""
        feed = self._check(viewer, camera_id, quality)
        now = self._clock()
        self._audit.append(AuditEvent(viewer.actor, AuditAction.LIVE_VIEWED, camera_id, {"quality": quality}, at=now))
        return LiveView(feed, camera_id, quality, viewer.actor, now)

    def open_passthrough(self, viewer: Principal, camera_id: str, quality: LiveQuality = "wall") -> LiveView:
        """Like :meth:`open`, for the camera's own H.264 as fragmented MP4: the same checks and the same audit
        (with ``transport: fmp4``); :class:`PassThroughUnavailableError` for a masked camera, before anything is
        read or recorded."""
        self._check(viewer, camera_id, quality)
        hub = self._passthrough
        if hub is None or not hub.available(camera_id, quality):
            raise PassThroughUnavailableError(
                f"camera {camera_id} is shown as MJPEG only (privacy masks are burnt into its pictures)"
                if hub is not None
                else "this server shows live view as MJPEG only"
            )
        feed = hub.feed(camera_id, quality)
        now = self._clock()
        details = {"quality": quality, "transport": "fmp4"}
        self._audit.append(AuditEvent(viewer.actor, AuditAction.LIVE_VIEWED, camera_id, details, at=now))
        return LiveView(feed, camera_id, quality, viewer.actor, now, "fmp4")

    def passthrough_cameras(self, viewer: Principal) -> list[str]:
        """The cameras ``viewer`` may watch whose stream can be passed through (the console opens these as fMP4,
        the others as MJPEG); nothing is recorded, no video is sent."""
        viewer.require(Permission.VIEW_LIVE)
        if self._passthrough is None:
            return []
        return sorted(c for c in self._passthrough.cameras() if viewer.sees_camera(c))

    def _check(self, viewer: Principal, camera_id: str, quality: LiveQuality) -> LiveFeed:
        viewer.require(Permission.VIEW_LIVE)
        viewer.require_camera(camera_id)
        require_authorised(self._authorisations, camera_id, "live view")
        try:
            return self._hub.feed(camera_id, quality)
        except KeyError:
            raise NotVisibleError(f"no camera {camera_id!r} among the cameras you may see") from None

    def refusal(self, camera_id: str) -> str | None:
        """Why ``camera_id`` may no longer be watched (its authorisation ended, L1), or None: asked again while a
        view is open."""
        return None if self._authorisations is None else self._authorisations.refusal(camera_id)

    def close(self, view: LiveView, *, frames: int, reason: str, dropped: int | None = None) -> None:
        """Record the end of a view: its length, the frames sent (and, passed through, those a slow viewer lost),
        and why it ended (left, session ended)."""
        now = self._clock()
        details: dict[str, object] = {
            "quality": view.quality,
            "seconds": round((now - view.started).total_seconds(), 1),
            "frames": frames,
            "ended": reason,
        }
        if view.transport != "mjpeg":
            details["transport"] = view.transport
        if dropped is not None:
            details["dropped"] = dropped
        self._audit.append(AuditEvent(view.actor, AuditAction.LIVE_ENDED, view.camera_id, details, at=now))

    def shutdown(self) -> None:
        self._hub.close()
        if self._passthrough is not None:
            self._passthrough.close()
