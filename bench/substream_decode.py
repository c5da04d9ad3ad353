"""Analysis decoding cost: frames decoded per CPU second by ``vigie.ingest.reader.sampled_frames`` (file source)
versus a bare PyAV decode loop over the same file.

``sampled_frames`` replays a file at its own pace (like a live camera), so it is measured by CPU time, not wall
time: decoded frames / CPU seconds of this process (all threads) is "frames per second per core".

    .venv/bin/python bench/substream_decode.py           # 6 s of each video
    .venv/bin/python bench/substream_decode.py --long    # 30 s of each video
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import av

from vigie.ingest.reader import StreamSpec, sampled_frames

SHARED = Path("/work/shared/data/video")


def bare_decode(path: Path, seconds: float) -> tuple[int, float]:
    """Every frame decoded (threads as in the reader), nothing converted; returns (frames, CPU s)."""
    cpu = time.process_time()
    frames = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            if frame.time is not None and frame.time >= seconds:
                break
            frames += 1
    return frames, time.process_time() - cpu


def reader_decode(path: Path, seconds: float) -> tuple[int, int, float]:
    """``sampled_frames`` at 5 fps, 640 wide, for ``seconds`` of media; returns (decoded, sampled, CPU s)."""
    spec = StreamSpec("bench", path.resolve().as_uri(), analysis_fps=5.0, analysis_width=640)
    cpu = time.process_time()
    started = time.monotonic()
    decoded = sampled = 0
    for sample in sampled_frames(spec):
        decoded += sample.decoded_since_last
        sampled += 1
        if time.monotonic() - started >= seconds:
            break
    return decoded, sampled, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--long", action="store_true", help="30 s of each video instead of 6 s")
    args = parser.parse_args()
    seconds = 30.0 if args.long else 6.0
    videos = sorted(SHARED.glob("*.mp4"))
    with tempfile.TemporaryDirectory(prefix="vigie-bench-") as tmp:
        if not videos:
            sys.path.insert(0, str(Path(__file__).parent))
            from recording import make_clip

            videos = [make_clip(Path(tmp) / "clip-640x360.mp4", 640, 360, 25, seconds)]
            print("no video in /work/shared/data/video: using a generated 640×360 clip")
        for path in videos:
            with av.open(str(path)) as container:
                s = container.streams.video[0]
                print(f"{path.name}: {s.codec_context.name} {s.width}×{s.height} {float(s.average_rate or 0):g} fps")
            frames, cpu = bare_decode(path, seconds)
            decoded, sampled, reader_cpu = reader_decode(path, seconds)
            bare_rate, reader_rate = frames / cpu, decoded / reader_cpu
            print(f"  bare PyAV decode: {frames} frames in {cpu:.2f} CPU s = {bare_rate:.0f} frames/s per core")
            print(
                f"  sampled_frames:   {decoded} frames decoded, {sampled} grey 640-wide samples, {reader_cpu:.2f} CPU s"
                f" = {reader_rate:.0f} frames/s per core"
            )
            print(f"  ratio reader/bare: {reader_rate / bare_rate:.2f}")


if __name__ == "__main__":
    main()
