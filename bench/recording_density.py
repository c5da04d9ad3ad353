"""Dense recording (issue 16): N live 1080p H.264 streams recorded by ONE Vigie recorder process vs N ffmpegs.

The streams come from the real RTSP server (``vigie.sim.rtsp.RtspSimServer``: GStreamer's rtsp-server fed by
ffmpeg in real time) serving the ~4 Mbit/s 1080p clip of ``bench/recording.py`` (moving texture and noise, GOP
2 s), ``--mounts`` mounts shared by the N clients (each client is its own RTSP session). They are recorded into
4 s MPEG-TS segments, one after the other on the same server:

- **vigie**: one process running the production body of a recorder group,
  ``vigie.runtime.workers.recorder.run_recorder_group`` (one thread per camera, the group's watchdog, segment
  files written by ``SegmentWriter`` with their SHA-256, ``Segment``/health/beat messages to the parent), started
  with ``spawn`` as the supervisor starts it;
- **ffmpeg**: N ``ffmpeg -c copy -f segment`` processes, one per stream;
- **pyav** (the floor of an in-process remux): ONE process (``spawn``) with N threads running bare PyAV, no Vigie
  code: ``demux`` of the RTSP stream (read timeout by FFmpeg's socket timeout, as Vigie), ``mux`` into 4-s MPEG-TS
  files (cut at the first keyframe after 4 s) written by FFmpeg's own file I/O, nothing hashed, synced, counted or
  reported.

CPU is read from ``/proc/PID/stat`` (user + system, the whole process: every thread) at three moments: start,
beginning of the steady window (every stream has written its first packets, plus ``--warmup`` s) and its end. ``CPU
s per stream-second`` is the window's CPU / (N × window s); what came before the window (interpreter, imports, RTSP
handshakes, first keyframe, the warm-up) is reported apart as start-up. Streams per core = 1 / that. RSS of the
Vigie process is sampled every 0.5 s in the window (mean); a group of 0 cameras (same process, same imports) gives
the baseline: ``RSS per stream = (RSS(N) - RSS(0)) / N``. Segments: those written (``Segment`` messages for Vigie,
files for ffmpeg; for ffmpeg against those expected from the time it ran); holes between consecutive Vigie
segments of a camera (> 0.1 s) are counted as lost. The server's CPU (server + feeders) over each window is printed:
when it uses most of the machine, the streams arrive late and the figure is server-bound (said in the output).

    .venv/bin/python bench/recording_density.py                     # 8 and 16 streams, 20 s windows
    .venv/bin/python bench/recording_density.py --streams 8 16 32 --window 30
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import math
import multiprocessing as mp
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SEGMENT_S = 4.0
HOLE_S = 0.1
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads), 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (FileNotFoundError, ProcessLookupError):
        return 0


def cpu_of(pids: list[int]) -> float:
    return sum(cpu_s(pid) for pid in pids)


@dataclass
class Result:
    name: str
    streams: int
    startup_cpu: float = 0.0
    window_cpu: float = 0.0
    window_s: float = 0.0
    server_cpu: float = 0.0
    rss: list[int] = field(default_factory=list)
    segments: int = 0
    expected: int = 0
    """ffmpeg only: files expected from the time it ran (the segments it writes are not timed here)."""
    holes: int = 0
    never: int = 0
    covered_s: float = 0.0
    recorded_span_s: float = 0.0
    ready_s: float = 0.0
    span_s: float = 0.0
    """Start of the recorder(s) to the end of the window."""

    @property
    def per_stream_s(self) -> float:
        return self.window_cpu / (self.streams * self.window_s)

    @property
    def whole_per_stream_s(self) -> float:
        """Start-up included: all CPU from the start to the end of the window, per stream-second of that time."""
        return (self.startup_cpu + self.window_cpu) / (self.streams * self.span_s)

    @property
    def server_cores(self) -> float:
        return self.server_cpu / self.window_s

    @property
    def mean_rss(self) -> float:
        return sum(self.rss) / len(self.rss) if self.rss else 0.0


class Collector:
    """Drains the group's queue in a thread (as the supervisor does): segments by camera, cameras seen online."""

    def __init__(self, q: Any) -> None:
        self.q = q
        self.segments: dict[str, list[Any]] = {}
        self.online: set[str] = set()
        self.offline: dict[str, str] = {}
        self.beats = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from vigie.domain.camera import HealthState
        from vigie.domain.recording import Segment
        from vigie.runtime.workers.group import GroupBeat
        from vigie.runtime.workers.recorder import RecordingHealth

        while not self._stop.is_set():
            try:
                msg = self.q.get(timeout=0.2)
            except queue.Empty:
                continue
            if isinstance(msg, Segment):
                self.segments.setdefault(msg.camera_id, []).append(msg)
            elif isinstance(msg, RecordingHealth):
                if msg.state is HealthState.ONLINE and msg.packets_per_s > 0:
                    self.online.add(msg.camera_id)
                elif msg.state is HealthState.OFFLINE:
                    self.offline[msg.camera_id] = msg.reason
            elif isinstance(msg, GroupBeat):
                self.beats += 1

    def drain_and_stop(self, settle_s: float = 1.0) -> None:
        time.sleep(settle_s)
        self._stop.set()
        self._thread.join(5)


