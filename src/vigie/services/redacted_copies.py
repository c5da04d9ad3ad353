"""The redacted copy of an access request (L19): the original footage exported and checked (L15), every other
person and every vehicle blurred (:mod:`vigie.privacy`), then, once a second person approved it, the redacted
files alone released as a signed package.

:class:`RedactedCopyMaker` is the :class:`vigie.domain.access_requests.CopyMaker` the runtime builds
(``vigie.runtime.assembly.redaction.open_copy_maker``). A prepared copy's folder holds:

- ``original/``: the signed export of the original footage (``VideoExporter``: every segment's SHA-256 checked,
  L15), for the people who handle the request to compare with; it never leaves the server;
- ``<camera>_<start>.mp4``: the redacted copy of each camera's clip (H.264, same size and rate, no audio);
- ``<camera>_<start>.mp4.boxes.json``: the boxes blurred on every frame, in the clip's pixels, for the reviewer
  who checks the copy frame by frame (``{"width", "height", "fps", "frames": [{"index", "t", "boxes":
  [[x1, y1, x2, y2, "person" | "vehicle" | "manual"]]}]}``; no track number, no score: where and what only).

A copy is built in a hidden sibling folder and moved into place whole: a failed preparation leaves nothing, and a
previous copy of the same folder stays until a new one is complete.

The released package is a Vigie export package (``vigie export verify`` checks it as any other): the redacted
MP4s, ``manifest.json`` and ``manifest.sig``; never the originals, never the boxes, never the requester's name or
contact (the manifest names the request by its number).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from vigie import __version__
from vigie.analytics.track import ByteTracker, ByteTrackerConfig
from vigie.domain.access_requests import (
    AccessRequest,
    AccessRequestError,
    CopyFile,
    CopyScope,
    NormalisedBox,
    PreparedCopy,
    ProgressFn,
    Release,
)
from vigie.domain.detections import Detections, ObjectClass
from vigie.domain.recording import SegmentIndex, SegmentStore
from vigie.privacy import (
    REDACTION_TRACKING,
    FrameBoxes,
    KeepClear,
    ManualBox,
    PixelBox,
    RedactedFile,
    RedactionDetector,
    RedactionError,
    RedactionOptions,
    RedactionTracker,
    TimeRange,
    redact_file,
)
from vigie.recording.export import (
    ExportedFile,
    ExportError,
    ExportRefused,
    ExportRequest,
    ExportResult,
    SegmentIntegrityError,
    VideoExporter,
    sha256_and_size,
)
from vigie.recording.manifest import (
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    MANIFEST_VERSION,
    CameraIdentity,
    ManifestSigner,
    instant,
    write_signed_manifest,
)
from vigie.services.export_package import write_package

ORIGINAL_FOLDER: Final = "original"
"""Sub-folder of a prepared copy holding the signed export of the original footage (never released)."""
BOXES_SUFFIX: Final = ".boxes.json"
PRESET: Final = "ultrafast"
"""libx264 preset of the redacted files: a copy for one person, where speed matters more than size (docs/privacy.md:
the faster presets are what keeps redaction at real time on one core)."""
CRF: Final = 23
REDACTED_TIMELINE: Final = (
    "each file starts at its start instant and holds every frame of the original clip, one after the other at the "
    "original's frame rate: across a gap listed in the manifest nothing is held on screen, so after a gap position "
    "t in the file is earlier than the instant start + t by the gaps before it"
)
REASON: Final = "droit d'accès (RGPD art. 15) — demande n° {id}"
REQUISITION: Final = "access-request-{id}"


class RedactionModelError(AccessRequestError):
    """The redaction model cannot be used (not installed, changed since it was registered): the message says what
    to run."""


class FootageIntegrityError(AccessRequestError):
    """A segment of the requested footage no longer matches the SHA-256 recorded when it was written (L15): no copy
    is made of altered footage. A security event for whoever handles it."""


@dataclass(frozen=True, slots=True)
class RedactionModel:
    """The detector a copy is made with: loaded once, its file checked against its registered SHA-256 (L30)."""

    detector: RedactionDetector
    name: str
    """``<registered name>@<sha256>``: what the manifest names."""
    score: float
    """The detector's score threshold."""


@dataclass(frozen=True, slots=True)
class ClipInfo:
    """What the redaction needs to know of an exported clip before reading it."""

    frames: int
    width: int
    height: int
    fps: float


