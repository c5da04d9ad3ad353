"""``vigie users …``: accounts from the server's command line (L8–L10, L17).

There is no default account: ``create-admin`` makes the first administrator (refused once one exists) and
prints their second-factor URI once. Every other command here acts as the administrator signed in with
``vigie login`` (:mod:`vigie.cli.commands.session`), on accounts of their own tenant, as in the API; the audit log
names that administrator. Passwords are typed twice at a prompt, or read from the first line of
standard input with ``--password-stdin`` (scripts); they are never taken from the command line, where they would
land in the shell history and the process list.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from vigie.cli.commands.context import Opened, run_opened
from vigie.cli.commands.session import run_signed_in
from vigie.domain.actor import Actor
from vigie.domain.users import Permission, Role, UserNotFoundError
from vigie.runtime.assembly.auth import open_auth_service
from vigie.services.access import AccessDeniedError, Principal
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
    return open_auth_service(context.config, context.engine, context.audit, context.clock)


def _report(created: NewAccount) -> str:
    user = created.user
    roles = ", ".join(sorted(r.value for r in user.roles))
    lines = [f"created {user.username} ({user.display_name}) in {user.commune_id}: {roles}"]
    if created.totp_uri:
        lines += [
            "second factor (shown once): load this URI in an authenticator app, or type its secret:",
            f"  {created.totp_uri}",
        ]
    return "\n".join(lines)


def _run(config_path: Path, action: Callable[[AuthService], str], nothing: str) -> int:
    """Run ``action`` on the account service; print what it says, or why it was refused (exit 1)."""

    def run(context: Opened) -> int:
        return _attempt(lambda: action(_service(context)), nothing)

    return run_opened(config_path, run)


def _run_as(
    config_path: Path, what: str, action: Callable[[AuthService, Principal, Opened], str | None], nothing: str
) -> int:
    """Run ``action`` for the administrator signed in with ``vigie login``; ``action`` returning None means it
    already said why it stopped (exit 1). Permission refusals are printed and audited."""

    def run(context: Opened, admin: Principal) -> int:
        admin.require(Permission.MANAGE_USERS)
        return _attempt(lambda: action(_service(context), admin, context), nothing)

    return run_signed_in(config_path, what, run)


def _attempt(action: Callable[[], str | None], nothing: str) -> int:
    try:
        message = action()
    except (AccountError, UserNotFoundError) as err:
        print(f"vigie: {err}; nothing was {nothing}", file=sys.stderr)
        return EXIT_REFUSED
    if message is None:
        return EXIT_REFUSED
    print(message)
    return 0


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

    return _run(
        config_path,
        lambda service: _report(
            service.create_first_admin(username=username, display_name=name, commune_id=commune, password=password)
        ),
        "created",
    )


def add_command(
    config_path: Path,
    *,
    username: str,
    name: str,
    commune: str | None,
    roles: str,
    authorised_until: date | None,
    trained_on: date | None,
    password_stdin: bool,
) -> int:
    """Create an account in the signed-in administrator's own tenant (``commune``, when given, must be it)."""
    parsed = _parse_roles(roles)
    if parsed is None:
        return EXIT_REFUSED

    def add(service: AuthService, admin: Principal, _: Opened) -> str | None:
        password = read_password(password_stdin)
        if password is None:
            return None
        created = service.add_user(
            admin,
            username=username,
            display_name=name,
            commune_id=commune or admin.user.commune_id,
            roles=parsed,
            password=password,
            authorised_until=authorised_until,
            trained_on=trained_on,
        )
        return _report(created)

    return _run_as(config_path, "vigie users add", add, "created")


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
) -> int:
    """Change an account of the signed-in administrator's tenant."""

    def update(service: AuthService, admin: Principal, _: Opened) -> str:
        user = service.update_user(
            admin,
            username,
            authorised_until=authorised_until,
            trained_on=trained_on,
            disabled=disabled,
            unlock=unlock,
        )
        return f"updated {user.username}"

    return _run_as(config_path, "vigie users update", update, "changed")


def share_command(
    config_path: Path, *, owner: str | None, partner: str, reference: str, starts_on: date, ends_on: date
) -> int:
    """The signed-in administrator's tenant shares its cameras with ``partner`` (``owner``, when given, must be
    the administrator's own tenant: a tenant shares only its own cameras)."""

    def share(service: AuthService, admin: Principal, _: Opened) -> str:
        if owner is not None and owner != admin.user.commune_id:
            raise AccessDeniedError(
                f"{admin.actor} shares the cameras of {admin.user.commune_id} only, not those of {owner}"
            )
        agreement = service.record_agreement(
            admin, partner_commune=partner, reference=reference, starts_on=starts_on, ends_on=ends_on
        )
        return (
            f"agreement #{agreement.id}: {partner} sees the cameras of {agreement.owner_commune} "
            f"from {starts_on.isoformat()} to {ends_on.isoformat()} ({agreement.reference})"
        )

    return _run_as(config_path, "vigie users share", share, "recorded")


def reset_password_command(config_path: Path, username: str, *, password_stdin: bool) -> int:
    """Set a new password for an account of the signed-in administrator's tenant; ends that account's sessions."""

    def reset(service: AuthService, admin: Principal, context: Opened) -> str | None:
        from vigie.storage import SqlUserRepo

        user = SqlUserRepo(context.engine).by_username(username.strip().lower())
        if user is None or user.commune_id != admin.user.commune_id:
            raise UserNotFoundError(f"no user {username!r} in {admin.user.commune_id}")
        password = read_password(password_stdin)
        if password is None:
            return None
        service.reset_password(Actor(admin.actor, commune_id=admin.user.commune_id), user.username, password)
        return f"new password set for {user.username}; their sessions are ended"

    return _run_as(config_path, "vigie users reset-password", reset, "changed")
