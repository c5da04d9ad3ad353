"""Dense analysis (issue 16): N 640×360 sub-streams analysed by ONE Vigie analysis-group process.

The streams come from the real RTSP server (``vigie.sim.rtsp.RtspSimServer``: GStreamer's rtsp-server fed by ffmpeg
in real time) serving ``car-detection.mp4`` re-encoded to 640×360 at its own 12.5 fps (GOP 2 s, SPS/PPS before
every keyframe; a generated clip when the development data is absent), ``--mounts`` mounts shared by the N clients
(each its own RTSP session). Every phase runs in a fresh ``spawn``-ed process, one after the other:

- **bare**: N threads each decoding its stream with PyAV (one decoder thread, as the reader), nothing else;
- **analysis**: the production body of an analysis group, ``vigie.runtime.workers.analysis.analysis_group`` (one
  thread per camera: ``sampled_frames`` at 5 fps grey → stream integrity alarms → ``CameraAnalysis``: motion;
  health every second; the group's watchdog and beat), every gate open;
- **empty**: the same group with no camera (and, for the detector run, the shared YOLOX-Nano loaded and run once)
  for the RSS baseline;
- **detector**: 16 cameras (``--detector-cameras``) in BGR with the shared YOLOX-Nano, one session and one
  ``BatchingDetector`` for all, tracking behind an open gate; every analysed frame goes to the detector (the gate's
  full-frame refresh at every frame: the worst case, every camera always moving, 80 images/s asked of a model that
  does about 65 on one core); and, in the same process, the model alone on batches of 16 of the clip's frames
  (``detect_batch``, same session settings), half the window before the cameras start and half after they stopped
  (the mean: the host's load drifts).

(a) analysed-camera throughput = decoded frames per CPU second of the analysis process (all threads) over the
window, against the same for the bare decode: ratio (goal ≥ 0.8). (b) RSS per analysed camera = (mean RSS in the
window − RSS of the empty group) / N (goal ≤ 30 MB, models counted once: the empty detector group has it loaded).
(c) detector images/s across the cameras (frames the shared detector inferred in the window / window) against the
model's own batched images/s (goal ≥ 0.9). CPU and RSS from the phase's own process (``time.process_time``,
``/proc/self/statm``).

    .venv/bin/python bench/analysis_density.py                        # 8 and 16 cameras, 20 s windows
    .venv/bin/python bench/analysis_density.py --cameras                # the detector run only
    .venv/bin/python bench/analysis_density.py --cameras 8 16 32 --window 30 --intra-op 1 --workers 1
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import queue
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

VIDEO = Path("/work/shared/data/video/car-detection.mp4")
MODEL = Path("/work/shared/data/models/yolox_nano.onnx")
PAGE = os.sysconf("SC_PAGE_SIZE")
WIDTH, HEIGHT = 640, 360


def rss_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * PAGE


class Sampler:
    """RSS of this process every 0.5 s while running."""

    def __init__(self) -> None:
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.samples.append(rss_bytes())

    def __enter__(self) -> Sampler:
        self.samples.append(rss_bytes())
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def mean(self) -> float:
        return sum(self.samples) / len(self.samples)


def clip(out: Path, seconds: float = 30.0) -> Path:
    """The sub-stream served: 640×360 H.264 at 12.5 fps, GOP 2 s, headers before every keyframe (RTSP)."""
    options = {"preset": "veryfast", "x264-params": "keyint=25:min-keyint=25:scenecut=0:repeat-headers=1"}
    rate = Fraction(25, 2)
    with av.open(str(out), mode="w", format="mp4") as dst:
        stream = dst.add_stream("libx264", rate=rate, options=options)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.codec_context.time_base = 1 / rate
        for index, frame in enumerate(_frames(seconds)):
            scaled = frame.reformat(width=WIDTH, height=HEIGHT, format="yuv420p")
            scaled.pts, scaled.time_base = index, 1 / rate
            dst.mux(stream.encode(scaled))
        dst.mux(stream.encode(None))
    return out


def _frames(seconds: float) -> Iterator[av.VideoFrame]:
    if VIDEO.is_file():
        with av.open(str(VIDEO)) as src:
            for frame in src.decode(src.streams.video[0]):
                if frame.time is not None and frame.time >= seconds:
                    return
                yield frame
        return
    rng = np.random.default_rng(0)
    base = rng.integers(40, 200, size=(HEIGHT // 8, WIDTH // 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    for i in range(round(seconds * 12.5)):
        image = base.copy()
        x = (i * 6) % (WIDTH - 60)
        image[150:230, x : x + 40] = 230
        yield av.VideoFrame.from_ndarray(image, format="bgr24")


# --- phases, each in its own spawned process ---------------------------------------------------------------------


def _window(warmup: float, window: float, counts: dict[Any, int], progress: Any = None) -> dict[str, float]:
    """Wait ``warmup`` s, then measure CPU, frames and RSS for ``window`` s."""
    time.sleep(warmup)
    frames0, cpu0, t0 = sum(counts.values()), time.process_time(), time.monotonic()
    with Sampler() as rss:
        while time.monotonic() - t0 < window:
            time.sleep(0.2)
            if progress is not None:
                progress()
    frames, cpu, wall = sum(counts.values()) - frames0, time.process_time() - cpu0, time.monotonic() - t0
    return {"frames": frames, "cpu_s": cpu, "wall_s": wall, "rss": rss.mean}


def bare_phase(urls: list[str], warmup: float, window: float) -> dict[str, float]:
    counts: dict[int, int] = dict.fromkeys(range(len(urls)), 0)
    stop = threading.Event()

    def decode(i: int, url: str) -> None:
        # opened as vigie.ingest.reader opens a sub stream: FFmpeg's socket timeout, not PyAV's read callback
        options = {"rtsp_transport": "tcp", "timeout": str(10_000_000)}
        with av.open(url, options=options, timeout=(10.0, None)) as container:
            stream = container.streams.video[0]
            stream.thread_count = 1
            for _ in container.decode(stream):
                counts[i] += 1
                if stop.is_set():
                    return

    threads = [threading.Thread(target=decode, args=(i, u), daemon=True) for i, u in enumerate(urls)]
    for t in threads:
        t.start()
    result = _window(warmup, window, counts)
    stop.set()
    for t in threads:
        t.join(15)
    return result


class Open:
    def allows(self, module: str, camera_id: str, at: object) -> bool:
        return True

    def zones(self, module: str, camera_id: str) -> tuple[str, ...]:
        return ()


def open_gate(on_transition: object) -> Open:
    return Open()


def _specs(urls: list[str], model: Path | None) -> tuple[Any, ...]:
    from vigie.analytics.detect.motion import MotionConfig
    from vigie.domain.digest import file_sha256
    from vigie.ingest.reader import StreamSpec
    from vigie.runtime.workers.analysis import ModelSpec, WorkerSpec

    spec = None if model is None else ModelSpec("yolox_nano", model, "yolox", file_sha256(model))
    pixels = "gray" if model is None else "bgr24"
    return tuple(
        WorkerSpec(
            stream=StreamSpec(f"cam-{i}", url, analysis_fps=5.0, analysis_width=WIDTH, pixel_format=pixels),
            motion=MotionConfig(),
            gate=open_gate,  # type: ignore[arg-type]
            model=spec,
        )
        for i, url in enumerate(urls)
    )


def analysis_phase(
    urls: list[str], warmup: float, window: float, model: Path | None, intra_op: int, workers: int
) -> dict[str, Any]:
    import vigie.runtime.workers.analysis as analysis
    from vigie.analytics.detect.batching import BatchingConfig, SharedDetectors, SharedDetectorSettings

    counts: dict[str, int] = {}
    original = analysis.sampled_frames

    def counting(spec: Any, clock: Any) -> Iterator[Any]:
        counts.setdefault(spec.camera_id, 0)
        for sample in original(spec, clock):
            counts[spec.camera_id] += sample.decoded_since_last
            yield sample

    analysis.sampled_frames = counting  # type: ignore[assignment]
    pools: list[SharedDetectors] = []

    class Captured(SharedDetectors):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            pools.append(self)

    analysis.SharedDetectors = Captured  # type: ignore[misc]
    if model is not None:  # every analysed frame to the detector: the worst case, every camera always moving
        from dataclasses import replace

        from vigie.analytics.detect.gating import MotionGateConfig

        settings_of = analysis.camera_settings
        ungated = MotionGateConfig(refresh_s=1e-6)
        analysis.camera_settings = lambda spec: replace(settings_of(spec), gating=ungated)  # type: ignore[assignment]
    shared = SharedDetectorSettings(BatchingConfig(workers=workers), intra_op_threads=intra_op, providers=("cpu",))
    spec = analysis.AnalysisGroupSpec("analysis-0", _specs(urls, model), open_gate, detectors=shared)  # type: ignore[arg-type]
    before = model_alone(model, window / 2, intra_op, workers, len(urls)) if model is not None else 0.0
    out: queue.Queue[Any] = queue.Queue()
    stop = threading.Event()
    group = threading.Thread(target=analysis.analysis_group, args=(spec, out, queue.Queue(), stop), daemon=True)
    group.start()
    messages: list[Any] = []

    def drain() -> None:
        while True:
            try:
                messages.append(out.get_nowait())
            except queue.Empty:
                return

    time.sleep(warmup)
    stats0 = {k: (d.stats.frames, d.stats.busy_s) for p in pools for k, d in p.detectors().items()}
    result: dict[str, Any] = _window(0.0, window, counts, drain)
    stats1 = {
        k: (d.stats.frames, d.stats.busy_s, dict(d.stats.batch_sizes)) for p in pools for k, d in p.detectors().items()
    }
    drain()
    stop.set()
    group.join(20)
    from vigie.domain.camera import CameraHealth

    health = [m for m in messages if isinstance(m, CameraHealth)]
    result["cameras_reporting"] = len({h.camera_id for h in health})
    result["dropped"] = sum(max((h.frames_dropped for h in health if h.camera_id == c), default=0) for c in counts)
    result["mean_fps_in"] = float(np.mean([h.fps_in for h in health if h.fps_in > 0] or [0.0]))
    if stats1:
        [(key, (frames, busy, sizes))] = stats1.items()
        result["detector_images"] = frames - stats0[key][0]
        result["detector_busy_s"] = busy - stats0[key][1]
        result["batch_sizes"] = sizes
        after = model_alone(model, window / 2, intra_op, workers, len(urls))
        result["model_alone"] = (before, after)  # before the cameras started and after they stopped: load drifts
        result["model_images_per_s"] = (before + after) / 2
    return result


def model_alone(model: Path | None, seconds: float, intra_op: int, workers: int, batch: int) -> float:
    """The model's own throughput: ``detect_batch`` on batches of ``batch`` real frames, ``workers`` at once."""
    from vigie.analytics.detect.onnx import OnnxDetector, OnnxDetectorConfig

    assert model is not None
    detector = OnnxDetector(
        OnnxDetectorConfig(model_path=model, format="yolox", providers=("cpu",), intra_op_threads=intra_op)
    )
    frames = [
        f.to_ndarray(width=WIDTH, height=HEIGHT, format="bgr24")
        for _, f in zip(range(batch), _frames(30), strict=False)
    ]
    done = [0] * workers
    deadline = time.monotonic() + seconds

    def run(k: int) -> None:
        while time.monotonic() < deadline:
            detector.detect_batch(frames)
            done[k] += len(frames)

    started = time.monotonic()
    threads = [threading.Thread(target=run, args=(k,)) for k in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.monotonic() - started)