ModelLoader = Callable[[], RedactionModel]
"""The redaction model, loaded on first use and kept; raises :class:`RedactionModelError` saying what to install."""
ClipProbe = Callable[[Path], ClipInfo]
"""Frame count, size and rate of an MP4 (the runtime's reads the container; services read no media themselves)."""


class RedactedCopyMaker:
    """Prepares and releases the redacted copies of access requests. Thread-safe: each call works in its folders."""

    def __init__(  # noqa: PLR0917 - the collaborators of the use case, each injected by the runtime
        self,
        index: SegmentIndex,
        store: SegmentStore,
        signer: ManifestSigner,
        cameras: Iterable[CameraIdentity],
        load_model: ModelLoader,
        probe: ClipProbe,
        clock: Callable[[], datetime],
        *,
        options: RedactionOptions | None = None,
        software_version: str = __version__,
    ) -> None:
        self._exporter = VideoExporter(index, store, signer, software_version)
        self._signer = signer
        self._cameras = {c.id: c for c in cameras}
        self._load_model = load_model
        self._probe = probe
        self._clock = clock
        self._options = options or RedactionOptions()
        self._software_version = software_version

    # --- prepare ---------------------------------------------------------------------------------------------------

    def prepare(self, request_id: int, scope: CopyScope, folder: str, progress: ProgressFn) -> PreparedCopy:
        """Export the scope's original footage into ``<folder>/original/`` (segments checked, L15), then write the
        redacted MP4 and its boxes per camera into ``folder``. ``progress(done, total)`` counts frames redacted
        (``(0, total)`` once the originals are exported, ``(total, total)`` at the end). Raise
        :class:`AccessRequestError` naming what is wrong and what to do; nothing is left behind then."""
        _check_scope(scope, self._cameras)
        model = self._load_model()  # a missing model fails before anything is exported
        target = Path(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
        try:
            exported = self._export_original(request_id, scope, staging / ORIGINAL_FOLDER)
            originals = staging / ORIGINAL_FOLDER
            clips = [(f, self._probe(originals / f.name)) for f in exported.files]
            tally = _Tally(progress, sum(info.frames for _, info in clips))
            files = []
            for exported_file, info in clips:
                tally.next_file(info)
                options = replace(
                    self._options,
                    keep_clear=tuple(_keep_clear(scope.keep_clear, exported_file.camera_id, info)),
                    manual=tuple(_manual(scope.manual, exported_file.camera_id, info)),
                )
                result, digest, size = _redact_clip(
                    originals / exported_file.name, staging / exported_file.name, model, options, tally
                )
                _write_boxes(staging / f"{exported_file.name}{BOXES_SUFFIX}", result.frames, info, float(result.fps))
                files.append(
                    CopyFile(
                        exported_file.name,
                        exported_file.camera_id,
                        len(result.frames),
                        digest,
                        size,
                        exported_file.start,
                        exported_file.end,
                    )
                )
                tally.file_done(len(result.frames))
            _publish(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return PreparedCopy(
            str(target), tuple(files), exported.manifest_sha256, model.name, self._settings(model, scope)
        )

    def _export_original(self, request_id: int, scope: CopyScope, out_dir: Path) -> ExportResult:
        request = ExportRequest(
            tuple(scope.camera_ids),
            scope.start,
            scope.end,
            f"access-request:{request_id}",
            REASON.format(id=request_id),
            REQUISITION.format(id=request_id),
        )
        try:
            return self._exporter.export(request, self._cameras, out_dir, self._clock())
        except SegmentIntegrityError as err:
            raise FootageIntegrityError(f"{err}; no copy can be made of this footage") from err
        except ExportRefused as err:
            raise AccessRequestError(str(err)) from err
        except ExportError as err:
            if str(err).startswith("nothing recorded"):
                raise AccessRequestError(
                    f"nothing recorded for {', '.join(scope.camera_ids)} between {scope.start.isoformat()} and "
                    f"{scope.end.isoformat()}: refuse with reason no_footage or widen the period"
                ) from err
            raise AccessRequestError(f"the original footage could not be exported: {err}") from err

    def _settings(self, model: RedactionModel, scope: CopyScope) -> dict[str, object]:
        """The redaction settings, as JSON data: what the released manifest says the copy was made with."""
        return {
            **redaction_settings(model, self._options),
            "keep_clear": len(scope.keep_clear),
            "manual": len(scope.manual),
        }

    # --- release ---------------------------------------------------------------------------------------------------

    def release(self, request: AccessRequest, package_folder: str, now: datetime) -> Release:
        """Sign a manifest of the approved copy's redacted files (checked unchanged since they were prepared) and
        zip them with it into ``package_folder``; the originals and the boxes never go in."""
        copy, review = request.copy, request.review
        if request.id is None or copy is None:
            raise AccessRequestError("there is no prepared copy to release: prepare one and have it reviewed first")
        if review is None or not review.approved:
            raise AccessRequestError("the copy has not been approved by a reviewer: it cannot be released (L19)")
        folder = Path(package_folder)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"access-request-{request.id}-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}.zip"
        if (folder / name).exists():
            raise AccessRequestError(f"a package {name} already exists: request {request.id} was already released")
        staging = Path(tempfile.mkdtemp(prefix=f".access-request-{request.id}-", dir=folder))
        try:
            entries = [self._released_file(Path(copy.folder), f, staging) for f in copy.files]
            manifest = {
                "format": MANIFEST_FORMAT,
                "version": MANIFEST_VERSION,
                "created_at": instant(now),
                "software": {"name": "vigie", "version": self._software_version},
                "request": {"kind": "access_request", "id": request.id},
                "timeline": REDACTED_TIMELINE,
                "files": entries,
                "redaction": {
                    "detector": copy.detector,
                    "options": dict(copy.options),
                    "keep_clear": len(request.scope.keep_clear) if request.scope else None,
                    "manual": len(request.scope.manual) if request.scope else None,
                    "reviewer": review.reviewer,
                    "reviewed_at": instant(review.at),
                    "frames_reviewed": review.frames_reviewed,
                },
                "source": {"manifest_sha256": copy.source_manifest_sha256},
            }
            manifest_sha256 = write_signed_manifest(staging, manifest, self._signer)
            package = write_package(staging, folder / name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        by = request.handled_by or request.prepared_by or f"access-request:{request.id}"
        return Release(now, by, package.name, package.sha256, manifest_sha256, self._signer.key_id)

    def _released_file(self, source: Path, file: CopyFile, staging: Path) -> dict[str, Any]:
        """Copy one reviewed redacted file into ``staging``, checking its bytes are those that were reviewed."""
        if not _plain_mp4(file.name):
            raise AccessRequestError(f"{file.name!r} is not the name of a redacted clip: the copy cannot be released")
        target = staging / file.name
        try:
            shutil.copyfile(source / file.name, target)
        except OSError as err:
            raise AccessRequestError(
                f"the redacted clip {file.name} of the prepared copy cannot be read ({err.strerror}): prepare the "
                "copy again and have it reviewed"
            ) from None
        with target.open("rb") as stream:
            digest, size = sha256_and_size(stream)
        if (digest, size) != (file.sha256, file.bytes):
            raise AccessRequestError(
                f"the redacted clip {file.name} changed since it was prepared and reviewed (SHA-256 {digest}, "
                f"expected {file.sha256}): it is not released; prepare the copy again and have it reviewed"
            )
        camera = self._cameras.get(file.camera_id, CameraIdentity(file.camera_id, file.camera_id))
        return {
            "name": file.name,
            "camera": camera.to_json(),
            "start": instant(file.start),
            "end": instant(file.end),
            "duration_s": round((file.end - file.start).total_seconds(), 3),
            "frames": file.frames,
            "sha256": digest,
            "bytes": size,
            "media": {"container": "mp4", "video_codec": "h264", "audio": "none", "redacted": True},
        }


@dataclass(frozen=True, slots=True)
class RedactedExport:
    """An export redacted for a third party: its files and manifest, and what it was made from."""

    result: ExportResult
    """The redacted files (same names as the originals) and the SHA-256 of the redacted export's signed manifest."""
    detector: str
    source_manifest_sha256: str


class ExportRedactor:
    """Redacts an export made for a third party (the press, an insurer) the way an access request's copy is:
    every person and vehicle blurred, no keep-clear region (nobody is the requester), then a new signed manifest
    saying the files are redacted, with which model and settings, and the SHA-256 of the original export's
    manifest."""

    def __init__(
        self,
        load_model: ModelLoader,
        probe: ClipProbe,
        signer: ManifestSigner,
        *,
        options: RedactionOptions | None = None,
        software_version: str = __version__,
    ) -> None:
        self._load_model = load_model
        self._probe = probe
        self._signer = signer
        self._options = options or RedactionOptions()
        self._software_version = software_version

    def check(self) -> None:
        """Raise :class:`ExportRefused` when the model cannot be loaded (asked before a job is queued)."""
        try:
            self._load_model()
        except AccessRequestError as err:
            raise ExportRefused(f"no redacted export can be made: {err}") from err

    def redact(
        self, original: ExportResult, target: Path, now: datetime, progress: ProgressFn | None = None
    ) -> RedactedExport:
        """Write the redacted copy of the export folder ``original.directory`` into ``target`` (created): one
        redacted MP4 per original, ``manifest.json`` and ``manifest.sig``. ``progress(done, total)`` in frames.
        Raise :class:`ExportError` when it cannot be made; ``target`` is then removed."""
        try:
            model = self._load_model()
        except AccessRequestError as err:
            raise ExportError(f"no redacted export can be made: {err}") from err
        source = original.directory
        manifest = json.loads((source / MANIFEST_NAME).read_bytes())
        target.mkdir(parents=True)
        try:
            clips = [(f, self._probe(source / f.name)) for f in original.files]
            tally = _Tally(progress or (lambda _done, _total: None), sum(info.frames for _, info in clips))
            files: list[ExportedFile] = []
            entries = {entry["name"]: entry for entry in manifest["files"]}
            for exported, info in clips:
                tally.next_file(info)
                try:
                    result, digest, size = _redact_clip(
                        source / exported.name, target / exported.name, model, self._options, tally
                    )
                except AccessRequestError as err:
                    raise ExportError(str(err)) from err
                tally.file_done(len(result.frames))
                files.append(replace(exported, sha256=digest, bytes=size))
                entry = entries[exported.name]
                entry.update(sha256=digest, bytes=size, frames=len(result.frames))
                entry["media"] = {**entry.get("media", {}), "video_codec": "h264", "audio": "none", "redacted": True}
            manifest.update(
                created_at=instant(now),
                software={"name": "vigie", "version": self._software_version},
                timeline=REDACTED_TIMELINE,
                redaction={"detector": model.name, "options": redaction_settings(model, self._options)},
                source={"manifest_sha256": original.manifest_sha256},
            )
            digest = write_signed_manifest(target, manifest, self._signer)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
        redacted = ExportResult(target, tuple(files), original.cameras_without_footage, digest, self._signer.key_id)
        return RedactedExport(redacted, model.name, original.manifest_sha256)


def _redact_clip(
    source: Path, target: Path, model: RedactionModel, options: RedactionOptions, tally: _Tally
) -> tuple[RedactedFile, str, int]:
    """One clip redacted with a fresh tracker: what was blurred, and the SHA-256 and size of the file written."""
    tracker = _CountingTracker(ByteTracker(ByteTrackerConfig(**REDACTION_TRACKING)), tally)  # type: ignore[arg-type]
    try:
        result = redact_file(source, target, model.detector, tracker, options, preset=PRESET, crf=CRF)
    except RedactionError as err:
        raise AccessRequestError(f"{source.name}: redaction failed: {err}") from err
    with target.open("rb") as stream:
        digest, size = sha256_and_size(stream)
    return result, digest, size


def redaction_settings(model: RedactionModel, options: RedactionOptions) -> dict[str, object]:
    """The redaction settings, as JSON data: what a manifest says a copy was made with."""
    return {
        "detector_score": model.score,
        "detect_fps": options.detect_fps,
        "margin": options.margin,
        "hold_s": options.hold,
        "max_gap_s": options.max_gap,
        "blocks": options.blocks,
        "keep_overlap": options.keep_overlap,
        "classes": sorted(c.name.lower() for c in options.classes),
        "tracking": dict(REDACTION_TRACKING),
        "encoder": {"codec": "libx264", "preset": PRESET, "crf": CRF, "audio": "none"},
    }


# --- the scope's boxes in a clip's pixels ---------------------------------------------------------------------------


def _check_scope(scope: CopyScope, cameras: Mapping[str, CameraIdentity]) -> None:
    problems: list[str] = []
    if not scope.camera_ids:
        problems.append("name at least one camera")
    unknown = [c for c in scope.camera_ids if c not in cameras]
    if unknown:
        problems.append(f"unknown camera(s) {', '.join(unknown)}")
    for kind, boxes in (("keep-clear", scope.keep_clear), ("manual", scope.manual)):
        for number, box in enumerate(boxes, 1):
            problem = _box_problem(box, scope.camera_ids)
            if problem:
                problems.append(f"{kind} box {number}: {problem}")
    if problems:
        raise AccessRequestError("the copy's scope cannot be used: " + "; ".join(problems))


def _box_problem(box: NormalisedBox, camera_ids: Sequence[str]) -> str | None:
    if box.camera_id not in camera_ids:
        return f"camera {box.camera_id} is not among the copy's cameras ({', '.join(camera_ids)})"
    values = (box.x1, box.y1, box.x2, box.y2, box.start_s, box.end_s if box.end_s is not None else 0.0)
    if not all(math.isfinite(v) for v in values):
        return "every value must be a finite number"
    if not (0.0 <= box.x1 < box.x2 <= 1.0 and 0.0 <= box.y1 < box.y2 <= 1.0):
        return (
            f"corners must be fractions of the picture with 0 ≤ x1 < x2 ≤ 1 and 0 ≤ y1 < y2 ≤ 1 (got {box.x1}, "
            f"{box.y1}, {box.x2}, {box.y2})"
        )
    if box.start_s < 0 or (box.end_s is not None and box.end_s < box.start_s):
        return (
            f"the time span must have 0 ≤ start_s ≤ end_s seconds from the clip's start (got {box.start_s}–{box.end_s})"
        )
    return None


def _pixels(box: NormalisedBox, info: ClipInfo) -> tuple[PixelBox, TimeRange]:
    """The box in the clip's pixels, over its time span (to the clip's end when open)."""
    clip_end = info.frames / info.fps if info.fps > 0 else 0.0
    end = box.end_s if box.end_s is not None else max(clip_end, box.start_s) + 1.0
    pixels = PixelBox(box.x1 * info.width, box.y1 * info.height, box.x2 * info.width, box.y2 * info.height)
    return pixels, TimeRange(box.start_s, end)


def _keep_clear(boxes: Iterable[NormalisedBox], camera_id: str, info: ClipInfo) -> Iterable[KeepClear]:
    for box in boxes:
        if box.camera_id == camera_id:
            pixels, during = _pixels(box, info)
            yield KeepClear(box=pixels, during=during)


def _manual(boxes: Iterable[NormalisedBox], camera_id: str, info: ClipInfo) -> Iterable[ManualBox]:
    for box in boxes:
        if box.camera_id == camera_id:
            yield ManualBox(*_pixels(box, info))


# --- files ------------------------------------------------------------------------------------------------------------


def _kind(source: str, class_id: int | None) -> str:
    if source == "manual" or class_id is None:
        return "manual"
    return "person" if class_id == int(ObjectClass.PERSON) else "vehicle"


def _write_boxes(path: Path, frames: Sequence[FrameBoxes], info: ClipInfo, fps: float) -> None:
    """The boxes blurred on every frame, for the reviewer: pixels of the clip, and what each box hides."""
    data = {
        "width": info.width,
        "height": info.height,
        "fps": fps,
        "frames": [
            {
                "index": f.index,
                "t": round(f.time, 4),
                "boxes": [[b.x1, b.y1, b.x2, b.y2, _kind(b.source, b.class_id)] for b in f.boxes],
            }
            for f in frames
        ],
    }
    path.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")


def _publish(staging: Path, target: Path) -> None:
    """Put the finished copy in ``target``, replacing a previous copy there only now that this one is whole."""
    old: Path | None = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}-{threading.get_ident()}")
        target.rename(old)
    staging.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _plain_mp4(name: str) -> bool:
    return name.endswith(".mp4") and "/" not in name and "\\" not in name and not name.startswith(".")


# --- progress ---------------------------------------------------------------------------------------------------------


class _Tally:
    """Frames redacted so far, out of all those of the copy: exact at each file's end, estimated within a file from
    the footage time the detector has reached."""

    def __init__(self, report: ProgressFn, total: int) -> None:
        self._report, self._total, self._done, self._info = report, total, 0, ClipInfo(0, 0, 0, 0.0)
        self._seconds = 0.0
        self._report(0, total)

    def next_file(self, info: ClipInfo) -> None:
        self._info, self._seconds = info, 0.0

    def advanced(self, seconds: float) -> None:
        self._seconds += seconds
        within = min(self._info.frames - 1, int(self._seconds * self._info.fps))
        if within > 0:
            self._report(min(self._done + within, self._total), self._total)

    def file_done(self, frames: int) -> None:
        self._done += frames
        self._total = max(self._total, self._done)
        self._report(self._done, self._total)


class _CountingTracker:
    """The clip's tracker, telling the tally how far into the footage the detector has gone."""

    def __init__(self, tracker: RedactionTracker, tally: _Tally) -> None:
        self._tracker, self._tally = tracker, tally

    def update(self, detections: Detections, period: float) -> Detections:
        found = self._tracker.update(detections, period)
        self._tally.advanced(period)
        return found