def measure_window(
    result: Result, pid: int, server_pids: list[int], window: float, started: float, *, sample_rss: bool
) -> None:
    """CPU of ``pid`` (all its threads) and of the RTSP server over ``window`` seconds from now, RSS every 0.5 s."""
    c0, s0, t0 = cpu_s(pid), cpu_of(server_pids), time.monotonic()
    result.startup_cpu = c0
    while time.monotonic() - t0 < window:
        if sample_rss:
            result.rss.append(rss_bytes(pid))
        time.sleep(min(0.5, max(0.0, window - (time.monotonic() - t0))))
    c1, s1, t1 = cpu_s(pid), cpu_of(server_pids), time.monotonic()
    result.window_cpu, result.window_s, result.server_cpu = c1 - c0, t1 - t0, s1 - s0
    result.span_s = t1 - started


def stop_process(proc: Any, stop: Any, wait_s: float) -> None:
    stop.set()
    proc.join(wait_s)
    if proc.is_alive():
        proc.kill()
        proc.join()


def run_group_without_sync_and_hash(*args: Any) -> None:
    """Diagnostic (``--diagnose``): the recorder group with no fsync and no SHA-256 of its segments, to tell what
    those two promises cost from what the rest of Vigie's path costs. Never how Vigie records."""
    import vigie.recording.segment_writer as writer
    from vigie.runtime.workers.recorder import run_recorder_group

    writer._hash_and_sync = lambda path: (path.stat().st_size, "0" * 64)  # type: ignore[attr-defined]
    writer._fsync_dir = lambda directory: None  # type: ignore[attr-defined]
    run_recorder_group(*args)


def run_vigie(
    urls: list[str], work: Path, warmup: float, window: float, server_pids: list[int], *, stripped: bool = False
) -> Result:
    from vigie.ingest.packets import PacketSpec
    from vigie.runtime.workers.recorder import RecorderGroupSpec, RecorderSpec, run_recorder_group

    root = work / ("vigie-stripped" if stripped else "vigie")
    root.mkdir(parents=True)
    cameras = tuple(
        RecorderSpec(PacketSpec(f"cam{i:03d}", url), root, segment_seconds=SEGMENT_S) for i, url in enumerate(urls)
    )
    ctx = mp.get_context("spawn")
    out, control, stop = ctx.Queue(10_000), ctx.Queue(), ctx.Event()
    collector = Collector(out)
    spec = RecorderGroupSpec(f"density-{len(urls)}", cameras)
    target = run_group_without_sync_and_hash if stripped else run_recorder_group
    proc = ctx.Process(target=target, args=(spec, out, control, stop, frozenset()), daemon=True)
    result = Result("vigie-" if stripped else "vigie", len(urls))
    started = time.monotonic()
    proc.start()
    assert proc.pid is not None
    pid = proc.pid
    deadline = started + 60 + 2 * len(urls)
    want = {c.camera_id for c in cameras}
    while (not want <= collector.online or not urls) and time.monotonic() < deadline:
        if not proc.is_alive():
            raise SystemExit(f"the recorder group exited with {proc.exitcode}")
        time.sleep(0.1)
        if not urls and collector.beats:
            break
    result.ready_s = time.monotonic() - started
    if not want <= collector.online:
        print(f"  warning: only {len(collector.online)}/{len(want)} cameras online after {result.ready_s:.0f} s")
    time.sleep(warmup)
    measure_window(result, pid, server_pids, window, started, sample_rss=True)
    stop_process(proc, stop, 10)
    collector.drain_and_stop()
    for camera in cameras:
        segments = sorted(collector.segments.get(camera.camera_id, []), key=lambda s: s.start)
        result.segments += len(segments)
        if not segments:
            result.never += 1
            continue
        result.covered_s += sum(s.seconds for s in segments)
        result.recorded_span_s += (segments[-1].end - segments[0].start).total_seconds()
        result.holes += sum(1 for a, b in itertools.pairwise(segments) if (b.start - a.end).total_seconds() > HOLE_S)
    for camera_id, reason in sorted(collector.offline.items())[:3]:
        print(f"  {camera_id} reported offline: {reason}")
    return result


