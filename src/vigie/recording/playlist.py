"""HLS VOD playlists over recorded segments: the browser or any HLS player fetches the MPEG-TS files as they
are stored, so video bytes never go through Python (they are served as files).

Pure: a function of the segments and of how a segment's URL is written. Promises (RFC 8216, version 3):
``#EXT-X-TARGETDURATION`` is at least every segment's rounded duration; a gap longer than
:data:`GAP_TOLERANCE` (or a segment going back in time) is marked ``#EXT-X-DISCONTINUITY``, since the recorder
ends a segment at every reconnection or timestamp jump; every segment carries its ``#EXT-X-PROGRAM-DATE-TIME`` so
players show wall-clock time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, timedelta
from typing import Final

from vigie.domain.recording import Segment

GAP_TOLERANCE: Final = timedelta(seconds=0.5)
MEDIA_TYPE: Final = "application/vnd.apple.mpegurl"


def build_playlist(segments: Sequence[Segment], uri: Callable[[Segment], str]) -> str:
    """The m3u8 text of a VOD playlist of ``segments`` (in start order); ``uri`` writes each segment's URL."""
    if not segments:
        raise ValueError("a playlist needs at least one segment")
    ordered = sorted(segments, key=lambda s: s.start)
    target = max(1, math.ceil(max(s.seconds for s in ordered)))
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
    ]
    previous: Segment | None = None
    for segment in ordered:
        if previous is not None and _discontinuous(previous, segment):
            lines.append("#EXT-X-DISCONTINUITY")
        at = segment.start.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        lines += [f"#EXT-X-PROGRAM-DATE-TIME:{at}", f"#EXTINF:{max(segment.seconds, 0.0):.3f},", uri(segment)]
        previous = segment
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def _discontinuous(previous: Segment, segment: Segment) -> bool:
    step = segment.start - previous.end
    return step > GAP_TOLERANCE or step < -GAP_TOLERANCE
