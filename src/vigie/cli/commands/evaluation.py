"""``vigie eval mot | detect | plates | events`` and ``vigie calibrate``: score the detector + tracker on a
MOTChallenge-format folder, the plate reader on folders of annotated photos (:mod:`vigie.evaluation.plates`), or run
one event module over recorded footage (:mod:`vigie.evaluation.module_run`).

``eval events VIDEO GT.json --module NAME`` scores the module's hits against event ground truth (the format of
``vigie sim render --gt``): per-event precision, recall and detection delay. ``calibrate VIDEO --module NAME``
(L32) runs the same thing without ground truth: no alert is raised, nothing is stored, and the report lists what
the module *would* have raised, to tune thresholds on site before go-live.

Neither is a side door around governance (issue 14). With ``--config FILE`` (a Vigie installation's footage) they
run only for the account signed in with ``vigie login`` whose roles may request an activation (supervisor, dpo:
a calibration run prepares a request, L32), on a camera it sees, and write ``analysis.calibration`` to the audit
chain *before* running: who, in which role, which module, every input file's SHA-256, and the camera and recorded
period when the video is a segment of the store. Without ``--config`` they run offline on public-format material
(simulator renders, MOTChallenge folders, any clip) but refuse a file recognisably recorded or exported by Vigie
(a segment named by the recorder, a file of an export folder): docs/evaluation.md. ``eval plates`` is offline only
(plate reading runs for a state tenant under an activation, L34): it refuses an export folder or a recorded segment
and has no ``--config``: docs/plates.md.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigie.analytics.rules.base import Rule
from vigie.analytics.rules.registry import STATISTICS
from vigie.analytics.track import ByteTracker
from vigie.cli.commands.context import Opened
from vigie.cli.commands.session import run_signed_in
from vigie.domain.audit import AuditAction, AuditEvent, format_time
from vigie.domain.digest import file_sha256
from vigie.domain.users import ROLE_PERMISSIONS, Permission
from vigie.evaluation.detection import evaluate_detection
from vigie.evaluation.detection_source import PUBLIC_DETECTIONS, EvalUsageError, choose_detections
from vigie.evaluation.events import GroundTruthError, TruthEvent, load_events, score_events, score_totals
from vigie.evaluation.module_run import (
    DWELL_MODULES,
    EventEvalError,
    ModuleRun,
    build_module,
    load_module_config,
    media_seconds,
    onnx_detector,
    run_module,
    run_modules,
    vigie_footage,
)
from vigie.evaluation.mot import evaluate_tracking, normalise_scores, track_sequence
from vigie.evaluation.report import files_json, format_files, format_table, write_json
from vigie.evaluation.sequence import SequenceError, read_sequence
from vigie.recording.segment_writer import start_from_key
from vigie.runtime.assembly.segments import spool_dir
from vigie.services.access import AccessDeniedError, Principal
from vigie.storage import SqlSegmentIndex


def eval_mot_command(
    seq_dir: Path,
    *,
    detector: str | None,
    model: Path | None,
    model_format: str | None,
    json_out: Path | None,
) -> int:
    """Detect (public det.txt, motion or ONNX), track with ByteTracker, print MOTA/IDF1/HOTA; 0 on success."""
    try:
        sequence = read_sequence(seq_dir)
        source, detections = choose_detections(sequence, detector, model, model_format)
        truth = sequence.ground_truth()
        tracked = track_sequence(normalise_scores(detections), sequence.frames, sequence.period, ByteTracker())
        scores = evaluate_tracking(truth, tracked, sequence.frames)
        files = sequence.source_files(with_detections=source == PUBLIC_DETECTIONS)
    except (SequenceError, EvalUsageError, FileNotFoundError) as err:
        print(f"vigie eval mot: {err}", file=sys.stderr)
        return 2
    values = scores.as_dict()
    print(format_table(f"{sequence.info.name} — tracking ({source}, persons)", values))
    print(format_files(files, sequence.info))
    if json_out is not None:
        report = {"sequence": sequence.info.name, "detections": source, "metrics": values}
        write_json(json_out, report | files_json(files, sequence.info))
    return 0


def eval_detect_command(
    seq_dir: Path, *, model: Path | None, model_format: str | None, json_out: Path | None, objects: str = "person"
) -> int:
    """Person (or vehicle) precision, recall and AP@0.5 of an ONNX model (or of det/det.txt when no model is
    given; vehicles need a model)."""
    try:
        sequence = read_sequence(seq_dir)
        source, detections = choose_detections(sequence, "onnx" if model else None, model, model_format, objects)
        scores = evaluate_detection(sequence.ground_truth(objects), detections, sequence.frames)
        files = sequence.source_files(with_detections=source == PUBLIC_DETECTIONS)
    except (SequenceError, EvalUsageError, FileNotFoundError) as err:
        print(f"vigie eval detect: {err}", file=sys.stderr)
        return 2
    values = scores.as_dict()
    print(format_table(f"{sequence.info.name} — detection ({source}, {objects}s)", values))
    print(format_files(files, sequence.info))
    if json_out is not None:
        report = {"sequence": sequence.info.name, "detections": source, "objects": objects, "metrics": values}
        write_json(json_out, report | files_json(files, sequence.info))
    return 0


def eval_plates_command(
    folders: Sequence[Path],
    *,
    split: str,
    threads: int,
    misses: bool,
    json_out: Path | None,
    model: Path | None = None,
    model_format: str | None = None,
    width: int | None = None,
    detect_side: int = 640,
) -> int:
    """Plate localisation and reading on folders of annotated photos, one figure a line (``name value``); 0 on
    success. Offline only: a folder of a Vigie export (plate crops are footage, L35) is refused. With ``model``,
    the street camera's path: vehicles from the model, each read below its windows by the camera's reader
    (``detect_side``), on photos scaled down to ``width``."""
    from vigie.evaluation.plates import PlateLabelError, evaluate, photo_reader, read_folder
    from vigie.evaluation.plates import split as halves
    from vigie.lpr.reader import PlateReader, PlateReaderError

    for folder in folders:
        what = vigie_footage(folder / "manifest.json")
        if what is not None:
            print(f"vigie eval plates: {folder} is {what}; plates are evaluated offline on public-format photos "
                  "only; nothing was run", file=sys.stderr)  # fmt: skip
            return 2
    if width is not None and width < 160:
        print(f"vigie eval plates: --width {width} is too small to read a plate; give 160 px or more", file=sys.stderr)
        return 2
    try:
        detect = onnx_detector(model, model_format)
        reader = photo_reader(threads) if detect is None else PlateReader(threads=threads, detect_side=detect_side)
        report: dict[str, Any] = {"split": split, "sets": {}, "model": model.name if model else None, "width": width}
        for folder in folders:
            scores = evaluate(reader, halves(read_folder(folder), split), detect=detect, width=width)
            values = scores.as_dict()
            if len(folders) > 1:
                print(f"# {folder.name} ({split})")
            for name, value in values.items():
                print(f"{name} {value}")
            if misses:
                for r in scores.misses():
                    print(
                        f"  miss {r.image}: {r.truth} read {r.read or '-'} (crop {r.crop_read or '-'}, IoU {r.iou:.2f})"
                    )
            report["sets"][folder.name] = {
                "metrics": values,
                "plates": [
                    {"image": r.image, "truth": r.truth, "read": r.read, "crop_read": r.crop_read,
                     "iou": round(r.iou, 3)}
                    for r in scores.results
                ],
            }  # fmt: skip
    except (PlateLabelError, PlateReaderError, EventEvalError, ValueError) as err:
        print(f"vigie eval plates: {err}", file=sys.stderr)
        return 2
    if json_out is not None:
        write_json(json_out, report)
    return 0


def eval_plates_video_command(
    video: Path,
    *,
    truth: Path | None,
    model: Path | None,
    model_format: str | None,
    fps: float,
    threads: int,
    json_out: Path | None,
) -> int:
    """The plates of a clip, one voted read per track (detector → tracker → reader → voter, or plates tracked
    themselves without a model), scored against a simulator's ``gt/plates.txt`` when given; offline only."""
    from vigie.evaluation.module_run import sample_frames
    from vigie.evaluation.plates import PlateLabelError, evaluate_video, read_plate_truth
    from vigie.lpr.reader import PlateReader, PlateReaderError

    what = vigie_footage(video)
    if what is not None:
        print(f"vigie eval plates: {video} is {what}; plates are evaluated offline on public-format clips only; "
              "nothing was run", file=sys.stderr)  # fmt: skip
        return 2
    try:
        expected = read_plate_truth(truth) if truth is not None else None
        scores = evaluate_video(
            PlateReader(threads=threads),
            sample_frames(video, fps),
            detect=onnx_detector(model, model_format),
            truth=expected,
        )
    except (PlateLabelError, PlateReaderError, EventEvalError, ValueError) as err:
        print(f"vigie eval plates: {err}", file=sys.stderr)
        return 2
    values = scores.as_dict()
    for name, value in values.items():
        print(f"{name} {value}")
    for t in scores.tracks:
        print(f"  track {t.track_id}: {t.text} confidence {t.confidence:.2f}, {t.votes} of {t.frames} reads")
    if json_out is not None:
        tracks = [
            {"track": t.track_id, "text": t.text, "confidence": t.confidence, "frames": t.frames, "votes": t.votes}
            for t in scores.tracks
        ]
        write_json(json_out, {"video": video.name, "metrics": values, "tracks": tracks})
    return 0


