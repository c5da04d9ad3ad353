"""Crash safety: bringing a camera's segment directory and the segment index back into agreement.

What a crash can leave, and what becomes of it:

- ``<key>.partial`` (the segment being written when the recorder was killed): its readable packets, from its first
  keyframe, are remuxed into ``<key>`` and indexed ``recovered`` (end = last readable packet); a partial with no
  readable keyframe is moved to ``<camera>/quarantine/`` and indexed ``quarantined`` (kept, never played);
- ``<key>.recover`` (a recovery interrupted by another crash): deleted, the recovery is done again;
- a ``.partial`` whose ``.ts`` exists (killed between the rename and the cleanup): the ``.partial`` is deleted;
- a ``.ts`` on disk that the index does not know (killed after the rename, before the parent indexed it): indexed;
- an index row whose file is gone: marked ``missing`` (reported, never silently dropped).

:func:`plan` decides from listings (pure, tested without files); the rest does the file work.

While recorders run (the database came back after an outage), only the third kind of repair is safe — a ``.partial``
is the segment being written — and only recent days need a look: :func:`index_recent` indexes the finished segment
files of a time window the index does not know (a message lost, or refused and never kept).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import av

from vigie.domain.recording import Segment, SegmentState
from vigie.recording.segment_writer import (
    PARTIAL_SUFFIX,
    SEGMENT_SUFFIX,
    RecordingError,
    SegmentFile,
    describe_segment,
    start_from_key,
)

log = logging.getLogger(__name__)
RECOVER_SUFFIX = ".recover"
QUARANTINE_DIR = "quarantine"
_PAGE = 1000
_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


class RecentIndex(Protocol):
    """What :func:`index_recent` needs of the segment index."""

    def add(self, segment: Segment) -> Segment: ...

    def by_key(self, key: str) -> Segment | None: ...


class ReconcileIndex(Protocol):
    """What reconciliation needs of the segment index (``vigie.storage.SqlSegmentIndex`` provides it)."""

    def add(self, segment: Segment) -> Segment: ...

    def set_state(self, segment_id: int, state: SegmentState, at: datetime) -> None: ...

    def ended_before(self, camera_id: str, before: datetime, limit: int, *, after_id: int = 0) -> list[Segment]:
        """Segments whose bytes should be stored (complete, recovered, quarantined), by id above ``after_id``."""
        ...


@dataclass(frozen=True, slots=True)
class DiskListing:
    """Keys (relative to the store root) found in one camera's directory, quarantine excluded."""

    segments: frozenset[str] = frozenset()
    partials: frozenset[str] = frozenset()
    recovering: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ReconcilePlan:
    recover: tuple[str, ...] = ()
    """Partials to finalise (or quarantine)."""
    discard: tuple[str, ...] = ()
    """Leftovers to delete: interrupted recoveries, partials whose segment was already renamed into place."""
    index: tuple[str, ...] = ()
    """Finished segments on disk the index does not know."""
    missing: tuple[Segment, ...] = ()
    """Indexed segments whose file is gone."""


@dataclass(slots=True)
class ReconcileReport:
    recovered: list[Segment] = field(default_factory=list)
    quarantined: list[Segment] = field(default_factory=list)
    indexed: list[Segment] = field(default_factory=list)
    missing: list[Segment] = field(default_factory=list)
    discarded: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        """How many of each outcome, leaving out the empty ones (for logs)."""
        names = ("recovered", "quarantined", "indexed", "missing", "discarded")
        return {name: len(getattr(self, name)) for name in names if getattr(self, name)}


def plan(listing: DiskListing, indexed: Iterable[Segment], elsewhere: Collection[str] = frozenset()) -> ReconcilePlan:
    """What to do so that disk and index agree. Pure: a function of the two listings (and of the keys already in
    a remote store, ``elsewhere``, which are not missing although they are no longer on disk)."""
    rows = list(indexed)
    known = {s.key for s in rows}
    recover, discard = [], list(listing.recovering)
    for partial in sorted(listing.partials):
        final = partial.removesuffix(PARTIAL_SUFFIX)
        if final in listing.segments:
            discard.append(partial)
        else:
            recover.append(partial)
    recovered_keys = {p.removesuffix(PARTIAL_SUFFIX) for p in recover}
    untracked = sorted(k for k in listing.segments if k not in known and k not in recovered_keys)
    missing = tuple(
        s
        for s in rows
        if s.key not in listing.segments
        and s.key not in elsewhere
        and s.state is not SegmentState.QUARANTINED
        and s.key not in recovered_keys
    )
    return ReconcilePlan(tuple(recover), tuple(sorted(discard)), tuple(untracked), missing)


