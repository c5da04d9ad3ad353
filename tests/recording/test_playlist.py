"""HLS VOD playlists over indexed segments (RFC 8216 v3): pure, tested without a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vigie.domain.recording import Segment
from vigie.recording.playlist import build_playlist

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def segment(n: int, start: float, seconds: float) -> Segment:
    begin = T0 + timedelta(seconds=start)
    return Segment("cam-001", f"cam-001/{n}.ts", begin, begin + timedelta(seconds=seconds), 100, "0" * 64, id=n)


def test_playlist_lists_segments_with_times_and_marks_gaps() -> None:
    segments = [segment(3, 20.2, 10.0), segment(1, 0, 10.0), segment(2, 10.0, 10.0), segment(4, 30.2, 9.6)]
    text = build_playlist(segments, lambda s: f"/api/segments/{s.id}.ts")
    lines = text.splitlines()
    assert lines[:5] == [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        "#EXT-X-TARGETDURATION:10",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
    ]
    assert lines[-1] == "#EXT-X-ENDLIST" and text.endswith("\n")
    uris = [line for line in lines if not line.startswith("#")]
    assert uris == [f"/api/segments/{n}.ts" for n in (1, 2, 3, 4)]
    assert [line for line in lines if line.startswith("#EXTINF")] == ["#EXTINF:10.000,"] * 3 + ["#EXTINF:9.600,"]
    assert lines.count("#EXT-X-DISCONTINUITY") == 0  # 0.2 s is jitter, not a gap
    assert "#EXT-X-PROGRAM-DATE-TIME:2026-11-28T12:00:20.200Z" in lines
    with_gap = build_playlist([segment(1, 0, 10), segment(2, 15, 10.4)], lambda s: s.key).splitlines()
    assert "#EXT-X-TARGETDURATION:11" in with_gap
    gap = with_gap.index("#EXT-X-DISCONTINUITY")
    assert with_gap[gap + 1 : gap + 4] == [
        "#EXT-X-PROGRAM-DATE-TIME:2026-11-28T12:00:15.000Z",
        "#EXTINF:10.400,",
        "cam-001/2.ts",
    ]


def test_an_empty_playlist_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one segment"):
        build_playlist([], lambda s: s.key)
