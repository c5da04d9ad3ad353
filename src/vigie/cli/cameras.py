"""``vigie cameras credentials set | list | remove``: the cameras' accounts, kept in the keys folder rather than in
the configuration file (:mod:`vigie.cli.commands.cameras`)."""

from __future__ import annotations

import argparse

from vigie.cli.arguments import Subparsers, with_config


def register(commands: Subparsers) -> None:
    cameras = commands.add_parser("cameras", help="cameras' accounts (the password never in the configuration file)")
    sub = cameras.add_subparsers(metavar="COMMAND", required=True)
    credentials = sub.add_parser("credentials", help="the credentials store: set, list, remove an account")
    actions = credentials.add_subparsers(metavar="ACTION", required=True)
    set_parser = with_config(
        actions.add_parser("set", help="store an account (the password is asked, or read from standard input)")
    )
    set_parser.add_argument("name", metavar="NAME", help="the name cameras give in `credentials:`")
    set_parser.add_argument("--username", required=True, metavar="USER")
    set_parser.set_defaults(handler=set_account)
    with_config(actions.add_parser("list", help="the accounts' names and usernames (never a password)")).set_defaults(
        handler=list_accounts
    )
    remove_parser = with_config(actions.add_parser("remove", help="forget an account"))
    remove_parser.add_argument("name", metavar="NAME")
    remove_parser.set_defaults(handler=remove_account)


def set_account(args: argparse.Namespace) -> int:
    from vigie.cli.commands.cameras import credentials_set_command

    return credentials_set_command(args.config, args.name, args.username)


def list_accounts(args: argparse.Namespace) -> int:
    from vigie.cli.commands.cameras import credentials_list_command

    return credentials_list_command(args.config)


def remove_account(args: argparse.Namespace) -> int:
    from vigie.cli.commands.cameras import credentials_remove_command

    return credentials_remove_command(args.config, args.name)
