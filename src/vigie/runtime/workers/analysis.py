"""The body of an analysis process: ingest → analysis for a group of cameras, reporting to the supervisor through
a queue.

One thread per camera in a process that hosts a group (:mod:`vigie.runtime.workers.group`): a stuck FFmpeg read is
given up on by the group's watchdog and the camera restarted, a crash in one camera's analysis ends only its
thread, and the supervisor kills the whole process from outside when it stops beating. Messages are typed,
versioned dataclasses; the queue is bounded, and analysis messages are dropped (and counted) rather than ever
blocking the stream.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from vigie.analytics.detect.gating import BoxDetector as ObjectDetector
from vigie.analytics.detect.gating import MotionGateConfig, MotionGatedDetector
from vigie.analytics.detect.motion import MotionConfig, MotionDetector
from vigie.analytics.detect.onnx import ModelIntegrityError, OnnxDetector, OnnxDetectorConfig
from vigie.analytics.detect.thermal import ThermalDetector, ThermalPicture
from vigie.analytics.pipeline import BoxDetector, DetectionPipeline, MotionPipeline
from vigie.analytics.rules.pipeline import RulePipeline
from vigie.analytics.rules.registry import MODULES, build_rule
from vigie.analytics.rules.statistics import Bucket
from vigie.analytics.track import ByteTracker
from vigie.analytics.zones import PolygonZone
from vigie.config.detectors import HotBlobDetectorSettings
from vigie.domain.camera import CameraHealth, HealthState, StreamAlarm
from vigie.domain.clock import Clock
from vigie.domain.detections import Detections
from vigie.domain.geometry import Point
from vigie.domain.observation import Observation
from vigie.domain.ports import Frame, Gate
from vigie.domain.redact import redact_text
from vigie.domain.statistics import StatisticBucket
from vigie.governance.gate import GateRefusal, GateTransition
from vigie.ingest.alarms import StreamAlarmConfig, StreamAlarms
from vigie.ingest.backoff import Backoff
from vigie.ingest.health import FrameRate, stream_state
from vigie.ingest.masking import apply_masks
from vigie.ingest.reader import CameraError, SampledFrame, StreamSpec, sampled_frames
from vigie.runtime.assembly.gates import GateFactory
from vigie.runtime.clock import system_clock
from vigie.runtime.workers.group import ControlQueue, StopFlag, StreamBody, StreamHost, host_streams

log = logging.getLogger(__name__)
HEARTBEAT_S = 1.0


@dataclass(frozen=True, slots=True)
class ModelRefusal:
    """A worker refused its detection model at load: the file's SHA-256 is not the one registered for it (L30).
    The modules that need the model do not run on that worker; the service audits it (``model.refused``)."""

    camera_id: str
    model: str
    file: str
    expected_sha256: str
    found_sha256: str
    modules: tuple[str, ...]
    """The modules not run for want of the model (``tracking`` and the event modules that read objects)."""
    at: datetime


WorkerMessage = CameraHealth | Observation | GateTransition | GateRefusal | StreamAlarm | StatisticBucket | ModelRefusal
AUDIT_PUT_TIMEOUT_S = 10.0


class MessageQueue(Protocol):
    def put(self, item: WorkerMessage, block: bool = ..., timeout: float | None = ...) -> None: ...


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A registered detection model, by file and hash (the hash goes with every observation, L30)."""

    name: str
    path: Path
    format: str
    sha256: str
    grey_picture: bool = False
    """Thermal camera: the model reads the grey picture replicated to three channels, never a palette's colours."""
    score_threshold: float | None = None
    """None: the model format's default."""


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """Everything one camera worker needs; picklable, built by the runtime."""

    stream: StreamSpec
    motion: MotionConfig
    gate: GateFactory
    """Builds the governance gate inside the worker (a gate holds a database engine: it is not sent over)."""
    privacy_masks: tuple[tuple[Point, ...], ...] = ()
    alarms: StreamAlarmConfig = field(default_factory=StreamAlarmConfig)
    """Thresholds of the stream integrity alarms (L18)."""
    model: ModelSpec | None = None
    """Detection + tracking with this model (frames BGR, or grey on a thermal camera)."""
    hot_blob: HotBlobDetectorSettings | None = None
    """Thermal camera: detection + tracking of hot blobs. With neither this nor ``model``, motion detection only."""
    analysis_zones: tuple[tuple[Point, ...], ...] = ()
    zone_ids: tuple[str, ...] = ()
    """The id of each of ``analysis_zones``, same order: an activation limited to zones names them by id."""
    rules: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    """Event modules configured on this camera: (module id, settings). Each runs only while its gate is open."""
    clock: Clock = system_clock
    """The service's clock (picklable: a module-level function, or a test's clock object)."""

    def __post_init__(self) -> None:
        if self.model is not None and self.hot_blob is not None:
            raise ValueError(f"camera {self.stream.camera_id}: one object detector, a model or hot blobs, not both")


