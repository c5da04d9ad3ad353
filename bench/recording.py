"""Recording cost: CPU seconds per stream-second of remuxing N live 1080p H.264 streams into MPEG-TS segments.

Compares, on the same input, (a) PyAV in Python (``vigie.recording.segment_writer.SegmentWriter`` when it
exists, else a minimal remux loop) with (b) ``ffmpeg -c copy -f segment``. Each recorder runs as its own process
(as a camera worker does); its CPU is read from the kernel (``wait4``) when it exits, so interpreter start-up
and the RTSP handshake are included for both. The streams come from ``vigie.sim.rtsp.RtspSimServer`` (one
~4 Mbit/s 1080p clip served N times) or, when it cannot run, from the file itself (said in the output).

    .venv/bin/python bench/recording.py            # 2 streams × 8 s
    .venv/bin/python bench/recording.py --long     # 4 streams × 30 s
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

SEGMENT_S = 4.0


def make_clip(path: Path, width: int = 1920, height: int = 1080, fps: int = 25, seconds: float = 10.0) -> Path:
    """An H.264 clip at ~4 Mbit/s (1080p) with moving texture and noise, GOP 2 s, encoded once per run."""
    rng = np.random.default_rng(0)
    base = rng.integers(40, 200, size=(height // 8, width // 8), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    gop = 2 * fps
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(
            "libx264",
            rate=fps,
            options={
                "preset": "ultrafast",
                "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:repeat-headers=1",
            },
        )
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.bit_rate = int(4_000_000 * width * height / (1920 * 1080))
        stream.codec_context.time_base = Fraction(1, fps)
        for index in range(round(seconds * fps)):
            luma = np.roll(base, index * 4, axis=1)
            noise = rng.integers(0, 6, size=(height // 4, width // 4), dtype=np.uint8).repeat(4, 0).repeat(4, 1)
            planar = np.concatenate([luma + noise, np.full((height // 2, width), 128, np.uint8)])
            frame = av.VideoFrame.from_ndarray(planar, format="yuv420p")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def pyav_worker(url: str, out_dir: Path, seconds: float) -> None:
    """Record ``seconds`` of media time from ``url`` into segments under ``out_dir`` (runs in its own process)."""
    cpu_start = time.process_time()
    options = {"rtsp_transport": "tcp"} if url.startswith("rtsp") else {}
    container = av.open(url, options=options, timeout=(10.0, 10.0))
    stream = container.streams.video[0]
    write = _writer(stream, out_dir)
    origin = datetime(2025, 1, 1, tzinfo=UTC)
    first: float | None = None
    for packet in container.demux(stream):
        if packet.dts is None or packet.pts is None:
            continue
        t = float(packet.pts * packet.time_base)
        first = t if first is None else first
        if t - first >= seconds:
            break
        write(packet, origin + timedelta(seconds=t - first))
    write(None, origin)
    container.close()
    print(f"{time.process_time() - cpu_start:.4f}")


def _writer(stream: av.video.stream.VideoStream, out_dir: Path):  # type: ignore[no-untyped-def]
    try:
        from vigie.recording.segment_writer import SegmentWriter

        writer = SegmentWriter("bench", out_dir, stream, SEGMENT_S)

        def write_segments(packet, at):  # type: ignore[no-untyped-def]
            if packet is None:
                writer.close()
            else:
                writer.write(packet, at)

        return write_segments
    except ImportError:
        return _minimal_writer(stream, out_dir)


def _minimal_writer(stream: av.video.stream.VideoStream, out_dir: Path):  # type: ignore[no-untyped-def]
    state: dict[str, object] = {"out": None, "start": None, "n": 0}

    def write(packet, at):  # type: ignore[no-untyped-def]
        out = state["out"]
        if packet is None or (
            packet.is_keyframe and out is not None and (at - state["start"]).total_seconds() >= SEGMENT_S
        ):
            if out is not None:
                out.close()  # type: ignore[attr-defined]
            state["out"] = out = None
        if packet is None:
            return
        if out is None:
            if not packet.is_keyframe:
                return
            state["n"] = int(state["n"]) + 1  # type: ignore[call-overload]
            out = av.open(str(out_dir / f"{state['n']:05d}.ts"), mode="w", format="mpegts")
            out.add_stream_from_template(stream)
            state["out"], state["start"] = out, at
        packet.stream = out.streams.video[0]  # type: ignore[attr-defined]
        out.mux(packet)  # type: ignore[attr-defined]

    return write


def ffmpeg_command(url: str, out_dir: Path, seconds: float) -> list[str]:
    source = ["-rtsp_transport", "tcp"] if url.startswith("rtsp") else []
    return [
        "ffmpeg", "-nostdin", "-loglevel", "error", *source, "-i", url, "-t", str(seconds), "-map", "0:v",
        "-c", "copy", "-f", "segment", "-segment_time", str(SEGMENT_S), "-segment_format", "mpegts",
        "-reset_timestamps", "1", str(out_dir / "%05d.ts"),
    ]  # fmt: skip


def run_all(commands: list[list[str]]) -> tuple[float, float, float]:
    """Start every command at once; return (total CPU s from wait4, CPU s the workers report, wall seconds)."""
    started = time.monotonic()
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for command in commands]
    cpu = reported = 0.0
    for proc in procs:
        output = proc.stdout.read() if proc.stdout else ""
        reported += float(output.strip() or 0.0)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(proc.args)} exited with {proc.returncode}")  # type: ignore[arg-type]
        cpu += usage.ru_utime + usage.ru_stime
    return cpu, reported, time.monotonic() - started


def measure(urls: list[str], seconds: float, work: Path) -> dict[str, float]:
    results: dict[str, float] = {}
    for name in ("pyav", "ffmpeg"):
        commands = []
        for index, url in enumerate(urls):
            out = work / f"{name}-{index}"
            out.mkdir()
            if name == "pyav":
                commands.append([sys.executable, __file__, "--worker", url, str(out), str(seconds)])
            else:
                commands.append(ffmpeg_command(url, out, seconds))
        cpu, loop_cpu, wall = run_all(commands)
        segments = sum(len(list((work / f"{name}-{i}").rglob("*.ts"))) for i in range(len(urls)))
        results[name] = cpu / (seconds * len(urls))
        line = f"  {name:6s}: {cpu:6.2f} CPU s for {len(urls)}×{seconds:g} s, wall {wall:5.1f} s, {segments} segments"
        if name == "pyav":
            results["pyav_loop"] = loop_cpu / (seconds * len(urls))
            line += f" (open+record loop alone: {loop_cpu:.2f} CPU s; the rest is interpreter start-up and imports)"
        print(line)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--long", action="store_true", help="4 streams × 30 s instead of 2 × 8 s")
    parser.add_argument("--streams", type=int, help="number of simultaneous streams")
    parser.add_argument("--worker", nargs=3, metavar=("URL", "OUT_DIR", "SECONDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        pyav_worker(args.worker[0], Path(args.worker[1]), float(args.worker[2]))
        return
    streams = args.streams or (4 if args.long else 2)
    seconds = 30.0 if args.long else 8.0
    with tempfile.TemporaryDirectory(prefix="vigie-bench-") as tmp:
        work = Path(tmp)
        t = time.monotonic()
        clip = make_clip(work / "clip.mp4", seconds=10.0)
        rate = clip.stat().st_size * 8 / 10.0 / 1e6
        print(f"clip: 1920×1080 H.264 25 fps, {rate:.1f} Mbit/s, generated in {time.monotonic() - t:.1f} s")
        try:
            from vigie.recording.segment_writer import SegmentWriter  # noqa: F401

            print("PyAV recorder: vigie.recording.segment_writer.SegmentWriter")
        except ImportError:
            print("PyAV recorder: minimal remux loop (vigie.recording.segment_writer not found)")
        results = _with_source(clip, streams, seconds, work)
    pyav, ffmpeg = results["pyav"], results["ffmpeg"]
    print(f"CPU s per stream-second: PyAV {pyav:.4f}, ffmpeg -c copy {ffmpeg:.4f}; PyAV/ffmpeg = {pyav / ffmpeg:.2f}")
    loop = results["pyav_loop"]
    print(f"  PyAV without start-up: {loop:.4f} CPU s per stream-second; PyAV loop/ffmpeg = {loop / ffmpeg:.2f}")
    print(f"streams per core: PyAV {1 / pyav:.0f} ({1 / loop:.0f} once started), ffmpeg {1 / ffmpeg:.0f}")


def _with_source(clip: Path, streams: int, seconds: float, work: Path) -> dict[str, float]:
    from vigie.sim.rtsp import RtspSimServer, rtsp_unavailable_reason

    reason = rtsp_unavailable_reason()
    if reason is not None:
        print(f"source: the file itself, read as fast as possible (RTSP simulator unavailable: {reason})")
        return measure([str(clip)] * streams, min(seconds, 10.0), work)
    mounts = {f"cam{i}": clip for i in range(streams)}
    with RtspSimServer(mounts) as server:
        print(f"source: {streams} RTSP streams from RtspSimServer (real time, looped)")
        return measure([server.url(name) for name in mounts], seconds, work)


if __name__ == "__main__":
    main()
