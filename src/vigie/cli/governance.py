"""``vigie compliance``, ``vigie activation``, ``vigie stop`` and ``vigie resume``: what analysis may run, on what
legal basis, and the stop switches (:mod:`vigie.cli.commands.governance`)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from vigie.cli.arguments import SIGNED_IN, TIME_HELP, Subparsers, comma_list, period, with_config, with_role


def register(commands: Subparsers) -> None:
    compliance = commands.add_parser("compliance", help="what analysis is active, register of processing")
    sub = compliance.add_subparsers(metavar="COMMAND", required=True)
    with_config(sub.add_parser("status", help="which modules are active on which cameras")).set_defaults(
        handler=compliance_status
    )
    register_parser = with_config(sub.add_parser("register", help="record of processing (GDPR art. 30)"))
    register_parser.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE (.md or .html)")
    register_parser.set_defaults(handler=compliance_register)

    activation = commands.add_parser("activation", help="activations of analysis modules under a legal basis")
    act = activation.add_subparsers(metavar="COMMAND", required=True)
    request = with_config(act.add_parser("request", help=f"request the activation of a module ({SIGNED_IN})"))
    request.add_argument("--tenant", help="commune (tenant) id: the signed-in account's own (the default)")
    for flag, helptext in [
        ("--module", "module id from the legal catalogue"),
        ("--cameras", "comma-separated camera ids"),
        ("--framework", "legal framework id from the catalogue"),
        ("--decision", "prefectoral decision number"),
        ("--decision-date", "prefectoral decision date (YYYY-MM-DD)"),
        ("--dpia", "DPIA reference (L21)"),
        ("--purpose", "purpose of the processing"),
        ("--start", TIME_HELP),
        ("--end", TIME_HELP),
    ]:
        request.add_argument(flag, required=True, help=helptext)
    request.add_argument(
        "--zones", default="", help="comma-separated analysis zone ids the activation is limited to (default: none)"
    )
    request.add_argument(
        "--calibration",
        type=int,
        metavar="SEQ",
        help="audit entry of the on-site calibration run this request is based on, as `vigie calibrate` printed (L32)",
    )
    with_role(request)
    request.set_defaults(handler=activation_request)
    approve = with_config(act.add_parser("approve", help=f"approve a requested activation ({SIGNED_IN})"))
    approve.add_argument("activation_id", metavar="ID")
    with_role(approve)
    approve.set_defaults(handler=activation_approve)
    revoke = with_config(act.add_parser("revoke", help=f"revoke an activation now ({SIGNED_IN})"))
    revoke.add_argument("activation_id", metavar="ID")
    revoke.add_argument("--reason", required=True)
    with_role(revoke)
    revoke.set_defaults(handler=activation_revoke)
    with_config(act.add_parser("list", help="list activations and their state")).set_defaults(handler=activation_list)
    for name, helptext, handler in [
        ("stop", "engage the stop switch (L29)", stop),
        ("resume", "release the stop switch", resume),
    ]:
        switch = with_config(commands.add_parser(name, help=f"{helptext} ({SIGNED_IN})"))
        target = switch.add_mutually_exclusive_group(required=True)
        target.add_argument("--camera", metavar="ID", help="one camera")
        target.add_argument("--all", action="store_true", help="every camera (global switch)")
        switch.add_argument("--reason", required=True)
        with_role(switch)
        switch.set_defaults(handler=handler)


def compliance_status(args: argparse.Namespace) -> int:
    from vigie.cli.commands.governance import compliance_status_command

    return compliance_status_command(args.config)


def compliance_register(args: argparse.Namespace) -> int:
    from vigie.cli.commands.governance import compliance_register_command

    return compliance_register_command(args.config, args.output)


def activation_request(args: argparse.Namespace) -> int:
    from vigie.cli.commands.governance import activation_request_command

    times = period(args.start, args.end, until_end_of_day=False)
    if times is None:
        return 2
    try:
        decision_date = date.fromisoformat(args.decision_date)
    except ValueError:
        print(f"vigie: --decision-date {args.decision_date!r} is not a date; write it as 2026-03-15", file=sys.stderr)
        return 2
    return activation_request_command(
        args.config,
        tenant=args.tenant,
        module=args.module,
        cameras=comma_list(args.cameras),
        framework=args.framework,
        decision=args.decision,
        decision_date=decision_date,
        dpia=args.dpia,
        purpose=args.purpose,
        start=times[0],
        end=times[1],
        role=args.acting_as,
        zones=comma_list(args.zones),
        calibration=args.calibration,
    )


def _activation_id(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        print(f"vigie: activation id {text!r} is not a number; see `vigie activation list`", file=sys.stderr)
        return None


def activation_approve(args: argparse.Namespace) -> int:
    from vigie.cli.commands.governance import activation_approve_command

    activation_id = _activation_id(args.activation_id)
    return 2 if activation_id is None else activation_approve_command(args.config, activation_id, args.acting_as)


def activation_revoke(args: argparse.Namespace) -> int:
    from vigie.cli.commands.governance import activation_revoke_command

    activation_id = _activation_id(args.activation_id)
    if activation_id is None:
        return 2
    return activation_revoke_command(args.config, activation_id, args.reason, args.acting_as)


def activation_list(args: argparse.Namespace) -> int:
    from vigie.cli.commands.governance import activation_list_command

    return activation_list_command(args.config)


def stop(args: argparse.Namespace) -> int:
    from vigie.cli.commands.governance import stop_command

    return stop_command(args.config, None if args.all else args.camera, args.reason, args.acting_as)


def resume(args: argparse.Namespace) -> int:
    from vigie.cli.commands.governance import resume_command

    return resume_command(args.config, None if args.all else args.camera, args.reason, args.acting_as)
