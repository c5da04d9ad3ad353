"""One deep detector shared by many camera pipelines: their frames are grouped into batches.

A GPU runs a small detector ten to a hundred times faster per image at batch 256 than at batch 1
(docs/detectors.md), and one session per camera would also hold one copy of the model per camera. So pipelines
that live in one process (the camera threads of an analysis group, or later the cameras of one Ray actor) call a
``BatchingDetector`` in front of a single ``OnnxDetector``: ``detect(frame)`` blocks its caller while a dispatcher
thread gathers the frames that arrive within ``max_wait_s`` (or until ``max_batch``, or until every camera that
uses the detector has a frame waiting) and makes one ``detect_batch`` call for all of them. ``SharedDetectors``
holds those of one process: one session per model file, format and score threshold, whatever the number of
cameras.

A camera never waits for the shared detector without end: beyond ``max_pending`` waiting frames, or after
``timeout_s``, its frame is refused with ``DetectorOverloaded`` and the camera counts it as dropped (a frame whose
caller gave up is taken out of the waiting room, never inferred for nothing).

Written here rather than taken from a serving framework (Triton, Ray Serve's ``@serve.batch``): the policy Vigie
needs is small — bounded waiting room, refusal counted rather than queued without end, one camera's bad frame
never failing the others' — and it must run inside the embedded single-host default with no server to deploy.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from vigie.analytics.detect.letterbox import ModelFormat, as_bgr
from vigie.analytics.detect.onnx import OnnxDetector, OnnxDetectorConfig, Provider
from vigie.domain.detections import Detections

Image = npt.NDArray[np.generic]


class BatchDetector(Protocol):
    """What the shared detector must offer (``OnnxDetector`` does)."""

    def detect_batch(self, frames: Sequence[Image]) -> list[Detections]: ...


class DetectorOverloaded(RuntimeError):
    """The shared detector cannot take this frame in time (waiting room full, or no result within ``timeout_s``):
    the frame is not analysed and the caller counts it as dropped."""


class DetectorClosed(RuntimeError):
    """The shared detector was closed; no frame is accepted any more."""


@dataclass(frozen=True, slots=True)
class BatchingConfig:
    """How frames from many cameras are grouped."""

    max_batch: int = 64
    """Most frames in one ``detect_batch`` call."""
    max_wait_s: float = 0.01
    """How long the first frame of a batch waits for others (adds at most this much latency); no wait once every
    camera attached to the detector has a frame in."""
    max_pending: int = 512
    """Frames allowed to wait; beyond, ``detect`` raises ``DetectorOverloaded`` at once instead of queueing."""
    timeout_s: float = 2.0
    """Longest a caller waits for its frame's detections before giving up on the frame (``DetectorOverloaded``):
    a live camera's analysis frame is worth nothing seconds late, and its stream must go on being read."""
    workers: int = 1
    """Batches run at once (dispatcher threads). 1 suits a GPU, or a model with a dynamic batch axis; on CPU with a
    fixed-batch model, more workers (each one onnxruntime run on one intra-op thread) use more cores."""

    def __post_init__(self) -> None:
        if self.max_batch < 1 or self.max_pending < 1 or self.max_wait_s < 0 or self.workers < 1:
            raise ValueError("max_batch, max_pending and workers must be ≥ 1 and max_wait_s ≥ 0")
        if self.timeout_s <= 0:
            raise ValueError("timeout_s must be > 0")


@dataclass(slots=True)
class BatchingStats:
    frames: int = 0
    """Frames analysed (successfully or not)."""
    calls: int = 0
    """``detect_batch`` calls made."""
    refused: int = 0
    """Frames refused because the waiting room was full."""
    timed_out: int = 0
    """Frames whose caller stopped waiting (``timeout_s``); those still waiting were not inferred."""
    fallbacks: int = 0
    """Batches that failed as a whole and were retried frame by frame."""
    batch_sizes: dict[int, int] = field(default_factory=dict)
    """How many ``detect_batch`` calls had each size (the retries of a failed batch are not counted)."""
    busy_s: float = 0.0
    """Seconds spent inside ``detect_batch`` (summed over workers)."""

    @property
    def mean_batch(self) -> float:
        return self.frames / self.calls if self.calls else 0.0


