"""``vigie eval events`` and ``vigie calibrate``: run one event module over recorded footage.

``eval events VIDEO GT.json --module NAME`` scores the module's hits against event ground truth (the format of
``vigie sim render --gt``): per-event precision, recall and detection delay. ``calibrate VIDEO --module NAME``
(L32) runs the same thing without ground truth: no alert is raised, nothing is stored, and the report lists what
the module *would* have raised, to tune thresholds on site before go-live.

Objects come from an ONNX model (``--model``/``--format``) or from a MOTChallenge box file (``--boxes``: a
detector's output, or the simulator's ground truth to judge a module's logic apart from detector errors).

Neither is a side door around governance (issue 14). With ``--config FILE`` (a Vigie installation's footage) they
run only for the account signed in with ``vigie login`` whose roles may request an activation (supervisor, dpo:
a calibration run prepares a request, L32), on a camera it sees, and write ``analysis.calibration`` to the audit
chain *before* running: who, in which role, which module, every input file's SHA-256, and the camera and recorded
period when the video is a segment of the store. Without ``--config`` they run offline on public-format material
(simulator renders, MOTChallenge folders, any clip) but refuse a file recognisably recorded or exported by Vigie
(a segment named by the recorder, a file of an export folder): docs/evaluation.md.
"""

from __future__ import annotations

import hashlib
import math
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import yaml

from vigie.analytics.rules.base import Rule, RuleInput
from vigie.analytics.rules.registry import MODULES, ModuleUnavailable, RuleConfigError, build_rule
from vigie.analytics.track import ByteTracker
from vigie.domain.audit import AuditAction, AuditEvent, format_time
from vigie.domain.detections import Detections, ObjectClass
from vigie.domain.users import ROLE_PERMISSIONS, Permission
from vigie.evaluation.events import GroundTruthError, TimedHit, load_events, score_events
from vigie.evaluation.report import format_table, write_json
from vigie.recording.segment_writer import start_from_key
from vigie.runtime.assembly.segments import spool_dir
from vigie.runtime.cli_session import run_signed_in
from vigie.runtime.command_context import Opened
from vigie.services.access import AccessDeniedError, Principal
from vigie.sim.builtin import module_settings_path
from vigie.storage import SqlSegmentIndex

MOT_TO_VIGIE = {1: ObjectClass.PERSON, 3: ObjectClass.CAR, 13: ObjectClass.BAG, -1: ObjectClass.PERSON}
"""MOTChallenge classes (as the simulator writes them; -1 = a det.txt without classes) → Vigie classes."""


DWELL_MODULES = frozenset({"intrusion", "loitering"})


class EventEvalError(ValueError):
    """Arguments or inputs that cannot be used; the message says what to change."""


@dataclass(frozen=True, slots=True)
class ModuleRun:
    hits: list[TimedHit]
    frames: int
    seconds: float
    source: str


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


def _frames(video: Path, fps: float) -> Iterator[tuple[int, float, np.ndarray]]:
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
    if not rule.needs_frame and boxes is None and detect is None:
        raise EventEvalError(
            f"{rule.module} needs objects: give --boxes FILE (MOTChallenge boxes) or --model FILE --format F"
        )
    table = read_mot_boxes(boxes) if boxes is not None else None
    source = f"boxes:{boxes.name}" if boxes is not None else ("model" if detect is not None else "pixels")
    tracker = ByteTracker()
    hits: list[TimedHit] = []
    frames, last_at, previous = 0, 0.0, None
    for number, at, image in _frames(video, fps):
        frames += 1
        period = at - previous if previous is not None else 1.0 / fps
        previous, last_at = at, at
        tracks = Detections()
        if not rule.needs_frame:
            if table is not None:
                found = table.get(number, Detections())
            else:
                assert detect is not None  # checked above
                found = detect(image)
            tracks = tracker.update(found, period)
        data = RuleInput(at, (image.shape[1], image.shape[0]), tracks, image)
        hits.extend(TimedHit(at, hit.region, hit.score) for hit in rule.update(data))
    if frames == 0:
        raise EventEvalError(f"{video}: no video frame could be decoded")
    return ModuleRun(hits, frames, last_at, source)


def _detector(model: Path | None, model_format: str | None) -> Callable[[np.ndarray], Detections] | None:
    if model is None:
        return None
    if model_format is None:
        raise EventEvalError("--model needs --format (yolox, gfl, fastestdet, yolov8)")
    if not model.is_file():
        raise EventEvalError(f"model file {model} does not exist")
    from vigie.analytics.detect.onnx import OnnxDetector, OnnxDetectorConfig  # heavy: load lazily

    return OnnxDetector(OnnxDetectorConfig.model_validate({"model_path": model, "format": model_format})).detect


