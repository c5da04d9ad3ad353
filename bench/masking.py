"""Cost of burning privacy masks into recordings (L6): decode + fill + libx264 ``veryfast`` re-encode, versus a
plain remux of the same packets into MPEG-TS (what a camera without masks costs).

Measured as CPU time of this process (all threads, libx264's included), so "frames/s per core" is frames / CPU s
and a camera at 25 fps needs 25 / that many cores.

    .venv/bin/python bench/masking.py           # 4 s clips at 1080p and 640×360
    .venv/bin/python bench/masking.py --long    # 20 s clips
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import av

from vigie.ingest.masking import burn_masks

sys.path.insert(0, str(Path(__file__).parent))
from recording import make_clip

MASKS = (
    ((0.10, 0.05), (0.45, 0.05), (0.45, 0.40), (0.10, 0.40)),
    ((0.70, 0.30), (0.90, 0.30), (0.80, 0.80)),
)
FPS = 25


def remux(source: Path, output: Path) -> int:
    frames = 0
    with av.open(str(source)) as src, av.open(str(output), mode="w", format="mpegts") as out:
        stream = out.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(video=0):
            if packet.dts is None:
                continue
            packet.stream = stream
            out.mux(packet)
            frames += 1
    return frames


def cpu_of(task):  # type: ignore[no-untyped-def]
    cpu, wall = time.process_time(), time.monotonic()
    result = task()
    return result, time.process_time() - cpu, time.monotonic() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--long", action="store_true", help="20 s clips instead of 4 s")
    args = parser.parse_args()
    seconds = 20.0 if args.long else 4.0
    with tempfile.TemporaryDirectory(prefix="vigie-bench-") as tmp:
        work = Path(tmp)
        for width, height in ((1920, 1080), (640, 360)):
            clip = make_clip(work / f"clip-{height}.mp4", width, height, FPS, seconds)
            frames, remux_cpu, _ = cpu_of(lambda c=clip, h=height: remux(c, work / f"remux-{h}.ts"))
            result, burn_cpu, burn_wall = cpu_of(lambda c=clip, h=height: burn_masks(c, MASKS, work / f"mask-{h}.ts"))
            burn_fps, remux_fps = result.frames / burn_cpu, frames / remux_cpu
            print(f"{width}×{height} {FPS} fps, {seconds:g} s:")
            print(f"  remux:                {remux_fps:8.0f} frames/s per core ({remux_cpu:.3f} CPU s)")
            print(
                f"  decode+mask+x264:     {burn_fps:8.1f} frames/s per core ({burn_cpu:.2f} CPU s,"
                f" wall {burn_wall:.1f} s) = {FPS / burn_fps:.2f} cores per {FPS}-fps stream"
            )
            print(f"  masked / remux CPU:   {remux_fps / burn_fps:.0f}×")


if __name__ == "__main__":
    main()