def _health(spec: WorkerSpec, state: HealthState, reason: str = "", fps: float = 0.0, dropped: int = 0) -> CameraHealth:
    return CameraHealth(spec.stream.camera_id, state, spec.clock(), reason, round(fps, 2), dropped)


def _send(out: MessageQueue, msg: WorkerMessage) -> bool:
    try:
        out.put(msg, block=False)
    except queue.Full:
        return False
    return True


@runtime_checkable
class _Learning(Protocol):
    def reset(self) -> None: ...


class _OncePerFrame:
    """The detector in front of several pipelines of one camera: each analysed frame is detected once.

    A frame that no pipeline asked to detect means every gate of the camera is closed: a detector that learns
    from the pixels (the hot-blob background) then forgets, so nothing learnt while analysis was authorised
    outlives the authorisation."""

    def __init__(self, detector: BoxDetector) -> None:
        self._detector = detector
        self._last: tuple[int, Detections] | None = None
        self._asked = False

    def detect(self, frame_bgr: Frame) -> Detections:
        self._asked = True
        if self._last is None or self._last[0] != id(frame_bgr):
            self._last = (id(frame_bgr), self._detector.detect(frame_bgr))
        return self._last[1]

    def frame_done(self) -> None:
        if not self._asked and isinstance(self._detector, _Learning):
            self._detector.reset()
        self._asked = False
        self._last = None


def _detector(spec: WorkerSpec) -> tuple[_OncePerFrame | None, str]:
    """The camera's object detector and the version recorded with its observations (L30), or None for motion
    alone. A model is motion-gated (a deep detector is expensive and most scenes are still); hot blobs are not
    (a fire start or a hot spot need not move)."""
    if spec.hot_blob is not None:
        digest = hashlib.sha256(spec.hot_blob.model_dump_json().encode()).hexdigest()
        return _OncePerFrame(ThermalDetector(spec.hot_blob)), f"hot_blob@sha256:{digest[:16]}"
    if spec.model is None:
        return None, ""
    model = spec.model
    onnx = OnnxDetector(  # the file is hashed at every load: ModelIntegrityError when it changed (L30)
        OnnxDetectorConfig(
            model_path=model.path, format=model.format, score_threshold=model.score_threshold, sha256=model.sha256
        )
    )
    reader: ObjectDetector = ThermalPicture(onnx) if model.grey_picture else onnx
    gated = MotionGatedDetector(reader, MotionDetector(spec.motion), MotionGateConfig())
    return _OncePerFrame(gated), f"{model.name}@sha256:{model.sha256[:16]}"


Message = Observation | StatisticBucket


def _load_detector(
    spec: WorkerSpec, report: Callable[[ModelRefusal], None] | None
) -> tuple[_OncePerFrame | None, str, frozenset[str]]:
    """:func:`_detector`, with the modules refused on this worker when the model file no longer has its registered
    hash (L30): ``tracking`` and every configured module that reads objects. They do not run, nor does motion in
    their place (a camera never silently falls back to another analysis); the modules that read the picture itself
    still run behind their gates. The refusal is logged with what to do, and ``report``-ed to be audited."""
    try:
        detector, version = _detector(spec)
    except ModelIntegrityError as err:
        assert spec.model is not None
        refused = ("tracking", *(m for m, _ in spec.rules if m in MODULES and not MODULES[m][1].needs_frame))
        name, camera_id = spec.model.name, spec.stream.camera_id
        log.error("camera %s: detection model %s refused: %s; not run: %s", camera_id, name, err, ", ".join(refused))
        if report is not None:
            found, expected = err.found, err.expected
            at = spec.clock()
            report(ModelRefusal(camera_id, name, str(err.path), expected, found, refused, at))
        return None, "", frozenset(refused)
    return detector, version, frozenset()


