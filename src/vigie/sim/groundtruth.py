"""Ground truth of a rendered scene: MOTChallenge boxes, ``seqinfo.ini`` and the scripted events.

Files written under ``gt_dir`` (the layout of a MOTChallenge sequence, so TrackEval and friends read it):

* ``gt/gt.txt`` — ``frame,id,x,y,w,h,conf,class,visibility`` per drawn actor and frame; frame is 1-based,
  the box is the exact extent of the pixels painted (clipped to the frame, integer pixels), conf is 1,
  visibility is the fraction of the actor's painted pixels not covered by nearer actors.  Classes follow
  MOT17 where it has one: 1 = person (pedestrian, upright or fallen), 3 = vehicle (car); 13 = bag is a Vigie
  extension (MOT17 stops at 12).
* ``gt/plates.txt`` — only for scenes with vehicles seen from the rear: ``frame,id,x,y,w,h,visibility,PLATE`` per
  plate drawn and frame (the box of the plate itself, clipped to the frame; visibility as above; the plate as
  printed, ``AB-123-CD``).
* ``seqinfo.ini`` — name, imDir, frameRate, seqLength, imWidth, imHeight, imExt.  The frames themselves are in
  the video, not in ``imDir``; extract them with ffmpeg if a tool insists on images.
* ``events.json`` — the scripted situations as a list of ``{kind, start_s, end_s, start_frame, end_frame,
  region: {x, y, w, h}, actor_ids}`` (plus ``zone`` for ``enter_zone``).  Frames are 1-based and inclusive;
  ``start_s`` is the time of the first frame, ``end_s`` the end of the last one (``end_frame / fps``);
  ``region`` is normalised: the union of the involved actors' boxes over the event, or the flickering region.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from vigie.sim.cast import Cast, EventSpec
from vigie.sim.scene import ActorKind, Scene, SceneError, point_in_polygon

MOT_CLASSES: dict[ActorKind, int] = {ActorKind.PERSON: 1, ActorKind.VEHICLE: 3, ActorKind.BAG: 13}
"""MOTChallenge class id written for each actor kind."""


@dataclass(frozen=True, slots=True)
class GroundTruthBox:
    """Where one actor was drawn in one frame, in integer pixels (x, y = top-left)."""

    actor_id: int
    kind: ActorKind
    x: int
    y: int
    w: int
    h: int
    visibility: float


@dataclass(frozen=True, slots=True)
class GroundTruthPlate:
    """The number plate of one vehicle in one frame: its text as printed (``AB-123-CD``) and where it was drawn
    (integer pixels, clipped to the frame); ``visibility``: the fraction of the plate in the frame and not hidden."""

    actor_id: int
    text: str
    x: int
    y: int
    w: int
    h: int
    visibility: float


@dataclass(frozen=True, slots=True)
class GroundTruthEvent:
    """One scripted situation as a detector should have reported it."""

    kind: str
    start_frame: int
    end_frame: int
    start_s: float
    end_s: float
    region: tuple[float, float, float, float]
    actor_ids: tuple[int, ...]
    zone: tuple[tuple[float, float], ...] | None = None
    scripted: bool = True
    """False for an event nobody scripted but that happened all the same: another person walking through a
    situation's zone is an intrusion too, and a module that reports it is right."""

    def to_json(self) -> dict[str, Any]:
        x, y, w, h = self.region
        data: dict[str, Any] = {
            "kind": self.kind,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "start_frame": self.start_frame,
            "end_frame": self.end_frame,
            "region": {"x": x, "y": y, "w": w, "h": h},
            "actor_ids": list(self.actor_ids),
        }
        if self.zone is not None:
            data["zone"] = [list(point) for point in self.zone]
        if not self.scripted:
            data["scripted"] = False
        return data


def resolve_events(cast: Cast, boxes: Sequence[Sequence[GroundTruthBox]], scene: Scene) -> list[GroundTruthEvent]:
    """Read each scripted event's frames and region off the rendered boxes (see ``EventSpec``).

    Raises ``SceneError`` naming the situation when an event never shows in the video (e.g. it is scripted
    outside the frame or too close to the end), because a scene whose ground truth is empty tests nothing.
    """
    by_frame = [{box.actor_id: box for box in frame} for frame in boxes]
    scripted = [_resolve(spec, by_frame, scene) for spec in cast.events]
    return scripted + _incidental_zone_entries(cast, by_frame, scene)


def _incidental_zone_entries(
    cast: Cast, by_frame: list[dict[int, GroundTruthBox]], scene: Scene
) -> list[GroundTruthEvent]:
    """``enter_zone`` events of the other persons whose feet go into a scripted zone (one per visit)."""
    found = []
    for spec in cast.events:
        if spec.kind != "enter_zone" or spec.zone is None:
            continue
        others = sorted(
            {box.actor_id for frame in by_frame for box in frame.values() if box.kind is ActorKind.PERSON}
            - set(spec.actor_ids)
        )
        for actor_id in others:
            run: list[int] = []
            for index, present in enumerate([*by_frame, {}]):  # the empty frame closes a run at the end
                box = present.get(actor_id)
                foot = None if box is None else ((box.x + box.w / 2) / scene.width, (box.y + box.h) / scene.height)
                if foot is not None and point_in_polygon(foot, list(spec.zone)):
                    run.append(index)
                    continue
                if run:
                    visit = EventSpec("enter_zone", (actor_id,), (actor_id,), zone=spec.zone, situation=spec.situation)
                    found.append(replace(_resolve(visit, by_frame[: run[-1] + 1], scene, first=run[0]), scripted=False))
                    run = []
    return sorted(found, key=lambda e: e.start_frame)


