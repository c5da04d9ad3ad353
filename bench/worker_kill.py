"""``kill -9`` of a camera's recorder worker and of its analysis worker, many times, in the running service.

Goal (issue 15): every killed worker is restarted, and a recorder kill loses at most one segment of video.
Issue 16: a worker process hosts a group of cameras. The service records ``--cameras`` cameras (default 4), their
recorders ``--per-recorder`` to a process (default 2: two recorder groups, ``recorder-0`` and ``recorder-1``), all
analysed by one analysis process; each recorder kill is a ``kill -9`` of the process hosting the first camera
(``recorder-0``): every camera of that group loses video, and the cameras of the other group must not be
interrupted (no hole in their timelines).

Each round kills the recorder at a random point of the segment it is writing (``--min-online`` s or more after it
got online, plus a uniform fraction of a segment), waits until a new segment is being written, then kills the
analysis worker (``--min-online`` s after the camera reports online) and waits until it reports analysed frames
again. Workers killed sooner after getting online are treated by the supervisor as a crash loop (backoff). The
service is the real composition (``service_rig.py``): production supervisor, segment writer, partial recovery at
restart, SQLite index.

Measured, from the segment index once the service has stopped:

- **lost s** per recorder kill: start of the first segment recorded after the kill minus the end of what was kept
  of the segment being written (its ``.partial``, recovered and indexed by the next recorder), i.e. the hole in
  the recording. Within goal when ≤ ``segment_seconds``.
- **partial kept**: the segment being written at the kill is in the index (``recovered``), not lost.
- **restart s**: kill → the new worker's pid seen (supervisor's detection, restart delay, process start);
  **resume s**: kill → first packet recorded (adds imports, partial recovery, RTSP open, waiting for a keyframe).
- **analysis gap s** per analysis kill: kill → first health report of the new analysis worker (its first frame);
  and the recording's holes across those kills (should be none: analysis and recording are separate processes).
- **other group**: holes (> 0.5 s between one segment's end and the next one's start) in the timelines of the
  cameras whose recorders run in the other group, over the whole run (goal 0).

    .venv/bin/python bench/worker_kill.py                 # 5 rounds (quick)
    .venv/bin/python bench/worker_kill.py --rounds 25     # full size (≈ 8 min)
    .venv/bin/python bench/worker_kill.py --cameras 1 --per-recorder 1   # one camera, as in issue 15
"""

from __future__ import annotations

import argparse
import itertools
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from service_rig import CAMERA, Rig, describe, running_service, stats, wait

RESUME_TIMEOUT_S = 90.0
HOLE_S = 0.5


@dataclass
class Kill:
    role: str
    pid: int
    at: datetime
    restart_s: float | None = None
    resume_s: float | None = None


@dataclass
class Run:
    kills: list[Kill] = field(default_factory=list)

    def of(self, role: str) -> list[Kill]:
        return [k for k in self.kills if k.role == role]


def kill_recorder(rig: Rig, rng: random.Random, min_online_s: float) -> Kill:
    started = wait(rig.writing, RESUME_TIMEOUT_S)
    if started is None:
        raise SystemExit("nothing is being recorded")
    # at a random point of a segment, once the recorder has been online min_online_s (the supervisor restarts
    # such a worker at once; one that dies sooner is treated as a crash loop and backs off)
    online_s = (rig.now() - started).total_seconds()
    time.sleep(max(0.0, min_online_s - online_s) + rng.uniform(0.0, rig.segment_seconds))
    pid, at = rig.kill("recorder")
    kill = Kill("recorder", pid, at)
    new_pid = wait(lambda: (p := rig.pid("recorder")) is not None and p != pid and p, RESUME_TIMEOUT_S)
    if new_pid:
        kill.restart_s = (rig.now() - at).total_seconds()
    resumed = wait(lambda: rig.recording_since(at), RESUME_TIMEOUT_S)
    if resumed is not None:
        kill.resume_s = (resumed - at).total_seconds()
    return kill


def kill_analysis(rig: Rig, min_online_s: float) -> Kill:
    from vigie.domain.camera import HealthState

    online = wait(lambda: (h := rig.health()) is not None and h.state is HealthState.ONLINE, RESUME_TIMEOUT_S)
    if online is None:
        raise SystemExit("the analysis worker never got online")
    time.sleep(min_online_s)  # like the recorder: online long enough to be restarted at once
    pid, at = rig.kill("analysis")
    kill = Kill("analysis", pid, at)
    new_pid = wait(lambda: (p := rig.pid("analysis")) is not None and p != pid and p, RESUME_TIMEOUT_S)
    if new_pid:
        kill.restart_s = (rig.now() - at).total_seconds()

    def analysing() -> datetime | None:
        health = rig.health()
        ok = health is not None and health.at > at and health.state is not HealthState.OFFLINE
        return health.at if ok and health is not None else None

    back = wait(analysing, RESUME_TIMEOUT_S)
    if back is not None:
        kill.resume_s = (back - at).total_seconds()
    return kill


@dataclass(frozen=True)
class Loss:
    kept_partial: bool
    lost_s: float | None


def recorder_losses(rig: Rig, kills: list[Kill], camera: str = CAMERA) -> list[Loss]:
    from vigie.domain.recording import SegmentState

    segments = rig.segments(camera)
    out = []
    for kill in kills:
        before = [s for s in segments if s.start < kill.at]
        after = [s for s in segments if s.start >= kill.at]
        if not before or not after:
            out.append(Loss(False, None))
            continue
        kept = before[-1].state is SegmentState.RECOVERED
        out.append(Loss(kept, (after[0].start - max(s.end for s in before)).total_seconds()))
    return out


