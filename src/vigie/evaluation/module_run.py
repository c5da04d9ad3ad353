"""Run one event module over recorded footage, frame by frame, as the analysis pipeline would, and collect what it
would have raised: the engine of ``vigie eval events`` and ``vigie calibrate`` (L32), of the benchmarks, and of
nothing that alerts.

Objects come from an ONNX model (:func:`onnx_detector`) or from a MOTChallenge box file (:func:`read_mot_boxes`: a
detector's output, or the simulator's ground truth to judge a module's logic apart from detector errors). Who may run
it on an installation's footage, and the audit of that run, are the command's business
(:mod:`vigie.cli.commands.evaluation`); :func:`vigie_footage` tells such footage apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np
import yaml

from vigie.analytics.rules.base import Rule, RuleInput
from vigie.analytics.rules.registry import MODULES, STATISTICS, ModuleUnavailable, RuleConfigError, build_rule
from vigie.analytics.rules.statistics import Bucket
from vigie.analytics.track import ByteTracker
from vigie.domain.detections import Detections, ObjectClass
from vigie.evaluation.events import TimedHit
from vigie.recording.segment_writer import start_from_key
from vigie.sim.builtin import module_settings_path

MOT_TO_VIGIE = {1: ObjectClass.PERSON, 3: ObjectClass.CAR, 13: ObjectClass.BAG, -1: ObjectClass.PERSON}
"""MOTChallenge classes (as the simulator writes them; -1 = a det.txt without classes) → Vigie classes."""


DWELL_MODULES = frozenset({"intrusion", "loitering"})


class EventEvalError(ValueError):
    """Arguments or inputs that cannot be used; the message says what to change."""


@dataclass(frozen=True, slots=True)
class ModuleRun:
    """What one module raised over a video (media times), how many frames it saw, and where objects came from."""

    hits: list[TimedHit]
    frames: int
    seconds: float
    source: str
    totals: list[Bucket] = field(default_factory=list)
    """The buckets a statistics module closed (the last one closed at the end of the video)."""


def load_module_config(path: Path | None, module: str) -> dict[str, Any]:
    """The module's settings from a YAML file: either the settings themselves or a mapping keyed by module id."""
    if path is None:
        return {}
    path = module_settings_path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise EventEvalError(f"{path}: cannot read ({err.strerror})") from None
    except yaml.YAMLError as err:
        raise EventEvalError(f"{path}: not valid YAML ({err})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise EventEvalError(f"{path}: expected a mapping of settings (or of module ids to settings)")
    if set(data) & set(MODULES):
        section = data.get(module)
        if section is None:
            raise EventEvalError(f"{path} has settings for {', '.join(sorted(set(data) & set(MODULES)))}, not {module}")
        if not isinstance(section, dict):
            raise EventEvalError(f"{path}: {module} must be a mapping of settings")
        return dict(section)
    return dict(data)


def read_mot_boxes(path: Path) -> dict[int, Detections]:
    """``frame,id,x,y,w,h,conf[,class,visibility]`` rows → Vigie detections per 1-based frame."""
    try:
        rows = np.loadtxt(path, delimiter=",", ndmin=2)
    except (OSError, ValueError) as err:
        raise EventEvalError(f"{path}: not a MOTChallenge box file ({err})") from None
    if rows.size and rows.shape[1] < 7:
        raise EventEvalError(f"{path}: expected at least 7 columns (frame,id,x,y,w,h,conf), got {rows.shape[1]}")
    out: dict[int, Detections] = {}
    for frame in np.unique(rows[:, 0]).astype(int).tolist() if rows.size else []:
        part = rows[rows[:, 0] == frame]
        mot_classes = part[:, 7].astype(int) if part.shape[1] > 7 else np.full(len(part), -1)
        known = np.array([c in MOT_TO_VIGIE for c in mot_classes.tolist()], bool)
        part, mot_classes = part[known], mot_classes[known]
        boxes = np.stack([part[:, 2], part[:, 3], part[:, 2] + part[:, 4], part[:, 3] + part[:, 5]], 1)
        scores = np.clip(np.where(part[:, 6] > 0, part[:, 6], 1.0), 0, 1)
        classes = [int(MOT_TO_VIGIE[c]) for c in mot_classes.tolist()]
        out[frame] = Detections.create(boxes.reshape(-1, 4), scores, classes)
    return out


def sample_frames(video: Path, fps: float) -> Iterator[tuple[int, float, np.ndarray]]:
    """(1-based frame number, media seconds, BGR image) every 1/fps seconds of the video."""
    try:
        container = av.open(str(video))
    except (av.FFmpegError, OSError) as err:
        raise EventEvalError(f"{video}: cannot open the video ({err})") from None
    with container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate or 25)
        period, next_due = 1.0 / fps, 0.0
        for index, frame in enumerate(container.decode(stream)):
            at = float(frame.time) if frame.time is not None else index / rate
            if at + 1e-6 < next_due:
                continue
            next_due = max(next_due + period, at)
            yield index + 1, at, frame.to_ndarray(format="bgr24")


