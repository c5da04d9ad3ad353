"""One camera's analysis step: a decoded analysis frame in, observations, statistics buckets and plate reads out.

Everything a camera runs on its frames, whatever process or thread hosts it: motion alone by default; motion-gated
object detection and tracking with a model (the inference itself shared by every camera of the process that uses
the same model: :class:`~vigie.analytics.detect.batching.SharedDetectors`), or hot blobs tracked on a thermal
camera, or both there (the model's persons and vehicles, the hot blobs' hot spots); and the event modules
configured on the camera, each behind its own gate, detection running once per frame for all; and plate reading
(:mod:`vigie.analytics.plates`, state tenants) with the reader the runtime hands it. A plain object built from
plain settings: the runtime decodes the stream and sends what comes out.

A model file whose SHA-256 is not the approved one is refused at build (L30): ``tracking`` and the modules that
read objects do not run — nor motion in their place, a camera never silently falls back to another analysis —
while the modules that read the picture itself still run behind their gates; the refusal is logged with what to
do and handed to ``on_refused`` to be audited.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from vigie.analytics.detect.batching import BatchingDetector, DetectorOverloaded, ModelKey, SharedDetectors
from vigie.analytics.detect.gating import BoxDetector as ObjectDetector
from vigie.analytics.detect.gating import MotionGateConfig, MotionGatedDetector
from vigie.analytics.detect.letterbox import ModelFormat
from vigie.analytics.detect.motion import MotionConfig, MotionDetector
from vigie.analytics.detect.onnx import ModelIntegrityError, OnnxDetector, OnnxDetectorConfig
from vigie.analytics.detect.thermal import HotSpotsBeside, ThermalDetector, ThermalPicture
from vigie.analytics.pipeline import BoxDetector, DetectionPipeline, MotionPipeline
from vigie.analytics.plates import PLATE_MODULE, PlateReading, PlateReadingConfig, PlateTools
from vigie.analytics.rules.pipeline import RulePipeline
from vigie.analytics.rules.registry import MODULES, build_rule
from vigie.analytics.rules.statistics import Bucket
from vigie.analytics.track import ByteTracker
from vigie.analytics.zones import PolygonZone
from vigie.config.detectors import HotBlobDetectorSettings
from vigie.domain.detections import Detections, ObjectClass
from vigie.domain.geometry import Point
from vigie.domain.observation import Observation
from vigie.domain.plates import PlateRead
from vigie.domain.ports import Frame, Gate
from vigie.domain.statistics import StatisticBucket

log = logging.getLogger(__name__)

Polygon = tuple[Point, ...]
Found = Observation | StatisticBucket | PlateRead
Masker = Callable[[Frame], Frame]
"""Fills a camera's privacy masks in an analysis frame (L6); the runtime hands the one recordings use."""


@dataclass(frozen=True, slots=True)
class ObjectModel:
    """A registered detection model, by file and approved hash (the hash goes with every observation, L30)."""

    name: str
    path: Path
    format: ModelFormat
    sha256: str
    grey_picture: bool = False
    """Thermal camera: the model reads the grey picture replicated to three channels, never a palette's colours."""
    score_threshold: float | None = None
    """None: the model format's default."""

    @property
    def version(self) -> str:
        return f"{self.name}@sha256:{self.sha256[:16]}"

    @property
    def key(self) -> ModelKey:
        """Cameras whose models have the same key share one session (the grey picture is made per camera)."""
        return ModelKey(self.path, self.format, self.score_threshold, self.sha256)


@dataclass(frozen=True, slots=True)
class ModelRefused:
    """A camera refused its detection model at build: the file's SHA-256 is not the one registered for it (L30)."""

    camera_id: str
    model: str
    file: str
    expected_sha256: str
    found_sha256: str
    modules: tuple[str, ...]
    """The modules not run for want of the model (``tracking`` and the event modules that read objects)."""


