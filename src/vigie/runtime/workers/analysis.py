"""The body of an analysis process: ingest → analysis for a group of cameras, reporting to the supervisor through
a queue.

One thread per camera in a process that hosts a group (:mod:`vigie.runtime.workers.group`): a stuck FFmpeg read is
given up on by the group's watchdog and the camera restarted, a crash in one camera's analysis ends only its
thread, and the supervisor kills the whole process from outside when it stops beating. What a camera runs on its
frames is :class:`vigie.analytics.camera.CameraAnalysis`; the process loads each model once and its cameras share
its inference, batched (:class:`vigie.analytics.detect.batching.SharedDetectors`). Messages are typed,
versioned dataclasses; the queue is bounded, and analysis messages are dropped (and counted) rather than ever
blocking the stream.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from vigie.analytics.camera import CameraAnalysis, CameraSettings, ModelRefused, ObjectModel
from vigie.analytics.detect.batching import Loader, SharedDetectors, SharedDetectorSettings
from vigie.analytics.detect.letterbox import ModelFormat
from vigie.analytics.detect.motion import MotionConfig
from vigie.analytics.detect.onnx import FORMATS, OnnxDetector
from vigie.config.detectors import HotBlobDetectorSettings
from vigie.devices.dome_masking import DomeMasker, DomeMaskSpec, open_position_track
from vigie.domain.camera import CameraHealth, HealthState, StreamAlarm
from vigie.domain.clock import Clock
from vigie.domain.geometry import Point
from vigie.domain.observation import Observation
from vigie.domain.plates import PlateRead
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
from vigie.runtime.workers.group import (
    ControlQueue,
    HealthOutbox,
    StopFlag,
    StreamBody,
    StreamHost,
    host_streams,
)
from vigie.runtime.workers.plates import plate_tools

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


WorkerMessage = (
    CameraHealth | Observation | GateTransition | GateRefusal | StreamAlarm | StatisticBucket | ModelRefusal | PlateRead
)
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
    """Thermal camera: detection + tracking of hot blobs; beside ``model``, its hot spots only (persons and vehicles
    from the model). With neither this nor ``model``, motion detection only."""
    analysis_zones: tuple[tuple[Point, ...], ...] = ()
    zone_ids: tuple[str, ...] = ()
    """The id of each of ``analysis_zones``, same order: an activation limited to zones names them by id."""
    rules: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    """Event modules configured on this camera: (module id, settings). Each runs only while its gate is open."""
    clock: Clock = system_clock
    """The service's clock (picklable: a module-level function, or a test's clock object)."""
    commune_id: str = ""
    """The tenant owning the camera (plate reads name it)."""
    dome: DomeMaskSpec | None = None
    """A dome's pan/tilt privacy masks: each frame is masked from the dome's position before anything reads it."""

    def __post_init__(self) -> None:
        if self.model is not None and self.hot_blob is not None and self.hot_blob.classify_persons:
            raise ValueError(
                f"camera {self.stream.camera_id}: hot blobs beside a model are hot spots only "
                "(classify_persons false): the model finds the persons"
            )


def _health(spec: WorkerSpec, state: HealthState, reason: str = "", fps: float = 0.0, dropped: int = 0) -> CameraHealth:
    return CameraHealth(spec.stream.camera_id, state, spec.clock(), reason, round(fps, 2), dropped)


@dataclass(slots=True)
class _FrameCosts:
    """What analysed frames cost since the last health report (issue 17, metrics): frames decoded, CPU time in
    the reader (read and decode: the thread's CPU clock, so waiting for the camera is not counted; PyAV decodes in
    the calling thread, one decoder thread per stream) and time in the analysis step (wall clock: a frame waiting
    for the shared detector's batch waits for real). Two clock reads per frame."""

    decoded: int = 0
    frames: int = 0
    decode_s: float = 0.0
    inference_s: float = 0.0
    since: float = 0.0

    def report(self, health: CameraHealth, now: float) -> CameraHealth:
        """``health`` with the costs since the last report; the counts start again."""
        span, frames = now - self.since, max(1, self.frames)
        costed = replace(
            health,
            fps_decoded=round(self.decoded / span, 2) if span > 0 else 0.0,
            decode_s=self.decode_s / frames,
            inference_s=self.inference_s / frames,
        )
        self.decoded = self.frames = 0
        self.decode_s = self.inference_s = 0.0
        self.since = now
        return costed


def _send(out: MessageQueue, msg: WorkerMessage) -> bool:
    try:
        out.put(msg, block=False)
    except queue.Full:
        return False
    return True


def _format(spec: ModelSpec) -> ModelFormat:
    fmt = next((f for f in FORMATS if f == spec.format), None)
    if fmt is None:
        raise ValueError(f"model {spec.name}: unknown format {spec.format!r}; expected one of {', '.join(FORMATS)}")
    return fmt


def camera_settings(spec: WorkerSpec) -> CameraSettings:
    """The camera's analysis settings in analytics' terms (the model by file and hash, L30)."""
    model = None
    if spec.model is not None:
        m = spec.model
        model = ObjectModel(m.name, m.path, _format(m), m.sha256, m.grey_picture, m.score_threshold)
    return CameraSettings(
        camera_id=spec.stream.camera_id,
        motion=spec.motion,
        analysis_fps=spec.stream.analysis_fps,
        privacy_masks=spec.privacy_masks,
        model=model,
        hot_blob=spec.hot_blob,
        analysis_zones=spec.analysis_zones,
        zone_ids=spec.zone_ids,
        rules=spec.rules,
        commune_id=spec.commune_id,
    )


def camera_analysis(
    spec: WorkerSpec,
    gate: Gate,
    *,
    detectors: SharedDetectors | None = None,
    on_model_refused: Callable[[ModelRefusal], None] | None = None,
) -> CameraAnalysis:
    """The camera's analysis step (:class:`~vigie.analytics.camera.CameraAnalysis`): its inference shared through
    ``detectors`` (the process's) when given; a refused model (L30) is handed to ``on_model_refused`` stamped with
    the service's clock, to be audited."""
    masks = spec.privacy_masks

    def masker(image: Frame) -> Frame:
        masked: Frame = apply_masks(image, masks)
        return masked

    def refused(refusal: ModelRefused) -> None:
        if on_model_refused is not None:
            r = refusal
            at = spec.clock()
            on_model_refused(
                ModelRefusal(r.camera_id, r.model, r.file, r.expected_sha256, r.found_sha256, r.modules, at)
            )

    return CameraAnalysis(
        camera_settings(spec),
        gate,
        detectors=detectors,
        masker=masker if masks else None,
        on_refused=refused,
        plate_tools=plate_tools,
    )


class _StreamChecks:
    """Stream integrity alarms (L18: frozen, changed, substituted or blurred picture). They look at the stream, not at
    people, so they run on every camera whatever the governance gate says; each transition is reported.

    Packets and stream parameters are checked on every analysis frame; the picture (thumbnails compared with the
    last still one, with the learnt view, and the source's luma with the learnt sharpness; docs/stream-alarms.md) once
    per ``picture_every_s``: at most a second, and at least five looks within the shortest alarm delay, so a frozen,
    changed or blurred picture is raised at most that late (its references learn by elapsed time, not per frame)."""

    def __init__(self, alarms: StreamAlarms, config: StreamAlarmConfig) -> None:
        self.alarms = alarms
        self.picture_every_s = min(1.0, config.frozen_s / 5, config.scene_change_s / 5, config.focus_s / 5)
        self._last_picture: datetime | None = None

    def check(self, sample: SampledFrame, out: MessageQueue) -> None:
        alarms = self.alarms
        raised = alarms.packet(sample.at)  # a decoded frame means packets arrive
        raised += alarms.stream(sample.codec, sample.source_width, sample.source_height, sample.at)
        last = self._last_picture
        if last is None or (sample.at - last).total_seconds() >= self.picture_every_s or sample.at < last:
            raised += alarms.frame(sample.image, sample.at, sample.luma)
            self._last_picture = sample.at
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
    detectors: SharedDetectorSettings = field(default_factory=SharedDetectorSettings)
    """How the process's shared detectors run: one session per model for all its cameras, batched."""
    load: Loader | None = None
    """What loads a model for the group's shared detectors: None, a session in this process; in cluster mode, the
    node's inference service (:class:`vigie.cluster.inference.NodeInference`, shared by the node's groups)."""


def run_analysis_group(  # noqa: PLR0917 (the process's arguments, given by the supervisor)
    spec: AnalysisGroupSpec,
    out: MessageQueue,
    control: ControlQueue,
    stop: StopFlag,
    stopped: frozenset[str],
    parent: int | None = None,
) -> None:
    """The body of an analysis process: one gate and one shared, batched detector per model for all its cameras,
    each camera's sub-stream decoded and analysed in its own thread (PyAV, OpenCV and onnxruntime release the
    GIL), watched by the group (:func:`host_streams`). ``parent``: the supervisor's process; the group ends when
    it is gone (never run orphaned, even when it died while this process was starting)."""
    raise SystemExit(analysis_group(spec, out, control, stop, stopped, parent=parent))


def analysis_group(
    spec: AnalysisGroupSpec,
    out: MessageQueue,
    control: ControlQueue,
    stop: StopFlag,
    stopped: frozenset[str] = frozenset(),
    *,
    parent: int | None = None,
) -> int:
    """:func:`run_analysis_group` returning its exit code (tests run it in a thread)."""
    gate = spec.gate(lambda transition: _send_audited(out, _from_camera(transition, spec.name)))
    by_camera = {camera.stream.camera_id: camera for camera in spec.cameras}
    detectors = SharedDetectors(spec.detectors, load=spec.load or OnnxDetector)
    _preload(detectors, spec.cameras)
    health = HealthOutbox(out, spec.name, (CameraHealth,))
    outbox: MessageQueue = health

    def stalled(camera_id: str, reason: str) -> None:
        _send(outbox, _health(by_camera[camera_id], HealthState.OFFLINE, reason))

    bodies: dict[str, StreamBody] = {
        camera_id: _body(camera, gate, outbox, detectors) for camera_id, camera in by_camera.items()
    }
    host = StreamHost(
        spec.name,
        bodies,
        stall_s=spec.stall_s,
        backoff=spec.backoff,
        on_stalled=stalled,
        stopped=stopped,
        unit="frames",
    )
    try:
        return host_streams(host, out, control, stop, parent=parent, health=health)
    finally:
        detectors.close()


def _preload(detectors: SharedDetectors, cameras: tuple[WorkerSpec, ...]) -> None:
    """Load each model the group's cameras use once, before their threads start (so the first frames do not wait
    for a load, and the process's memory holds each model once). A model that cannot be loaded is left for each
    camera to report (a refused file, L30, is audited per camera)."""
    for model in dict.fromkeys(camera_settings(c).model for c in cameras if c.model is not None):
        assert model is not None
        try:
            detectors.get(model.key)
        except Exception as err:  # each camera that uses it reports it when it starts
            log.warning("model %s not loaded for the group: %s", model.name, redact_text(str(err)))


def _body(spec: WorkerSpec, gate: Gate, out: MessageQueue, detectors: SharedDetectors) -> StreamBody:
    def body(stop: threading.Event, progress: Callable[[], None]) -> None:
        with contextlib.suppress(AnalysisStopped):  # reported (offline, why); the group restarts the camera
            analyse_camera(spec, gate, out, stop, progress, detectors=detectors)

    return body


def run_worker(spec: WorkerSpec, out: MessageQueue, stop: StopFlag) -> None:
    """One camera analysed in the calling thread with its own gate and model session, until ``stop`` is set
    (tests, tools)."""
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
    spec: WorkerSpec,
    gate: Gate,
    out: MessageQueue,
    stop: StopFlag,
    progress: Callable[[], None],
    *,
    detectors: SharedDetectors | None = None,
) -> None:
    """Read the camera until ``stop`` is set; report health every second (analysed frames per second, and the
    frames dropped: observations the queue could not take, and analysis frames the shared detector could not take
    in time) and observations as they come. A failure is reported (offline, with its reason) and raised as
    :class:`AnalysisStopped`."""
    camera_id = spec.stream.camera_id
    refused = lambda refusal: out.put(refusal, block=True, timeout=AUDIT_PUT_TIMEOUT_S)  # noqa: E731
    dropped = 0
    rate = FrameRate()
    alarms = StreamAlarms(camera_id, spec.alarms)
    checks = _StreamChecks(alarms, spec.alarms)
    last_beat = float("-inf")
    analysis: CameraAnalysis | None = None
    costs = _FrameCosts(since=time.monotonic())
    cpu = time.thread_time
    frames = contextlib.ExitStack()
    try:
        analysis = camera_analysis(spec, gate, detectors=detectors, on_model_refused=refused)
        reading = cpu()
        for sample in frames.enter_context(_frames(spec)):
            costs.decode_s += cpu() - reading
            if stop.is_set():
                return  # asked to stop (the group stops its cameras when the service dies: never orphaned)
            progress()
            now = time.monotonic()
            rate.tick(now)
            checks.check(sample, out)
            analysing = time.monotonic()
            for observation in analysis.process(sample.image, sample.at):
                if isinstance(observation, PlateRead):  # one per vehicle, and what a hit list is matched against
                    out.put(observation, block=True, timeout=AUDIT_PUT_TIMEOUT_S)
                elif not _send(out, observation):
                    dropped += 1
            costs.inference_s += time.monotonic() - analysing
            costs.frames += 1
            costs.decoded += sample.decoded_since_last
            if now - last_beat >= HEARTBEAT_S:
                _send(out, costs.report(_beat(spec, rate, alarms, dropped + analysis.dropped, now), now))
                last_beat = now
            reading = cpu()
    except CameraError as err:
        _send(out, _health(spec, HealthState.OFFLINE, str(err)))
        raise AnalysisStopped(1) from None
    except Exception as err:  # contained: reported, then the group restarts the stream
        reason = redact_text(f"camera {camera_id}: internal error {type(err).__name__}: {err}")
        _send(out, _health(spec, HealthState.OFFLINE, reason))
        raise AnalysisStopped(2) from None
    finally:
        frames.close()
        if analysis is not None:
            analysis.close()


