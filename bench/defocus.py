"""Defocus (``image_too_blurry``, L18, issue 20) on real footage: detection delay per blur, false alarms on 30
minutes of normal footage, and the cost of the check.

The shared clips (``car-detection.mp4``: an overhead parking lot, mostly flat asphalt, cars crossing;
``one-by-one-person-detection.mp4``: an indoor room, people walking in) and TUD-Campus's 71 frames (a crowd
walking) are replayed to :class:`vigie.ingest.alarms.StreamAlarms` as the analysis worker feeds it: one grey
640-px analysis frame per second of stream time, on a fake clock, looped (tests/support/camera_footage.py).

- **Delay**: after ``--warm`` seconds of normal footage, the source frames (768×432 or 640×480) are blurred by a
  Gaussian of σ px from that instant on; delay = stream seconds until ``image_too_blurry`` is raised (misses: not
  raised within 30 s). Five onsets per clip, 37 s apart.
- **Re-encoded**: the same with the blurred frames (and the normal ones before) encoded by libx264 at CRF 23 and
  32 and decoded back, as a camera encodes the picture it blurs (its block edges are detail the blur did not take);
  one onset.
- **False alarms**: ``image_too_blurry`` raised over 30 minutes of each clip, normal, then with the gain ×0.5 and
  ×1.5 for 10 minutes each; the other stream alarms raised meanwhile are counted too, for information.
- **Cost**: CPU time of one look (``StreamAlarms.frame`` on a 640×360 frame) with the sharpness check, and of the
  sharpness part alone (:func:`vigie.ingest.sharpness.look` and :func:`relative_sharpness`), median of 2,000.

    PYTHONPATH=src:. .venv/bin/python bench/defocus.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import chain, islice
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.support.camera_footage import NAMES, Footage, footage, looks, missing, replay, through_h264  # noqa: E402

from vigie.domain.camera import StreamAlarm, StreamAlarmKind  # noqa: E402
from vigie.ingest.alarms import StreamAlarmConfig, StreamAlarms  # noqa: E402
from vigie.ingest.sharpness import look, relative_sharpness  # noqa: E402

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
BLURRY = StreamAlarmKind.IMAGE_TOO_BLURRY
BLURS = (1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0)
ONSETS = 5
WAIT_S = 30


def delays(clip: Footage, blur_px: float, warm_s: int) -> list[float | None]:
    """Seconds from the blur's onset to the alarm, for each onset (None: not raised within WAIT_S)."""
    out: list[float | None] = []
    for k in range(ONSETS):
        alarms = StreamAlarms("cam")
        start = warm_s + 37 * k
        replay(alarms, looks(clip), T0, start)
        onset = T0 + timedelta(seconds=start)
        raised = [r for r in replay(alarms, looks(clip, start, blur_px=blur_px), onset, WAIT_S) if r.kind is BLURRY]
        out.append((raised[0].at - onset).total_seconds() if raised else None)
    return out


def encoded_delay(clip: Footage, blur_px: float, crf: int, warm_s: int) -> float | None:
    """Seconds to the alarm with the frames through H.264 at ``crf`` (None: not raised within WAIT_S)."""
    alarms = StreamAlarms("cam")
    normal = through_h264([clip.analysis(i) for i in range(warm_s)], crf)
    blurred = through_h264([clip.analysis(warm_s + i, blur_px=blur_px) for i in range(WAIT_S)], crf)
    replay(alarms, iter(normal), T0, warm_s)
    onset = T0 + timedelta(seconds=warm_s)
    raised = [r for r in replay(alarms, iter(blurred), onset, WAIT_S) if r.kind is BLURRY]
    return (raised[0].at - onset).total_seconds() if raised else None


def false_alarms(clip: Footage, minutes: int) -> tuple[int, Counter[str], float]:
    """``image_too_blurry`` raised over ``minutes`` of normal footage then 10 min each at gain ×0.5 and ×1.5, every
    alarm raised (by kind), and the lowest sharpness read meanwhile (relative to the reference)."""
    alarms = StreamAlarms("cam")
    normal = minutes * 60
    feed = chain(
        islice(looks(clip), normal), islice(looks(clip, normal, gain=0.5), 600), looks(clip, normal + 600, gain=1.5)
    )
    records: list[StreamAlarm] = []
    lowest = float("inf")
    for second in range(normal + 1200):
        at = T0 + timedelta(seconds=second)
        records += alarms.packet(at) + alarms.frame(next(feed), at)
        lowest = min(lowest, alarms.sharpness if alarms.sharpness is not None else lowest)
    kinds = Counter(str(r.kind) for r in records if not r.cleared)
    return kinds[str(BLURRY)], kinds, lowest