def timeline_holes(rig: Rig, camera: str) -> tuple[int, float]:
    """Holes in a camera's indexed timeline (gaps > ``HOLE_S`` between consecutive segments): count, seconds."""
    segments = rig.segments(camera)
    gaps = [(b.start - a.end).total_seconds() for a, b in itertools.pairwise(segments)]
    holes = [g for g in gaps if g > HOLE_S]
    return len(holes), sum(holes)


def recording_holes_around(rig: Rig, kills: list[Kill], camera: str = CAMERA) -> float:
    """Seconds of recording missing while each analysis worker was down (kill → back), summed."""
    segments = rig.segments(camera)
    missing = 0.0
    for kill in kills:
        lo, hi = kill.at, kill.at + timedelta(seconds=kill.resume_s if kill.resume_s is not None else 10.0)
        covered = sum(
            max(0.0, (min(s.end, hi) - max(s.start, lo)).total_seconds())
            for s in segments
            if s.end > lo and s.start < hi
        )
        missing += max(0.0, (hi - lo).total_seconds() - covered)
    return missing


def _measured(kills: list[Kill], name: str) -> list[float]:
    return [v for k in kills if (v := getattr(k, name)) is not None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="kills of each worker (default 5; 25 for the record)")
    parser.add_argument("--segment-seconds", type=float, default=10.0, help="storage.segment_seconds (default 10)")
    parser.add_argument("--gop", type=float, default=2.0, help="the camera's keyframe interval, s (default 2)")
    parser.add_argument("--min-online", type=float, default=5.0, help="s a recorder is online before its kill")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--cameras", type=int, default=4, help="cameras recorded (default 4)")
    parser.add_argument("--per-recorder", type=int, default=2, help="cameras per recorder process (default 2)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    run = Run()
    cameras = (CAMERA, *(f"{CAMERA}{i}" for i in range(1, args.cameras)))
    with running_service(
        args.segment_seconds, args.gop, cameras=cameras, recording_per_process=args.per_recorder
    ) as rig:
        print(describe(args.gop, args.segment_seconds))
        groups = rig.service.supervisor.groups()
        print("worker processes: " + "; ".join(f"{name}: {', '.join(cams)}" for name, cams in groups.items()))
        killed_group, victims = rig.group_of("recorder")
        others = tuple(c for c in cameras if c not in victims)
        for i in range(args.rounds):
            recorder = kill_recorder(rig, rng, args.min_online)
            analysis = kill_analysis(rig, args.min_online)
            run.kills += [recorder, analysis]
            print(
                f"round {i + 1}: recorder restart {recorder.restart_s} s, resume {recorder.resume_s} s; "
                f"analysis restart {analysis.restart_s} s, back {analysis.resume_s} s",
                flush=True,
            )
        wait(rig.writing, RESUME_TIMEOUT_S)
        time.sleep(1.0)
        alive = rig.supervisor_alive()
        rig.stop()  # every segment, the one being written included, is now in the index
        recorders, analyses = run.of("recorder"), run.of("analysis")
        by_victim = {camera: recorder_losses(rig, recorders, camera) for camera in victims}
        losses = [loss for camera_losses in by_victim.values() for loss in camera_losses]
        holes = sum(recording_holes_around(rig, analyses, camera) for camera in cameras)
        other_holes = {camera: timeline_holes(rig, camera) for camera in others}
        other_segments = {camera: len(rig.segments(camera)) for camera in others}
    lost = [loss.lost_s for loss in losses if loss.lost_s is not None]
    within = sum(1 for s in lost if s <= args.segment_seconds)
    for camera, camera_losses in by_victim.items():
        camera_lost = [loss.lost_s for loss in camera_losses if loss.lost_s is not None]
        kept = sum(1 for loss in camera_losses if loss.kept_partial)
        print(f"  {killed_group} {camera}: lost s {stats(camera_lost)}; partial kept {kept}/{len(camera_losses)}")
    for camera in others:
        count, seconds = other_holes[camera]
        print(f"  other group {camera}: {other_segments[camera]} segments, {count} holes ({seconds:.2f} s)")
    print(f"supervisor alive at the end: {alive}")
    print(f"recorder restart s (kill -> new pid): {stats(_measured(recorders, 'restart_s'))}")
    print(f"recorder resume s (kill -> first packet recorded): {stats(_measured(recorders, 'resume_s'))}")
    print(f"analysis restart s (kill -> new pid): {stats(_measured(analyses, 'restart_s'))}")
    print(f"recording lost during analysis kills s: {holes:.2f}")
    print(f"recorder group killed: {killed_group} ({len(victims)} cameras: {', '.join(victims)})")
    print(f"recorder kills: {len(recorders)}")
    print(f"recorder restarted: {sum(1 for k in recorders if k.restart_s is not None)}/{len(recorders)}")
    print(f"recorder partial kept: {sum(1 for loss in losses if loss.kept_partial)}/{len(losses)}")
    print(f"recorder lost s per camera of the killed group: {stats(lost)}")
    print(f"segment s: {args.segment_seconds:g}")
    print(f"analysis kills: {len(analyses)}")
    print(f"analysis restarted: {sum(1 for k in analyses if k.resume_s is not None)}/{len(analyses)}")
    print(f"analysis gap s: {stats(_measured(analyses, 'resume_s'))}")
    print(f"other_group_cameras: {len(others)}")
    print(f"other_group_holes: {sum(count for count, _ in other_holes.values())}")
    print(f"recorder_lost_within_one_segment: {within}/{len(losses)} (kills x cameras of the group)")


if __name__ == "__main__":
    main()
