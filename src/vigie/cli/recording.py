"""``vigie hold`` and ``vigie recording``: judicial holds (L4), the destruction register (L5) and the retention
purge (:mod:`vigie.cli.commands.recording`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vigie.cli.arguments import SIGNED_IN, TIME_HELP, Subparsers, period, with_config


def register(commands: Subparsers) -> None:
    hold = commands.add_parser("hold", help="judicial holds that exempt recordings from deletion (L4)")
    holds = hold.add_subparsers(metavar="COMMAND", required=True)
    place = with_config(
        holds.add_parser("place", help=f"place a hold on a camera's recordings over a period ({SIGNED_IN})")
    )
    place.add_argument("--camera", required=True, metavar="ID")
    place.add_argument("--from", dest="since", required=True, metavar="WHEN", help=TIME_HELP)
    place.add_argument("--to", dest="until", required=True, metavar="WHEN", help=TIME_HELP)
    place.add_argument("--requisition", required=True, help="requisition reference")
    place.add_argument("--case", required=True, help="case number")
    place.add_argument("--officer", required=True, help="requesting officer")
    place.set_defaults(handler=hold_place)
    lift = with_config(holds.add_parser("lift", help=f"lift a hold ({SIGNED_IN})"))
    lift.add_argument("hold_id", metavar="ID")
    lift.add_argument("--reason", required=True)
    lift.set_defaults(handler=hold_lift)
    with_config(holds.add_parser("list", help="list holds")).set_defaults(handler=hold_list)

    recording = commands.add_parser("recording", help="recordings: destruction register (L5)")
    rec = recording.add_subparsers(metavar="COMMAND", required=True)
    register_parser = with_config(rec.add_parser("register", help="the destruction register as CSV (L5)"))
    register_parser.add_argument("-o", "--output", type=Path, metavar="FILE.csv")
    register_parser.set_defaults(handler=recording_register)
    with_config(
        rec.add_parser("purge", help="run the retention purge now (the service runs it every minute)")
    ).set_defaults(handler=recording_purge)


def hold_place(args: argparse.Namespace) -> int:
    from vigie.cli.commands.recording import hold_place_command

    times = period(args.since, args.until)
    if times is None:
        return 2
    return hold_place_command(args.config, args.camera, *times, args.requisition, args.case, args.officer)


def hold_lift(args: argparse.Namespace) -> int:
    from vigie.cli.commands.recording import hold_lift_command

    try:
        hold_id = int(args.hold_id)
    except ValueError:
        print(f"vigie: hold id {args.hold_id!r} is not a number; see `vigie hold list`", file=sys.stderr)
        return 2
    return hold_lift_command(args.config, hold_id, args.reason)


def hold_list(args: argparse.Namespace) -> int:
    from vigie.cli.commands.recording import hold_list_command

    return hold_list_command(args.config)


def recording_register(args: argparse.Namespace) -> int:
    from vigie.cli.commands.recording import register_command

    return register_command(args.config, args.output)


def recording_purge(args: argparse.Namespace) -> int:
    from vigie.cli.commands.recording import purge_command

    return purge_command(args.config)
