"""What each ``vigie`` command does, composed from the parts. ``vigie.cli`` calls ``<handler>(args)``.

Imports are local so that ``vigie --version`` or ``vigie config check`` do not load video or web libraries.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Europe/Paris")


class TimeArgumentError(ValueError):
    pass


def parse_when(text: str, *, end_of_day: bool = False) -> datetime:
    """ISO 8601 date or date-time; without a time zone it is Europe/Paris local time (what a DPO means).

    A bare date means the start of that day, or with ``end_of_day`` the start of the next one, so that
    ``--from 2026-11-01 --to 2026-11-30`` covers the whole of November.
    """
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            if end_of_day:
                day = date.fromordinal(day.toordinal() + 1)
            return datetime.combine(day, time(), LOCAL).astimezone(UTC)
        when = datetime.fromisoformat(text)
    except ValueError:
        raise TimeArgumentError(
            f"{text!r} is not a date or date-time; write 2026-11-28 or 2026-11-28T14:30 or 2026-11-28T13:30Z"
        ) from None
    return (when if when.tzinfo else when.replace(tzinfo=LOCAL)).astimezone(UTC)


def _times(*pairs: tuple[str, bool]) -> list[datetime] | None:
    try:
        return [parse_when(text, end_of_day=end) for text, end in pairs]
    except TimeArgumentError as err:
        print(f"vigie: {err}", file=sys.stderr)
        return None


def serve(args: argparse.Namespace) -> int:
    from vigie.config import ConfigError, format_issues, load_config
    from vigie.runtime.service import VigieService

    try:
        config = load_config(args.config)
    except ConfigError as err:
        print(format_issues(err.issues), file=sys.stderr)
        print("vigie: the configuration is invalid; nothing was started", file=sys.stderr)
        return 2
    return VigieService(config).run()


def demo(args: argparse.Namespace) -> int:
    from vigie.runtime.demo import run_demo

    return run_demo(
        data_dir=args.data_dir,
        host=args.host,
        port=args.port,
        cameras=args.cameras,
        rtsp_port=args.rtsp_port,
        use_rtsp=not args.no_rtsp,
    )


def config_check(args: argparse.Namespace) -> int:
    from vigie.config.check_command import check_command

    return check_command(args.file)


def sim_render(args: argparse.Namespace) -> int:
    from vigie.sim.cli_commands import render_command

    return render_command(args.scene, args.output, args.gt)


def sim_serve(args: argparse.Namespace) -> int:
    from vigie.sim.cli_commands import serve_command

    return serve_command(args.scenes, args.port)


def audit_export(args: argparse.Namespace) -> int:
    from vigie.runtime.audit_commands import export_command

    times = _times((args.since, False), (args.until, True))
    return 2 if times is None else export_command(args.config, times[0], times[1], args.output)


def audit_verify(args: argparse.Namespace) -> int:
    from vigie.runtime.audit_commands import verify_command

    return verify_command(args.file, args.pubkey)


def audit_report(args: argparse.Namespace) -> int:
    from vigie.runtime.audit_commands import cli_actor
    from vigie.runtime.report_command import report_command

    times = _times((args.since, False), (args.until, True))
    return 2 if times is None else report_command(args.config, times[0], times[1], args.output, cli_actor())


def audit_keys(args: argparse.Namespace) -> int:
    from vigie.runtime.audit_commands import keys_command

    return keys_command(args.config, args.output)


def audit_rotate_key(args: argparse.Namespace) -> int:
    from vigie.runtime.audit_commands import rotate_key_command

    return rotate_key_command(args.config)