def _resolve(
    spec: EventSpec, by_frame: list[dict[int, GroundTruthBox]], scene: Scene, first: int = 0
) -> GroundTruthEvent:
    run: list[int] = []
    for index, present in enumerate(by_frame):
        if index < first:
            continue
        if _holds(spec, index, present, scene):
            run.append(index)
        elif run:
            break
    if not run:
        raise SceneError(
            f"situations.{spec.situation} ({spec.kind}): the event is never visible in the video; "
            "check its times, positions and the scene duration"
        )
    first, last = run[0], run[-1]
    if spec.region is not None:
        region = (spec.region.x, spec.region.y, spec.region.w, spec.region.h)
    else:
        region = _union(by_frame[first : last + 1], spec.region_ids, scene)
    return GroundTruthEvent(
        kind=spec.kind,
        start_frame=first + 1,
        end_frame=last + 1,
        start_s=round(first / scene.fps, 4),
        end_s=round((last + 1) / scene.fps, 4),
        region=region,
        actor_ids=spec.actor_ids,
        zone=spec.zone,
    )


def _holds(spec: EventSpec, index: int, present: dict[int, GroundTruthBox], scene: Scene) -> bool:
    t = index / scene.fps
    eps = 1e-9
    if spec.start_s is not None and t < spec.start_s - eps:
        return False
    if spec.end_s is not None and t >= spec.end_s - eps:
        return False
    if not spec.actor_ids:
        return True
    box = present.get(spec.actor_ids[0])
    if box is None:
        return False
    if spec.zone is not None:
        foot = ((box.x + box.w / 2) / scene.width, (box.y + box.h) / scene.height)
        return point_in_polygon(foot, list(spec.zone))
    return True


def _union(
    frames: Sequence[dict[int, GroundTruthBox]], ids: tuple[int, ...], scene: Scene
) -> tuple[float, float, float, float]:
    x0 = y0 = float("inf")
    x1 = y1 = float("-inf")
    for present in frames:
        for actor_id in ids:
            box = present.get(actor_id)
            if box is not None:
                x0, y0 = min(x0, box.x), min(y0, box.y)
                x1, y1 = max(x1, box.x + box.w), max(y1, box.y + box.h)
    left, top = math.floor(x0 / scene.width * 1e4) / 1e4, math.floor(y0 / scene.height * 1e4) / 1e4
    right, bottom = math.ceil(x1 / scene.width * 1e4) / 1e4, math.ceil(y1 / scene.height * 1e4) / 1e4
    return left, top, round(right - left, 4), round(bottom - top, 4)  # rounded outwards: covers every box


def mot_lines(boxes: Sequence[Sequence[GroundTruthBox]]) -> list[str]:
    """MOTChallenge ground-truth lines, frame by frame then by actor id."""
    lines = []
    for index, frame in enumerate(boxes, start=1):
        for box in sorted(frame, key=lambda b: b.actor_id):
            cls = MOT_CLASSES[box.kind]
            lines.append(f"{index},{box.actor_id},{box.x},{box.y},{box.w},{box.h},1,{cls},{box.visibility:.3f}")
    return lines


def plate_lines(plates: Sequence[Sequence[GroundTruthPlate]]) -> list[str]:
    """``gt/plates.txt`` lines, frame by frame then by actor id."""
    lines = []
    for index, frame in enumerate(plates, start=1):
        for p in sorted(frame, key=lambda p: p.actor_id):
            lines.append(f"{index},{p.actor_id},{p.x},{p.y},{p.w},{p.h},{p.visibility:.3f},{p.text}")
    return lines


def seqinfo(scene: Scene, length: int) -> str:
    return (
        "[Sequence]\n"
        f"name={scene.name}\n"
        "imDir=img1\n"
        f"frameRate={scene.fps}\n"
        f"seqLength={length}\n"
        f"imWidth={scene.width}\n"
        f"imHeight={scene.height}\n"
        "imExt=.jpg\n"
    )


def write_ground_truth(
    gt_dir: Path,
    scene: Scene,
    boxes: Sequence[Sequence[GroundTruthBox]],
    events: Sequence[GroundTruthEvent],
    plates: Sequence[Sequence[GroundTruthPlate]] = (),
) -> None:
    """Write ``gt/gt.txt``, ``seqinfo.ini``, ``events.json`` and, when plates were drawn, ``gt/plates.txt``; on
    failure remove what this call created."""
    files = {
        gt_dir / "gt" / "gt.txt": "\n".join(mot_lines(boxes)) + "\n",
        gt_dir / "seqinfo.ini": seqinfo(scene, len(boxes)),
        gt_dir / "events.json": json.dumps([event.to_json() for event in events], indent=2) + "\n",
    }
    if any(plates):
        files[gt_dir / "gt" / "plates.txt"] = "\n".join(plate_lines(plates)) + "\n"
    created_dirs = [d for d in (gt_dir, gt_dir / "gt") if not d.exists()]
    written: list[Path] = []
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        for directory in reversed(created_dirs):
            if directory.exists() and not any(directory.iterdir()):
                directory.rmdir()
        raise