@dataclass(frozen=True, slots=True)
class CameraSettings:
    """What one camera's analysis runs, in analytics' own terms (the runtime translates its configuration)."""

    camera_id: str
    motion: MotionConfig = field(default_factory=MotionConfig)
    analysis_fps: float = 5.0
    privacy_masks: tuple[Polygon, ...] = ()
    model: ObjectModel | None = None
    """Detection + tracking with this model (frames BGR, or grey on a thermal camera)."""
    hot_blob: HotBlobDetectorSettings | None = None
    """Thermal camera: detection + tracking of hot blobs; beside ``model``, its hot spots only (persons and vehicles
    from the model). With neither this nor ``model``, motion detection only."""
    analysis_zones: tuple[Polygon, ...] = ()
    zone_ids: tuple[str, ...] = ()
    """The id of each of ``analysis_zones``, same order: an activation limited to zones names them by id."""
    rules: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    """Event modules configured on this camera: (module id, settings). Each runs only while its gate is open."""
    gating: MotionGateConfig = field(default_factory=MotionGateConfig)
    """When a model runs on this camera's frames (motion-gated: most scenes are still)."""
    commune_id: str = ""
    """The tenant owning the camera: plate reads name it (only a state tenant can have them, L34)."""

    def __post_init__(self) -> None:
        if self.model is not None and self.hot_blob is not None and self.hot_blob.classify_persons:
            raise ValueError(
                f"camera {self.camera_id}: hot blobs beside a model are hot spots only (classify_persons false): "
                "the model finds the persons"
            )
        if self.analysis_fps <= 0:
            raise ValueError(f"camera {self.camera_id}: analysis_fps must be > 0")


@runtime_checkable
class _Learning(Protocol):
    def reset(self) -> None: ...


class OncePerFrame:
    """The detector in front of several pipelines of one camera: each analysed frame is detected once.

    A frame that no pipeline asked to detect means every gate of the camera is closed: a detector that learns
    from the pixels (the hot-blob background) then forgets, so nothing learnt while analysis was authorised
    outlives the authorisation."""

    def __init__(self, detector: BoxDetector) -> None:
        self.detector = detector
        self._last: tuple[int, Detections] | None = None
        self._asked = False

    def detect(self, frame_bgr: Frame) -> Detections:
        self._asked = True
        if self._last is None or self._last[0] != id(frame_bgr):
            self._last = (id(frame_bgr), self.detector.detect(frame_bgr))
        return self._last[1]

    def frame_done(self) -> None:
        if not self._asked and isinstance(self.detector, _Learning):
            self.detector.reset()
        self._asked = False
        self._last = None


def hot_blob_version(settings: HotBlobDetectorSettings) -> str:
    digest = hashlib.sha256(settings.model_dump_json().encode()).hexdigest()
    return f"hot_blob@sha256:{digest[:16]}"


@dataclass(frozen=True, slots=True)
class BuiltDetector:
    """A camera's object detector and the identities its observations carry (L30)."""

    detector: OncePerFrame
    version: str
    """The detector's identity: ``model@sha256:…``, ``hot_blob@sha256:…``, or both joined by ``+`` on a thermal
    camera running hot spots beside its model (what an event module's observation carries: it may read either)."""
    objects_version: str = ""
    """The identity of the part that finds objects (the model's; or the hot blobs' alone); unset: ``version``."""
    class_versions: Mapping[ObjectClass, str] = field(default_factory=dict)
    """The identity of the part that finds a class, where it is not ``objects_version``: each tracking observation
    names the detector that produced it (hot spots: the hot-blob detector's; persons, vehicles: the model's)."""
    shared: BatchingDetector | None = None


def object_detector(
    settings: CameraSettings, detectors: SharedDetectors | None = None
) -> tuple[OncePerFrame | None, str]:
    """The camera's object detector and the version recorded with its observations (L30), or None for motion
    alone. A model is motion-gated (a deep detector is expensive and most scenes are still), its inference shared
    through ``detectors`` when given (else a session of its own); hot blobs are not gated (a fire start or a hot
    spot need not move), beside a model as in its place. Raises ``ModelIntegrityError`` when the model file is not
    the approved one."""
    built = build_detector(settings, detectors)
    return (None, "") if built is None else (built.detector, built.version)


