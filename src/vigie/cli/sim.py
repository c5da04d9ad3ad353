"""``vigie sim render`` and ``vigie sim serve``: simulated cameras (scenes rendered with their ground truth)."""

from __future__ import annotations

import argparse
from pathlib import Path

from vigie.cli.arguments import Subparsers


def register(commands: Subparsers) -> None:
    sim = commands.add_parser("sim", help="simulated cameras").add_subparsers(metavar="COMMAND", required=True)
    render_parser = sim.add_parser("render", help="render a scene to H.264 with its ground truth")
    render_parser.add_argument("scene", type=Path, metavar="SCENE.yaml", help="scene file or built-in scene name")
    render_parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.mp4")
    render_parser.add_argument("--gt", type=Path, metavar="DIR", help="write MOTChallenge ground truth and events here")
    render_parser.add_argument(
        "--images", action="store_true", help="also write the frames as --gt DIR/img1/*.jpg (for vigie eval detect)"
    )
    serve_parser = sim.add_parser("serve", help="publish scenes as live RTSP streams")
    serve_parser.add_argument("scenes", type=Path, nargs="+", metavar="SCENE.yaml")
    serve_parser.add_argument("--port", type=int, default=8554, help="RTSP port")
    for parser in (render_parser, serve_parser):
        parser.add_argument(
            "--photoreal",
            type=Path,
            metavar="DATA_DIR",
            help="people and vehicles cut out of the footage in DATA_DIR (tracking/tud-campus; plates-fr-dev or "
            "video/car-detection.mp4) over a real background, instead of drawn sprites",
        )
    render_parser.set_defaults(handler=render)
    serve_parser.set_defaults(handler=serve)


def render(args: argparse.Namespace) -> int:
    from vigie.sim.cli_commands import render_command

    return render_command(args.scene, args.output, args.gt, args.photoreal, images=args.images)


def serve(args: argparse.Namespace) -> int:
    from vigie.sim.cli_commands import serve_command

    return serve_command(args.scenes, args.port, args.photoreal)
