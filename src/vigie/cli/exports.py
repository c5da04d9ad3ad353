"""``vigie export create | transmitted | verify``: signed exports of recordings (L13, L14) and their handing to
the prosecutor (L5) (:mod:`vigie.cli.commands.exports`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from vigie.cli.arguments import SIGNED_IN, TIME_HELP, Subparsers, comma_list, day, period, with_config


def register(commands: Subparsers) -> None:
    export = commands.add_parser("export", help="signed exports of recordings (L13, L14)")
    exp = export.add_subparsers(metavar="COMMAND", required=True)
    create_parser = with_config(
        exp.add_parser("create", help=f"export a time range of cameras as signed MP4 files ({SIGNED_IN})")
    )
    create_parser.add_argument("--cameras", required=True, help="comma-separated camera ids")
    create_parser.add_argument("--from", dest="since", required=True, metavar="WHEN", help=TIME_HELP)
    create_parser.add_argument("--to", dest="until", required=True, metavar="WHEN", help=TIME_HELP)
    create_parser.add_argument("-o", "--output", type=Path, required=True, metavar="DIR")
    create_parser.add_argument("--reason", required=True, help="why (L13)")
    create_parser.add_argument("--requisition", required=True, help="requisition reference (L13)")
    create_parser.set_defaults(handler=create)
    transmitted_parser = with_config(
        exp.add_parser("transmitted", help=f"record the day an export was handed to the prosecutor (L5) ({SIGNED_IN})")
    )
    transmitted_parser.add_argument(
        "export_id", metavar="EXPORT_ID", help="the export's id (API), or its manifest's SHA-256 (`export create`)"
    )
    transmitted_parser.add_argument("--on", type=day, required=True, metavar="DAY", help="the day it was handed over")
    transmitted_parser.add_argument("--requisition", required=True, help="the requisition reference (the export's own)")
    transmitted_parser.set_defaults(handler=transmitted)
    verify_parser = exp.add_parser(
        "verify", help="verify an export offline, its folder or its zip package (files, manifest, signature)"
    )
    verify_parser.add_argument("directory", type=Path, metavar="FOLDER_OR_ZIP")
    verify_parser.add_argument(
        "--pubkey", type=Path, action="append", required=True, metavar="KEY", help="public key PEM"
    )
    verify_parser.set_defaults(handler=verify)


def create(args: argparse.Namespace) -> int:
    from vigie.cli.commands.exports import export_create_command

    times = period(args.since, args.until, until_end_of_day=False)
    if times is None:
        return 2
    return export_create_command(
        args.config, comma_list(args.cameras), *times, args.output, args.reason, args.requisition
    )


def transmitted(args: argparse.Namespace) -> int:
    from vigie.cli.commands.exports import export_transmitted_command

    return export_transmitted_command(args.config, args.export_id, args.on, args.requisition)


def verify(args: argparse.Namespace) -> int:
    from vigie.cli.commands.exports import export_verify_command

    return export_verify_command(args.directory, args.pubkey)