def empty_phase(model: Path | None, intra_op: int) -> dict[str, float]:
    import vigie.runtime.workers.analysis as analysis
    from vigie.analytics.detect.batching import SharedDetectors, SharedDetectorSettings
    from vigie.analytics.detect.onnx import FORMATS  # noqa: F401  (same imports as a group with cameras)

    detectors = None
    if model is not None:
        from vigie.domain.digest import file_sha256

        detectors = SharedDetectors(SharedDetectorSettings(intra_op_threads=intra_op, providers=("cpu",)))
        from vigie.analytics.detect.batching import ModelKey

        shared = detectors.get(ModelKey(model, "yolox", None, file_sha256(model)))
        shared.detect(np.zeros((HEIGHT, WIDTH, 3), np.uint8))
    spec = analysis.AnalysisGroupSpec("analysis-0", (), open_gate)  # type: ignore[arg-type]
    stop = threading.Event()
    group = threading.Thread(
        target=analysis.analysis_group, args=(spec, queue.Queue(), queue.Queue(), stop), daemon=True
    )
    group.start()
    result = _window(2.0, 4.0, {})
    stop.set()
    group.join(10)
    if detectors is not None:
        detectors.close()
    return result


def in_child(function: Any, *args: Any) -> Any:
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)


# --- main ------------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, nargs="*", default=[8, 16], help="none: the detector run only")
    parser.add_argument("--detector-cameras", type=int, default=16)
    parser.add_argument("--mounts", type=int, default=4, help="RTSP mounts (ffmpeg feeders) shared by the clients")
    parser.add_argument("--window", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=6.0)
    parser.add_argument("--intra-op", type=int, default=1, help="onnxruntime intra-op threads of the shared session")
    parser.add_argument("--workers", type=int, default=1, help="inferences the shared detector runs at once")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from vigie.sim.rtsp import RtspSimServer, rtsp_unavailable_reason

    missing = rtsp_unavailable_reason()
    work = Path(tempfile.mkdtemp(prefix="vigie-analysis-density-"))
    try:
        video = clip(work / "substream.mp4")
        source = "car-detection.mp4 re-encoded" if VIDEO.is_file() else "a generated clip"
        print(f"clip: {source}, 640×360 H.264 12.5 fps, GOP 2 s; load average {os.getloadavg()[0]:.1f}")
        most = max([*args.cameras, args.detector_cameras])
        if missing is None:
            server = RtspSimServer({f"m{k}": video for k in range(args.mounts)})
            server.start()
            urls = [server.url(f"m{i % args.mounts}") for i in range(most)]
            print(f"served by the real RTSP server ({args.mounts} mounts, one RTSP session per camera)")
        else:
            server = None
            urls = [video.as_uri()] * most
            print(f"RTSP server unavailable ({missing}): reading the file (paced like a live camera)")
        try:
            results = run_all(args, urls)
        finally:
            if server is not None:
                server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(args, results)


