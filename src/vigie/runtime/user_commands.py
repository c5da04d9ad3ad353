"""``vigie users …``: accounts from the server's command line (L8–L10, L17).

There is no default account: ``create-admin`` makes the first administrator (refused once one exists) and
prints their second-factor URI once. Passwords are typed twice at a prompt, or read from the first line of
standard input with ``--password-stdin`` (scripts); they are never taken from the command line, where they would
land in the shell history and the process list.
"""

from __future__ import annotations

import getpass
import sys
from datetime import date
from pathlib import Path

from vigie.domain.users import Role, UserNotFoundError
from vigie.runtime.auth_wiring import open_auth_service
from vigie.runtime.command_context import Opened, run_opened
from vigie.runtime.recording_commands import cli_person
from vigie.services.auth import AccountError, AuthService, NewAccount

EXIT_REFUSED = 1


def read_password(from_stdin: bool) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        print("vigie: the two passwords differ; nothing was created", file=sys.stderr)
        return None
    return first


def _service(context: Opened) -> AuthService:
    return open_auth_service(context.config, context.engine, context.audit)


def _report(created: NewAccount) -> None:
    user = created.user
    roles = ", ".join(sorted(r.value for r in user.roles))
    print(f"created {user.username} ({user.display_name}) in {user.commune_id}: {roles}")
    if created.totp_uri:
        print("second factor (shown once): load this URI in an authenticator app, or type its secret:")
        print(f"  {created.totp_uri}")


def _parse_roles(text: str) -> list[Role] | None:
    try:
        return [Role(part.strip()) for part in text.split(",") if part.strip()]
    except ValueError:
        print(f"vigie: unknown role in {text!r}; roles: {', '.join(r.value for r in Role)}", file=sys.stderr)
        return None


def create_admin_command(config_path: Path, *, username: str, name: str, commune: str, password_stdin: bool) -> int:
    password = read_password(password_stdin)
    if password is None:
        return EXIT_REFUSED

    def run(context: Opened) -> int:
        try:
            created = _service(context).create_first_admin(
                username=username, display_name=name, commune_id=commune, password=password
            )
        except AccountError as err:
            print(f"vigie: {err}; nothing was created", file=sys.stderr)
            return EXIT_REFUSED
        _report(created)
        return 0

    return run_opened(config_path, run)


def add_command(
    config_path: Path,
    *,
    username: str,
    name: str,
    commune: str,
    roles: str,
    authorised_until: date | None,
    trained_on: date | None,
    by: str,
    password_stdin: bool,
) -> int:
    parsed = _parse_roles(roles)
    if parsed is None:
        return EXIT_REFUSED
    password = read_password(password_stdin)
    if password is None:
        return EXIT_REFUSED

    def run(context: Opened) -> int:
        try:
            created = _service(context).add_user(
                cli_person(by),
                username=username,
                display_name=name,
                commune_id=commune,
                roles=parsed,
                password=password,
                authorised_until=authorised_until,
                trained_on=trained_on,
            )
        except AccountError as err:
            print(f"vigie: {err}; nothing was created", file=sys.stderr)
            return EXIT_REFUSED
        _report(created)
        return 0

    return run_opened(config_path, run)


def list_command(config_path: Path) -> int:
    def run(context: Opened) -> int:
        service = _service(context)
        from vigie.storage import SqlUserRepo

        users = SqlUserRepo(context.engine).list()
        for user in users:
            flags = [f for f, on in (("disabled", user.disabled), ("locked", service.is_locked(user))) if on]
            until = user.authorised_until.isoformat() if user.authorised_until else "-"
            trained = user.trained_on.isoformat() if user.trained_on else "-"
            print(
                f"{user.username:<20} {user.commune_id:<16} {','.join(sorted(r.value for r in user.roles)):<28} "
                f"authorised until {until}  trained {trained}  {' '.join(flags)}".rstrip()
            )
        if not users:
            print("no accounts: create the first administrator with `vigie users create-admin`")
        return 0

    return run_opened(config_path, run)


def update_command(
    config_path: Path,
    username: str,
    *,
    authorised_until: date | None,
    trained_on: date | None,
    disabled: bool | None,
    unlock: bool,
    by: str,
) -> int:
    def run(context: Opened) -> int:
        try:
            user = _service(context).update_user(
                cli_person(by),
                username,
                authorised_until=authorised_until,
                trained_on=trained_on,
                disabled=disabled,
                unlock=unlock,
            )
        except (AccountError, UserNotFoundError) as err:
            print(f"vigie: {err}; nothing was changed", file=sys.stderr)
            return EXIT_REFUSED
        print(f"updated {user.username}")
        return 0

    return run_opened(config_path, run)


def share_command(
    config_path: Path, *, owner: str, partner: str, reference: str, starts_on: date, ends_on: date, by: str
) -> int:
    def run(context: Opened) -> int:
        try:
            agreement = _service(context).record_agreement(
                f"{cli_person(by)}@{owner}",
                partner_commune=partner,
                reference=reference,
                starts_on=starts_on,
                ends_on=ends_on,
            )
        except AccountError as err:
            print(f"vigie: {err}; nothing was recorded", file=sys.stderr)
            return EXIT_REFUSED
        print(
            f"agreement #{agreement.id}: {partner} sees the cameras of {owner} "
            f"from {starts_on.isoformat()} to {ends_on.isoformat()} ({agreement.reference})"
        )
        return 0

    return run_opened(config_path, run)


def reset_password_command(config_path: Path, username: str, *, by: str, password_stdin: bool) -> int:
    password = read_password(password_stdin)
    if password is None:
        return EXIT_REFUSED

    def run(context: Opened) -> int:
        try:
            _service(context).reset_password(cli_person(by), username, password)
        except (AccountError, UserNotFoundError) as err:
            print(f"vigie: {err}; nothing was changed", file=sys.stderr)
            return EXIT_REFUSED
        print(f"new password set for {username}; their sessions are ended")
        return 0

    return run_opened(config_path, run)