def _pipeline(
    spec: WorkerSpec, gate: Gate, on_model_refused: Callable[[ModelRefusal], None] | None = None
) -> Callable[[SampledFrame], list[Message]]:
    """The camera's analysis: motion only by default; motion-gated detection and tracking with a model, or hot
    blobs tracked on a thermal camera; and the event modules configured on the camera, each behind its own gate
    (detection runs once per frame for all)."""
    camera_id = spec.stream.camera_id
    detector, version, refused = _load_detector(spec, on_model_refused)
    zones = [PolygonZone(polygon) for polygon in spec.analysis_zones]
    by_id = dict(zip(spec.zone_ids, zones, strict=False))
    motion = (
        MotionPipeline(camera_id, MotionDetector(spec.motion, spec.privacy_masks), gate, zone_polygons=by_id)
        if detector is None and not refused
        else None
    )
    tracking = None
    if detector is not None:
        tracking = DetectionPipeline(
            camera_id, detector, ByteTracker(), gate, model_version=version, zones=zones, zone_polygons=by_id
        )
    rules = None
    if spec.rules:
        built = [build_rule(module, settings) for module, settings in spec.rules if module not in refused]
        rules = RulePipeline(camera_id, built, gate, detector=detector, model_version=version, zone_polygons=by_id)
    last: list[datetime] = []

    def analyse(sample: SampledFrame) -> list[Message]:
        period = (sample.at - last[0]).total_seconds() if last else 1.0 / spec.stream.analysis_fps
        last[:] = [sample.at]
        found: list[Message] = []
        if motion is not None:  # masks applied inside, on the grey frame
            observation = motion.process(_grey(sample.image), sample.at)
            found += [] if observation is None else [observation]
        if tracking is None and rules is None:
            return found
        frame = apply_masks(sample.image, spec.privacy_masks) if spec.privacy_masks else sample.image
        if tracking is not None:
            found += tracking.process(frame, sample.at, period)
        if rules is not None:
            output = rules.process(frame, sample.at, sample.at.timestamp(), period)
            found += output.observations
            found += [_bucket(camera_id, b) for b in output.buckets]
        if detector is not None:
            detector.frame_done()
        return found

    return analyse


def _grey(image: Frame) -> Frame:
    return image if image.ndim == 2 else np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), np.uint8)


def _bucket(camera_id: str, bucket: Bucket) -> StatisticBucket:
    """A closed bucket of a statistics module (media seconds on the epoch clock) as the message stored (L33)."""
    start, end = datetime.fromtimestamp(bucket.start, UTC), datetime.fromtimestamp(bucket.end, UTC)
    return StatisticBucket(camera_id, bucket.module, bucket.kind, start, end, bucket.value)


def _check_stream(alarms: StreamAlarms, sample: SampledFrame, out: MessageQueue) -> None:
    """Stream integrity alarms (L18: frozen, changed or substituted picture). They look at the stream, not at
    people, so they run on every camera whatever the governance gate says; each transition is reported."""
    raised = alarms.packet(sample.at)  # a decoded frame means packets arrive
    raised += alarms.stream(sample.codec, sample.source_width, sample.source_height, sample.at)
    raised += alarms.frame(sample.image, sample.at)
    for alarm in raised:
        out.put(alarm, block=True, timeout=AUDIT_PUT_TIMEOUT_S)


def _send_audited(out: MessageQueue, transition: GateTransition | GateRefusal) -> None:
    """Gate transitions are audit entries: they wait for room in the queue rather than being dropped."""
    out.put(transition, block=True, timeout=AUDIT_PUT_TIMEOUT_S)


def _from_camera(message: GateTransition | GateRefusal, camera_id: str) -> GateTransition | GateRefusal:
    return replace(message, camera_id=camera_id) if isinstance(message, GateRefusal) else message


@dataclass(frozen=True, slots=True)
class AnalysisGroupSpec:
    """The cameras one analysis process hosts (:mod:`vigie.runtime.workers.group`); picklable."""

    name: str
    cameras: tuple[WorkerSpec, ...]
    gate: GateFactory
    """One gate for the whole process, shared by its cameras' threads."""
    stall_s: float = 20.0
    """A stream without a frame for this long is given up on and restarted (its thread abandoned)."""
    backoff: Backoff = field(default_factory=Backoff)


