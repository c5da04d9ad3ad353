"""Playing recorded footage back: an HLS playlist per camera and range, audited once per request (L11), and the
segment files it names, served as files (never copied through a Python loop when the store is local).

Segment URLs are signed and bound to the viewer's session: ``/api/segments/<id>.ts?c=<camera>&k=<key>&e=<expiry>
&s=<hmac>``, the HMAC covering the segment, its camera and store key, the expiry and the session the playlist was
audited for (its key, never the session token itself). A segment is served only to that same session, still
open, of a person who may still play back that camera: so nobody reads footage by guessing segment ids, a URL
copied out of a playlist is worth nothing without the session cookie, another person's session cannot use it,
and it ends with the session (logout, expiry, account disabled) or the person's authorisation (issue 15 D16).
Every segment served thus belongs to one audited playback, which stays one audit entry (the playlist), not one
per segment. The URL carries the store key so that serving a segment needs no database lookup beyond the
session's. The HMAC key is per process unless the runtime passes one (several API workers must share it). A
person asking (a :class:`Principal`) needs the playback permission, a valid individual authorisation and training
(L8, L9) and the camera in their tenant or shared with it (L10); a command on the server names its actor as a
string, and the URLs of its playlists are served to no session.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Final
from urllib.parse import urlencode

from vigie.domain.actor import Actor
from vigie.domain.audit import AuditAction, AuditEvent, format_time
from vigie.domain.ports import AuditSink
from vigie.domain.recording import Segment, SegmentIndex, SegmentStore
from vigie.domain.users import Permission
from vigie.recording.playlist import MEDIA_TYPE, build_playlist
from vigie.services.access import Principal
from vigie.services.events import check_range

MAX_RANGE: Final = timedelta(days=1)
URL_LIFETIME: Final = timedelta(hours=6)


class UnknownCamera(LookupError):
    """No such camera in the configuration."""


class NoRecording(LookupError):
    """Nothing recorded for the camera in the range asked."""


class SegmentAccessDenied(PermissionError):
    """The segment URL was not issued by this server to this session, was altered, or has expired; or the person
    may no longer play back its camera."""


@dataclass(frozen=True, slots=True)
class SegmentFile:
    """Where to read a segment: ``path`` when the store is local (served as a file), else ``open``."""

    path: Path | None
    open: Callable[[], BinaryIO]


@dataclass(frozen=True, slots=True)
class Playlist:
    text: str
    segments: int
    media_type: str = MEDIA_TYPE


class PlaybackService:
    def __init__(  # noqa: PLR0917 - the collaborators, each injected by the runtime
        self,
        index: SegmentIndex,
        store: SegmentStore,
        audit: AuditSink,
        camera_ids: Iterable[str],
        clock: Callable[[], datetime],
        url_secret: bytes | None = None,
        url_lifetime: timedelta = URL_LIFETIME,
    ) -> None:
        self._index = index
        self._store = store
        self._audit = audit
        self._cameras = frozenset(camera_ids)
        self._clock = clock
        self._secret = url_secret or os.urandom(32)
        self._lifetime = url_lifetime

    def playlist(
        self, camera_id: str, start: datetime, end: datetime, *, requested_by: Principal | Actor, segment_base: str
    ) -> Playlist:
        """The HLS VOD playlist of ``camera_id`` over [start, end); segment URLs start with ``segment_base``."""
        _check_range(start, end)
        if isinstance(requested_by, Principal):
            requested_by.require(Permission.PLAYBACK)
            if not requested_by.sees_camera(camera_id):
                raise UnknownCamera(f"no camera {camera_id!r} among the cameras you may see")
            actor, session = requested_by.actor, requested_by.session_key
        else:
            actor, session = requested_by.name, ""
        if camera_id not in self._cameras:
            raise UnknownCamera(f"camera {camera_id!r} is not in the configuration")
        segments = self._index.between(camera_id, start, end)
        details = {"start": format_time(start), "end": format_time(end), "segments": len(segments)}
        self._audit.append(AuditEvent(actor=actor, action=AuditAction.PLAYBACK, target=camera_id, details=details))
        if not segments:
            raise NoRecording(
                f"nothing recorded for camera {camera_id} between {start.isoformat()} and {end.isoformat()}"
            )
        expires = int((self._clock() + self._lifetime).timestamp())
        base = segment_base.rstrip("/")
        text = build_playlist(segments, lambda s: f"{base}/{s.id}.ts?{self._query(s, expires, session)}")
        return Playlist(text, len(segments))

    def segment(
        self, segment_id: int, camera_id: str, key: str, expires: int, signature: str, *, viewer: Principal
    ) -> SegmentFile:
        """The bytes of a segment named in a playlist audited for ``viewer``'s session; raise
        :class:`SegmentAccessDenied` or :class:`NoRecording`."""
        if not viewer.session_key:
            raise SegmentAccessDenied("segments are served to the session that asked for their playlist only")
        expected = self._sign(segment_id, camera_id, key, expires, viewer.session_key)
        if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            raise SegmentAccessDenied(
                "this segment URL was not issued to this session by this server, or was altered: reload the playlist"
            )
        if self._clock().timestamp() > expires:
            raise SegmentAccessDenied("this segment URL has expired: reload the playlist")
        if not (viewer.can(Permission.PLAYBACK) and viewer.sees_camera(camera_id)):
            # Not the audited refusal of Principal.require: a player asks for each segment, the refusal would be
            # audited once per segment. The playlist's refusal is the audited one.
            raise SegmentAccessDenied(f"you may no longer play back camera {camera_id}")
        path = self._store.local_path(key)
        if path is not None:
            if not path.is_file():
                raise NoRecording(f"segment {segment_id} is no longer stored")
            return SegmentFile(path, lambda: path.open("rb"))
        if not self._store.exists(key):
            raise NoRecording(f"segment {segment_id} is no longer stored")
        return SegmentFile(None, lambda: self._store.open(key))

    def _query(self, segment: Segment, expires: int, session: str) -> str:
        signature = self._sign(segment.id or 0, segment.camera_id, segment.key, expires, session)
        return urlencode({"c": segment.camera_id, "k": segment.key, "e": expires, "s": signature})

    def _sign(self, segment_id: int, camera_id: str, key: str, expires: int, session: str) -> str:
        message = f"{segment_id}\n{camera_id}\n{key}\n{expires}\n{session}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]


def _check_range(start: datetime, end: datetime) -> None:
    check_range(start, end, MAX_RANGE, f"a playback range is at most {MAX_RANGE}; ask for a shorter one")
