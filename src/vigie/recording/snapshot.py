"""One still image from a recorded segment: the frame shown at a given moment (for an alert's image).

The segment is decoded from its start (MPEG-TS segments are short and begin with a keyframe), up to the first
frame at or after the moment asked; it is scaled down and encoded as JPEG. Privacy masks are already burnt into
recordings (L6), so nothing is added or removed here.
"""

from __future__ import annotations

from typing import BinaryIO

import av
import cv2


class SnapshotError(Exception):
    """The segment could not be read; the message says which and why."""


def still_at(source: BinaryIO, offset_s: float, max_width: int = 640, quality: int = 80) -> bytes:
    """JPEG of the frame at ``offset_s`` seconds into the segment (its last frame when the offset is past it)."""
    try:
        with av.open(source, mode="r") as container:
            if not container.streams.video:
                raise SnapshotError("the segment has no video")
            stream = container.streams.video[0]
            first: float | None = None
            chosen = None
            for frame in container.decode(stream):
                if frame.time is None:
                    continue
                first = frame.time if first is None else first
                chosen = frame
                if frame.time - first >= offset_s:
                    break
            if chosen is None:
                raise SnapshotError("the segment has no decodable frame")
            width = min(max_width, chosen.width)
            height = max(2, round(chosen.height * width / chosen.width / 2) * 2)
            image = chosen.to_ndarray(width=width, height=height, format="bgr24")
    except av.FFmpegError as err:
        raise SnapshotError(f"the segment cannot be decoded: {err}") from err
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - only an empty image fails, and the decoder never yields one
        raise SnapshotError("the image could not be encoded")
    return bytes(data)
