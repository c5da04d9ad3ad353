"""``vigie alerts list | confirm | dismiss | stats`` and ``vigie statistics``: the alert lifecycle (L28, L31) and the
totals of the counting modules (L33) (:mod:`vigie.cli.commands.alerts`)."""

from __future__ import annotations

import argparse

from vigie.cli.arguments import SIGNED_IN, Subparsers, with_config, with_role


def register(commands: Subparsers) -> None:
    alerts = commands.add_parser("alerts", help="alerts of the event modules: list, confirm, dismiss (L28, L31)")
    sub = alerts.add_subparsers(metavar="COMMAND", required=True)
    listing = with_config(sub.add_parser("list", help="alerts, newest first"))
    listing.add_argument("--state", choices=["pending", "confirmed", "dismissed"])
    listing.add_argument("--camera", metavar="ID")
    listing.add_argument("--module", metavar="NAME")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(handler=list_alerts)
    confirm_parser = with_config(
        sub.add_parser("confirm", help=f"a real event: record it and dispatch it ({SIGNED_IN})")
    )
    dismiss_parser = with_config(
        sub.add_parser("dismiss", help=f"not to act on: record why; nothing is dispatched ({SIGNED_IN})")
    )
    dismiss_parser.add_argument(
        "--verdict", default="false_positive", choices=["false_positive", "not_actionable", "duplicate"]
    )
    for parser, handler in ((confirm_parser, confirm), (dismiss_parser, dismiss)):
        parser.add_argument("alert_id", type=int, metavar="ID")
        with_role(parser)
        parser.add_argument("--note", default="", help="why (kept with the verdict)")
        parser.set_defaults(handler=handler)
    with_config(sub.add_parser("stats", help="verdicts and false-positive rate per module and camera")).set_defaults(
        handler=stats
    )
    statistics_parser = with_config(
        commands.add_parser("statistics", help="totals of the counting modules per time bucket, as CSV (L33)")
    )
    statistics_parser.add_argument("--camera", metavar="ID")
    statistics_parser.add_argument("--module", choices=["line_count", "occupancy"])
    statistics_parser.set_defaults(handler=statistics)


def list_alerts(args: argparse.Namespace) -> int:
    from vigie.cli.commands.alerts import list_command

    return list_command(args.config, args.state, args.camera, args.module, args.limit)


def confirm(args: argparse.Namespace) -> int:
    from vigie.cli.commands.alerts import decide_command

    return decide_command(args.config, args.alert_id, "confirmed", args.note, args.acting_as)


def dismiss(args: argparse.Namespace) -> int:
    from vigie.cli.commands.alerts import decide_command

    return decide_command(args.config, args.alert_id, args.verdict, args.note, args.acting_as)


def stats(args: argparse.Namespace) -> int:
    from vigie.cli.commands.alerts import stats_command

    return stats_command(args.config)


def statistics(args: argparse.Namespace) -> int:
    from vigie.cli.commands.alerts import statistics_command

    return statistics_command(args.config, args.camera, args.module)