def build_detector(settings: CameraSettings, detectors: SharedDetectors | None) -> BuiltDetector | None:
    """:func:`object_detector`, with each class's identity and the shared inference it attached to."""
    hot = settings.hot_blob
    model = settings.model
    if model is None:
        if hot is None:
            return None
        return BuiltDetector(OncePerFrame(ThermalDetector(hot)), hot_blob_version(hot))
    shared: BatchingDetector | None = None
    inference: ObjectDetector
    if detectors is not None:
        inference = shared = detectors.get(model.key)  # hashed at its first load: ModelIntegrityError (L30)
    else:
        inference = OnnxDetector(
            OnnxDetectorConfig(
                model_path=model.path, format=model.format, score_threshold=model.score_threshold, sha256=model.sha256
            )
        )
    reader: ObjectDetector = ThermalPicture(inference) if model.grey_picture else inference
    gated = MotionGatedDetector(reader, MotionDetector(settings.motion), settings.gating)
    if hot is None:
        return BuiltDetector(OncePerFrame(gated), model.version, shared=shared)
    spots = hot_blob_version(hot)
    both = HotSpotsBeside(gated, ThermalDetector(hot))
    classes = {ObjectClass.HOT_SPOT: spots}
    return BuiltDetector(OncePerFrame(both), f"{model.version}+{spots}", model.version, classes, shared)


