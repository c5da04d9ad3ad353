"""``vigie login``, ``vigie logout`` and ``vigie whoami``: the account the command line acts as
(:mod:`vigie.cli.commands.session`)."""

from __future__ import annotations

import argparse

from vigie.cli.arguments import Subparsers, with_config


def register(commands: Subparsers) -> None:
    login_parser = with_config(
        commands.add_parser(
            "login",
            help="sign in at the command line (password, and code for administrators and DPOs) for 15 minutes",
            description="Asks the password (and the 6-digit code where the account has a second factor) at the "
            "terminal, or reads them from the first two lines of standard input when it is not a terminal. The "
            "session token is kept in a file of mode 0600 ($VIGIE_SESSION_FILE, else in $XDG_RUNTIME_DIR/vigie "
            "or ~/.config/vigie/sessions) and ends after 15 minutes.",
        )
    )
    login_parser.add_argument("--user", metavar="NAME", help="the account's username (asked when omitted)")
    login_parser.set_defaults(handler=login)
    with_config(commands.add_parser("logout", help="end the command-line session")).set_defaults(handler=logout)
    with_config(commands.add_parser("whoami", help="the account signed in at the command line")).set_defaults(
        handler=whoami
    )


def login(args: argparse.Namespace) -> int:
    from vigie.cli.commands.session import login_command

    return login_command(args.config, args.user)


def logout(args: argparse.Namespace) -> int:
    from vigie.cli.commands.session import logout_command

    return logout_command(args.config)


def whoami(args: argparse.Namespace) -> int:
    from vigie.cli.commands.session import whoami_command

    return whoami_command(args.config)
