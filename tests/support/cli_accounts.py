"""Accounts for tests of the ``vigie`` command: created on a configuration's database with known passwords and
second-factor secrets, then signed in with ``vigie login`` as a person would (password and code on standard input),
each with its own session file.

In the tests' own process the commands run on an injected clock (:func:`vigie.cli.commands.context.commands_on`):
:class:`CliAccounts` takes that clock and computes the TOTP codes from it. :func:`login_env` does the same for a
``vigie`` child process, which reads the host's clock (the codes are computed from it there)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from vigie.cli.commands.context import commands_on, opened
from vigie.cli.commands.session import SESSION_FILE_ENV
from vigie.domain.actor import Actor
from vigie.domain.clock import Clock, legal_day
from vigie.domain.users import Role
from vigie.runtime.assembly.auth import open_auth_service
from vigie.services.credentials import TOTP_STEP_S, totp_verifier

DEFAULT_PASSWORD = "a long test passphrase"
_last_step: dict[str, int] = {}
"""Last TOTP step used per secret: a code is accepted once, so the next login of the account uses a later one."""


@dataclass(frozen=True, slots=True)
class CliAccount:
    username: str
    password: str
    totp_secret: str | None
    session_file: Path
    commune: str


def totp_code(secret: str, now: datetime) -> str:
    """The code for ``now``, or for the next time step when this secret's code for ``now`` was used already (the
    server accepts one step of drift)."""
    step = int(now.timestamp()) // TOTP_STEP_S
    step = max(step, _last_step.get(secret, step - 1) + 1)
    _last_step[secret] = step
    return totp_verifier(secret).generate(step * TOTP_STEP_S).decode("ascii")


def create_account(
    config: Path,
    username: str,
    roles: Iterable[str],
    *,
    folder: Path,
    clock: Clock,
    commune: str = "testville",
    password: str = DEFAULT_PASSWORD,
    authorised_until: date | None = None,
    trained_on: date | None = None,
) -> CliAccount:
    """An account straight through the account service (as ``vigie users add`` does), video-authorised for a year
    and trained a month ago on ``clock``'s day unless told otherwise."""
    with opened(config, clock) as context:
        auth = open_auth_service(context.config, context.engine, context.audit, clock)
        today = legal_day(clock)
        created = auth.add_user(
            Actor.command_line("test-setup"),
            username=username,
            display_name=f"Test {username.title()}",
            commune_id=commune,
            roles=[Role(r) for r in roles],
            password=password,
            authorised_until=authorised_until or today + timedelta(days=365),
            trained_on=trained_on or today - timedelta(days=30),
        )
    secret = None
    if created.totp_uri:
        secret = parse_qs(urlparse(created.totp_uri).query)["secret"][0]
    return CliAccount(created.user.username, password, secret, folder / f"session-{created.user.username}", commune)


def login_stdin(account: CliAccount, now: datetime) -> str:
    """What ``vigie login`` reads when standard input is not a terminal: the password, then the code."""
    code = totp_code(account.totp_secret, now) if account.totp_secret else ""
    return f"{account.password}\n{code}\n"


class CliAccounts:
    """Accounts of one configuration, signed in in the tests' process on ``clock``."""

    def __init__(self, config: Path, folder: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
        self.config = config
        self.folder = folder
        self.clock = clock
        self._monkeypatch = monkeypatch
        self._accounts: dict[str, CliAccount] = {}
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)

    def add(self, username: str, *roles: str, **fields: object) -> CliAccount:
        account = create_account(self.config, username, roles, folder=self.folder, clock=self.clock, **fields)  # type: ignore[arg-type]
        self._accounts[account.username] = account
        return account

    def __getitem__(self, username: str) -> CliAccount:
        return self._accounts[username]

    def login(self, username: str) -> int:
        """``vigie login --config … --user NAME`` with the password and code on standard input; later commands act
        as this account. Returns the command's exit code."""
        from vigie.cli import main

        account = self._accounts[username]
        self.use(username)
        self._wait_for_a_fresh_code(account)
        self._monkeypatch.setattr("sys.stdin", io.StringIO(login_stdin(account, self.clock())))
        with commands_on(self.clock):
            return main(["login", "--config", str(self.config), "--user", account.username])

    def _wait_for_a_fresh_code(self, account: CliAccount) -> None:
        """A code is accepted once: log in a third time within one time step and the person waits for the next
        code (a :class:`FakeClock` is moved on instead)."""
        if account.totp_secret is None or account.totp_secret not in _last_step:
            return
        advance = getattr(self.clock, "advance", None)
        while advance is not None and _last_step[account.totp_secret] >= self._step() + 1:
            advance(seconds=TOTP_STEP_S)

    def _step(self) -> int:
        return int(self.clock().timestamp()) // TOTP_STEP_S

    def use(self, username: str) -> None:
        """Later commands read this account's session file (signed in or not)."""
        self._monkeypatch.setenv(SESSION_FILE_ENV, str(self._accounts[username].session_file))

    def sign_in(self, username: str) -> CliAccount:
        """Log in (asserting it worked) and act as the account."""
        assert self.login(username) == 0, f"vigie login --user {username} failed"
        return self._accounts[username]


@contextmanager
def signed_in_world(config: Path, folder: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliAccounts]:
    """Accounts of ``config``, with every command of the block running on ``clock``."""
    with commands_on(clock):
        yield CliAccounts(config, folder, clock, monkeypatch)


def login_env(config: Path, account: CliAccount) -> dict[str, str]:
    """Sign ``account`` in with ``vigie login`` in a child process (the host's clock); return the environment
    under which later ``vigie`` child processes act as it."""
    env = {**os.environ, SESSION_FILE_ENV: str(account.session_file)}
    for _ in range(3):
        result = subprocess.run(
            [sys.executable, "-m", "vigie.cli", "login", "--config", str(config), "--user", account.username],
            input=login_stdin(account, datetime.now().astimezone()),
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if result.returncode == 0:
            return env
        if "code is wrong" not in result.stderr:  # a code computed at the very end of its step: try the next
            break
        time.sleep(1)
    raise AssertionError(f"vigie login --user {account.username} failed: {result.stderr}")