def _build(module: str, config: Mapping[str, Any]) -> Rule:
    try:
        return build_rule(module, config)
    except (RuleConfigError, ModuleUnavailable) as err:
        raise EventEvalError(str(err)) from None


CALIBRATION_PERMISSION = Permission.REQUEST_ACTIVATION
"""Who may run a module on an installation's footage outside an activation: those who may request one (supervisor,
dpo), since a calibration run prepares the request (L32)."""


def vigie_footage(video: Path) -> str | None:
    """What ``video`` recognisably is when Vigie recorded or exported it (a segment named by the recorder, a file of
    an export folder with its signed manifest); None for anything else (a copy renamed is not recognised)."""
    if video.suffix == ".ts" and start_from_key(video.name) is not None:
        return "a segment recorded by Vigie"
    if (video.parent / "manifest.json").is_file() and (video.parent / "manifest.sig").is_file():
        return "a file of a Vigie export"
    return None


def _file_entry(kind: str, path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return {"input": kind, "name": path.name, "sha256": digest.hexdigest(), "bytes": path.stat().st_size}


def _media_seconds(video: Path) -> float | None:
    try:
        with av.open(str(video)) as container:
            return None if container.duration is None else round(container.duration / av.time_base, 3)
    except (av.FFmpegError, OSError):
        return None


@dataclass(frozen=True, slots=True)
class _Run:
    """One calibration or evaluation run, as the audit records it."""

    command: str
    module: str
    video: Path
    inputs: Sequence[tuple[str, Path | None]]
    fps: float
    camera: str | None


def _guarded(run: _Run, config_path: Path | None, action: Callable[[], int]) -> int:
    """``action`` offline (no configuration, not Vigie footage), or for the signed-in account and audited first."""
    if config_path is None:
        what = vigie_footage(run.video)
        if what is not None:
            print(
                f"{run.command}: {run.video} is {what}: run it with --config FILE, signed in with `vigie login` "
                "(the run is recorded in the audit log); nothing was run",
                file=sys.stderr,
            )
            return 2
        return action()

    def traced(context: Opened, viewer: Principal) -> int:
        viewer.require(CALIBRATION_PERMISSION)
        role = viewer.role_for(r.value for r, granted in ROLE_PERMISSIONS.items() if CALIBRATION_PERMISSION in granted)
        details: dict[str, Any] = {"command": run.command, "module": run.module, "role": role, "fps": run.fps}
        camera = run.camera
        if run.video.is_file():
            details.update(_recorded(context, run.video))
            found = details.get("camera")
            if camera is not None and found is not None and found != camera:
                raise AccessDeniedError(f"{run.video.name} is a segment of camera {found}, not of {camera}")
            camera = camera or found
        if camera is not None:
            if context.config.find_camera(camera) is None:
                print(f"{run.command}: camera {camera!r} is not in the configuration; nothing was run", file=sys.stderr)
                return 2
            viewer.require_camera(camera)
            details["camera"] = camera
        try:
            details["files"] = [_file_entry(kind, path) for kind, path in run.inputs if path is not None]
        except OSError as err:
            print(f"{run.command}: cannot read {err.filename}: {err.strerror}; nothing was run", file=sys.stderr)
            return 2
        details["media_seconds"] = _media_seconds(run.video)
        target = f"camera:{camera}" if camera else f"file:{details['files'][0]['sha256']}"
        record = context.audit.append(
            AuditEvent(viewer.actor, AuditAction.ANALYSIS_CALIBRATION, target, details, at=context.clock())
        )
        print(
            f"recorded as audit entry {record.seq}: attach it to the activation request with "
            f"`vigie activation request … --calibration {record.seq}` (L32)",
            file=sys.stderr,
        )
        return action()

    return run_signed_in(config_path, run.command, traced)


def _recorded(context: Opened, video: Path) -> dict[str, Any]:
    """The camera and recorded period of ``video`` when it is a segment of the configuration's store."""
    try:
        key = video.resolve().relative_to(spool_dir(context.config).resolve()).as_posix()
    except ValueError:
        return {}
    segment = SqlSegmentIndex(context.engine).by_key(key)
    if segment is None:
        return {"camera": key.split("/", 1)[0]} if start_from_key(key) is not None else {}
    return {
        "camera": segment.camera_id,
        "recorded_from": format_time(segment.start),
        "recorded_until": format_time(segment.end),
    }


def eval_events_command(
    video: Path,
    truth_path: Path,
    *,
    module: str,
    config_file: Path | None,
    boxes: Path | None,
    model: Path | None,
    model_format: str | None,
    fps: float,
    json_out: Path | None,
    config_path: Path | None = None,
    camera: str | None = None,
) -> int:
    """Print precision, recall and delays of ``module`` on ``video`` against ``truth_path``; 0 on success. With
    ``config_path``: only for a signed-in account that may calibrate, audited first."""
    inputs = (
        ("video", video),
        ("ground_truth", truth_path),
        ("boxes", boxes),
        ("settings", config_file),
        ("model", model),
    )
    run = _Run("vigie eval events", module, video, inputs, fps, camera)
    return _guarded(
        run,
        config_path,
        lambda: _eval_events(
            video, truth_path, module=module, config_file=config_file, boxes=boxes, model=model,
            model_format=model_format, fps=fps, json_out=json_out,
        ),
    )  # fmt: skip


def _eval_events(
    video: Path,
    truth_path: Path,
    *,
    module: str,
    config_file: Path | None,
    boxes: Path | None,
    model: Path | None,
    model_format: str | None,
    fps: float,
    json_out: Path | None,
) -> int:
    try:
        truth = load_events(truth_path)
        rule = _build(module, load_module_config(config_file, module))
        run = run_module(video, rule, fps=fps, boxes=boxes, detect=_detector(model, model_format))
    except (EventEvalError, GroundTruthError) as err:
        print(f"vigie eval events: {err}", file=sys.stderr)
        return 2
    # Zone modules promise "in the zone for at least min_duration_s": shorter visits are not expected of them.
    stay = float(getattr(getattr(rule, "config", None), "min_duration_s", 0.0)) if module in DWELL_MODULES else 0.0
    score = score_events(module, run.hits, truth, min_event_s=stay)
    values = score.as_dict()
    print(format_table(f"{video.name} — {module} ({run.source}, {run.frames} frames at {fps:g} fps)", values))
    for event in score.missed:
        print(f"  missed: {event.kind} {event.start_s:.1f}–{event.end_s:.1f} s")
    if json_out is not None:
        hits = [{"at_s": round(h.at_s, 3), "score": h.score} for h in run.hits]
        write_json(
            json_out, {"video": video.name, "module": module, "source": run.source, "metrics": values, "hits": hits}
        )
    return 0


def calibrate_command(
    video: Path,
    *,
    module: str,
    config_file: Path | None,
    boxes: Path | None,
    model: Path | None,
    model_format: str | None,
    fps: float,
    json_out: Path | None,
    config_path: Path | None = None,
    camera: str | None = None,
) -> int:
    """L32: what ``module`` would have raised on ``video`` — no alert, nothing stored; 0 on success. With
    ``config_path``: only for a signed-in account that may calibrate, audited first."""
    inputs = (("video", video), ("boxes", boxes), ("settings", config_file), ("model", model))
    run = _Run("vigie calibrate", module, video, inputs, fps, camera)
    return _guarded(
        run,
        config_path,
        lambda: _calibrate(
            video, module=module, config_file=config_file, boxes=boxes, model=model, model_format=model_format,
            fps=fps, json_out=json_out,
        ),
    )  # fmt: skip


def _calibrate(
    video: Path,
    *,
    module: str,
    config_file: Path | None,
    boxes: Path | None,
    model: Path | None,
    model_format: str | None,
    fps: float,
    json_out: Path | None,
) -> int:
    try:
        config = load_module_config(config_file, module)
        rule = _build(module, config)
        run = run_module(video, rule, fps=fps, boxes=boxes, detect=_detector(model, model_format))
    except EventEvalError as err:
        print(f"vigie calibrate: {err}", file=sys.stderr)
        return 2
    minutes = max(run.seconds / 60.0, 1e-9)
    print(
        f"{video.name} — {module} calibration run ({run.source}, {run.frames} frames at {fps:g} fps, "
        f"{run.seconds:.0f} s): {len(run.hits)} would-be alerts, {len(run.hits) / minutes:.2f} per minute"
    )
    for hit in run.hits:
        r = hit.region
        print(f"  {_clock(hit.at_s)}  score {hit.score:.2f}  region x={r.x:.2f} y={r.y:.2f} w={r.w:.2f} h={r.h:.2f}")
    if json_out is not None:
        write_json(
            json_out,
            {
                "video": video.name,
                "module": module,
                "settings": rule.config.model_dump(mode="json") if hasattr(rule, "config") else config,
                "source": run.source,
                "frames": run.frames,
                "seconds": round(run.seconds, 3),
                "would_alert": [
                    {
                        "at_s": round(h.at_s, 3),
                        "score": h.score,
                        "region": [h.region.x, h.region.y, h.region.w, h.region.h],
                    }
                    for h in run.hits
                ],
            },
        )
    return 0


def _clock(seconds: float) -> str:
    minutes, rest = divmod(max(0.0, seconds), 60.0)
    return f"{int(minutes):02d}:{math.floor(rest):02d}.{int((rest % 1) * 10)}"