def ffmpeg_command(url: str, out_dir: Path) -> list[str]:
    return [
        shutil.which("ffmpeg") or "ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url,
        "-map", "0:v", "-c", "copy", "-f", "segment", "-segment_time", str(SEGMENT_S), "-segment_format", "mpegts",
        "-reset_timestamps", "1", str(out_dir / "%05d.ts"),
    ]  # fmt: skip


def run_ffmpeg(urls: list[str], work: Path, warmup: float, window: float, server_pids: list[int]) -> Result:
    result = Result("ffmpeg", len(urls))
    dirs = []
    for i in range(len(urls)):
        dirs.append(work / f"ffmpeg-{i:03d}")
        dirs[-1].mkdir()
    started = time.monotonic()
    procs = [subprocess.Popen(ffmpeg_command(url, d)) for url, d in zip(urls, dirs, strict=True)]
    pids = [p.pid for p in procs]
    deadline = started + 60 + 2 * len(urls)
    while time.monotonic() < deadline:
        if all(any(d.iterdir()) for d in dirs):
            break
        time.sleep(0.1)
    result.ready_s = time.monotonic() - started
    time.sleep(warmup)
    c0, s0, t0 = cpu_of(pids), cpu_of(server_pids), time.monotonic()
    result.startup_cpu = c0
    time.sleep(window)
    c1, s1, t1 = cpu_of(pids), cpu_of(server_pids), time.monotonic()
    result.window_cpu, result.window_s, result.server_cpu = c1 - c0, t1 - t0, s1 - s0
    span = result.span_s = t1 - started
    for proc in procs:
        proc.send_signal(signal.SIGTERM)  # ffmpeg finishes the segment it writes and exits
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for d in dirs:
        result.segments += len(list(d.glob("*.ts")))
        # files written from the first one (ready_s) to the stop, cut at 4 s (the last one is shorter)
        result.expected += math.ceil((span - result.ready_s) / SEGMENT_S)
    return result


def bare_worker(urls: list[str], out_dir: str, stop: Any, ready: Any) -> None:
    """The floor: N threads of bare PyAV demux + mux in one process (runs with ``spawn``)."""
    import av

    halt = threading.Event()  # read per packet: a plain flag, not the cross-process event's lock

    def record(index: int, url: str) -> None:
        # read timeout as Vigie reads RTSP: FFmpeg's socket timeout (µs), not PyAV's GIL-taking read callback
        options = {"rtsp_transport": "tcp", "timeout": "10000000"}
        with av.open(url, options=options, timeout=(10.0, None)) as source:
            video = source.streams.video[0]
            tb = float(video.time_base)
            output: Any = None
            out_stream: Any = None
            start = 0.0
            files = 0
            for packet in source.demux(video):
                if halt.is_set():
                    break
                if packet.dts is None:
                    continue
                t = packet.pts * tb
                if packet.is_keyframe and (output is None or t - start >= SEGMENT_S - 0.001):
                    if output is not None:
                        output.close()
                    output = av.open(f"{out_dir}/{index:03d}-{files:05d}.ts", "w", format="mpegts")
                    out_stream = output.add_stream_from_template(video)
                    start, files = t, files + 1
                    if files == 1:
                        ready.put(index)
                if output is not None:
                    packet.stream = out_stream
                    output.mux(packet)
            if output is not None:
                output.close()

    threads = [threading.Thread(target=record, args=(i, url), daemon=True) for i, url in enumerate(urls)]
    for thread in threads:
        thread.start()
    stop.wait()
    halt.set()
    for thread in threads:
        thread.join(10)


