"""Export recorded footage: one MP4 per camera, remuxed (never transcoded) from the indexed MPEG-TS segments,
with a signed manifest (L13–L15).

Promises:

- Each file starts at 0 and plays in any standard player (H.264 in MP4, ``moov`` first): L14. Position ``t`` in
  the file is the instant ``start + t`` written in the manifest; a gap in the recording shows as the last frame
  held on screen, and every gap is listed in the manifest.
- Cuts are at keyframes, since nothing is re-encoded: a file starts at the last keyframe at or before the
  requested start and stops before the first keyframe at or after the requested end. The manifest says so.
- Every source segment is hashed while it is read: bytes that no longer match the SHA-256 recorded at indexing
  refuse the whole export (L15). The bytes remuxed are the bytes hashed (one open file).
- Nothing is left behind on failure: the export is built in a hidden sibling directory and renamed at the end.
- Only the first video stream is exported: public-space video protection does not record sound.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import IO, Any, BinaryIO, Final, cast

import av
from av.container import InputContainer, OutputContainer
from av.packet import Packet
from av.stream import Stream

from vigie.domain.recording import Segment, SegmentIndex, SegmentStore
from vigie.recording.manifest import (
    MANIFEST_FORMAT,
    MANIFEST_VERSION,
    CameraIdentity,
    ManifestSigner,
    instant,
    write_signed_manifest,
)

GAP_TOLERANCE: Final = timedelta(seconds=0.5)
"""Less than this between two segments is jitter, not a gap."""
MAX_RANGE: Final = timedelta(days=1)
TS_TIME_BASE: Final = Fraction(1, 90_000)
"""MPEG-TS timestamps are always in 90 kHz ticks."""
TRIMMING_NOTE: Final = (
    "cut at keyframes, without re-encoding: each file starts at the last keyframe at or before the requested "
    "start and ends before the first keyframe at or after the requested end, so it may begin up to one "
    "keyframe interval early and end up to one keyframe interval late"
)
TIMELINE_NOTE: Final = (
    "position t in a file is the instant start + t; during a listed gap the player holds the last frame"
)


class ExportError(Exception):
    """An export that could not be made; the message says why and what to do."""


class ExportRefused(ExportError, ValueError):
    """The request itself is not acceptable (L13: reason, requisition and requester are required)."""


class SegmentIntegrityError(ExportError):
    """A source segment is missing or its bytes no longer match the SHA-256 recorded when it was indexed (L15)."""


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """What is exported, by whom, why and on what authority (L13)."""

    camera_ids: tuple[str, ...]
    start: datetime
    end: datetime
    requested_by: str
    reason: str
    requisition_ref: str

    def check(self) -> None:
        """Raise :class:`ExportRefused` naming every missing or wrong field."""
        problems = [
            f"{label} is required (L13)"
            for label, value in (
                ("the requester's identity", self.requested_by),
                ("the reason", self.reason),
                ("the requisition reference", self.requisition_ref),
            )
            if not value.strip()
        ]
        if not self.camera_ids:
            problems.append("at least one camera is required")
        if len(set(self.camera_ids)) != len(self.camera_ids):
            problems.append("a camera is listed twice")
        if self.start.tzinfo is None or self.end.tzinfo is None:
            problems.append("start and end must carry a time zone, e.g. 2026-11-28T18:00:00+01:00")
        elif not self.start < self.end:
            problems.append("start must be before end")
        elif self.end - self.start > MAX_RANGE:
            problems.append(f"the range is longer than {MAX_RANGE}: split the export")
        if problems:
            raise ExportRefused("export refused: " + "; ".join(problems))

    def to_json(self) -> dict[str, Any]:
        return {
            "cameras": list(self.camera_ids),
            "start": instant(self.start),
            "end": instant(self.end),
            "requested_by": self.requested_by,
            "reason": self.reason,
            "requisition_ref": self.requisition_ref,
        }


@dataclass(frozen=True, slots=True)
class ExportedFile:
    name: str
    camera_id: str
    start: datetime
    end: datetime
    sha256: str
    bytes: int
    segments: int


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What was written: the directory, its files, the manifest's SHA-256 and the key that signed it."""

    directory: Path
    files: tuple[ExportedFile, ...]
    cameras_without_footage: tuple[str, ...]
    manifest_sha256: str
    key_id: str


