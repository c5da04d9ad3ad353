"""Motion in a region over recorded segments (issue 22): the search's speed against a bare decode of the same files.

Footage: the simulator's built-in ``street`` scene rendered to 640×360 H.264 at 25 fps (veryfast, GOP 2 s, as
``vigie sim render`` writes it), and ``car-detection.mp4`` from /work/shared/data/video scaled to 640×360 when it is
there; each remuxed (no transcode) into 10 s MPEG-TS segments cut on keyframes, as the recorder writes them.

Measured in one run, CPU time of this process (one decoding thread everywhere, so CPU s = core s):
- bare decode: every picture of every segment decoded, nothing converted: pictures/s and × real time;
- the search (``vigie.analytics.forensics.motion_region.search_motion``) over the same segments, one region, at a
  few steps: × real time per core, and its ratio to the bare decode. Goal: ≥ 50× real time per core.

    .venv/bin/python bench/forensic_motion.py           # 30 s of footage per source
    .venv/bin/python bench/forensic_motion.py --long    # 120 s
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av

from vigie.analytics.forensics.motion_region import MotionSearchParams, RecordedFile, search_motion
from vigie.domain.geometry import Box
from vigie.sim.builtin import builtin_scene_path
from vigie.sim.render import render
from vigie.sim.scene import load_scene

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.support.substream import scaled_substream  # noqa: E402

CAR_VIDEO = Path("/work/shared/data/video/car-detection.mp4")
SEGMENT_SECONDS = 10.0
REGION = Box(0.25, 0.45, 0.5, 0.4)
"""The lower middle of the picture, where the street scene's traffic passes."""
STEPS = (0.5, 1.0, 2.0)
ORIGIN = datetime(2026, 3, 14, 14, 0, tzinfo=UTC)  # the footage's own clock


def segments(source: Path, out_dir: Path) -> list[RecordedFile]:
    """``source`` remuxed into MPEG-TS files cut on the first keyframe after ``SEGMENT_SECONDS`` (the recorder's
    rule), with the start of each."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files: list[RecordedFile] = []
    with av.open(str(source)) as src:
        in_stream = src.streams.video[0]
        output: Any = None
        stream: Any = None
        first = 0.0
        for packet in src.demux(in_stream):
            if packet.pts is None or packet.dts is None:
                continue
            t = float(packet.pts * packet.time_base)
            if packet.is_keyframe and (output is None or t - first >= SEGMENT_SECONDS):
                if output is not None:
                    output.close()
                first = t
                path = out_dir / f"{len(files):04d}.ts"
                files.append(RecordedFile(path, ORIGIN + timedelta(seconds=t)))
                output = av.open(str(path), "w", format="mpegts")
                stream = output.add_stream_from_template(in_stream)
            if output is None:
                continue
            packet.stream = stream
            output.mux(packet)
        if output is not None:
            output.close()
    return files


def bare_decode(files: list[RecordedFile]) -> tuple[int, float]:
    """Every picture decoded with one thread, nothing converted; (pictures, CPU s)."""
    cpu = time.process_time()
    pictures = 0
    for recorded in files:
        with av.open(str(recorded.path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "SLICE"
            stream.codec_context.thread_count = 1
            for _ in container.decode(stream):
                pictures += 1
    return pictures, time.process_time() - cpu


def measure(name: str, files: list[RecordedFile]) -> dict[str, float]:
    with av.open(str(files[0].path)) as container:
        fps = float(container.streams.video[0].average_rate or 0)
    pictures, bare_cpu = bare_decode(files)
    seconds = pictures / fps
    bare_rt = seconds / bare_cpu
    print(f"{name}: {len(files)} segments, {pictures} pictures, {seconds:.1f} s at {fps:g} fps")
    print(f"  bare decode, one thread: {pictures / bare_cpu:.0f} pictures/s = {bare_rt:.1f}× real time per core")
    results = {"bare_decode_fps": pictures / bare_cpu, "bare_decode_x_realtime": bare_rt}
    for step in STEPS:
        cpu = time.process_time()
        found = search_motion(files, REGION, MotionSearchParams(step_seconds=step))
        spent = time.process_time() - cpu
        rate = found.media_seconds / spent
        print(
            f"  search, step {step:g} s: {found.samples} samples, {found.pictures_decoded} pictures decoded, "
            f"{len(found.spans)} spans, {spent:.2f} CPU s = {rate:.1f}× real time per core, "
            f"{rate / bare_rt:.2f}× the bare decode"
        )
        results[f"search_step_{step:g}s_x_realtime"] = rate
        results[f"search_step_{step:g}s_ratio_to_bare_decode"] = rate / bare_rt
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--long", action="store_true", help="120 s of footage per source instead of 30 s")
    args = parser.parse_args()
    seconds = 120.0 if args.long else 30.0
    summary: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="vigie-bench-") as tmp:
        base = load_scene(builtin_scene_path("street"))
        scene = base.model_copy(update={"fps": 25, "duration_s": seconds, "width": 640, "height": 360})
        street = render(scene, Path(tmp) / "street.mp4").video_path
        for key, value in measure("street scene 640×360", segments(street, Path(tmp) / "street")).items():
            summary[f"street_{key}"] = value
        if CAR_VIDEO.is_file():
            car = scaled_substream(CAR_VIDEO, Path(tmp) / "car.mp4", seconds, fixed_gop=True)
            for key, value in measure("car-detection.mp4 scaled to 640×360", segments(car, Path(tmp) / "car")).items():
                summary[f"car_{key}"] = value
        else:
            print(f"{CAR_VIDEO} is absent: the real-footage part is skipped", file=sys.stderr)
    for key, value in summary.items():
        print(f"{key}: {value:.2f}")


if __name__ == "__main__":
    main()
