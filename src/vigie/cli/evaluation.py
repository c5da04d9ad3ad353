"""``vigie eval mot | detect | plates | events`` and ``vigie calibrate``: score detection, tracking, plate reading
and event modules, and run a module on recorded footage without alerting (L32)
(:mod:`vigie.cli.commands.evaluation`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from vigie.cli.arguments import MODEL_FORMATS, Subparsers


def register(commands: Subparsers) -> None:
    evaluate = commands.add_parser("eval", help="evaluate detection and tracking on MOTChallenge-format folders")
    sub = evaluate.add_subparsers(metavar="COMMAND", required=True)
    mot_parser = sub.add_parser("mot", help="MOTA, IDF1, HOTA for persons (detector + tracker)")
    mot_parser.add_argument("sequence", type=Path, metavar="SEQ_DIR", help="folder with img1/ and gt/gt.txt")
    mot_parser.add_argument("--detector", choices=["public", "motion", "onnx"], help="default: det/det.txt if present")
    detect_parser = sub.add_parser("detect", help="precision, recall and AP@0.5 for persons or vehicles")
    detect_parser.add_argument("sequence", type=Path, metavar="SEQ_DIR")
    detect_parser.add_argument(
        "--objects",
        choices=["person", "vehicle"],
        default="person",
        help="what to score: persons (default) or vehicles (MOTChallenge class 3 against the model's car, bus, truck)",
    )
    for parser in (mot_parser, detect_parser):
        parser.add_argument("--model", type=Path, help="ONNX model file")
        parser.add_argument("--format", choices=MODEL_FORMATS, help="model format")
        parser.add_argument("--json", type=Path, metavar="OUT.json", help="also write the results as JSON")
    mot_parser.set_defaults(handler=mot)
    detect_parser.set_defaults(handler=detect)
    plates_parser = sub.add_parser(
        "plates",
        help="plate localisation and reading on folders of annotated photos (file, x, y, w, h, TEXT per line)",
    )
    plates_parser.add_argument("folders", type=Path, nargs="*", metavar="DIR", help="images with one .txt each")
    plates_parser.add_argument(
        "--video", type=Path, metavar="CLIP", help="instead of folders: read the plates of a clip track by track"
    )
    plates_parser.add_argument(
        "--truth", type=Path, metavar="PLATES.txt", help="with --video: gt/plates.txt of `vigie sim render --gt`"
    )
    plates_parser.add_argument(
        "--model",
        type=Path,
        help="vehicles from this ONNX model: with --video, tracked; with folders, the street camera's path (each "
        "vehicle's plate looked for below its windows, detection at --detect-side) instead of the whole photo",
    )
    plates_parser.add_argument(
        "--width",
        type=int,
        metavar="PX",
        help="with folders: scale wider photos down to this (a camera's analysis.width)",
    )
    plates_parser.add_argument(
        "--detect-side",
        type=int,
        default=640,
        metavar="PX",
        help="with folders and --model: the reader's detection size on a vehicle (plate_reading's detect_side, 640)",
    )
    plates_parser.add_argument("--format", choices=MODEL_FORMATS, help="model format")
    plates_parser.add_argument("--fps", type=float, default=5.0, help="with --video: frames read a second")
    plates_parser.add_argument(
        "--split", choices=["all", "tune", "held-out"], default="all", help="which half (docs/plates.md)"
    )
    plates_parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads (default 1: one core)")
    plates_parser.add_argument("--misses", action="store_true", help="also list the plates not read exactly")
    plates_parser.add_argument("--json", type=Path, metavar="OUT.json", help="also write the results as JSON")
    plates_parser.set_defaults(handler=plates)
    events_parser = sub.add_parser(
        "events", help="per-event precision, recall and delay of event modules (audited with --config)"
    )
    events_parser.add_argument("video", type=Path, metavar="VIDEO")
    events_parser.add_argument(
        "truth", type=Path, metavar="GT.json", help="events.json (format of `vigie sim render --gt`)"
    )
    _module_run_arguments(events_parser, several=True)
    events_parser.set_defaults(handler=events)
    calibrate_parser = commands.add_parser(
        "calibrate",
        help="what an event module would raise on recorded footage, without alerting (L32; audited with --config)",
    )
    calibrate_parser.add_argument("video", type=Path, metavar="VIDEO")
    _module_run_arguments(calibrate_parser)
    calibrate_parser.set_defaults(handler=calibrate)


def _module_run_arguments(parser: argparse.ArgumentParser, *, several: bool = False) -> None:
    if several:
        parser.add_argument(
            "--module",
            required=True,
            action="append",
            metavar="NAME",
            help="event module id, e.g. intrusion; given several times, the modules are evaluated in one pass over "
            'the video (one decode, one detector run), each scored on its own (--json: under "results")',
        )
    else:
        parser.add_argument("--module", required=True, metavar="NAME", help="event module id, e.g. intrusion")
    parser.add_argument("--settings", type=Path, metavar="FILE.yaml", help="module settings (or {module: settings})")
    parser.add_argument("--boxes", type=Path, metavar="BOXES.txt", help="objects from a MOTChallenge box file")
    parser.add_argument("--model", type=Path, help="objects from this ONNX model")
    parser.add_argument("--format", choices=MODEL_FORMATS, help="model format")
    parser.add_argument("--fps", type=float, default=5.0, help="analysed frames per second (default 5)")
    parser.add_argument("--json", type=Path, metavar="OUT.json", help="also write the results as JSON")
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="the Vigie configuration whose footage this is: the run is for the account signed in with `vigie "
        "login` (supervisor or dpo) and recorded in the audit log with the files' SHA-256; needed for footage "
        "recorded or exported by Vigie",
    )
    parser.add_argument("--camera", metavar="ID", help="with --config: the camera the footage comes from")


def mot(args: argparse.Namespace) -> int:
    from vigie.cli.commands.evaluation import eval_mot_command

    return eval_mot_command(
        args.sequence, detector=args.detector, model=args.model, model_format=args.format, json_out=args.json
    )


def detect(args: argparse.Namespace) -> int:
    from vigie.cli.commands.evaluation import eval_detect_command

    return eval_detect_command(
        args.sequence, model=args.model, model_format=args.format, json_out=args.json, objects=args.objects
    )


def plates(args: argparse.Namespace) -> int:
    from vigie.cli.commands.evaluation import eval_plates_command

    if args.video is not None:
        from vigie.cli.commands.evaluation import eval_plates_video_command

        return eval_plates_video_command(
            args.video, truth=args.truth, model=args.model, model_format=args.format, fps=args.fps,
            threads=args.threads, json_out=args.json,
        )  # fmt: skip
    if not args.folders:
        print("vigie eval plates: give folders of annotated photos, or --video CLIP", file=sys.stderr)
        return 2
    return eval_plates_command(
        args.folders, split=args.split, threads=args.threads, misses=args.misses, json_out=args.json,
        model=args.model, model_format=args.format, width=args.width, detect_side=args.detect_side,
    )  # fmt: skip


def _module_run(args: argparse.Namespace) -> dict[str, Any]:
    """The options ``eval events`` and ``calibrate`` share: the module, its settings, the detector, the camera."""
    return {
        "module": args.module,
        "config_file": args.settings,
        "boxes": args.boxes,
        "model": args.model,
        "model_format": args.format,
        "fps": args.fps,
        "json_out": args.json,
        "config_path": args.config,
        "camera": args.camera,
    }


def events(args: argparse.Namespace) -> int:
    from vigie.cli.commands.evaluation import eval_events_command

    return eval_events_command(args.video, args.truth, **_module_run(args))


def calibrate(args: argparse.Namespace) -> int:
    from vigie.cli.commands.evaluation import calibrate_command

    return calibrate_command(args.video, **_module_run(args))