class VideoExporter:
    """Builds export directories from the segment index and store, signed with ``signer``."""

    def __init__(self, index: SegmentIndex, store: SegmentStore, signer: ManifestSigner, software_version: str) -> None:
        self._index = index
        self._store = store
        self._signer = signer
        self._software_version = software_version

    def export(
        self,
        request: ExportRequest,
        cameras: Mapping[str, CameraIdentity],
        out_dir: Path,
        now: datetime,
        *,
        progress: Progress | None = None,
    ) -> ExportResult:
        """Write the export of ``request`` into ``out_dir`` (which must not exist, or be empty).

        ``progress(done, total)`` is called with the number of source segments copied and hashed so far, from
        ``(0, total)`` to ``(total, total)``; an exception it raises stops the export and leaves nothing behind.
        """
        request.check()
        unknown = [c for c in request.camera_ids if c not in cameras]
        if unknown:
            raise ExportRefused(f"export refused: unknown camera(s) {', '.join(unknown)}")
        staging = _staging_dir(out_dir)
        try:
            result = self._build(request, cameras, staging, now, _Tally(progress))
            _publish(staging, out_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return ExportResult(
            out_dir, result.files, result.cameras_without_footage, result.manifest_sha256, result.key_id
        )

    def _build(
        self, request: ExportRequest, cameras: Mapping[str, CameraIdentity], staging: Path, now: datetime, tally: _Tally
    ) -> ExportResult:
        entries: list[dict[str, Any]] = []
        files: list[ExportedFile] = []
        empty: list[dict[str, Any]] = []
        plan = [(c, self._index.between(c, request.start, request.end)) for c in request.camera_ids]
        tally.start(sum(len(segments) for _, segments in plan))
        for camera_id, segments in plan:
            camera = cameras[camera_id]
            clip = self._export_camera(camera, segments, request, staging, tally) if segments else None
            tally.skip(segments)  # the segments after the end keyframe, not read: done all the same
            if clip is None:
                empty.append({"camera": camera.to_json(), "note": "nothing recorded in the requested range"})
                continue
            exported, entry = clip
            files.append(exported)
            entries.append(entry)
        if not files:
            raise ExportError(
                f"nothing recorded for {', '.join(request.camera_ids)} between "
                f"{request.start.isoformat()} and {request.end.isoformat()}"
            )
        manifest = {
            "format": MANIFEST_FORMAT,
            "version": MANIFEST_VERSION,
            "created_at": instant(now),
            "software": {"name": "vigie", "version": self._software_version},
            "request": request.to_json(),
            "trimming": TRIMMING_NOTE,
            "timeline": TIMELINE_NOTE,
            "files": entries,
            "cameras_without_footage": empty,
        }
        digest = write_signed_manifest(staging, manifest, self._signer)
        no_footage = tuple(e["camera"]["id"] for e in empty)
        return ExportResult(staging, tuple(files), no_footage, digest, self._signer.key_id)

    def _export_camera(
        self,
        camera: CameraIdentity,
        segments: Sequence[Segment],
        request: ExportRequest,
        staging: Path,
        tally: _Tally,
    ) -> tuple[ExportedFile, dict[str, Any]] | None:
        name = f"{camera.id}_{request.start.astimezone(UTC):%Y%m%dT%H%M%SZ}.mp4"
        path = staging / name
        writer = ClipWriter(path, segments[0].start, request.start, request.end)
        try:
            for segment in segments:
                with self._open_verified(segment) as source:
                    writer.add_segment(segment, source)
                tally.done_one(segment)
                if writer.finished:
                    break
            span = writer.close()
        except RemuxError as err:
            raise ExportError(f"camera {camera.id}: {err}") from err
        finally:
            writer.close()
        used = writer.sources
        if span is None:
            path.unlink(missing_ok=True)
            return None
        with path.open("rb") as file:
            digest, size = sha256_and_size(file)
        exported = ExportedFile(name, camera.id, span.start, span.end, digest, size, len(used))
        return exported, _file_entry(exported, camera, used, request, span.media)

    def _open_verified(self, segment: Segment) -> BinaryIO:
        """The segment's bytes, checked against the SHA-256 and size recorded at indexing (L15)."""
        try:
            source = self._store.open(segment.key)
        except FileNotFoundError:
            raise SegmentIntegrityError(
                f"segment {segment.key} of camera {segment.camera_id} is indexed but its bytes are missing from "
                "the store: export refused (L15); run the store reconciliation or export around it"
            ) from None
        if not source.seekable():  # an object store's body: keep a local copy so hashed bytes = remuxed bytes
            spool = tempfile.TemporaryFile()  # noqa: SIM115 - returned open, closed by the caller
            with source:
                shutil.copyfileobj(source, spool)
            source = cast(BinaryIO, spool)
            source.seek(0)
        digest, size = sha256_and_size(source)
        if digest != segment.sha256 or size != segment.bytes:
            source.close()
            raise SegmentIntegrityError(
                f"segment {segment.key} of camera {segment.camera_id} no longer matches its recorded SHA-256 "
                f"(expected {segment.sha256}, {segment.bytes} bytes; found {digest}, {size} bytes): it was altered "
                "or damaged after recording, export refused (L15)"
            )
        source.seek(0)
        return source


Progress = Callable[[int, int], None]
"""``progress(done, total)``: source segments copied and hashed so far, out of all those of the export."""


class _Tally:
    """Counts the source segments of one export as they are done and reports them to a :data:`Progress`."""

    def __init__(self, report: Progress | None) -> None:
        self._report = report
        self._done: set[tuple[str, str]] = set()
        self._total = 0

    def start(self, total: int) -> None:
        self._total = total
        self._tell()

    def done_one(self, segment: Segment) -> None:
        self._done.add((segment.camera_id, segment.key))
        self._tell()

    def skip(self, segments: Sequence[Segment]) -> None:
        before = len(self._done)
        self._done.update((s.camera_id, s.key) for s in segments)
        if len(self._done) != before:
            self._tell()

    def _tell(self) -> None:
        if self._report is not None:
            self._report(len(self._done), self._total)


def _file_entry(
    exported: ExportedFile,
    camera: CameraIdentity,
    used: Sequence[Segment],
    request: ExportRequest,
    media: Mapping[str, Any],
) -> dict[str, Any]:
    sources = [
        {"key": s.key, "start": instant(s.start), "end": instant(s.end), "sha256": s.sha256, "bytes": s.bytes}
        for s in used
    ]
    return {
        "name": exported.name,
        "camera": camera.to_json(),
        "start": instant(exported.start),
        "end": instant(exported.end),
        "duration_s": round((exported.end - exported.start).total_seconds(), 3),
        "sha256": exported.sha256,
        "bytes": exported.bytes,
        "media": dict(media),
        "sources": sources,
        "gaps": find_gaps(
            used, min(request.start, exported.start), max(request.end, exported.end), exported.start, exported.end
        ),
    }


def find_gaps(
    segments: Sequence[Segment], start: datetime, end: datetime, file_start: datetime, file_end: datetime
) -> list[dict[str, Any]]:
    """Spans of [start, end) that no segment covers (longer than :data:`GAP_TOLERANCE`), with where they show in
    the file (0 for a gap before it, its duration for one after it)."""
    gaps: list[dict[str, Any]] = []
    cursor = start
    for segment in [*segments, None]:
        gap_end = end if segment is None else min(segment.start, end)
        if gap_end - cursor > GAP_TOLERANCE:
            gaps.append(
                {
                    "start": instant(cursor),
                    "end": instant(gap_end),
                    "seconds": round((gap_end - cursor).total_seconds(), 3),
                    "file_offset_s": round((min(max(cursor, file_start), file_end) - file_start).total_seconds(), 3),
                }
            )
        if segment is not None:
            cursor = max(cursor, segment.end)
    return gaps


def sha256_and_size(source: BinaryIO | IO[bytes]) -> tuple[str, int]:
    """SHA-256 and length of what is left to read in ``source`` (read in 1 MiB chunks)."""
    digest = hashlib.sha256()
    size = 0
    while chunk := source.read(1 << 20):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _staging_dir(out_dir: Path) -> Path:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ExportRefused(f"export refused: {out_dir} already exists and is not an empty directory")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    return staging


def _publish(staging: Path, out_dir: Path) -> None:
    if out_dir.exists():
        out_dir.rmdir()  # empty, checked before; rename cannot replace a directory on every platform
    staging.rename(out_dir)


class RemuxError(ExportError):
    """A segment could not be read or does not fit the file being written."""


@dataclass(frozen=True, slots=True)
class ClipSpan:
    """What a finished file covers, and what it holds."""

    start: datetime
    end: datetime
    media: Mapping[str, Any]


class ClipWriter:
    """Copies the packets of consecutive MPEG-TS segments of one camera into one MP4, without decoding.

    Timestamps are rebased on the segments' recorded start times (``anchor`` = the first segment's start), so
    timestamps that restart in every segment or jump after a reconnection still give a monotonic file that
    starts at 0. Packets are buffered from the last keyframe before the requested start (one GOP at most).
    """

    def __init__(self, path: Path, anchor: datetime, start: datetime, end: datetime) -> None:
        self._path = path
        self._anchor = anchor
        self._start = start
        self._end = end
        self._output: OutputContainer | None = None
        self._stream: Stream | None = None
        self._format: tuple[str, int, int] | None = None
        self._pending: list[tuple[Packet[Any], Segment]] = []
        self._started = False
        self._base: int | None = None
        self._last_dts = 0
        self._frame_ticks = 0
        self._end_ticks = 0
        self.finished = False
        self.sources: list[Segment] = []

    def add_segment(self, segment: Segment, source: BinaryIO) -> None:
        """Copy what ``segment`` (its bytes in ``source``) holds of the requested range."""
        try:
            with av.open(source, format="mpegts") as container:
                if not isinstance(container, InputContainer) or not container.streams.video:
                    raise RemuxError(f"segment {segment.key} holds no video stream")
                stream = container.streams.video[0]
                self._check_format(segment, stream)
                shift: int | None = None
                for packet in container.demux(stream):
                    if packet.dts is None or packet.size == 0:
                        continue
                    if shift is None:
                        shift = self._shift_for(segment, packet.dts)
                    self._feed(packet, segment, shift, stream)
                    if self.finished:
                        break
        except av.FFmpegError as err:
            raise RemuxError(f"segment {segment.key} cannot be read as MPEG-TS: {err}") from err

    def close(self) -> ClipSpan | None:
        """Finish the file; None when no packet fell in the range (then no file was created)."""
        if self._output is None or self._format is None or self._base is None:
            return None
        output, self._output = self._output, None
        try:
            output.close()
        except av.FFmpegError as err:
            raise RemuxError(f"cannot finish {self._path.name}: {err}") from err
        codec, width, height = self._format
        media = {"container": "mp4", "video_codec": codec, "width": width, "height": height, "audio": "none"}
        return ClipSpan(self._time(self._base), self._time(max(self._end_ticks, self._last_dts)), media)

    def _check_format(self, segment: Segment, stream: Stream) -> None:
        ctx = stream.codec_context
        found = (ctx.name, int(getattr(ctx, "width", 0)), int(getattr(ctx, "height", 0)))
        if stream.time_base is None or stream.time_base != TS_TIME_BASE:
            raise RemuxError(f"segment {segment.key} has time base {stream.time_base}, expected {TS_TIME_BASE}")
        if self._format is None:
            self._format = found
            rate = stream.average_rate or stream.guessed_rate
            self._frame_ticks = round(1 / (rate * TS_TIME_BASE)) if rate else 0
        elif found != self._format:
            raise RemuxError(
                f"the stream format changed at segment {segment.key} ({self._format} → {found}): export the "
                "ranges before and after that time separately"
            )

    def _shift_for(self, segment: Segment, first_dts: int) -> int:
        """Ticks to add to this segment's timestamps to put them on the anchor's timeline, never going back."""
        origin = math.floor((segment.start - self._anchor).total_seconds() / TS_TIME_BASE)
        shift = origin - first_dts
        if self._base is not None and first_dts + shift - self._base <= self._last_dts:
            shift = self._last_dts + max(self._frame_ticks, 1) + self._base - first_dts
        return shift

    def _feed(self, packet: Packet[Any], segment: Segment, shift: int, stream: Stream) -> None:
        dts = (packet.dts or 0) + shift
        pts = dts if packet.pts is None else packet.pts + shift
        packet.dts, packet.pts = dts, pts
        at = self._time(pts)
        key = packet.is_keyframe
        if key and at >= self._end:
            self.finished = True
            return
        if not self._started:
            if key:
                self._pending = [(packet, segment)]
            elif self._pending:
                self._pending.append((packet, segment))
            if at < self._start or not self._pending:
                return
            self._started = True
        else:
            self._pending.append((packet, segment))
        for queued, source in self._pending:
            self._write(queued, source, stream)
        self._pending = []

    def _write(self, packet: Packet[Any], segment: Segment, template: Stream) -> None:
        if self._output is None:
            self._output = av.open(str(self._path), "w", format="mp4", options={"movflags": "+faststart"})
            self._stream = self._output.add_stream_from_template(template)
            self._base = packet.dts
        if self._base is None or packet.dts is None or packet.pts is None:
            raise RemuxError(f"segment {segment.key} has a packet without timestamps")
        if not self.sources or self.sources[-1] is not segment:
            self.sources.append(segment)
        self._end_ticks = max(self._end_ticks, packet.pts + (packet.duration or self._frame_ticks))
        self._last_dts = packet.dts - self._base
        packet.dts -= self._base
        packet.pts -= self._base
        packet.stream = self._stream
        self._output.mux(packet)

    def _time(self, ticks: int) -> datetime:
        return self._anchor + timedelta(seconds=float(ticks * TS_TIME_BASE))
