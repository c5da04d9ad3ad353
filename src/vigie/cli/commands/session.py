"""Who is at the command line: ``vigie login`` / ``logout`` / ``whoami``, and :func:`signed_in` for every command
that changes something (exports, holds, accounts, verdicts, activations, stop switches, calibration runs).

The command line acts as an account, never as a name typed on it:

- ``vigie login --config FILE [--user NAME]`` asks the password (and the 6-digit code of an account with a second
  factor: administrators, DPOs) at the terminal, or reads them from the first two lines of standard input when it
  is not a terminal (scripts, tests); never from an argument, where they would land in the shell history and the
  process list. It goes through :meth:`AuthService.login` like the console does: same lockout, same audit entries
  (``login.succeeded`` / ``login.failed`` with the client ``cli:<system user>``).
- The session token is kept in a file of mode 0600 in a folder of mode 0700: ``$VIGIE_SESSION_FILE`` when set,
  else ``$XDG_RUNTIME_DIR/vigie/session-<hash of the configuration path>``, else
  ``~/.config/vigie/sessions/session-<hash>``. The session ends ``CLI_SESSION_LIFETIME`` (15 min) after login, or
  after ``IDLE_TIMEOUT`` without a command, or at ``vigie logout``, or when the account is disabled; only the
  token's SHA-256 is in the database.
- :func:`signed_in` resolves the token with :meth:`AuthService.resolve` (expiry, disabled account; the
  authorisation and training dates are checked by the permissions that need them). Without a valid session a
  command stops with exit code 2 and "not signed in: run `vigie login --config FILE`", having changed nothing.
- Commands then check the account's permissions exactly as the API does (the same ``*_as`` use cases and
  :meth:`Principal.require`); a refusal exits with code 1 and is audited as ``access.denied``. The audit names
  the account by its username, as for the console.
- An account holding several roles acts in one of them with ``--as ROLE`` (it must be one it holds); by default
  the first that allows the action, in the fixed order of :class:`Role`.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import stat
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Final

from vigie.cli.commands.context import EXIT_UNUSABLE, Opened, Unusable, opened, run_opened
from vigie.domain.clock import Clock
from vigie.domain.users import VIDEO_PERMISSIONS, Role
from vigie.runtime.assembly.auth import open_auth_service
from vigie.services.access import AccessDeniedError, NotVisibleError, Principal
from vigie.services.auth import CLI_SESSION_LIFETIME, AccountError, AuthService, LoginRefusedError
from vigie.storage import SqlUserRepo

SESSION_FILE_ENV: Final = "VIGIE_SESSION_FILE"
EXIT_REFUSED: Final = 1
EXIT_NOT_SIGNED_IN: Final = EXIT_UNUSABLE


class NotSignedInError(Unusable):
    """No valid command-line session for this configuration: log in first."""


def session_file(config_path: Path) -> Path:
    """Where the command line keeps the session token for ``config_path`` (see the module's docstring)."""
    override = os.environ.get(SESSION_FILE_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    key = hashlib.sha256(str(config_path.expanduser().resolve()).encode("utf-8")).hexdigest()[:16]
    runtime = os.environ.get("XDG_RUNTIME_DIR", "").strip()
    folder = Path(runtime) / "vigie" if runtime else Path.home() / ".config" / "vigie" / "sessions"
    return folder / f"session-{key}"


def _login_hint(config_path: Path) -> str:
    return f"not signed in: run `vigie login --config {config_path}`"


def _write_session(path: Path, content: dict[str, str]) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(content, out)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _read_session(path: Path, config_path: Path) -> dict[str, str]:
    """The session file's content; :class:`NotSignedInError` when it is absent, unreadable, for another
    configuration, or readable by other people (its token would be theirs to use)."""
    try:
        info = path.stat()
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotSignedInError(_login_hint(config_path)) from None
    except OSError as err:
        raise NotSignedInError(f"{_login_hint(config_path)} (cannot read {path}: {err.strerror})") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
        raise NotSignedInError(
            f"{path} is not a session file of yours alone (mode 0600, your user): delete it, then "
            f"run `vigie login --config {config_path}`"
        )
    try:
        content = json.loads(text)
    except ValueError:
        content = None
    if not isinstance(content, dict) or not isinstance(content.get("token"), str):
        raise NotSignedInError(f"{_login_hint(config_path)} ({path} is not a session file)")
    if content.get("config") != str(config_path.expanduser().resolve()):
        raise NotSignedInError(f"{_login_hint(config_path)} (the session in {path} is for {content.get('config')})")
    return {str(k): str(v) for k, v in content.items()}


def auth_service(context: Opened) -> AuthService:
    return open_auth_service(context.config, context.engine, context.audit, context.clock)


def signed_in(context: Opened, auth: AuthService | None = None) -> Principal:
    """The account signed in at the command line for ``context``'s configuration; :class:`NotSignedInError`
    (exit 2) when there is no session, or it expired, or the account was disabled since."""
    service = auth or auth_service(context)
    content = _read_session(session_file(context.config_path), context.config_path)
    principal = service.resolve(content["token"])
    if principal is None:
        raise NotSignedInError(
            f"not signed in: the session of {content.get('username', '?')} has ended (expired, logged out, or the "
            f"account disabled); run `vigie login --config {context.config_path}`"
        )
    return principal


def acting_as(principal: Principal, role: str | None) -> Principal:
    """``principal`` acting in ``role`` only (``--as``): refused unless the account holds that role."""
    if role is None:
        return principal
    try:
        wanted = Role(role)
    except ValueError:
        raise AccessDeniedError(f"unknown role {role!r}; roles: {', '.join(r.value for r in Role)}") from None
    if wanted not in principal.user.roles:
        held = ", ".join(sorted(r.value for r in principal.user.roles)) or "none"
        raise AccessDeniedError(f"{principal.actor} does not hold the role {role} (roles: {held})")
    return replace(principal, user=replace(principal.user, roles=frozenset({wanted})))


def refuse(context: Opened, principal: Principal | None, what: str, err: Exception) -> int:
    """Report a permission refusal (exit 1) and audit it as ``access.denied``, as the API does."""
    print(f"vigie: refused: {err}; nothing was changed", file=sys.stderr)
    auth_service(context).denied(principal, what, str(err), client=client_name())
    return EXIT_REFUSED


def run_signed_in(
    config_path: Path,
    what: str,
    action: Callable[[Opened, Principal], int],
    *,
    role: str | None = None,
    clock: Clock | None = None,
) -> int:
    """Open everything, resolve the signed-in account (acting in ``role`` when given), run ``action``; a
    permission refusal (:class:`AccessDeniedError`, :class:`NotVisibleError`) is printed and audited (exit 1)."""

    def run(context: Opened) -> int:
        principal = signed_in(context)
        try:
            return action(context, acting_as(principal, role))
        except (AccessDeniedError, NotVisibleError) as err:
            return refuse(context, principal, what, err)

    return run_opened(config_path, run, clock)


def client_name() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no name for this uid (a container)
        return f"cli:uid-{os.getuid()}" if hasattr(os, "getuid") else "cli"


def _ask(prompt: str, interactive: bool) -> str:
    """At a terminal, ask without echo; otherwise read the next line of standard input (only when needed: a
    script's pipe may stay open)."""
    if interactive:
        return getpass.getpass(prompt)
    return sys.stdin.readline().rstrip("\r\n")


def login_command(config_path: Path, username: str | None, *, clock: Clock | None = None) -> int:
    """Ask the password (and code), open a command-line session, write its token to the session file."""
    interactive = sys.stdin.isatty()
    if not username:
        if not interactive:
            print("vigie: give the account with --user NAME; nothing was changed", file=sys.stderr)
            return EXIT_NOT_SIGNED_IN
        username = input("username: ").strip()
    name = username.strip().lower()
    try:
        with opened(config_path, clock) as context:
            password = _ask("password: ", interactive)
            stored = SqlUserRepo(context.engine).by_username(name)
            code = ""
            if stored is not None and stored.needs_second_factor:
                code = _ask("6-digit code of your authenticator app: ", interactive).strip()
            auth = auth_service(context)
            try:
                logged = auth.login(name, password, totp=code, client=client_name(), lifetime=CLI_SESSION_LIFETIME)
            except (LoginRefusedError, AccountError) as err:
                print(f"vigie: login refused: {err}", file=sys.stderr)
                return EXIT_REFUSED
            path = session_file(config_path)
            expires = context.clock() + CLI_SESSION_LIFETIME
            try:
                _write_session(
                    path,
                    {
                        "config": str(config_path.expanduser().resolve()),
                        "username": logged.principal.actor,
                        "token": logged.token,
                        "expires_at": expires.isoformat(),
                    },
                )
            except OSError as err:
                auth.logout(logged.principal)
                print(f"vigie: cannot write the session file {path}: {err.strerror}", file=sys.stderr)
                return EXIT_REFUSED
    except Unusable as err:
        print(f"vigie: {err}; nothing was changed", file=sys.stderr)
        return EXIT_UNUSABLE
    print(f"signed in as {_describe(logged.principal)} until {_local(expires)} (session in {path})")
    return 0


def logout_command(config_path: Path) -> int:
    """End the command-line session (in the database too) and delete its file."""
    path = session_file(config_path)
    try:
        with opened(config_path) as context:
            auth = auth_service(context)
            try:
                principal = signed_in(context, auth)
            except NotSignedInError:
                path.unlink(missing_ok=True)
                print("not signed in")
                return 0
            auth.logout(principal)
    except Unusable as err:
        print(f"vigie: {err}; nothing was changed", file=sys.stderr)
        return EXIT_UNUSABLE
    path.unlink(missing_ok=True)
    print(f"signed out {principal.actor}")
    return 0


def whoami_command(config_path: Path) -> int:
    """Print the signed-in account; exit 2 when nobody is."""
    try:
        with opened(config_path) as context:
            principal = signed_in(context)
    except Unusable as err:
        print(f"vigie: {err}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(_describe(principal))
    if principal.video_refusal and principal.user.permissions() & VIDEO_PERMISSIONS:
        print(f"no video access: {principal.video_refusal}")
    return 0


def _describe(principal: Principal) -> str:
    user = principal.user
    roles = ", ".join(sorted(r.value for r in user.roles))
    return f"{user.username} ({user.display_name}) of {user.commune_id}: {roles}"


def _local(at: datetime) -> str:
    from vigie.domain.clock import LEGAL_TIME_ZONE

    return at.astimezone(LEGAL_TIME_ZONE).strftime("%H:%M:%S %Z")
