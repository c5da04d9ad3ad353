"""The forensic search of cases (issue 22) as ``vigie serve`` runs it. Objects: the segment index and store give a
camera's recorded files, the model the camera's configuration names (``analysis.detector``, a registered model,
hash-checked at load, L30) detects, the camera's analysis zones and directed lines name what objects entered and
crossed, and the camera's heading (``location.heading_deg``) turns their movement in the picture into a compass
direction (none stored where it is unset). Motion in a region: the same recorded files, no model.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path

from vigie.analytics.detect.batching import BatchDetector
from vigie.analytics.detect.onnx import OnnxDetector, OnnxDetectorConfig
from vigie.analytics.forensics.motion_footage import FootageMotionSearch
from vigie.analytics.forensics.motion_region import RecordedFile
from vigie.analytics.forensics.object_search import CameraLayout, FootageObjectSearch, NamedLine, NamedZone
from vigie.config.camera import Camera
from vigie.domain.case_objects import CaseObjects
from vigie.domain.case_searches import CaseSearches
from vigie.domain.ports import AuditSink
from vigie.domain.recording import SegmentIndex, SegmentStore
from vigie.runtime.workers.analysis import ModelSpec
from vigie.services.case_search import CaseSearchService
from vigie.services.cases import CaseService


class NoModelError(ValueError):
    """The camera names no detection model: no object search can run on its recordings."""


def camera_layout(camera: Camera) -> CameraLayout:
    """The camera's heading, analysis zones and directed lines, by id."""
    zones = tuple(NamedZone(z.id, tuple((float(x), float(y)) for x, y in z.points)) for z in camera.analysis_zones)
    lines = tuple(
        NamedLine(line.id, tuple(map(float, line.points[0])), tuple(map(float, line.points[1])), str(line.direction))  # type: ignore[arg-type]
        for line in camera.directed_lines
    )
    return CameraLayout(camera.location.heading_deg, zones, lines)


def recorded_files(index: SegmentIndex, store: SegmentStore) -> Callable[[str, datetime, datetime], list[RecordedFile]]:
    """A camera's playable segments overlapping a period, as files to read: the file itself in a local store; in a
    remote one (S3), its bytes read from the store when the search reaches it (one segment at a time in memory)."""

    def fetch(key: str) -> bytes:
        with store.open(key) as stream:
            return stream.read()

    def files(camera_id: str, start: datetime, end: datetime) -> list[RecordedFile]:
        out: list[RecordedFile] = []
        for segment in index.between(camera_id, start, end):
            path = store.local_path(segment.key)
            if path is None:
                out.append(RecordedFile(Path(segment.key), segment.start, partial(fetch, segment.key)))
            else:
                out.append(RecordedFile(path, segment.start))
        return out

    return files


def model_detectors(models: Callable[[str], ModelSpec | None]) -> Callable[[str], BatchDetector]:
    """Each camera's model, loaded once per file (hash-checked, L30), on first use."""
    loaded: dict[str, BatchDetector] = {}
    lock = threading.Lock()

    def detector(camera_id: str) -> BatchDetector:
        spec = models(camera_id)
        if spec is None:
            raise NoModelError(
                f"camera {camera_id} names no detection model (analysis.detector): set `kind: model` with a "
                "registered model's name to search its recordings for objects"
            )
        with lock:
            key = str(spec.path)
            if key not in loaded:
                loaded[key] = OnnxDetector(
                    OnnxDetectorConfig(
                        model_path=spec.path,
                        format=spec.format,
                        score_threshold=spec.score_threshold,
                        sha256=spec.sha256,
                    )
                )
            return loaded[key]

    return detector


def open_case_search(  # noqa: PLR0917 — the parts it joins, each named once
    cases: CaseService,
    objects: CaseObjects,
    cameras: Sequence[Camera],
    models: Callable[[str], ModelSpec | None],
    index: SegmentIndex,
    store: SegmentStore,
    audit: AuditSink,
    clock: Callable[[], datetime],
    jobs: CaseSearches,
) -> CaseSearchService:
    """The forensic search of cases: objects (the camera's model) and motion in a region (no model), both on the
    camera's recorded segments; jobs and hits in ``jobs``; the purge of a case's results run when it closes."""
    files = recorded_files(index, store)
    analysis = FootageObjectSearch(files, model_detectors(models), {c.id: camera_layout(c) for c in cameras})
    service = CaseSearchService(cases, objects, analysis, audit, clock, jobs=jobs, motion=FootageMotionSearch(files))
    cases.on_close(service.purge_case)  # a case's results are purged with the case (its jobs stay: its history)
    return service