def run_all(args: argparse.Namespace, urls: list[str]) -> dict[str, Any]:
    results: dict[str, Any] = {"empty": in_child(empty_phase, None, args.intra_op)}
    print(f"empty group: RSS {results['empty']['rss'] / 2**20:.1f} MiB", flush=True)
    for n in args.cameras:
        bare = in_child(bare_phase, urls[:n], args.warmup, args.window)
        print(
            f"{n} cameras, bare decode: {_rate(bare):.0f} frames/CPU s ({bare['frames'] / bare['wall_s'] / n:.1f} "
            f"fps per camera), RSS {bare['rss'] / 2**20:.1f} MiB",
            flush=True,
        )
        analysed = in_child(analysis_phase, urls[:n], args.warmup, args.window, None, args.intra_op, args.workers)
        print(
            f"{n} cameras, analysis group (motion 5 fps): {_rate(analysed):.0f} frames/CPU s "
            f"({analysed['frames'] / analysed['wall_s'] / n:.1f} fps decoded per camera, {analysed['mean_fps_in']:.1f}"
            f" analysed), {analysed['cameras_reporting']} cameras reporting health, dropped {analysed['dropped']}, "
            f"RSS {analysed['rss'] / 2**20:.1f} MiB",
            flush=True,
        )
        results[n] = (bare, analysed)
    if not MODEL.is_file():
        print(f"detector run skipped: {MODEL} absent (see /work/shared/data/README.md)")
        return results
    results["empty_model"] = in_child(empty_phase, MODEL, args.intra_op)
    print(f"empty group with YOLOX-Nano loaded and run once: RSS {results['empty_model']['rss'] / 2**20:.1f} MiB")
    n = args.detector_cameras
    detect = in_child(analysis_phase, urls[:n], args.warmup, args.window, MODEL, args.intra_op, args.workers)
    results["detector"] = detect
    print(
        f"{n} cameras with the shared YOLOX-Nano (intra-op {args.intra_op}, workers {args.workers}): "
        f"{detect['detector_images'] / detect['wall_s']:.1f} images/s inferred (detector busy "
        f"{detect['detector_busy_s'] / detect['wall_s'] / args.workers:.0%}), batch sizes {detect['batch_sizes']}, "
        f"dropped {detect['dropped']}, {_rate(detect):.0f} frames/CPU s, RSS {detect['rss'] / 2**20:.1f} MiB; "
        f"model alone: {detect['model_alone'][0]:.1f} images/s before, {detect['model_alone'][1]:.1f} after",
        flush=True,
    )
    return results


def _rate(phase: dict[str, float]) -> float:
    return phase["frames"] / phase["cpu_s"] if phase["cpu_s"] else 0.0


def report(args: argparse.Namespace, results: dict[str, Any]) -> None:
    base = results["empty"]["rss"]
    lines = []
    for n in args.cameras:
        bare, analysed = results[n]
        lines.append(f"throughput_ratio_{n}: {_rate(analysed) / _rate(bare):.2f}")
        lines.append(f"rss_per_camera_mib_{n}: {(analysed['rss'] - base) / n / 2**20:.1f}")
    if "detector" in results:
        detect, n = results["detector"], args.detector_cameras
        per_camera = (detect["rss"] - results["empty_model"]["rss"]) / n / 2**20
        images = detect["detector_images"] / detect["wall_s"]
        lines.append(f"rss_per_camera_mib_detector_{n}: {per_camera:.1f}")
        lines.append(f"detector_images_per_s_{n}: {images:.1f}")
        lines.append(f"model_images_per_s: {detect['model_images_per_s']:.1f}")
        lines.append(f"detector_ratio_{n}: {images / detect['model_images_per_s']:.2f}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