CALIBRATION_PERMISSION = Permission.REQUEST_ACTIVATION
"""Who may run a module on an installation's footage outside an activation: those who may request one (supervisor,
dpo), since a calibration run prepares the request (L32)."""


def _file_entry(kind: str, path: Path) -> dict[str, Any]:
    return {"input": kind, "name": path.name, "sha256": file_sha256(path), "bytes": path.stat().st_size}


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
        details["media_seconds"] = media_seconds(run.video)
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
    module: str | Sequence[str],
    config_file: Path | None,
    boxes: Path | None,
    model: Path | None,
    model_format: str | None,
    fps: float,
    json_out: Path | None,
    config_path: Path | None = None,
    camera: str | None = None,
) -> int:
    """Print precision, recall and delays of ``module`` (or of each of several, in one pass over the video) on
    ``video`` against ``truth_path``; 0 on success. With ``config_path``: only for a signed-in account that may
    calibrate, audited first."""
    modules = [module] if isinstance(module, str) else list(dict.fromkeys(module))
    inputs = (
        ("video", video),
        ("ground_truth", truth_path),
        ("boxes", boxes),
        ("settings", config_file),
        ("model", model),
    )
    run = _Run("vigie eval events", ",".join(modules), video, inputs, fps, camera)
    return _guarded(
        run,
        config_path,
        lambda: _eval_events(
            video, truth_path, modules=modules, config_file=config_file, boxes=boxes, model=model,
            model_format=model_format, fps=fps, json_out=json_out,
        ),
    )  # fmt: skip


