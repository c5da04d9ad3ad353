"""``vigie webhooks enable``: re-enable a webhook endpoint that a 410 Gone answer disabled (issue 21;
:mod:`vigie.cli.commands.webhooks`)."""

from __future__ import annotations

import argparse

from vigie.cli.arguments import SIGNED_IN, Subparsers, with_config


def register(commands: Subparsers) -> None:
    webhooks = commands.add_parser("webhooks", help="webhook endpoints: re-enable one disabled by a 410 Gone answer")
    sub = webhooks.add_subparsers(metavar="COMMAND", required=True)
    enable = with_config(
        sub.add_parser(
            "enable",
            help=f"re-enable an endpoint of your commune that answered 410 Gone (audited) ({SIGNED_IN})",
        )
    )
    enable.add_argument("endpoint", metavar="NAME", help="the endpoint's name in the configuration's webhooks section")
    enable.set_defaults(handler=enable_endpoint)


def enable_endpoint(args: argparse.Namespace) -> int:
    from vigie.cli.commands.webhooks import enable_command

    return enable_command(args.config, args.endpoint)
