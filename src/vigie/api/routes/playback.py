"""Playback of recordings: an HLS playlist per camera and range, and the segment files it names.

The playlist request is audited by the service (one entry per playback); segment files go out as files
(``FileResponse``: sendfile, no Python loop over the bytes) when the store is local, only to the session the
playlist was made for (its cookie, which an HLS player sends like the page's own requests: 401 without it, 403
for another session's URL), and are never kept by the browser's cache (``no-store``: nothing plays after logout).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, BinaryIO

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import FileResponse, Response, StreamingResponse

from vigie.api.deps import configured
from vigie.api.schemas import Instant
from vigie.api.security import CurrentPrincipal
from vigie.services.playback import NoRecording, PlaybackService, SegmentAccessDenied, UnknownCamera

router = APIRouter(tags=["playback"])
SEGMENT_MEDIA_TYPE = "video/mp2t"


def _service(request: Request) -> PlaybackService:
    return configured(request, "playback", PlaybackService, "playback is")


@router.get(
    "/api/cameras/{camera_id}/playback.m3u8",
    summary="HLS playlist of a camera's recordings over a time range (audited)",
    response_class=Response,
    responses={200: {"content": {"application/vnd.apple.mpegurl": {}}}},
)
def playback_playlist(
    request: Request,
    principal: CurrentPrincipal,
    camera_id: Annotated[str, Path(max_length=64)],
    start: Annotated[Instant, Query(description="start of the range, with a time zone")],
    end: Annotated[Instant, Query(description="end of the range (exclusive), with a time zone")],
) -> Response:
    service = _service(request)
    try:
        playlist = service.playlist(camera_id, start, end, requested_by=principal, segment_base="/api/segments")
    except (UnknownCamera, NoRecording) as err:
        raise HTTPException(status_code=404, detail=str(err)) from None
    return Response(playlist.text, media_type=playlist.media_type, headers={"Cache-Control": "no-store"})


@router.get(
    "/api/segments/{segment_id}.ts",
    summary="One recorded MPEG-TS segment, through a signed URL from a playlist, for the session it was made for",
    response_class=Response,
    responses={
        200: {"content": {SEGMENT_MEDIA_TYPE: {}}},
        401: {"description": "no session (logged out, expired): the URL ended with it"},
        403: {"description": "a URL of another session, altered or expired, or playback no longer allowed"},
    },
)
def segment_file(  # noqa: PLR0917 - the parts of the signed URL
    request: Request,
    principal: CurrentPrincipal,
    segment_id: Annotated[int, Path(ge=1)],
    c: Annotated[str, Query(max_length=64, description="camera of the segment, as written in the playlist")],
    k: Annotated[str, Query(max_length=512, description="segment key, as written in the playlist")],
    e: Annotated[int, Query(description="expiry of the URL (Unix time)")],
    s: Annotated[str, Query(max_length=64, description="signature of the URL")],
) -> Response:
    service = _service(request)
    try:
        found = service.segment(segment_id, c, k, e, s, viewer=principal)
    except SegmentAccessDenied as err:
        raise HTTPException(status_code=403, detail=str(err)) from None
    except NoRecording as err:
        raise HTTPException(status_code=404, detail=str(err)) from None
    headers = {"Cache-Control": "no-store"}
    if found.path is not None:
        return FileResponse(found.path, media_type=SEGMENT_MEDIA_TYPE, headers=headers)
    return StreamingResponse(_chunks(found.open()), media_type=SEGMENT_MEDIA_TYPE, headers=headers)


def _chunks(source: BinaryIO) -> Iterator[bytes]:
    """Fallback for object stores only (no local file to send)."""
    with source:
        while chunk := source.read(1 << 20):
            yield chunk