def run_bare(urls: list[str], work: Path, warmup: float, window: float, server_pids: list[int]) -> Result:
    out_dir = work / "pyav"
    out_dir.mkdir()
    ctx = mp.get_context("spawn")
    stop, ready = ctx.Event(), ctx.Queue()
    result = Result("pyav", len(urls))
    started = time.monotonic()
    proc = ctx.Process(target=bare_worker, args=(urls, str(out_dir), stop, ready), daemon=True)
    proc.start()
    assert proc.pid is not None
    pid = proc.pid
    up: set[int] = set()
    deadline = started + 60 + 2 * len(urls)
    while len(up) < len(urls) and time.monotonic() < deadline and proc.is_alive():
        with contextlib.suppress(queue.Empty):
            up.add(ready.get(timeout=0.2))
    result.ready_s = time.monotonic() - started
    if len(up) < len(urls):
        print(f"  warning: only {len(up)}/{len(urls)} bare PyAV streams up after {result.ready_s:.0f} s")
    time.sleep(warmup)
    measure_window(result, pid, server_pids, window, started, sample_rss=False)
    stop_process(proc, stop, 15)
    result.segments = len(list(out_dir.glob("*.ts")))
    return result


def baseline_rss(work: Path) -> int:
    """RSS of a recorder group process hosting no camera (same imports, same threads but the streams')."""
    result = run_vigie([], work / "baseline", warmup=1.0, window=2.0, server_pids=[])
    return int(result.mean_rss)


