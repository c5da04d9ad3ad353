"""The ``vigie`` command. It parses arguments and hands over to the runtime; no logic lives here."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from vigie import __version__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vigie",
        description="Vigie: video protection whose analysis is off by default and governed by law.",
    )
    parser.add_argument("--version", action="version", version=f"vigie {__version__}")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser("demo", help="run the service on simulated cameras (SQLite, local storage)")
    demo.add_argument("--data-dir", type=Path, default=Path("var/demo"), help="where the demo keeps its data")
    demo.add_argument("--host", default="127.0.0.1", help="address of the web console and API")
    demo.add_argument("--port", type=int, default=8080, help="port of the web console and API")
    demo.add_argument(
        "--cameras", type=int, default=2, choices=range(1, 9), metavar="N", help="simulated cameras (1-8)"
    )
    demo.add_argument("--rtsp-port", type=int, default=8554, help="port of the simulated cameras' RTSP server")
    demo.add_argument("--no-rtsp", action="store_true", help="replay the simulated footage from files instead of RTSP")

    serve = commands.add_parser("serve", help="run the service from a configuration file")
    serve.add_argument("--config", type=Path, required=True, metavar="FILE", help="YAML configuration file")

    config = commands.add_parser("config", help="configuration tools").add_subparsers(
        dest="config_command", metavar="COMMAND", required=True
    )
    check = config.add_parser("check", help="validate a configuration file and report every error")
    check.add_argument("file", type=Path, metavar="FILE")

    sim = commands.add_parser("sim", help="simulated cameras").add_subparsers(
        dest="sim_command", metavar="COMMAND", required=True
    )
    render = sim.add_parser("render", help="render a scene to H.264 with its ground truth")
    render.add_argument("scene", type=Path, metavar="SCENE.yaml", help="scene file or built-in scene name")
    render.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.mp4")
    render.add_argument("--gt", type=Path, metavar="DIR", help="write MOTChallenge ground truth and events here")
    sim_serve = sim.add_parser("serve", help="publish scenes as live RTSP streams")
    sim_serve.add_argument("scenes", type=Path, nargs="+", metavar="SCENE.yaml")
    sim_serve.add_argument("--port", type=int, default=8554, help="RTSP port")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLevelName(args.log_level)))
    from vigie.runtime import commands

    if args.command == "demo":
        return commands.demo(
            data_dir=args.data_dir,
            host=args.host,
            port=args.port,
            cameras=args.cameras,
            rtsp_port=args.rtsp_port,
            use_rtsp=not args.no_rtsp,
        )
    if args.command == "serve":
        return commands.serve(args.config)
    if args.command == "config":
        return commands.config_check(args.file)
    if args.sim_command == "render":
        return commands.sim_render(args.scene, args.output, args.gt)
    return commands.sim_serve(args.scenes, args.port)


if __name__ == "__main__":
    sys.exit(main())