def _eval_events(
    video: Path,
    truth_path: Path,
    *,
    modules: Sequence[str],
    config_file: Path | None,
    boxes: Path | None,
    model: Path | None,
    model_format: str | None,
    fps: float,
    json_out: Path | None,
) -> int:
    try:
        truth = load_events(truth_path)
        rules = [build_module(module, load_module_config(config_file, module)) for module in modules]
        runs = run_modules(video, rules, fps=fps, boxes=boxes, detect=onnx_detector(model, model_format))
    except (EventEvalError, GroundTruthError) as err:
        print(f"vigie eval events: {err}", file=sys.stderr)
        return 2
    results = [
        _event_result(video, module, rule, run, truth, fps=fps)
        for module, rule, run in zip(modules, rules, runs, strict=True)
    ]
    if json_out is not None:
        # One module: its result, as it has always been written; several: each one's under "results", in order.
        write_json(json_out, results[0] if len(results) == 1 else {"video": video.name, "results": results})
    return 0


def _event_result(
    video: Path, module: str, rule: Rule, run: ModuleRun, truth: list[TruthEvent], *, fps: float
) -> dict[str, Any]:
    """Print one module's scores; what ``--json`` writes of it."""
    if module in STATISTICS:
        return _report_totals(video, module, run, truth, fps=fps)
    # Zone modules promise "in the zone for at least min_duration_s": shorter visits are not expected of them.
    stay = float(getattr(getattr(rule, "config", None), "min_duration_s", 0.0)) if module in DWELL_MODULES else 0.0
    score = score_events(module, run.hits, truth, min_event_s=stay)
    values = score.as_dict()
    print(format_table(f"{video.name} — {module} ({run.source}, {run.frames} frames at {fps:g} fps)", values))
    for event in score.missed:
        print(f"  missed: {event.kind} {event.start_s:.1f}–{event.end_s:.1f} s")
    hits = [
        {"at_s": round(h.at_s, 3), "score": h.score, "region": [h.region.x, h.region.y, h.region.w, h.region.h]}
        for h in run.hits
    ]
    return {"video": video.name, "module": module, "source": run.source, "metrics": values, "hits": hits}


def _report_totals(video: Path, module: str, run: ModuleRun, truth: list[TruthEvent], *, fps: float) -> dict[str, Any]:
    """A statistics module raises nothing: its totals per bucket beside the ground truth's."""
    buckets = [(b.start, b.end, b.value) for b in run.totals]
    scores = score_totals(module, buckets, truth, video_s=run.seconds)
    print(f"{video.name} — {module} ({run.source}, {run.frames} frames at {fps:g} fps): totals per bucket")
    for b in scores:
        shown = "withheld (below min_count)" if b.measured is None else f"{b.measured:g}"
        print(f"  {b.start_s:g}–{b.end_s:g} s: annotated {b.annotated:g}, measured {shown}")
    judged = [b for b in scores if b.measured is not None]
    annotated = sum(b.annotated for b in judged)
    error = sum(abs((b.measured or 0.0) - b.annotated) for b in judged)
    values: dict[str, float | int] = {
        "buckets": len(scores),
        "withheld": len(scores) - len(judged),
        "annotated": round(annotated, 3),
        "measured": round(sum(b.measured or 0.0 for b in judged), 3),
        "absolute_error": round(error, 3),
    }
    print(format_table("all buckets", values))
    rows = [{"start_s": b.start_s, "end_s": b.end_s, "annotated": b.annotated, "measured": b.measured} for b in scores]
    return {"video": video.name, "module": module, "source": run.source, "metrics": values, "buckets": rows}


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
        rule = build_module(module, config)
        run = run_module(video, rule, fps=fps, boxes=boxes, detect=onnx_detector(model, model_format))
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