def scan(root: Path, camera_id: str) -> DiskListing:
    """List a camera's segment directory (``root/<camera_id>``), quarantine excluded."""
    base = Path(root)
    segments, partials, recovering = set(), set(), set()
    camera_dir = base / camera_id
    for dirpath, dirnames, filenames in os.walk(camera_dir):
        if Path(dirpath) == camera_dir and QUARANTINE_DIR in dirnames:
            dirnames.remove(QUARANTINE_DIR)
        for name in filenames:
            key = (Path(dirpath) / name).relative_to(base).as_posix()
            if name.endswith(SEGMENT_SUFFIX):
                segments.add(key)
            elif name.endswith(SEGMENT_SUFFIX + PARTIAL_SUFFIX):
                partials.add(key)
            elif name.endswith(SEGMENT_SUFFIX + RECOVER_SUFFIX):
                recovering.add(key)
    return DiskListing(frozenset(segments), frozenset(partials), frozenset(recovering))


def recover_partial(root: Path, partial_key: str, camera_id: str) -> Segment:
    """Finalise one ``.partial`` into a ``recovered`` segment, or move it to quarantine (``quarantined``)."""
    base = Path(root)
    source = base / partial_key
    key = partial_key.removesuffix(PARTIAL_SUFFIX)
    start = start_from_key(key)
    final = base / key
    temp = final.with_name(final.name + RECOVER_SUFFIX)
    span = _remux_readable(source, final, temp) if start is not None else None
    if span is None or start is None:
        temp.unlink(missing_ok=True)
        return quarantine(base, partial_key, camera_id)
    size, sha = span[1], span[2]
    source.unlink(missing_ok=True)
    return Segment(camera_id, key, start, start + timedelta(seconds=span[0]), size, sha, SegmentState.RECOVERED)


def _remux_readable(source: Path, final: Path, temp: Path) -> tuple[float, int, str] | None:
    """Copy the packets of ``source`` that can be read, from its first keyframe, into ``final`` (via ``temp``);
    return (seconds, bytes, sha256), or None when nothing playable is there.

    The last packet read is dropped: at the cut, the demuxer hands over whatever part of it reached the disk, and
    a frame that decodes to garbage is worse than one frame less."""
    try:
        container: Any = av.open(str(source))
    except (av.FFmpegError, OSError, UnicodeDecodeError):
        return None
    try:
        if not container.streams.video:
            return None
        stream = container.streams.video[0]
        copied = _copy_all_but_last(container, stream, final, temp)
        if copied is None:
            return None
        out, seconds = copied
        size, sha = out.finish()
        return seconds, size, sha
    except RecordingError:
        return None
    finally:
        container.close()


def _copy_all_but_last(container: Any, stream: Any, final: Path, temp: Path) -> tuple[SegmentFile, float] | None:
    out: SegmentFile | None = None
    pending: Any = None
    first = last = 0
    try:
        for packet in container.demux(stream):
            if packet.pts is None or packet.is_corrupt or (pending is None and not packet.is_keyframe):
                continue
            if pending is not None:
                if out is None:
                    out, first, last = SegmentFile(final, temp, stream), pending.pts, pending.pts
                last = max(last, pending.pts + max(pending.duration or 0, 0), packet.pts)
                out.mux(pending)
            pending = packet
    except av.FFmpegError:
        pass  # the cut: everything before it is kept
    if out is None:
        return None
    return out, float((last - first) * stream.time_base)


def quarantine(root: Path, key: str, camera_id: str) -> Segment:
    """Move a file to ``<camera>/quarantine/`` (kept for inspection, never played); return its segment row."""
    base = Path(root)
    source = base / key
    target_key = f"{camera_id}/{QUARANTINE_DIR}/{source.name}"
    target = base / target_key
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    start = start_from_key(key) or datetime.fromtimestamp(target.stat().st_mtime, UTC)
    log.warning("segment %s is unreadable: quarantined as %s", key, target_key)
    return Segment(camera_id, target_key, start, start, target.stat().st_size, digest, SegmentState.QUARANTINED)