class CameraAnalysis:
    """One camera's analysis, frame after frame (``process``). Not thread-safe: one per camera thread; only the
    shared detector behind it is shared."""

    def __init__(
        self,
        settings: CameraSettings,
        gate: Gate,
        *,
        detectors: SharedDetectors | None = None,
        masker: Masker | None = None,
        on_refused: Callable[[ModelRefused], None] | None = None,
        plate_tools: Callable[[int], PlateTools] | None = None,
    ) -> None:
        """``detectors``: the process's shared detectors (None: a session of this camera's own); ``masker``:
        required when the camera has privacy masks; ``on_refused``: told when the model is refused (L30);
        ``plate_tools``: makes the plate reader (at the module's ``detect_side``) and voter when ``plate_reading``
        is configured on the camera."""
        if settings.privacy_masks and masker is None:
            raise ValueError(f"camera {settings.camera_id}: privacy masks need a masker (L6)")
        self.settings = settings
        self.camera_id = camera_id = settings.camera_id
        self.refusal: ModelRefused | None = None
        self.dropped = 0
        """Frames whose detection the shared detector could not take in time (overloaded): not analysed."""
        self.frames = 0
        self._masker = masker
        self._shared: BatchingDetector | None = None
        built, refused = self._load(detectors, on_refused)
        detector = None if built is None else built.detector
        version = "" if built is None else built.version
        self.detector = detector
        self.model_version = version
        self.refused = refused
        if self._shared is not None:
            self._shared.attach()
        zones = [PolygonZone(polygon) for polygon in settings.analysis_zones]
        by_id = dict(zip(settings.zone_ids, zones, strict=False))
        self._motion = (
            MotionPipeline(
                camera_id, MotionDetector(settings.motion, settings.privacy_masks), gate, zone_polygons=by_id
            )
            if detector is None and not refused
            else None
        )
        self._tracking = None
        if detector is not None:
            assert built is not None
            self._tracking = DetectionPipeline(
                camera_id,
                detector,
                ByteTracker(),
                gate,
                model_version=built.objects_version or version,
                class_versions=built.class_versions,
                zones=zones,
                zone_polygons=by_id,
            )
        self.plates = self._plate_reading(gate, detector, refused, plate_tools)
        self._rules = None
        rules = [(module, params) for module, params in settings.rules if module != PLATE_MODULE]
        if rules:
            modules = [build_rule(module, params) for module, params in rules if module not in refused]
            self._rules = RulePipeline(
                camera_id, modules, gate, detector=detector, model_version=version, zone_polygons=by_id
            )
        self._last: datetime | None = None

    def _plate_reading(
        self,
        gate: Gate,
        detector: OncePerFrame | None,
        refused: frozenset[str],
        tools: Callable[[int], PlateTools] | None,
    ) -> PlateReading | None:
        """Plate reading when configured: on a dedicated LPR camera by motion, else on the detector's vehicles (not
        run when the model was refused, L30)."""
        params = dict(self.settings.rules).get(PLATE_MODULE)
        if params is None or PLATE_MODULE in refused:
            return None
        config = PlateReadingConfig.model_validate(dict(params))
        if not config.lpr_camera and detector is None:
            raise ValueError(
                f"camera {self.camera_id}: plate_reading reads the vehicles of a detection model; set "
                "analysis.detector, or lpr_camera: true for a camera dedicated to one lane"
            )
        if tools is None:
            raise ValueError(f"camera {self.camera_id}: plate_reading is configured but no plate reader was given")
        motion = self.settings.motion
        built = tools(config.detect_side)
        return PlateReading(self.camera_id, self.settings.commune_id, config, built, gate, motion=motion)

    def _load(
        self, detectors: SharedDetectors | None, on_refused: Callable[[ModelRefused], None] | None
    ) -> tuple[BuiltDetector | None, frozenset[str]]:
        settings = self.settings
        try:
            built = build_detector(settings, detectors)
        except ModelIntegrityError as err:
            assert settings.model is not None
            needs_objects = (m for m, _ in settings.rules if m in MODULES and not MODULES[m][1].needs_frame)
            plates = (m for m, p in settings.rules if m == PLATE_MODULE and not dict(p).get("lpr_camera"))
            refused = ("tracking", *needs_objects, *plates)
            name = settings.model.name
            log.error(
                "camera %s: detection model %s refused: %s; not run: %s", self.camera_id, name, err, ", ".join(refused)
            )
            self.refusal = ModelRefused(self.camera_id, name, str(err.path), err.expected, err.found, refused)
            if on_refused is not None:
                on_refused(self.refusal)
            return None, frozenset(refused)
        self._shared = None if built is None else built.shared
        return built, frozenset()

    def process(self, image: Frame, at: datetime, period: float | None = None) -> list[Found]:
        """Analyse one frame taken at ``at`` (``period``: seconds since the previous one; by default measured from
        the previous frame's ``at``, or the analysis rate's period for the first)."""
        if period is None:
            period = (at - self._last).total_seconds() if self._last is not None else 1.0 / self.settings.analysis_fps
        self._last = at
        self.frames += 1
        found: list[Found] = []
        if self._motion is not None:  # masks applied inside, on the grey frame
            observation = self._motion.process(grey(image), at)
            found += [] if observation is None else [observation]
        if self._tracking is None and self._rules is None and self.plates is None:
            return found
        frame = self._masker(image) if self._masker is not None and self.settings.privacy_masks else image
        try:
            if self._tracking is not None:
                found += self._tracking.process(frame, at, period)
            if self._rules is not None:
                output = self._rules.process(frame, at, at.timestamp(), period)
                found += output.observations
                found += [statistic_bucket(self.camera_id, b) for b in output.buckets]
            if self.plates is not None:
                found += self._read_plates(frame, at, period)
        except DetectorOverloaded as err:
            self.dropped += 1
            log.debug("camera %s: analysis frame dropped: %s", self.camera_id, err)
        finally:
            if self.detector is not None:
                self.detector.frame_done()
        return found

    def _read_plates(self, frame: Frame, at: datetime, period: float) -> list[PlateRead]:
        """Plate reads of the tracks that ended; the detector is asked only while the module's gate is open (the
        reading pipeline asks the gate first, and detects nothing on an LPR camera)."""
        assert self.plates is not None
        plates = self.plates
        detector = self.detector
        detect = None if detector is None or not plates.needs_detector else (lambda: detector.detect(frame))
        return plates.process(frame, at, period, detect)

    def close(self) -> None:
        """This camera no longer uses the shared detector (its batches stop waiting for it)."""
        if self._shared is not None:
            self._shared.detach()
            self._shared = None


def grey(image: Frame) -> Frame:
    return image if image.ndim == 2 else np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), np.uint8)


def statistic_bucket(camera_id: str, bucket: Bucket) -> StatisticBucket:
    """A closed bucket of a statistics module (media seconds on the epoch clock) as the message stored (L33)."""
    start, end = datetime.fromtimestamp(bucket.start, UTC), datetime.fromtimestamp(bucket.end, UTC)
    return StatisticBucket(camera_id, bucket.module, bucket.kind, start, end, bucket.value)


__all__ = [
    "BuiltDetector",
    "CameraAnalysis",
    "CameraSettings",
    "Masker",
    "ModelRefused",
    "ObjectModel",
    "OncePerFrame",
    "build_detector",
    "object_detector",
    "statistic_bucket",
]
