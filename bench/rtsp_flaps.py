"""RTSP flaps: the camera's RTSP source goes away and comes back, many times, under the running service.

Goal (issue 15): the service keeps running, recording resumes after every flap, and each hole in the recording is
at most the reconnect time plus one segment.

One flap: the RTSP server (GStreamer's, ``RtspSimServer``, with its ffmpeg feeder) is stopped — the camera's TCP
session ends, as when a camera reboots or its switch drops — for ``--down`` s plus the time the server takes to
start again; then the bench waits until the recorder writes again and lets it record ``--up`` s more (at least 5 s
of being online, so the supervisor treats the next drop as news rather than a crash loop). The service is the real
composition (``service_rig.py``): production supervisor, segment writer, SQLite index.

Measured per flap, from the segment index once the service has stopped (``t_gone``: the server was stopped;
``t_back``: it serves again):

- **gap**: first segment start after ``t_gone`` minus the end of the last segment before it: the hole;
- **reconnect**: first segment start after ``t_gone`` minus ``t_gone``: from losing the source to recording again
  (the outage itself, the restart policy's delays while the source is away, process start, RTSP open, the first
  keyframe);
- **within goal**: gap ≤ reconnect + one segment, i.e. what was recorded before the drop is kept (the segment in
  progress is closed when the stream ends, or recovered from its ``.partial`` if the recorder had to be killed);
- **resume after back**: first segment start minus ``t_back``, the part of the hole the service adds once the camera
  is there again.

Also: no segment spans an outage (a hole is a hole in the index, never hidden inside a segment).

    .venv/bin/python bench/rtsp_flaps.py                 # 10 flaps (quick)
    .venv/bin/python bench/rtsp_flaps.py --flaps 100     # full size (≈ 16 min)
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from datetime import datetime

from service_rig import Rig, describe, running_service, stats, wait

RESUME_TIMEOUT_S = 120.0
START_TRIES = 3


@dataclass
class Flap:
    gone: datetime
    back: datetime
    resumed: datetime | None


def restart_server(rig: Rig) -> None:
    from vigie.sim.rtsp import RtspServerError

    for attempt in range(START_TRIES):
        try:
            rig.server.start()
            return
        except RtspServerError:
            if attempt == START_TRIES - 1:
                raise
            time.sleep(0.5)


def flap(rig: Rig, down_s: float, up_s: float) -> Flap:
    gone = rig.now()
    rig.server.stop()
    time.sleep(down_s)
    restart_server(rig)
    back = rig.now()
    resumed = wait(lambda: rig.recording_since(gone), RESUME_TIMEOUT_S)
    if resumed is not None:
        time.sleep(up_s)
    return Flap(gone, back, resumed)


@dataclass(frozen=True)
class Hole:
    gap_s: float
    reconnect_s: float
    after_back_s: float
    outage_s: float


def holes(rig: Rig, flaps: list[Flap]) -> tuple[list[Hole | None], int]:
    """One hole per flap (None when recording never resumed), and how many segments span an outage."""
    segments = rig.segments()
    out: list[Hole | None] = []
    spanning = 0
    for f in flaps:
        before = [s for s in segments if s.start < f.gone]
        after = [s for s in segments if s.start >= f.gone]
        spanning += sum(1 for s in before if s.end > f.back)
        if not before or not after or f.resumed is None:
            out.append(None)
            continue
        first = after[0].start
        out.append(
            Hole(
                gap_s=(first - max(s.end for s in before)).total_seconds(),
                reconnect_s=(first - f.gone).total_seconds(),
                after_back_s=(first - f.back).total_seconds(),
                outage_s=(f.back - f.gone).total_seconds(),
            )
        )
    return out, spanning


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flaps", type=int, default=10, help="number of flaps (default 10; 100 for the record)")
    parser.add_argument("--down", type=float, default=1.0, help="s the server stays stopped (plus its start)")
    parser.add_argument("--up", type=float, default=5.5, help="s recorded after each resume (default 5.5)")
    parser.add_argument("--segment-seconds", type=float, default=10.0, help="storage.segment_seconds (default 10)")
    parser.add_argument("--gop", type=float, default=2.0, help="the camera's keyframe interval, s (default 2)")
    args = parser.parse_args()
    flaps: list[Flap] = []
    with running_service(args.segment_seconds, args.gop) as rig:
        print(describe(args.gop, args.segment_seconds))
        time.sleep(args.up)
        for i in range(args.flaps):
            f = flap(rig, args.down, args.up)
            flaps.append(f)
            took = "never" if f.resumed is None else f"{(f.resumed - f.gone).total_seconds():.2f} s after the drop"
            print(
                f"flap {i + 1}: source back after {(f.back - f.gone).total_seconds():.2f} s, recording {took}",
                flush=True,
            )
        alive = rig.supervisor_alive()
        rig.stop()  # every segment, the one being written included, is now in the index
        found, spanning = holes(rig, flaps)
    measured = [h for h in found if h is not None]
    within = sum(1 for h in measured if h.gap_s <= h.reconnect_s + args.segment_seconds)
    print(f"service (supervisor) alive after the flaps: {alive}")
    print(f"segments spanning an outage: {spanning}")
    print(f"outage s (server stopped -> serving again): {stats([h.outage_s for h in measured])}")
    print(f"resume after source back s: {stats([h.after_back_s for h in measured])}")
    print(f"flaps: {len(flaps)}")
    print(f"resumed: {sum(1 for f in flaps if f.resumed is not None)}")
    print(f"max gap s: {max((h.gap_s for h in measured), default=float('nan')):.2f}")
    print(f"mean gap s: {sum(h.gap_s for h in measured) / max(1, len(measured)):.2f}")
    print(f"reconnect s: {stats([h.reconnect_s for h in measured])}")
    print(f"segment s: {args.segment_seconds:g}")
    print(f"gaps_within_goal: {within}/{len(flaps)}")


if __name__ == "__main__":
    main()
