"""Soak (issue 16): 200 simulated cameras recorded AND motion-analysed by the real service for 10 minutes.

Goal: zero segments lost, memory flat (< 5 % growth after warm-up), every camera's health reported.

The footage is ``vigie.sim``'s built-in scenes (``street`` and ``situations``, people and cars moving) rendered
here at ``--width``×``--height`` and ``--fps`` (320×180 at 12 fps by default: scenes have whole frame rates),
served by the real RTSP server (``vigie.sim.rtsp.RtspSimServer``, GStreamer rtsp-server fed by ffmpeg) on
``--mounts`` mounts; each camera reads one of them (``cameras / mounts`` cameras per mount, every camera its own
RTSP sessions: one for its recorder, one for its analysis). The service is the real composition, built from a
generated configuration of ``--cameras`` cameras as ``vigie demo`` builds its own (``VigieService(config,
simulated_cameras=...)``: the composition root says which cameras show generated footage, which opens them to
analysis under the usual stop switches), with SQLite and local storage, its default ``workers`` grouping
(64 recorded / 16 analysed cameras per process), without the HTTP server. Analysis is motion only (no model), at
5 fps.

Measured:

- **segments lost**: after the service's clean stop (which is meant to finish and index the segment being written),
  per camera: the segment index rows against the files on disk, holes in its timeline (a gap > 0.5 s between one
  segment's end and the next one's start), and the expected count from its recording span / segment length; when
  each camera's recording started (from the service's start); while it runs, every ``--sample`` s, the **index
  lag**: now minus the end of the latest indexed segment of the camera furthest behind;
- **memory**: RSS of the service (this process: the sink, the writer, the supervisor) plus every worker process,
  every ``--sample`` s; growth = mean of the last three samples against the mean of the first three after the
  warm-up (``--warmup`` minutes), in %; per camera = total / cameras;
- **health**: the camera status table (every camera's latest report: analysis, made worse by a failing
  recording) at the end: rows, states, reports older than 30 s; the recording health the sink last got from each
  camera's recorder; motion events written per camera (proof that analysis ran);
- **CPU**: cores used by the service's processes and by the RTSP server over the window after the warm-up, and the
  load average (the machine is shared with other work: said in the output).

    .venv/bin/python bench/soak.py --minutes 1 --cameras 40     # quick check
    .venv/bin/python bench/soak.py --fps 5                      # 200 cameras, 10 minutes (the record in
                                                                # docs/benchmarks.md; 12 fps needs ~2.6 cores)
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import logging
import math
import os
import sqlite3
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vigie.runtime.assembly.service import VigieService

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
HOLE_S = 0.5
STALE_S = 30.0


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def descendants(root: int, exclude: set[int]) -> list[int]:
    """``root`` and every process below it, except the ``exclude`` subtrees (the RTSP server and its feeders)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in exclude:
            continue
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def cpu_s(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (FileNotFoundError, ProcessLookupError):
        return 0


@dataclass
class Sample:
    t: float
    total_rss: int
    main_rss: int
    workers: int
    service_cpu: float
    server_cpu: float
    load: float
    status_rows: int
    online: int
    index_lag_s: float
    """Now minus the end of the latest indexed segment, for the camera whose index is furthest behind."""


@dataclass
class Run:
    samples: list[Sample] = field(default_factory=list)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    dead_worker_cpu: float = 0.0


def render_footage(work: Path, width: int, height: int, fps: int) -> dict[str, Path]:
    from vigie.sim import builtin_scene_path, load_scene
    from vigie.sim.render import render
    from vigie.sim.scene import Scene

    clips = {}
    for name in ("street", "situations"):
        scene = load_scene(builtin_scene_path(name))
        scene = Scene.model_validate({**scene.model_dump(), "width": width, "height": height, "fps": fps})
        render(scene, work / f"{name}.mp4")
        clips[name] = work / f"{name}.mp4"
    return clips


def soak_config(
    work: Path, urls: list[str], segment_seconds: float, analysis_width: int, workers: dict[str, int]
) -> Any:
    from vigie.config.models import VigieConfig

    cameras = [
        {
            "id": f"soak{index:03d}",
            "name": f"Soak camera {index}",
            "kind": "fixed",
            "main_stream": url,
            "location": {"lat": 45.70 + index * 0.0005, "lon": 4.83},
            "authorisation": {
                "reference": "BENCH-SOAK",
                "valid_from": "2026-01-01",
                "valid_until": "2030-12-31",
                "purposes": ["crime_prevention"],
                "retention_days": 1,
            },
            "analysis": {"fps": 5, "width": analysis_width},
        }
        for index, url in enumerate(urls)
    ]
    return VigieConfig.model_validate(
        {
            "version": 1,
            "storage": {
                "database_url": f"sqlite:///{work / 'vigie.db'}",
                "data_dir": str(work / "data"),
                "segment_seconds": segment_seconds,
            },
            "api": {"host": "127.0.0.1", "port": 8080},
            "workers": workers,
            "communes": [
                {
                    "id": "soak",
                    "name": "Soak",
                    "kind": "municipal",
                    "sites": [{"id": "bench", "name": "Bench", "cameras": cameras}],
                }
            ],
        }
    )


def sample(service: VigieService, db: Path, start: float, server_pids: set[int], run: Run) -> Sample:
    from vigie.domain.camera import HealthState

    me = os.getpid()
    pids = descendants(me, server_pids)
    statuses = service.status.latest()
    now = datetime.now(UTC)
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        ends = [row[0] for row in conn.execute('SELECT MAX("end") FROM segments GROUP BY camera_id')]
    oldest = min((datetime.fromisoformat(e).replace(tzinfo=UTC) for e in ends), default=None)
    every = oldest is not None and len(ends) == len(service.entries)  # lag only once every camera has a row
    lag = (now - oldest).total_seconds() if every and oldest is not None else float("nan")
    online = sum(1 for h in statuses if h.state is HealthState.ONLINE and (now - h.at).total_seconds() < STALE_S)
    return Sample(
        time.monotonic() - start,
        sum(rss(pid) for pid in pids),
        rss(me),
        len(pids) - 1,
        cpu_s(pids) + run.dead_worker_cpu,
        cpu_s(sorted(server_pids)),
        os.getloadavg()[0],
        len(statuses),
        online,
        lag,
    )


@dataclass
class CameraRecord:
    camera_id: str
    rows: int = 0
    files: int = 0
    holes: int = 0
    hole_s: float = 0.0
    expected: int = 0
    first_s: float | None = None
    span_s: float = 0.0
    covered_s: float = 0.0
    longest_s: float = 0.0
    tail_s: float = 0.0
    """Start of the service's stop to the end of the camera's last indexed segment (negative: recorded during the
    stop, which ends the groups one after the other)."""
    events: int = 0


def recording_check(service: VigieService, ids: list[str], started: datetime, stopped: datetime) -> list[CameraRecord]:
    records = []
    lo, hi = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    for camera_id in ids:
        record = CameraRecord(camera_id)
        segments = sorted(service.segments.between(camera_id, lo, hi), key=lambda s: s.start)
        record.rows = len(segments)
        folder = service.segments_root / camera_id
        record.files = len(list(folder.rglob("*.ts"))) if folder.is_dir() else 0
        if segments:
            record.first_s = (segments[0].start - started).total_seconds()
            record.span_s = (segments[-1].end - segments[0].start).total_seconds()
            record.covered_s = sum(s.seconds for s in segments)
            record.longest_s = max(s.seconds for s in segments)
            record.tail_s = (stopped - segments[-1].end).total_seconds()
            # cut at the first keyframe at or after segment_seconds: as many as whole segments fit, plus the last
            length = max(service.config.storage.segment_seconds, statistics.median(s.seconds for s in segments))
            record.expected = max(1, math.ceil(record.span_s / length - 0.05))
            for a, b in itertools.pairwise(segments):
                gap = (b.start - a.end).total_seconds()
                if gap > HOLE_S:
                    record.holes += 1
                    record.hole_s += gap
        records.append(record)
    return records


def count_events(db: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return dict(conn.execute("SELECT camera_id, COUNT(*) FROM events GROUP BY camera_id").fetchall())


def growth(samples: list[Sample], warmup_s: float) -> tuple[float, float, float]:
    """(first post-warm-up RSS mean, last RSS mean, growth %) over three samples each."""
    after = [s for s in samples if s.t >= warmup_s]
    if len(after) < 2:
        return 0.0, 0.0, float("nan")
    k = min(3, len(after) // 2)
    first = sum(s.total_rss for s in after[:k]) / k
    last = sum(s.total_rss for s in after[-k:]) / k
    return first, last, 100.0 * (last - first) / first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=10.0, help="recording time after start (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="minutes of warm-up before memory is compared")
    parser.add_argument("--mounts", type=int, default=10, help="RTSP mounts the cameras share (default 10)")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=180)
    parser.add_argument("--fps", type=int, default=12)
    parser.add_argument("--segment-seconds", type=float, default=10.0)
    parser.add_argument("--sample", type=float, default=10.0, help="s between memory samples (default 10)")
    parser.add_argument("--recording-per-process", type=int, help="workers.recording_cameras_per_process")
    parser.add_argument("--analysis-per-process", type=int, help="workers.analysis_cameras_per_process")
    parser.add_argument("--keep", type=Path, help="work in this (new) folder and keep it (database, segments)")
    parser.add_argument("--log", type=Path, default=Path("/tmp/vigie-soak.log"), help="the service's log")
    args = parser.parse_args()
    warmup_s = min(args.warmup * 60, args.minutes * 60 / 2)

    logging.basicConfig(filename=args.log, filemode="w", level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")  # fmt: skip
    from vigie.runtime.assembly.service import VigieService
    from vigie.sim.rtsp import RtspSimServer, rtsp_unavailable_reason

    reason = rtsp_unavailable_reason()
    if reason is not None:
        raise SystemExit(f"the RTSP simulator cannot run here: {reason}")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start (shared)", flush=True)
    with contextlib.ExitStack() as stack:
        if args.keep is not None:
            args.keep.mkdir(parents=True)
            work = args.keep.resolve()
        else:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vigie-soak-")))
        t = time.monotonic()
        clips = render_footage(work, args.width, args.height, args.fps)
        print(f"footage: vigie.sim scenes {', '.join(clips)} at {args.width}x{args.height} {args.fps} fps, "
              f"rendered in {time.monotonic() - t:.1f} s", flush=True)  # fmt: skip
        names = list(clips)
        mounts = {f"m{i}": clips[names[i % len(names)]] for i in range(args.mounts)}
        with RtspSimServer(mounts) as server:
            server_pids = set(server.pids)
            mount_names = list(mounts)
            urls = [server.url(mount_names[i % len(mount_names)]) for i in range(args.cameras)]
            ids = [f"soak{i:03d}" for i in range(args.cameras)]
            workers = {}
            if args.recording_per_process:
                workers["recording_cameras_per_process"] = args.recording_per_process
            if args.analysis_per_process:
                workers["analysis_cameras_per_process"] = args.analysis_per_process
            config = soak_config(work, urls, args.segment_seconds, args.width, workers)
            service = VigieService(config, simulated_cameras=frozenset(ids))
            groups = service.supervisor.groups()
            print(f"service: {args.cameras} cameras on {args.mounts} RTSP mounts, {len(groups)} worker processes "
                  f"({', '.join(f'{n}: {len(c)}' for n, c in groups.items())}); segments {args.segment_seconds:g} s; "
                  f"motion at 5 fps, {args.width} px wide; log {args.log}", flush=True)  # fmt: skip
            run = Run()
            start = time.monotonic()
            service.start()
            print(f"started in {time.monotonic() - start:.1f} s", flush=True)
            end = start + args.minutes * 60
            next_at = start
            try:
                while time.monotonic() < end:
                    if time.monotonic() >= next_at:
                        s = sample(service, work / "vigie.db", start, server_pids, run)
                        run.samples.append(s)
                        print(f"t={s.t:5.0f} s: RSS {s.total_rss / 2**20:7.1f} MiB ({s.workers} workers, service "
                              f"{s.main_rss / 2**20:.0f} MiB), status rows {s.status_rows}, online {s.online}, "
                              f"index lag {s.index_lag_s:5.0f} s, service CPU {s.service_cpu:7.1f} s, "
                              f"server CPU {s.server_cpu:6.1f} s, "
                              f"load {s.load:.2f}", flush=True)  # fmt: skip
                        next_at += args.sample
                    time.sleep(max(0.0, min(next_at, end) - time.monotonic()))
                final = sample(service, work / "vigie.db", start, server_pids, run)
                statuses = service.status.latest()
                read_at = datetime.now(UTC)
                recording = dict(getattr(service.sink, "_recording", {}))  # what the recorders last reported
                pids = service.supervisor.pids()
            finally:
                stopping, stopped = time.monotonic(), datetime.now(UTC)
                service.stop()
                stop_s = time.monotonic() - stopping
        records = recording_check(service, ids, run.started, stopped)
        events = count_events(work / "vigie.db")
    report(args, run, final, (statuses, read_at), recording, pids, records, events, warmup_s, stop_s)


def report(
    args: argparse.Namespace,
    run: Run,
    final: Sample,
    read: tuple[Any, datetime],
    recording: dict[str, Any],
    pids: dict[str, int],
    records: list[CameraRecord],
    events: dict[str, int],
    warmup_s: float,
    stop_s: float,
) -> None:
    from vigie.domain.camera import HealthState

    n = args.cameras
    statuses, read_at = read
    by_state: dict[str, int] = {}
    for h in statuses:
        by_state[h.state.value] = by_state.get(h.state.value, 0) + 1
    reported = {h.camera_id for h in statuses}
    fresh = [h for h in statuses if (read_at - h.at).total_seconds() < STALE_S]
    rec_online = sum(1 for h in recording.values() if h.state is HealthState.ONLINE)
    bad = [h for h in statuses if h.state is not HealthState.ONLINE]
    for h in bad[:5]:
        print(f"  {h.camera_id}: {h.state.value} {h.reason}")
    missing = sorted({r.camera_id for r in records} - reported)
    first, last, grew = growth(run.samples, warmup_s)
    after = [s for s in run.samples if s.t >= warmup_s] or run.samples
    span = (after[-1].t - after[0].t) or 1.0
    service_cores = (final.service_cpu - after[0].service_cpu) / max(1.0, final.t - after[0].t)
    server_cores = (final.server_cpu - after[0].server_cpu) / max(1.0, final.t - after[0].t)
    rows = sum(r.rows for r in records)
    files = sum(r.files for r in records)
    expected = sum(r.expected for r in records)
    covered = sum(r.covered_s for r in records)
    spans = sum(r.span_s for r in records)
    lengths = [r.covered_s / r.rows for r in records if r.rows]
    tails = [r.tail_s for r in records if r.rows]
    holes = sum(r.holes for r in records)
    hole_s = sum(r.hole_s for r in records)
    never = [r.camera_id for r in records if r.rows == 0]
    late = max((r.first_s for r in records if r.first_s is not None), default=float("nan"))
    short = sum(max(0, r.expected - r.rows) for r in records)
    unindexed = sum(max(0, r.files - r.rows) for r in records)
    with_holes = [r for r in records if r.holes]
    for r in with_holes[:5]:
        print(f"  {r.camera_id}: {r.holes} holes, {r.hole_s:.1f} s")
    with_events = sum(1 for r in records if events.get(r.camera_id, 0) > 0)
    group_pids = {name: pid for name, pid in pids.items() if ":" not in name}
    peak = max(run.samples, key=lambda s: s.total_rss)
    print(f"worker processes at the end: {len(group_pids)} ({', '.join(sorted(group_pids))})")
    print(f"memory samples: {len(run.samples)} every {args.sample:g} s; warm-up {warmup_s:.0f} s; post-warm-up "
          f"first {first / 2**20:.1f} MiB, last {last / 2**20:.1f} MiB, peak {peak.total_rss / 2**20:.1f} MiB at "
          f"t={peak.t:.0f} s, over {span:.0f} s")  # fmt: skip
    print(f"service stop took {stop_s:.1f} s; load average at the end {os.getloadavg()[0]:.2f} (machine shared)")
    print(f"cameras: {n}")
    print(f"minutes: {args.minutes:g}")
    print(f"segments_indexed: {rows}")
    print(f"segment_files_on_disk: {files}")
    print(f"segments_expected_from_spans: {expected}")
    print(f"segments_short_of_expected: {short}")
    print(f"files_without_index_row: {unindexed}")
    print(f"segment_s: configured {args.segment_seconds:g}, mean {sum(lengths) / max(1, len(lengths)):.2f}, "
          f"longest {max((r.longest_s for r in records), default=0.0):.2f}")  # fmt: skip
    print(f"recorded_over_spans_s: {covered:.0f}/{spans:.0f}")
    print(f"last_indexed_end_before_stop_s: max {max(tails, default=float('nan')):.1f}")
    print(f"timeline_holes: {holes} ({hole_s:.1f} s over {len(with_holes)} cameras)")
    print(f"cameras_never_recorded: {len(never)}")
    print(f"slowest_camera_first_segment_s: {late:.1f}")
    print(f"rss_total_mib: {final.total_rss / 2**20:.1f}")
    print(f"rss_per_camera_mib: {final.total_rss / n / 2**20:.2f}")
    print(f"rss_growth_after_warmup_pct: {grew:.2f}")
    print(f"status_rows: {len(reported)}/{n} ({', '.join(f'{k} {v}' for k, v in sorted(by_state.items()))})")
    print(f"status_fresh_within_{STALE_S:.0f}s: {len(fresh)}/{n}")
    print(f"cameras_without_status: {len(missing)}")
    print(f"recorder_health_online: {rec_online}/{n}")
    print(f"cameras_with_motion_events: {with_events}/{n} ({sum(events.values())} events)")
    lags = [s.index_lag_s for s in run.samples if s.index_lag_s == s.index_lag_s]
    print(f"index_lag_max_s: {max(lags, default=float('nan')):.0f} (now - latest indexed segment end, worst camera)")
    print(f"service_cpu_cores: {service_cores:.2f}")
    print(f"rtsp_server_cpu_cores: {server_cores:.2f}")
    # Lost = a hole in a camera's timeline, a camera never recorded, or a file on disk without its index row. The
    # count of segments "short" of span / configured length is not one: segments are cut on keyframes, so they run
    # a little longer than configured (10.9 s for 10 s here) and are fewer, covering the same time.
    print(f"segments_lost: {holes + len(never) + unindexed}")


if __name__ == "__main__":
    main()