def describe(r: Result) -> str:
    if r.name.startswith("vigie"):
        written = (
            f"segments {r.segments} (mean {r.covered_s / max(1, r.segments):.1f} s), {r.covered_s:.0f} s recorded "
            f"over spans of {r.recorded_span_s:.0f} s, holes {r.holes}, cameras without a segment {r.never}"
        )
    elif r.name == "ffmpeg":
        written = f"segment files {r.segments}, about {r.expected} expected from the time they ran"
    else:
        written = f"segment files {r.segments}"
    return (
        f"  {r.name:6s} N={r.streams:3d}: ready {r.ready_s:5.1f} s, start-up {r.startup_cpu:6.2f} CPU s, "
        f"window {r.window_cpu:6.2f} CPU s / {r.window_s:.1f} s -> {r.per_stream_s:.4f} CPU s per stream-second "
        f"({1 / r.per_stream_s:.0f} streams/core); server {r.server_cores:.2f} cores; {written}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, nargs="+", default=[8, 16], help="N values (default 8 16)")
    parser.add_argument("--window", type=float, default=20.0, help="steady window, s (default 20)")
    parser.add_argument("--warmup", type=float, default=4.0, help="s after every stream is up (default 4)")
    parser.add_argument("--mounts", type=int, default=4, help="RTSP mounts the N clients share (default 4)")
    parser.add_argument(
        "--diagnose", action="store_true", help="also run Vigie without fsync and SHA-256 (what those cost)"
    )
    args = parser.parse_args()

    from recording import make_clip
    from vigie.sim.rtsp import RtspSimServer, rtsp_unavailable_reason

    reason = rtsp_unavailable_reason()
    if reason is not None:
        raise SystemExit(f"the RTSP simulator cannot run here: {reason}")
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} at the start (shared with other work)")
    results: list[tuple[Result, Result, Result]] = []
    diagnosed: list[tuple[Result, Result]] = []
    with tempfile.TemporaryDirectory(prefix="vigie-density-") as tmp:
        work = Path(tmp)
        t = time.monotonic()
        clip = make_clip(work / "clip.mp4", seconds=10.0)
        rate = clip.stat().st_size * 8 / 10.0 / 1e6
        print(f"clip: 1920x1080 H.264 25 fps GOP 2 s, {rate:.1f} Mbit/s, made in {time.monotonic() - t:.1f} s")
        base = baseline_rss(work)
        print(f"recorder group with 0 cameras: RSS {base / 2**20:.1f} MiB")
        for n in args.streams:
            mounts = {f"m{i}": clip for i in range(min(args.mounts, n))}
            with RtspSimServer(mounts) as server:
                names = list(mounts)
                urls = [server.url(names[i % len(names)]) for i in range(n)]
                server_pids = list(server.pids)
                run = work / f"n{n}"
                run.mkdir()
                print(f"N={n}: {len(mounts)} RTSP mounts (RtspSimServer), {n} clients, segments {SEGMENT_S:g} s")
                vigie = run_vigie(urls, run, args.warmup, args.window, server_pids)
                print(describe(vigie) + f"; RSS {vigie.mean_rss / 2**20:.1f} MiB", flush=True)
                ffmpeg = run_ffmpeg(urls, run, args.warmup, args.window, server_pids)
                print(describe(ffmpeg), flush=True)
                bare = run_bare(urls, run, args.warmup, args.window, server_pids)
                print(describe(bare), flush=True)
                results.append((vigie, ffmpeg, bare))
                if args.diagnose:
                    stripped = run_vigie(urls, run, args.warmup, args.window, server_pids, stripped=True)
                    print(describe(stripped) + " (diagnostic: no fsync, no SHA-256)", flush=True)
                    diagnosed.append((vigie, stripped))
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    for vigie, ffmpeg, bare in results:
        n = vigie.streams
        bound = " (server above 1.5 cores: server-bound)" if max(vigie.server_cores, ffmpeg.server_cores) > 1.5 else ""
        print(
            f"N={n}: vigie {1 / vigie.per_stream_s:.0f} streams/core, ffmpeg {1 / ffmpeg.per_stream_s:.0f}; "
            f"ratio {ffmpeg.per_stream_s / vigie.per_stream_s:.2f} (with start-up "
            f"{ffmpeg.whole_per_stream_s / vigie.whole_per_stream_s:.2f}); "
            f"start-up CPU s vigie {vigie.startup_cpu:.2f} "
            f"(one process) vs ffmpeg {ffmpeg.startup_cpu:.2f} ({n} processes); RSS per stream "
            f"{(vigie.mean_rss - base) / n / 2**20:.1f} MiB above the empty group, {vigie.mean_rss / n / 2**20:.1f} "
            f"MiB RSS/N{bound}; bare PyAV {1 / bare.per_stream_s:.0f} streams/core, "
            f"vigie / bare PyAV CPU {vigie.per_stream_s / bare.per_stream_s:.2f}"
        )
    vigie, ffmpeg, bare = results[-1]
    n = vigie.streams
    print(f"streams: {n}")
    print(f"vigie_cpu_s_per_stream_s: {vigie.per_stream_s:.5f}")
    print(f"ffmpeg_cpu_s_per_stream_s: {ffmpeg.per_stream_s:.5f}")
    print(f"pyav_cpu_s_per_stream_s: {bare.per_stream_s:.5f}")
    print(f"vigie_streams_per_core: {1 / vigie.per_stream_s:.0f}")
    print(f"ffmpeg_streams_per_core: {1 / ffmpeg.per_stream_s:.0f}")
    print(f"vigie_streams_per_core_with_startup: {1 / vigie.whole_per_stream_s:.0f}")
    print(f"ffmpeg_streams_per_core_with_startup: {1 / ffmpeg.whole_per_stream_s:.0f}")
    print(f"vigie_startup_cpu_s: {vigie.startup_cpu:.2f}")
    print(f"ffmpeg_startup_cpu_s: {ffmpeg.startup_cpu:.2f}")
    print(f"server_cores_during_vigie_window: {vigie.server_cores:.2f}")
    print(f"segments_written: vigie {vigie.segments}, ffmpeg {ffmpeg.segments} (about {ffmpeg.expected} expected)")
    print(f"vigie_recorded_over_span: {vigie.covered_s:.1f}/{vigie.recorded_span_s:.1f} s")
    print(
        f"vigie_segments_lost: {vigie.holes + vigie.never} "
        f"(holes {vigie.holes}, cameras without a segment {vigie.never})"
    )
    print(f"rss_per_stream_mib: {(vigie.mean_rss - base) / n / 2**20:.1f}")
    print(f"rss_over_n_mib: {vigie.mean_rss / n / 2**20:.1f}")
    print(f"vigie_vs_ffmpeg_with_startup: {ffmpeg.whole_per_stream_s / vigie.whole_per_stream_s:.2f}")
    print(f"vigie_vs_ffmpeg_streams_per_core: {ffmpeg.per_stream_s / vigie.per_stream_s:.2f}")
    for vigie, ffmpeg, bare in results:
        print(f"vigie_over_ffmpeg_cpu_n{vigie.streams}: {vigie.per_stream_s / ffmpeg.per_stream_s:.2f}")
        print(f"vigie_over_pyav_cpu_n{vigie.streams}: {vigie.per_stream_s / bare.per_stream_s:.2f}")
    for vigie_n, stripped in diagnosed:
        print(
            f"fsync_and_sha256_cpu_s_per_stream_s_n{vigie_n.streams}: "
            f"{vigie_n.per_stream_s - stripped.per_stream_s:.5f} (vigie without them {stripped.per_stream_s:.5f})"
        )
    print(f"vigie_over_ffmpeg_cpu: {vigie.per_stream_s / ffmpeg.per_stream_s:.2f}")
    print(f"vigie_over_pyav_cpu: {vigie.per_stream_s / bare.per_stream_s:.2f}")


if __name__ == "__main__":
    main()