def recover_partials(root: Path, camera_id: str) -> list[Segment]:
    """What a recorder does when it starts: finalise or quarantine what a killed predecessor left, without the
    index (the returned segments are sent to the parent to be indexed)."""
    todo = plan(scan(root, camera_id), ())
    for leftover in todo.discard:
        (Path(root) / leftover).unlink(missing_ok=True)
    return [recover_partial(root, key, camera_id) for key in todo.recover]


def reconcile_camera(
    root: Path, camera_id: str, index: ReconcileIndex, now: datetime, *, elsewhere: Collection[str] = frozenset()
) -> ReconcileReport:
    """Make one camera's directory and its index rows agree (run before its recorder starts). With a remote
    store, ``root`` is the local spool and ``elsewhere`` the camera's keys in the store: those are not missing."""
    report = ReconcileReport()
    todo = plan(scan(root, camera_id), _indexed(index, camera_id), elsewhere)
    for leftover in todo.discard:
        (Path(root) / leftover).unlink(missing_ok=True)
        report.discarded.append(leftover)
    for key in todo.recover:
        segment = index.add(recover_partial(root, key, camera_id))
        (report.recovered if segment.state is SegmentState.RECOVERED else report.quarantined).append(segment)
    for key in todo.index:
        found = describe_segment(root, key, SegmentState.COMPLETE, camera_id)
        if found is None:
            report.quarantined.append(index.add(quarantine(root, key, camera_id)))
        else:
            report.indexed.append(index.add(found))
    for segment in todo.missing:
        if segment.id is not None:
            index.set_state(segment.id, SegmentState.MISSING, now)
            report.missing.append(segment)
    return report


def _indexed(index: ReconcileIndex, camera_id: str) -> Sequence[Segment]:
    rows: list[Segment] = []
    after = 0
    while True:
        page = index.ended_before(camera_id, _FAR_FUTURE, _PAGE, after_id=after)
        rows.extend(page)
        if len(page) < _PAGE:
            return rows
        after = max(s.id or 0 for s in page)


def recent_keys(root: Path, camera_id: str, since: datetime, until: datetime) -> list[str]:
    """Finished segment keys of a camera whose start (from the key) is in [since, until], from the day folders
    covering that window only (keys are ``<camera>/<YYYY>/<MM>/<DD>/...``, UTC), by start."""
    base = Path(root)
    found: list[str] = []
    day = since.astimezone(UTC).date()
    last = until.astimezone(UTC).date()
    while day <= last:
        folder = base / camera_id / f"{day:%Y/%m/%d}"
        if folder.is_dir():
            for path in folder.iterdir():
                key = path.relative_to(base).as_posix()
                start = start_from_key(key) if path.name.endswith(SEGMENT_SUFFIX) else None
                if start is not None and since <= start <= until:
                    found.append(key)
        day += timedelta(days=1)
    return sorted(found)


def index_recent(
    root: Path, camera_id: str, index: RecentIndex, since: datetime, until: datetime, *, settle_s: float = 0.0
) -> list[Segment]:
    """Index the finished segments of ``camera_id`` started in [since, until] that the index does not know (safe
    while the recorder runs: partials are never touched, nothing is marked missing); return those indexed. A file
    finished less than ``settle_s`` ago is left alone (its recorder's message may be on its way), and a file that
    cannot be read back is left for the next start's reconciliation to quarantine."""
    indexed: list[Segment] = []
    settled = time.time() - settle_s
    for key in recent_keys(root, camera_id, since, until):
        if index.by_key(key) is not None or _modified_after(Path(root) / key, settled):
            continue
        found = describe_segment(root, key, SegmentState.COMPLETE, camera_id)
        if found is None:
            log.warning("segment %s cannot be read back: left for reconciliation at the next start", key)
            continue
        if index.by_key(key) is None:  # its recorder's message may have been written meanwhile
            indexed.append(index.add(found))
    return indexed


def _modified_after(path: Path, when: float) -> bool:
    try:
        return path.stat().st_mtime > when
    except FileNotFoundError:
        return True  # gone meanwhile (purged, uploaded): nothing to index
