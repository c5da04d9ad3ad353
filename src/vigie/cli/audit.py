"""``vigie audit export | verify | head | report | keys | rotate-key``: the audit log (:mod:`vigie.cli.commands.audit`,
the compliance report in :mod:`vigie.cli.commands.audit_report`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from vigie.cli.arguments import TIME_HELP, Subparsers, period, with_config


def register(commands: Subparsers) -> None:
    audit = commands.add_parser("audit", help="the audit log: export, verify offline, report").add_subparsers(
        metavar="COMMAND", required=True
    )
    export_parser = with_config(audit.add_parser("export", help="export a signed extract of the audit log"))
    export_parser.add_argument("--from", dest="since", required=True, metavar="WHEN", help=TIME_HELP)
    export_parser.add_argument("--to", dest="until", required=True, metavar="WHEN", help=TIME_HELP)
    export_parser.add_argument("-o", "--output", type=Path, required=True, metavar="FILE")
    export_parser.set_defaults(handler=export)
    verify_parser = audit.add_parser("verify", help="verify an exported audit file offline, without the database")
    verify_parser.add_argument("file", type=Path, metavar="FILE")
    verify_parser.add_argument(
        "--pubkey", type=Path, action="append", required=True, metavar="KEY", help="public key PEM"
    )
    verify_parser.add_argument(
        "--head",
        type=Path,
        action="append",
        default=[],
        metavar="HEAD.json",
        help="a signed head published earlier (`vigie audit head -o`, the public page, or the heads file): the "
        "export must contain its entry with the same hash (repeatable)",
    )
    verify_parser.set_defaults(handler=verify)
    head_parser = with_config(audit.add_parser("head", help="sign the chain's current head, for the DPO to archive"))
    head_parser.add_argument("-o", "--output", type=Path, required=True, metavar="HEAD.json")
    head_parser.set_defaults(handler=head)
    report_parser = with_config(
        audit.add_parser("report", help="compliance report: what ran, where, when, on what basis")
    )
    report_parser.add_argument("--from", dest="since", required=True, metavar="WHEN", help=TIME_HELP)
    report_parser.add_argument("--to", dest="until", required=True, metavar="WHEN", help=TIME_HELP)
    report_parser.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.html")
    report_parser.set_defaults(handler=report)
    keys_parser = with_config(audit.add_parser("keys", help="write the audit public keys (PEM) for auditors"))
    keys_parser.add_argument("-o", "--output", type=Path, required=True, metavar="DIR")
    keys_parser.set_defaults(handler=keys)
    rotate = with_config(audit.add_parser("rotate-key", help="start signing with a new key"))
    rotate.set_defaults(handler=rotate_key)


def export(args: argparse.Namespace) -> int:
    from vigie.cli.commands.audit import export_command

    times = period(args.since, args.until)
    return 2 if times is None else export_command(args.config, *times, args.output)


def verify(args: argparse.Namespace) -> int:
    from vigie.cli.commands.audit import verify_command

    return verify_command(args.file, args.pubkey, args.head)


def head(args: argparse.Namespace) -> int:
    from vigie.cli.commands.audit import head_command

    return head_command(args.config, args.output)


def report(args: argparse.Namespace) -> int:
    from vigie.cli.commands.audit import cli_actor
    from vigie.cli.commands.audit_report import report_command

    times = period(args.since, args.until)
    return 2 if times is None else report_command(args.config, *times, args.output, cli_actor())


def keys(args: argparse.Namespace) -> int:
    from vigie.cli.commands.audit import keys_command

    return keys_command(args.config, args.output)


def rotate_key(args: argparse.Namespace) -> int:
    from vigie.cli.commands.audit import rotate_key_command

    return rotate_key_command(args.config)