def cost(clip: Footage) -> tuple[float, float, float]:
    """Median CPU ms of a look with the sharpness check, of the same look without it, and of the check alone."""
    frames = [clip.analysis(i) for i in range(20)]
    with_focus, alone = [], []
    alarms = StreamAlarms("cam")
    reference = look(frames[0], 3.0)
    for i in range(2000):
        at = T0 + timedelta(seconds=i)
        t = time.thread_time_ns()
        alarms.frame(frames[i % 20], at)
        with_focus.append(time.thread_time_ns() - t)
        t = time.thread_time_ns()
        relative_sharpness(reference, look(frames[i % 20], 3.0), 3.0, 8)
        alone.append(time.thread_time_ns() - t)
    full, part = statistics.median(with_focus) / 1e6, statistics.median(alone) / 1e6
    return full, full - part, part


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=int, default=30, help="minutes of normal footage per clip")
    parser.add_argument("--warm", type=int, default=60, help="seconds of normal footage before a blur")
    args = parser.parse_args()
    config = StreamAlarmConfig()
    print(
        f"defaults: focus_s {config.focus_s}, raise below {config.focus_raise_below}, clear above "
        f"{config.focus_clear_above}, min texture {config.focus_min_texture}, min cells {config.focus_min_cells}"
    )
    clips = []
    for name in NAMES:
        why = missing(name)
        if why:
            print(f"{name}: skipped: {why}")
        else:
            clips.append(footage(name))
    worst: dict[float, float] = {}
    missed: Counter[float] = Counter()
    false_total = 0
    encoded_missed: Counter[int] = Counter()
    costs = []
    for clip in clips:
        print(f"{clip.name} ({clip.frames[0].shape[1]}×{clip.frames[0].shape[0]}, {len(clip.frames)} looks a loop):")
        for blur in BLURS:
            found = delays(clip, blur, args.warm)
            hits = [d for d in found if d is not None]
            missed[blur] += len(found) - len(hits)
            if hits:
                worst[blur] = max(worst.get(blur, 0.0), *hits)
            shown = ", ".join("miss" if d is None else f"{d:.0f}" for d in found)
            print(f"  blur σ {blur:g} px: delay s [{shown}]")
        for crf in (23, 32):
            found = {blur: encoded_delay(clip, blur, crf, args.warm) for blur in (2.0, 3.0, 5.0)}
            encoded_missed[crf] += found[3.0] is None
            shown = ", ".join(f"σ {b:g}: {'miss' if d is None else f'{d:.0f} s'}" for b, d in found.items())
            print(f"  through H.264 CRF {crf}: {shown}")
        count, kinds, lowest = false_alarms(clip, args.minutes)
        false_total += count
        print(
            f"  {args.minutes} min normal + 10 min gain ×0.5 + 10 min ×1.5: image_too_blurry raised {count}; all: "
            f"{dict(kinds) or 'none'}; lowest sharpness {lowest:.2f}"
        )
        costs.append(cost(clip))
    full = statistics.mean(c[0] for c in costs)
    before = statistics.mean(c[1] for c in costs)
    part = statistics.mean(c[2] for c in costs)
    print(
        f"cost per look (640×360): {full:.3f} ms with the sharpness check, {before:.3f} ms without, check {part:.3f} ms"
    )
    for blur in BLURS:
        name = f"blur_{blur:g}px".replace(".", "_")
        value = f"{worst[blur]:.0f}" if blur in worst else "none"
        print(f"{name}_worst_delay_s: {value} (missed {missed[blur]}/{ONSETS * len(clips)})")
    for crf in (23, 32):
        print(f"h264_crf{crf}_blur_3px_missed: {encoded_missed[crf]}/{len(clips)}")
    print(f"false_alarms_{args.minutes}min_plus_lighting: {false_total}")
    print(f"check_cpu_ms: {part:.3f}")
    print(f"look_cpu_ratio_with_to_without: {full / before:.2f}")


if __name__ == "__main__":
    main()