def run_module(
    video: Path,
    rule: Rule,
    *,
    fps: float = 5.0,
    boxes: Path | None = None,
    detect: Callable[[np.ndarray], Detections] | None = None,
) -> ModuleRun:
    """Feed the module every analysed frame of ``video``; return its hits in media time."""
    [run] = run_modules(video, [rule], fps=fps, boxes=boxes, detect=detect)
    return run


def run_modules(
    video: Path,
    rules: Sequence[Rule],
    *,
    fps: float = 5.0,
    boxes: Path | None = None,
    detect: Callable[[np.ndarray], Detections] | None = None,
) -> list[ModuleRun]:
    """Feed every module every analysed frame of ``video`` in one pass — one decode, one detector run and one
    tracker for all, as a camera's modules share them live — and return each module's hits in media time."""
    if not rules:
        raise EventEvalError("no event module to run")
    for rule in rules:
        if not rule.needs_frame and boxes is None and detect is None:
            raise EventEvalError(
                f"{rule.module} needs objects: give --boxes FILE (MOTChallenge boxes) or --model FILE --format F"
            )
    table = read_mot_boxes(boxes) if boxes is not None else None
    source = f"boxes:{boxes.name}" if boxes is not None else ("model" if detect is not None else "pixels")
    need_objects = any(not rule.needs_frame for rule in rules)
    tracker = ByteTracker()
    hits: list[list[TimedHit]] = [[] for _ in rules]
    totals: list[list[Bucket]] = [[] for _ in rules]
    frames, last_at, previous = 0, 0.0, None
    image: np.ndarray | None = None
    for number, at, image in sample_frames(video, fps):
        frames += 1
        period = at - previous if previous is not None else 1.0 / fps
        previous, last_at = at, at
        tracks = Detections()
        if need_objects:
            if table is not None:
                found = table.get(number, Detections())
            else:
                assert detect is not None  # checked above
                found = detect(image)
            tracks = tracker.update(found, period)
        size = (image.shape[1], image.shape[0])
        for i, rule in enumerate(rules):
            data = RuleInput(at, size, Detections() if rule.needs_frame else tracks, image)
            hits[i].extend(TimedHit(at, hit.region, hit.score) for hit in rule.update(data))
            totals[i].extend(getattr(rule, "closed", ()))
    if frames == 0 or image is None:
        raise EventEvalError(f"{video}: no video frame could be decoded")
    for i, rule in enumerate(rules):
        if rule.module in STATISTICS:
            # Time passing closes a bucket, live as here: one frame with nothing in it, one bucket later, closes the
            # bucket the video ends in (and counts nothing in the next, which is never closed).
            later = last_at + float(getattr(getattr(rule, "config", None), "bucket_s", 900.0))
            rule.update(RuleInput(later, (image.shape[1], image.shape[0]), Detections(), image))
            totals[i].extend(getattr(rule, "closed", ()))
    return [ModuleRun(hits[i], frames, last_at, source, totals[i]) for i in range(len(rules))]


def onnx_detector(model: Path | None, model_format: str | None) -> Callable[[np.ndarray], Detections] | None:
    """The detector of an ONNX model file of ``model_format``; None without a model (objects come from boxes)."""
    if model is None:
        return None
    if model_format is None:
        raise EventEvalError("--model needs --format (yolox, gfl, fastestdet, yolov8)")
    if not model.is_file():
        raise EventEvalError(f"model file {model} does not exist")
    from vigie.analytics.detect.onnx import OnnxDetector, OnnxDetectorConfig  # heavy: load lazily

    return OnnxDetector(OnnxDetectorConfig.model_validate({"model_path": model, "format": model_format})).detect


def build_module(module: str, config: Mapping[str, Any]) -> Rule:
    """The event module ``module`` with ``config``; a module unknown, unavailable or misconfigured is an
    :class:`EventEvalError`."""
    try:
        return build_rule(module, config)
    except (RuleConfigError, ModuleUnavailable) as err:
        raise EventEvalError(str(err)) from None


def vigie_footage(video: Path) -> str | None:
    """What ``video`` recognisably is when Vigie recorded or exported it (a segment named by the recorder, a file of
    an export folder with its signed manifest); None for anything else (a copy renamed is not recognised)."""
    if video.suffix == ".ts" and start_from_key(video.name) is not None:
        return "a segment recorded by Vigie"
    if (video.parent / "manifest.json").is_file() and (video.parent / "manifest.sig").is_file():
        return "a file of a Vigie export"
    return None


def media_seconds(video: Path) -> float | None:
    """The video's duration as its container states it; None when it states none or cannot be opened."""
    try:
        with av.open(str(video)) as container:
            return None if container.duration is None else round(container.duration / av.time_base, 3)
    except (av.FFmpegError, OSError):
        return None