def run_analysis_group(  # noqa: PLR0917 (the process's arguments, given by the supervisor)
    spec: AnalysisGroupSpec,
    out: MessageQueue,
    control: ControlQueue,
    stop: StopFlag,
    stopped: frozenset[str],
    parent: int | None = None,
) -> None:
    """The body of an analysis process: one gate for all its cameras, each camera's sub-stream decoded and
    analysed in its own thread (PyAV and OpenCV release the GIL), watched by the group (:func:`host_streams`).
    ``parent``: the supervisor's process; the group ends when it is gone (never run orphaned)."""
    gate = spec.gate(lambda transition: _send_audited(out, _from_camera(transition, spec.name)))
    by_camera = {camera.stream.camera_id: camera for camera in spec.cameras}

    def stalled(camera_id: str, reason: str) -> None:
        _send(out, _health(by_camera[camera_id], HealthState.OFFLINE, reason))

    bodies: dict[str, StreamBody] = {camera_id: _body(camera, gate, out) for camera_id, camera in by_camera.items()}
    host = StreamHost(
        spec.name,
        bodies,
        stall_s=spec.stall_s,
        backoff=spec.backoff,
        on_stalled=stalled,
        stopped=stopped,
        unit="frames",
    )
    raise SystemExit(host_streams(host, out, control, stop, parent=parent))


def _body(spec: WorkerSpec, gate: Gate, out: MessageQueue) -> StreamBody:
    def body(stop: threading.Event, progress: Callable[[], None]) -> None:
        analyse_camera(spec, gate, out, stop, progress)

    return body


def run_worker(spec: WorkerSpec, out: MessageQueue, stop: StopFlag) -> None:
    """One camera analysed in the calling thread with its own gate, until ``stop`` is set (tests, tools)."""
    camera_id = spec.stream.camera_id
    gate = spec.gate(lambda transition: _send_audited(out, _from_camera(transition, camera_id)))
    try:
        analyse_camera(spec, gate, out, stop, lambda: None)
    except AnalysisStopped as stopped:
        raise SystemExit(stopped.code) from None


class AnalysisStopped(Exception):
    """A camera's analysis ended on a failure, already reported; ``code``: 1 stream, 2 internal."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def analyse_camera(
    spec: WorkerSpec, gate: Gate, out: MessageQueue, stop: StopFlag, progress: Callable[[], None]
) -> None:
    """Read the camera until ``stop`` is set; report health every second and observations as they come. A
    failure is reported (offline, with its reason) and raised as :class:`AnalysisStopped`."""
    camera_id = spec.stream.camera_id
    analyse = _pipeline(spec, gate, lambda refusal: out.put(refusal, block=True, timeout=AUDIT_PUT_TIMEOUT_S))
    dropped = 0
    rate = FrameRate()
    alarms = StreamAlarms(camera_id, spec.alarms)
    last_beat = float("-inf")
    try:
        for sample in sampled_frames(spec.stream, spec.clock):
            if stop.is_set():
                return  # asked to stop (the group stops its cameras when the service dies: never orphaned)
            progress()
            now = time.monotonic()
            rate.tick(now)
            _check_stream(alarms, sample, out)
            for observation in analyse(sample):
                if not _send(out, observation):
                    dropped += 1
            if now - last_beat >= HEARTBEAT_S:
                fps = rate.fps(now)
                state, why = stream_state(fps, spec.stream.analysis_fps, rate.observed_for(now), rate.window_s)
                if alarms.active:
                    state = HealthState.DEGRADED
                    why = "; ".join(sorted(str(kind) for kind in alarms.active)) + (f"; {why}" if why else "")
                _send(out, _health(spec, state, why, fps=fps, dropped=dropped))
                last_beat = now
    except CameraError as err:
        _send(out, _health(spec, HealthState.OFFLINE, str(err)))
        raise AnalysisStopped(1) from None
    except Exception as err:  # contained: reported, then the group restarts the stream
        reason = redact_text(f"camera {camera_id}: internal error {type(err).__name__}: {err}")
        _send(out, _health(spec, HealthState.OFFLINE, reason))
        raise AnalysisStopped(2) from None