@dataclass(slots=True)
class _Pending:
    frame: npt.NDArray[np.uint8]
    result: Future[Detections]


class BatchingDetector:
    """Thread-safe front of one detector; ``detect`` has the ``BoxDetector`` signature pipelines expect."""

    def __init__(self, detector: BatchDetector, config: BatchingConfig | None = None) -> None:
        self.detector = detector
        self.config = config or BatchingConfig()
        self.stats = BatchingStats()
        self._queue: deque[_Pending] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._clients = 0
        self._threads = [
            threading.Thread(target=self._dispatch, name=f"vigie-batching-detector-{i}", daemon=True)
            for i in range(self.config.workers)
        ]
        for thread in self._threads:
            thread.start()

    def attach(self) -> None:
        """One more camera uses this detector: a batch is sent without waiting once each has a frame in."""
        with self._cond:
            self._clients += 1

    def detach(self) -> None:
        with self._cond:
            self._clients = max(0, self._clients - 1)
            self._cond.notify_all()

    @property
    def clients(self) -> int:
        return self._clients

    def detect(self, frame_bgr: Image, timeout: float | None = None) -> Detections:
        """The detections of one frame, computed in a batch with other callers' frames.

        Raises ``FrameError`` at once for a frame no detector could read (so it never spoils a batch),
        ``DetectorOverloaded`` when too many frames wait or no result came within ``timeout`` (default
        ``config.timeout_s``), ``DetectorClosed`` after ``close``, and whatever the detector raised for this frame.
        """
        return self.detect_batch([frame_bgr], timeout)[0]

    def detect_batch(self, frames: Sequence[Image], timeout: float | None = None) -> list[Detections]:
        """The detections of several frames of one caller (e.g. the crops of a motion-gated camera), each in the
        shared batches; refused as a whole when the waiting room cannot take them all."""
        pending = [_Pending(as_bgr(frame), Future()) for frame in frames]
        with self._cond:
            if self._closed:
                raise DetectorClosed("the shared detector is closed")
            if len(self._queue) + len(pending) > self.config.max_pending:
                self.stats.refused += len(pending)
                raise DetectorOverloaded(
                    f"{len(self._queue)} frames already wait for the shared detector (max_pending); frame dropped"
                )
            self._queue.extend(pending)
            self._cond.notify(len(pending))
        limit = self.config.timeout_s if timeout is None else timeout
        deadline = time.monotonic() + limit
        try:
            return [p.result.result(max(0.0, deadline - time.monotonic())) for p in pending]
        except FutureTimeout:
            with self._cond:
                for p in pending:  # still waiting: leaves the room, never inferred; in a batch: result discarded
                    if p.result.cancel():
                        with contextlib.suppress(ValueError):
                            self._queue.remove(p)
                self.stats.timed_out += len(pending)
            raise DetectorOverloaded(
                f"no detections from the shared detector within {limit:g} s; frame dropped"
            ) from None

    def close(self) -> None:
        """Finish the frames already waiting, then stop the dispatchers."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join()

    def __enter__(self) -> BatchingDetector:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _next_batch(self) -> list[_Pending]:
        while True:
            taken = self._take()
            if not taken:
                return []  # closed and drained
            # A frame whose caller gave up (timed out) is dropped here rather than inferred for nobody.
            batch = [p for p in taken if p.result.set_running_or_notify_cancel()]
            if batch:
                return batch

    def _take(self) -> list[_Pending]:
        cfg = self.config
        with self._cond:
            while not self._queue and not self._closed:
                self._cond.wait()
            if not self._queue:
                return []
            deadline = time.monotonic() + cfg.max_wait_s
            while len(self._queue) < min(cfg.max_batch, self._clients or cfg.max_batch) and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return [self._queue.popleft() for _ in range(min(cfg.max_batch, len(self._queue)))]

    def _dispatch(self) -> None:
        while batch := self._next_batch():
            self._run(batch)

    def _run(self, batch: list[_Pending]) -> None:
        with self._cond:
            stats = self.stats
            stats.frames += len(batch)
            stats.calls += 1
            stats.batch_sizes[len(batch)] = stats.batch_sizes.get(len(batch), 0) + 1
        started = time.perf_counter()
        try:
            results = self.detector.detect_batch([p.frame for p in batch])
        except Exception as err:
            self._busy(started)
            if len(batch) == 1 or isinstance(err, DetectorOverloaded):
                # A detector that is itself overloaded (a remote service refusing, out of time) refuses the whole
                # batch: retrying it frame by frame would only wait longer for the same answer.
                for pending in batch:
                    pending.result.set_exception(err)
                return
            # One frame may have broken the batch: retry one by one so only its own caller gets the error.
            with self._cond:
                self.stats.fallbacks += 1
            for pending in batch:
                with self._cond:
                    self.stats.calls += 1
                try:
                    pending.result.set_result(self.detector.detect_batch([pending.frame])[0])
                except Exception as single_err:
                    pending.result.set_exception(single_err)
            return
        self._busy(started)
        for pending, result in zip(batch, results, strict=True):
            pending.result.set_result(result)

    def _busy(self, started: float) -> None:
        with self._cond:
            self.stats.busy_s += time.perf_counter() - started


@dataclass(frozen=True, slots=True)
class ModelKey:
    """What makes two cameras' detectors the same one: the file, how its outputs are read, the score threshold and
    the approved hash (two cameras naming the same file under two approvals do not share a session)."""

    path: Path
    format: ModelFormat
    score_threshold: float | None = None
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class SharedDetectorSettings:
    """How the shared detectors of one analysis process run."""

    batching: BatchingConfig = field(default_factory=BatchingConfig)
    intra_op_threads: int = 1
    """onnxruntime threads per inference. 1 by default: a process hosting many cameras already keeps the cores busy
    with decoding, and on a shared CPU one thread per run is the fastest per image (docs/benchmarks.md, Analysis
    density); use ``batching.workers`` to run more inferences at once."""
    providers: tuple[Provider, ...] = ("cuda", "cpu")


Loader = Callable[[OnnxDetectorConfig], BatchDetector]


class SharedDetectors:
    """The object detectors of one analysis process: one session per :class:`ModelKey`, behind one
    ``BatchingDetector``, whatever the number of cameras that use it.

    ``get`` loads a model the first time it is asked for (hashing the file when an approved hash is given: a
    changed file raises ``ModelIntegrityError``, L30, and is tried again at the next ``get``, never kept); the
    cameras then share it. Thread-safe: cameras may be (re)built from their own threads."""

    def __init__(self, settings: SharedDetectorSettings | None = None, *, load: Loader = OnnxDetector) -> None:
        self.settings = settings or SharedDetectorSettings()
        self._load = load
        self._lock = threading.Lock()
        self._detectors: dict[ModelKey, BatchingDetector] = {}
        self.sessions_built = 0

    def get(self, key: ModelKey) -> BatchingDetector:
        with self._lock:
            shared = self._detectors.get(key)
            if shared is None:
                config = OnnxDetectorConfig(
                    model_path=key.path,
                    format=key.format,
                    score_threshold=key.score_threshold,
                    sha256=key.sha256,
                    providers=self.settings.providers,
                    intra_op_threads=self.settings.intra_op_threads,
                )
                detector = self._load(config)
                batching = self.settings.batching
                fixed = getattr(detector, "batch_size", None)
                if isinstance(fixed, int) and 0 < fixed < batching.max_batch:
                    # The model runs a fixed batch at a time anyway: handing it that many frames at once gives each
                    # camera its result as soon as its own frame is inferred, and keeps frames waiting behind it.
                    batching = replace(batching, max_batch=fixed)
                shared = BatchingDetector(detector, batching)
                self.sessions_built += 1
                self._detectors[key] = shared
            return shared

    def detectors(self) -> dict[ModelKey, BatchingDetector]:
        with self._lock:
            return dict(self._detectors)

    def close(self) -> None:
        with self._lock:
            detectors, self._detectors = list(self._detectors.values()), {}
        for detector in detectors:
            detector.close()