def _beat(spec: WorkerSpec, rate: FrameRate, alarms: StreamAlarms, dropped: int, now: float) -> CameraHealth:
    """The camera's health now: degraded while a stream alarm is raised, else as its frame rate says."""
    fps = rate.fps(now)
    state, why = stream_state(fps, spec.stream.analysis_fps, rate.observed_for(now), rate.window_s)
    if alarms.active:
        state = HealthState.DEGRADED
        why = "; ".join(sorted(str(kind) for kind in alarms.active)) + (f"; {why}" if why else "")
    return _health(spec, state, why, fps=fps, dropped=dropped)


@contextlib.contextmanager
def _frames(spec: WorkerSpec) -> Iterator[Iterator[SampledFrame]]:
    """The camera's analysis frames; a dome's masked from its position, read by this process meanwhile (L6)."""
    frames = sampled_frames(spec.stream, spec.clock)
    if spec.dome is None:
        yield frames
        return
    with open_position_track(spec.dome, lambda: spec.clock().timestamp()) as track:
        masker = DomeMasker(spec.dome, track)
        yield (_dome_masked(sample, masker) for sample in frames)


def _dome_masked(sample: SampledFrame, dome: DomeMasker) -> SampledFrame:
    """The frame with the dome's masks filled black, as they were when it was taken (it waits for the position)."""
    height, width = sample.image.shape[:2]
    image = sample.image.copy()
    image[dome.raster(sample.at.timestamp(), width, height)] = 0
    return replace(sample, image=image, luma=None)  # the source picture is not masked: it goes no further
