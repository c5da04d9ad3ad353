"""Defocus (``image_too_blurry``, L18, issue 20) on real footage: detection delay per blur, false alarms on 30
minutes of normal footage, and the cost of the check.

The shared clips (``car-detection.mp4``: an overhead parking lot, mostly flat asphalt, cars crossing;
``one-by-one-person-detection.mp4``: an indoor room, people walking in) and TUD-Campus's 71 frames (a crowd
walking) are replayed to :class:`vigie.ingest.alarms.StreamAlarms` as the analysis worker feeds it: once a second of
stream time, the 640-px grey analysis frame and the picture at the source's resolution (the decoded luma), on a fake
clock, looped (tests/support/camera_footage.py). The 1080p cameras are real photos (``plates-fr-dev``: one
2000×1333 photo cropped to 1920×1080, and a 1440×1080 photo with a 480-px strip of another), looked at once a second
with a new sensor noise (σ 2 grey levels, after the blur), the view shaking by up to 2 px and the light drifting
±15 % over 10 minutes: nothing moves in them (the clips are the moving scenes); enlarging a clip would add no detail.

- **Delay**: after ``--warm`` seconds of normal footage, the source frames (768×432 or 640×480) are blurred by a
  Gaussian of σ px from that instant on; delay = stream seconds until ``image_too_blurry`` is raised (misses: not
  raised within 30 s). Five onsets per clip, 37 s apart.
- **Re-encoded**: the same with the blurred frames (and the normal ones before) encoded by libx264 at CRF 23 and
  32 and decoded back, as a camera encodes the picture it blurs (its block edges are detail the blur did not take);
  one onset.
- **False alarms**: ``image_too_blurry`` raised over 30 minutes of each clip, normal, then with the gain ×0.5 and
  ×1.5 for 10 minutes each; the other stream alarms raised meanwhile are counted too, for information.
- **Cost**: CPU time of one look (``StreamAlarms.frame``: a 640×360 analysis frame, with the 768×432 or 1920×1080
  source luma), and of the sharpness part alone (:func:`vigie.ingest.sharpness.look` and
  :func:`relative_sharpness`) on the picture it judges (the 1080p luma, the clips' analysis frame) and on the
  analysis frame, median of 2,000.

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

from tests.support.camera_footage import (  # noqa: E402
    NAMES,
    STILLS,
    Footage,
    StillCamera,
    encoded_looks,
    footage,
    looks,
    missing,
    replay,
)

from vigie.domain.camera import StreamAlarm, StreamAlarmKind  # noqa: E402
from vigie.ingest.alarms import StreamAlarmConfig, StreamAlarms, sharpness_picture  # noqa: E402
from vigie.ingest.sharpness import look, relative_sharpness  # noqa: E402

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
BLURRY = StreamAlarmKind.IMAGE_TOO_BLURRY
BLURS = (1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0)
ONSETS = 5
WAIT_S = 30


Camera = Footage | StillCamera


def delays(clip: Camera, blur_px: float, warm_s: int) -> list[float | None]:
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


def encoded_delay(clip: Camera, blur_px: float, crf: int, warm_s: int) -> float | None:
    """Seconds to the alarm with the source frames through H.264 at ``crf`` (None: not raised within WAIT_S)."""
    alarms = StreamAlarms("cam")
    normal = encoded_looks([clip.source(i) for i in range(warm_s)], crf)
    blurred = encoded_looks([clip.source(warm_s + i, blur_px=blur_px) for i in range(WAIT_S)], crf)
    replay(alarms, normal, T0, warm_s)
    onset = T0 + timedelta(seconds=warm_s)
    raised = [r for r in replay(alarms, blurred, onset, WAIT_S) if r.kind is BLURRY]
    return (raised[0].at - onset).total_seconds() if raised else None


def false_alarms(clip: Camera, minutes: int) -> tuple[int, Counter[str], float]:
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
        image, native = next(feed)
        records += alarms.packet(at) + alarms.frame(image, at, native)
        lowest = min(lowest, alarms.sharpness if alarms.sharpness is not None else lowest)
    kinds = Counter(str(r.kind) for r in records if not r.cleared)
    return kinds[str(BLURRY)], kinds, lowest


def cost(clip: Camera) -> tuple[float, float, float, float]:
    """Median CPU ms of a look (analysis frame and source luma), of the same look without the sharpness check, of
    the check alone on the picture it judges (:func:`sharpness_picture`), and of the check on the analysis frame."""
    frames = [clip.look(i) for i in range(20)]
    with_focus, alone, small = [], [], []
    alarms = StreamAlarms("cam")
    judged = [sharpness_picture(image, native) for image, native in frames]  # as the alarms choose
    reference, small_reference = look(judged[0], 3.0), look(frames[0][0], 3.0)
    for i in range(2000):
        at = T0 + timedelta(seconds=i)
        image, native = frames[i % 20]
        t = time.thread_time_ns()
        alarms.frame(image, at, native)
        with_focus.append(time.thread_time_ns() - t)
        t = time.thread_time_ns()
        relative_sharpness(reference, look(judged[i % 20], 3.0), 3.0, 8)
        alone.append(time.thread_time_ns() - t)
        t = time.thread_time_ns()
        relative_sharpness(small_reference, look(image, 3.0), 3.0, 8)
        small.append(time.thread_time_ns() - t)
    full, part = statistics.median(with_focus) / 1e6, statistics.median(alone) / 1e6
    return full, full - part, part, statistics.median(small) / 1e6


def size(clip: Camera) -> str:
    height, width = clip.source(0).shape
    return f"{width}×{height}"


class Tally:
    """What one group of cameras (the clips, or the 1080p ones) gave."""

    def __init__(self) -> None:
        self.worst: dict[float, float] = {}
        self.missed: Counter[float] = Counter()
        self.onsets = 0
        self.cameras = 0
        self.false_blurry = 0
        self.false_scene = 0
        self.encoded_missed: Counter[int] = Counter()
        self.costs: list[tuple[float, float, float, float]] = []

    def camera(self, clip: Camera, args: argparse.Namespace) -> None:
        self.cameras += 1
        self.onsets += ONSETS
        print(f"{clip.name} ({size(clip)}):")
        for blur in BLURS:
            found = delays(clip, blur, args.warm)
            hits = [d for d in found if d is not None]
            self.missed[blur] += len(found) - len(hits)
            if hits:
                self.worst[blur] = max(self.worst.get(blur, 0.0), *hits)
            shown = ", ".join("miss" if d is None else f"{d:.0f}" for d in found)
            print(f"  blur σ {blur:g} px: delay s [{shown}]", flush=True)
        for crf in (23, 32):
            encoded = {blur: encoded_delay(clip, blur, crf, args.warm) for blur in (2.0, 3.0, 5.0)}
            self.encoded_missed[crf] += encoded[3.0] is None
            shown = ", ".join(f"σ {b:g}: {'miss' if d is None else f'{d:.0f} s'}" for b, d in encoded.items())
            print(f"  through H.264 CRF {crf}: {shown}", flush=True)
        count, kinds, lowest = false_alarms(clip, args.minutes)
        self.false_blurry += count
        self.false_scene += kinds[str(StreamAlarmKind.SCENE_CHANGED)]
        print(
            f"  {args.minutes} min normal + 10 min gain ×0.5 + 10 min ×1.5: image_too_blurry raised {count}; all: "
            f"{dict(kinds) or 'none'}; lowest sharpness {lowest:.2f}",
            flush=True,
        )
        self.costs.append(cost(clip))

    def report(self, group: str) -> None:
        for blur in BLURS:
            name = f"{group}_blur_{blur:g}px".replace(".", "_")
            value = f"{self.worst[blur]:.0f}" if blur in self.worst else "none"
            print(f"{name}_worst_delay_s: {value} (missed {self.missed[blur]}/{self.onsets})")
        for crf in (23, 32):
            print(f"{group}_h264_crf{crf}_blur_3px_missed: {self.encoded_missed[crf]}/{self.cameras}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=int, default=30, help="minutes of normal footage per clip")
    parser.add_argument("--warm", type=int, default=60, help="seconds of normal footage before a blur")
    parser.add_argument("--only", nargs="*", default=None, help="cameras to run (default: all)", metavar="NAME")
    args = parser.parse_args()
    config = StreamAlarmConfig()
    print(
        f"defaults: focus_s {config.focus_s}, raise below {config.focus_raise_below}, clear above "
        f"{config.focus_clear_above}, min texture {config.focus_min_texture}, min cells {config.focus_min_cells}"
    )
    groups: dict[str, Tally] = {"clips": Tally(), "p1080": Tally()}
    for name in (*NAMES, *STILLS):
        if args.only is not None and name not in args.only:
            continue
        if why := missing(name):
            print(f"{name}: skipped: {why}")
            continue
        clip: Camera = StillCamera(name) if name in STILLS else footage(name)
        groups["p1080" if name in STILLS else "clips"].camera(clip, args)
    for group, tally in groups.items():
        for c in tally.costs:
            print(
                f"cost per look ({group}): {c[0]:.3f} ms with the sharpness check, {c[1]:.3f} ms without it; the check "
                f"{c[2]:.3f} ms on the picture it judges, {c[3]:.3f} ms on the analysis frame"
            )
    for group, tally in groups.items():
        if tally.cameras:
            tally.report(group)
    everyone = list(groups.values())
    print(f"false_image_too_blurry_{args.minutes}min_plus_lighting: {sum(t.false_blurry for t in everyone)}")
    print(f"false_scene_changed_{args.minutes}min_plus_lighting: {sum(t.false_scene for t in everyone)}")
    for group, tally in groups.items():
        if tally.costs:
            print(f"check_cpu_ms_{group}: {statistics.mean(c[2] for c in tally.costs):.3f}")
            print(f"check_cpu_ms_{group}_analysis_frame: {statistics.mean(c[3] for c in tally.costs):.3f}")
            ratio = statistics.mean(c[0] / c[1] for c in tally.costs)
            print(f"look_cpu_ratio_{group}_with_to_without: {ratio:.2f}")


if __name__ == "__main__":
    main()
