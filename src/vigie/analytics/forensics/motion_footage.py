"""Motion in a region over one camera's recorded footage for a window, in chunks: the search of
:func:`~vigie.analytics.forensics.motion_region.search_motion` run a few minutes of footage at a time, so that a long
window reports its progress (and can be stopped between chunks) instead of running for hours in one call.

Each chunk after the first starts with the last ``WARM_UP`` of the footage before it, read again: the running
background has learnt the scene by the time the chunk's own footage starts (as if the search had run through), and a
span still going on at the boundary is found on both sides and joined. Spans are then kept within the window asked
(the files overlapping it begin and end outside it): a span is clipped to [start, end), and left out when it lies
wholly outside.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from vigie.analytics.forensics.motion_region import MotionSearchParams, MotionSpan, RecordedFile, search_motion
from vigie.domain.geometry import Point

CHUNK = timedelta(minutes=10)
"""Footage per chunk: some seconds of work at the search's speed (≥ 50× real time per core), so progress moves and a
stop is heard within that."""
WARM_UP = timedelta(seconds=60)
"""Footage read again before a chunk: two time constants of the running background (30 s), after which what the
first picture of the warm-up held weighs less than 14 % (a difference of 100 grey levels then counts 14, under the
default threshold of 28): the chunk starts with the background of a search that ran through. With a shorter one, a
car passing at the first picture of the warm-up would be reported as motion for up to 40 s after the boundary.
Costs a tenth more decoding with 10 min chunks."""


def chunks(
    files: Sequence[RecordedFile], span: timedelta = CHUNK, warm_up: timedelta = WARM_UP
) -> list[tuple[datetime, list[RecordedFile]]]:
    """``files`` in time order, cut into runs whose own files start at least ``span`` apart: for each, where its own
    footage starts and its files, led (after the first) by those of the footage before covering ``warm_up``."""
    ordered = sorted(files, key=lambda f: f.start)
    starts = [n for n, f in enumerate(ordered) if n == 0]
    for n, recorded in enumerate(ordered):
        if n and recorded.start - ordered[starts[-1]].start >= span:
            starts.append(n)
    out: list[tuple[datetime, list[RecordedFile]]] = []
    for k, first in enumerate(starts):
        lead = first
        while lead > 0 and ordered[first].start - ordered[lead].start < warm_up:
            lead -= 1
        last = starts[k + 1] if k + 1 < len(starts) else len(ordered)
        out.append((ordered[first].start, ordered[lead:last]))
    return out


def joined(spans: Sequence[MotionSpan]) -> list[MotionSpan]:
    """Spans in time order with those that overlap or touch made one (the larger score and its peak kept)."""
    out: list[MotionSpan] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if out and span.start <= out[-1].end:
            last = out[-1]
            best = span if span.score > last.score else last
            out[-1] = MotionSpan(last.start, max(last.end, span.end), best.peak, best.score)
        else:
            out.append(span)
    return out


def within(spans: Sequence[MotionSpan], start: datetime, end: datetime) -> list[MotionSpan]:
    """The spans that overlap [start, end), clipped to it (a peak outside is moved to the nearest bound)."""
    out: list[MotionSpan] = []
    for span in spans:
        if span.end <= start or span.start >= end:
            continue
        clipped = replace(span, start=max(span.start, start), end=min(span.end, end))
        out.append(replace(clipped, peak=min(max(span.peak, clipped.start), clipped.end)))
    return out


class FootageMotionSearch:
    """Motion in a region of one camera's recordings over a window (what the case search calls)."""

    def __init__(
        self,
        files: Callable[[str, datetime, datetime], list[RecordedFile]],
        *,
        chunk: timedelta = CHUNK,
        warm_up: timedelta = WARM_UP,
    ) -> None:
        """``files``: a camera's recorded files overlapping a period (segment index and store); ``chunk``: the
        footage searched between two reports of progress; ``warm_up``: footage read again before each chunk."""
        self._files, self._chunk, self._warm_up = files, chunk, warm_up

    def search(  # noqa: PLR0917 — the search's own terms, each named once
        self,
        camera_id: str,
        start: datetime,
        end: datetime,
        region: Sequence[Point],
        params: MotionSearchParams,
        progress: Callable[[float], None] | None = None,
    ) -> list[MotionSpan]:
        """The spans where ``region`` changed within [start, end). ``progress`` is called after each chunk with the
        fraction of the chunks searched (it may raise to stop the search). Raises ``MotionSearchError`` (a bad
        region) and ``SegmentUnreadableError`` (a file that cannot be read at all)."""
        found: list[MotionSpan] = []
        runs = chunks(self._files(camera_id, start, end), self._chunk, self._warm_up)
        for n, (own_start, run) in enumerate(runs, start=1):
            result = search_motion(run, region, params)
            found.extend(s for s in result.spans if s.end > own_start)  # the warm-up's own: the chunk before's
            if progress is not None:
                progress(n / len(runs))
        return within(joined(found), start, end)
