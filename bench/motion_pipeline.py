"""Cost of the motion analysis chain relative to decoding: decode + motion + regions → Detections + tracker +
zones, at 5 fps analysis, versus a bare PyAV decode of the same file.

Input: the simulator's built-in ``street`` scene rendered to 640×360 H.264 at 10 and 25 fps (cars and
pedestrians in both directions). Every frame is decoded (H.264 needs it); one frame every 0.2 s of media time
is converted to grey and analysed. Cost is CPU time of this process (all threads), so "frames/s per core" is
decoded frames / CPU seconds, and the ratio is pipeline rate / bare decode rate (goal ≥ 0.6).

    .venv/bin/python bench/motion_pipeline.py           # 20 s of video per frame rate
    .venv/bin/python bench/motion_pipeline.py --long    # 60 s
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np

from vigie.analytics.detect.motion import MotionConfig, MotionDetector
from vigie.analytics.detect.regions import motion_detections
from vigie.analytics.zones import DwellTimer, LineCounter, PolygonZone
from vigie.config.zones import LineDirection
from vigie.ingest.reader import analysis_image
from vigie.sim.builtin import builtin_scene_path
from vigie.sim.render import render
from vigie.sim.scene import load_scene

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.support.substream import scaled_substream  # noqa: E402

try:
    from vigie.analytics.track.bytetrack import ByteTracker
except ImportError:  # the tracker is optional for this benchmark
    ByteTracker = None  # type: ignore[assignment,misc]

ANALYSIS_FPS = 5.0
CAR_VIDEO = Path("/work/shared/data/video/car-detection.mp4")
ROAD = ((0.0, 0.5), (1.0, 0.5), (1.0, 0.8), (0.0, 0.8))
"""The road of the ``street`` background (between 0.50 and 0.80 of the height)."""
CROSSING = ((0.5, 0.35), (0.5, 1.0))
"""A vertical line across pavements and road: cars and pedestrians cross it both ways."""


@dataclass(slots=True)
class Stages:
    """CPU seconds spent in each stage (``time.process_time`` deltas) and what came out."""

    cpu: dict[str, float] = field(default_factory=dict)
    decoded: int = 0
    analysed: int = 0
    regions: int = 0
    tracked: int = 0
    crossings: int = 0

    def add(self, stage: str, since: float) -> float:
        now = time.process_time()
        self.cpu[stage] = self.cpu.get(stage, 0.0) + now - since
        return now


def bare_decode(path: Path, threads: str = "1") -> tuple[int, float]:
    """Every frame decoded, nothing converted; returns (frames, CPU s). ``threads``: "1" (one decoding thread,
    as the reader does) or "AUTO" (FFmpeg's frame + slice threads)."""
    cpu = time.process_time()
    frames = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        _threads(stream, threads)
        for _ in container.decode(stream):
            frames += 1
    return frames, time.process_time() - cpu


def _threads(stream: av.video.stream.VideoStream, threads: str) -> None:
    if threads == "AUTO":
        stream.thread_type = "AUTO"
    else:
        stream.thread_count = 1


def grey(frame: av.VideoFrame, fast: bool) -> np.ndarray:
    """The luma of a frame: through swscale (``to_ndarray``), or read straight from the Y plane of YUV input."""
    if not fast or frame.format.name not in {"yuv420p", "yuvj420p", "nv12"}:
        converted: np.ndarray = frame.to_ndarray(format="gray")
        return converted
    plane = frame.planes[0]
    rows: np.ndarray = np.frombuffer(memoryview(plane), np.uint8).reshape(frame.height, plane.line_size)
    return rows[:, : frame.width]


def pipeline(path: Path, with_tracker: bool, motion_width: int | None) -> Stages:
    """Decode everything, analyse at ``ANALYSIS_FPS``: motion → Detections → tracker → zone, line, dwell.

    ``motion_width``: ``None`` runs MOG2 on the full 640-wide grey frame from ``to_ndarray``; a width reads the Y
    plane directly and runs MOG2 on a frame scaled down to that width (boxes are still reported in pixels of
    the analysed frame).
    """
    shipped = motion_width == -1
    detector = MotionDetector() if shipped else MotionDetector(MotionConfig(process_width=None))
    tracker = ByteTracker() if with_tracker and ByteTracker is not None else None
    zone = PolygonZone(ROAD)
    line = LineCounter(CROSSING, LineDirection.BOTH)
    dwell = DwellTimer(PolygonZone(ROAD))
    stages = Stages()
    period = 1.0 / ANALYSIS_FPS
    next_due = 0.0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        _threads(stream, "1" if shipped else "AUTO")
        t = time.process_time()
        for frame in container.decode(stream):
            stages.decoded += 1
            at = float(frame.time or 0.0)
            t = stages.add("decode", t)
            if at + 1e-6 < next_due:
                continue
            next_due = max(next_due + period, at)
            stages.analysed += 1
            if shipped:
                image = analysis_image(frame, frame.width, frame.height, "gray")
            else:
                image = grey(frame, fast=motion_width is not None)
            size = (image.shape[1], image.shape[0])
            if motion_width is not None and 0 < motion_width < size[0]:
                small = (motion_width, round(size[1] * motion_width / size[0]))
                image = cv2.resize(image, small, interpolation=cv2.INTER_AREA)
            t = stages.add("convert", t)
            regions = detector.detect(image)
            t = stages.add("motion", t)
            detections = motion_detections(regions, size)
            stages.regions += len(detections)
            t = stages.add("regions", t)
            if tracker is not None:
                detections = tracker.update(detections, period)
                stages.tracked = max(stages.tracked, int(detections.track_ids.max(initial=-1)) + 1)
                t = stages.add("tracker", t)
            zone.trigger(detections, size)
            crossed_in, crossed_out = line.trigger(detections, size, at)
            stages.crossings += int(crossed_in.sum() + crossed_out.sum())
            dwell.update(detections, size, at)
            t = stages.add("zones", t)
    return stages


def measure(name: str, path: Path) -> None:
    frames, auto_cpu = bare_decode(path, "AUTO")
    _, single_cpu = bare_decode(path, "1")
    bare = {"AUTO": frames / auto_cpu, "1": frames / single_cpu}
    with av.open(str(path)) as container:
        fps = float(container.streams.video[0].average_rate or 0)
    print(f"{name}: 640×360 H.264 {fps:g} fps, {frames} frames, analysis at {ANALYSIS_FPS:g} fps")
    print(
        f"  bare PyAV decode: threads AUTO {auto_cpu:.2f} CPU s = {bare['AUTO']:.0f} frames/s per core; "
        f"one thread {single_cpu:.2f} CPU s = {bare['1']:.0f} frames/s per core"
    )
    modes = (
        ("to_ndarray grey, MOG2 at 640, decoder threads AUTO", None, "AUTO"),
        ("Y plane, MOG2 at 320, decoder threads AUTO", 320, "AUTO"),
        ("vigie as shipped: one decoder thread, analysis_image + MotionDetector()", -1, "1"),
    )
    for label, motion_width, threads in modes:
        stages = pipeline(path, with_tracker=True, motion_width=motion_width)
        total = sum(stages.cpu.values())
        rate = stages.decoded / total
        per_frame = ", ".join(
            f"{stage} {1000 * cpu / (stages.decoded if stage == 'decode' else stages.analysed):.2f}"
            for stage, cpu in stages.cpu.items()
        )
        versus = f"ratio {rate / bare[threads]:.2f} vs bare decode with the same threads"
        if threads == "1":
            versus += f" ({rate / bare['AUTO']:.2f} vs bare decode with threads AUTO)"
        print(f"  pipeline ({label}): {total:.2f} CPU s = {rate:.0f} frames/s per core, {versus}")
        print(
            f"    {stages.analysed} analysed, {stages.regions} motion regions, {stages.tracked} track ids, "
            f"{stages.crossings} line crossings; ms CPU per frame (decode: per decoded frame, others: per "
            f"analysed frame): {per_frame}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--long", action="store_true", help="60 s of video instead of 20 s")
    args = parser.parse_args()
    seconds = 60.0 if args.long else 20.0
    if ByteTracker is None:
        print("vigie.analytics.track is not there: the tracker stage is skipped")
    base = load_scene(builtin_scene_path("street"))
    with tempfile.TemporaryDirectory(prefix="vigie-bench-") as tmp:
        for fps in (10, 25):
            scene = base.model_copy(update={"fps": fps, "duration_s": seconds, "width": 640, "height": 360})
            measure(f"street scene {fps} fps", render(scene, Path(tmp) / f"street-{fps}.mp4").video_path)
        if CAR_VIDEO.is_file():
            measure("car-detection.mp4 scaled", scaled_substream(CAR_VIDEO, Path(tmp) / "car-640.mp4", seconds))


if __name__ == "__main__":
    main()
