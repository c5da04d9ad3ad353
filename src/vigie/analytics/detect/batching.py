"""One deep detector shared by many camera pipelines: their frames are grouped into batches.

A GPU runs a small detector ten to a hundred times faster per image at batch 256 than at batch 1
(docs/detectors.md), and one session per camera would also hold one copy of the model per camera. So pipelines
that live in one process (threads, or later the cameras of one Ray actor) call a ``BatchingDetector`` in front of a
single ``OnnxDetector``: ``detect(frame)`` blocks its caller while a dispatcher thread gathers the frames that
arrive within ``max_wait_s`` (or until ``max_batch``) and makes one ``detect_batch`` call for all of them.

Written here rather than taken from a serving framework (Triton, Ray Serve's ``@serve.batch``): the policy Vigie
needs is small — bounded waiting room, refusal counted rather than queued without end, one camera's bad frame
never failing the others' — and it must run inside the embedded single-host default with no server to deploy.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from vigie.analytics.detect.letterbox import as_bgr
from vigie.domain.detections import Detections

Image = npt.NDArray[np.generic]


class BatchDetector(Protocol):
    """What the shared detector must offer (``OnnxDetector`` does)."""

    def detect_batch(self, frames: Sequence[Image]) -> list[Detections]: ...


class DetectorOverloaded(RuntimeError):
    """The shared detector's waiting room is full: the frame is not analysed (the caller counts it as dropped)."""


class DetectorClosed(RuntimeError):
    """The shared detector was closed; no frame is accepted any more."""


@dataclass(frozen=True, slots=True)
class BatchingConfig:
    """How frames from many cameras are grouped."""

    max_batch: int = 64
    """Most frames in one ``detect_batch`` call."""
    max_wait_s: float = 0.01
    """How long the first frame of a batch waits for others (adds at most this much latency)."""
    max_pending: int = 512
    """Frames allowed to wait; beyond, ``detect`` raises ``DetectorOverloaded`` at once instead of queueing."""

    def __post_init__(self) -> None:
        if self.max_batch < 1 or self.max_pending < 1 or self.max_wait_s < 0:
            raise ValueError("max_batch and max_pending must be ≥ 1 and max_wait_s ≥ 0")


@dataclass(slots=True)
class BatchingStats:
    frames: int = 0
    """Frames analysed (successfully or not)."""
    calls: int = 0
    """``detect_batch`` calls made."""
    refused: int = 0
    """Frames refused because the waiting room was full."""
    fallbacks: int = 0
    """Batches that failed as a whole and were retried frame by frame."""

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
        self._thread = threading.Thread(target=self._dispatch, name="vigie-batching-detector", daemon=True)
        self._thread.start()

    def detect(self, frame_bgr: Image, timeout: float | None = 30.0) -> Detections:
        """The detections of one frame, computed in a batch with other callers' frames.

        Raises ``FrameError`` at once for a frame no detector could read (so it never spoils a batch),
        ``DetectorOverloaded`` when too many frames wait, ``DetectorClosed`` after ``close``, and whatever the
        detector raised for this frame.
        """
        pending = _Pending(as_bgr(frame_bgr), Future())
        with self._cond:
            if self._closed:
                raise DetectorClosed("the shared detector is closed")
            if len(self._queue) >= self.config.max_pending:
                self.stats.refused += 1
                raise DetectorOverloaded(
                    f"{len(self._queue)} frames already wait for the shared detector (max_pending); frame dropped"
                )
            self._queue.append(pending)
            self._cond.notify()
        return pending.result.result(timeout)

    def close(self) -> None:
        """Finish the frames already waiting, then stop the dispatcher."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join()

    def __enter__(self) -> BatchingDetector:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _next_batch(self) -> list[_Pending]:
        cfg = self.config
        with self._cond:
            while not self._queue and not self._closed:
                self._cond.wait()
            if not self._queue:
                return []  # closed and drained
            deadline = time.monotonic() + cfg.max_wait_s
            while len(self._queue) < cfg.max_batch and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return [self._queue.popleft() for _ in range(min(cfg.max_batch, len(self._queue)))]

    def _dispatch(self) -> None:
        while batch := self._next_batch():
            self._run(batch)

    def _run(self, batch: list[_Pending]) -> None:
        self.stats.frames += len(batch)
        self.stats.calls += 1
        try:
            results = self.detector.detect_batch([p.frame for p in batch])
        except Exception as err:
            if len(batch) == 1:
                batch[0].result.set_exception(err)
                return
            # One frame may have broken the batch: retry one by one so only its own caller gets the error.
            self.stats.fallbacks += 1
            for pending in batch:
                self.stats.calls += 1
                try:
                    pending.result.set_result(self.detector.detect_batch([pending.frame])[0])
                except Exception as single_err:
                    pending.result.set_exception(single_err)
            return
        for pending, result in zip(batch, results, strict=True):
            pending.result.set_result(result)
