"""``vigie users``: accounts, from the first administrator to sharing agreements between tenants (L8-L10)
(:mod:`vigie.cli.commands.users`)."""

from __future__ import annotations

import argparse

from vigie.cli.arguments import SIGNED_IN, Subparsers, day, with_config


def register(commands: Subparsers) -> None:
    users = commands.add_parser("users", help="accounts: first administrator, agents, sharing agreements (L8-L10)")
    sub = users.add_subparsers(metavar="COMMAND", required=True)
    admin = with_config(
        sub.add_parser("create-admin", help="create the first administrator (once, on an empty database; no sign-in)")
    )
    add_parser = with_config(sub.add_parser("add", help=f"create an account (a named person) ({SIGNED_IN})"))
    admin.add_argument("--commune", required=True, metavar="ID", help="tenant the person belongs to")
    add_parser.add_argument(
        "--commune", metavar="ID", help="tenant the person belongs to: the administrator's own (default)"
    )
    for parser in (admin, add_parser):
        parser.add_argument("--username", required=True)
        parser.add_argument("--name", required=True, help="first and last name of the person")
        parser.add_argument(
            "--password-stdin", action="store_true", help="read the password from the first line of standard input"
        )
    admin.set_defaults(handler=create_admin)
    add_parser.add_argument(
        "--roles", required=True, help="comma-separated: operator, supervisor, investigator, dpo, ..."
    )
    add_parser.add_argument("--authorised-until", type=day, metavar="DAY", help="end of the video authorisation (L8)")
    add_parser.add_argument("--trained-on", type=day, metavar="DAY", help="data-protection training date (L9)")
    add_parser.set_defaults(handler=add)
    with_config(sub.add_parser("list", help="accounts, their roles and dates")).set_defaults(handler=list_users)
    reset = with_config(
        sub.add_parser("reset-password", help=f"set a new password (ends the user's sessions) ({SIGNED_IN})")
    )
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true", help="read it from the first line of standard input")
    reset.set_defaults(handler=reset_password)
    update_parser = with_config(
        sub.add_parser("update", help=f"authorisation, training, disable, enable, unlock ({SIGNED_IN})")
    )
    update_parser.add_argument("username")
    update_parser.add_argument("--authorised-until", type=day, metavar="DAY")
    update_parser.add_argument("--trained-on", type=day, metavar="DAY")
    state = update_parser.add_mutually_exclusive_group()
    state.add_argument("--disable", dest="disabled", action="store_const", const=True, default=None)
    state.add_argument("--enable", dest="disabled", action="store_const", const=False)
    update_parser.add_argument("--unlock", action="store_true", help="clear a lockout after failed logins")
    update_parser.set_defaults(handler=update)
    share_parser = with_config(
        sub.add_parser("share", help=f"record a sharing agreement between tenants (L10) ({SIGNED_IN})")
    )
    share_parser.add_argument("--owner", metavar="ID", help="tenant whose cameras are shared: the administrator's own")
    share_parser.add_argument("--partner", required=True, metavar="ID", help="tenant whose users will see them")
    share_parser.add_argument("--reference", required=True, help="reference of the signed agreement")
    share_parser.add_argument("--from", dest="starts_on", type=day, required=True, metavar="DAY")
    share_parser.add_argument("--to", dest="ends_on", type=day, required=True, metavar="DAY")
    share_parser.set_defaults(handler=share)


def create_admin(args: argparse.Namespace) -> int:
    from vigie.cli.commands.users import create_admin_command

    return create_admin_command(
        args.config, username=args.username, name=args.name, commune=args.commune, password_stdin=args.password_stdin
    )


def add(args: argparse.Namespace) -> int:
    from vigie.cli.commands.users import add_command

    return add_command(
        args.config,
        username=args.username,
        name=args.name,
        commune=args.commune,
        roles=args.roles,
        authorised_until=args.authorised_until,
        trained_on=args.trained_on,
        password_stdin=args.password_stdin,
    )


def list_users(args: argparse.Namespace) -> int:
    from vigie.cli.commands.users import list_command

    return list_command(args.config)


def update(args: argparse.Namespace) -> int:
    from vigie.cli.commands.users import update_command

    return update_command(
        args.config,
        args.username,
        authorised_until=args.authorised_until,
        trained_on=args.trained_on,
        disabled=args.disabled,
        unlock=args.unlock,
    )


def share(args: argparse.Namespace) -> int:
    from vigie.cli.commands.users import share_command

    return share_command(
        args.config,
        owner=args.owner,
        partner=args.partner,
        reference=args.reference,
        starts_on=args.starts_on,
        ends_on=args.ends_on,
    )


def reset_password(args: argparse.Namespace) -> int:
    from vigie.cli.commands.users import reset_password_command

    return reset_password_command(args.config, args.username, password_stdin=args.password_stdin)
