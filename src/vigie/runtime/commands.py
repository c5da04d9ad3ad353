"""What each ``vigie`` command does, composed from the parts. Called by ``vigie.cli``."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)


def serve(config_path: Path) -> int:
    from vigie.config.issues import ConfigError, format_issues
    from vigie.config.loader import load_config
    from vigie.runtime.service import VigieService

    try:
        config = load_config(config_path)
    except ConfigError as err:
        print(format_issues(err.issues), file=sys.stderr)
        print("vigie: the configuration is invalid; nothing was started", file=sys.stderr)
        return 2
    return VigieService(config).run()


def demo(*, data_dir: Path, host: str, port: int, cameras: int, rtsp_port: int, use_rtsp: bool) -> int:
    from vigie.runtime.demo import run_demo

    return run_demo(data_dir=data_dir, host=host, port=port, cameras=cameras, rtsp_port=rtsp_port, use_rtsp=use_rtsp)


def config_check(path: Path) -> int:
    from vigie.config.check_command import check_command

    return check_command(path)


def sim_render(scene: Path, output: Path, gt: Path | None) -> int:
    from vigie.sim.cli_commands import render_command

    return render_command(scene, output, gt)


def sim_serve(scenes: list[Path], port: int) -> int:
    from vigie.sim.cli_commands import serve_command

    return serve_command(scenes, port)
