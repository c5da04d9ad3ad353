"""The cameras' accounts at the command line (:mod:`vigie.governance.camera_credentials`). Setting and removing one
is audited (``config.changed``: the account's name, never its username nor its password)."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from pathlib import Path

from vigie.cli.commands.context import Opened, run_opened
from vigie.cli.commands.session import client_name
from vigie.domain.audit import AuditAction, AuditEvent
from vigie.governance.camera_credentials import CameraCredentialStore, CredentialError
from vigie.governance.keys_folder import KeyStorageError
from vigie.runtime.assembly.audit import keys_folder


def _with_store(config_path: Path, action: Callable[[Opened, CameraCredentialStore], int]) -> int:
    def run(opened: Opened) -> int:
        try:
            return action(opened, CameraCredentialStore(keys_folder(opened.config)))
        except (CredentialError, KeyStorageError) as err:
            print(f"vigie cameras credentials: {err}", file=sys.stderr)
            return 2

    return run_opened(config_path, run)


def _read_password() -> str:
    """At a terminal, asked twice without echo; otherwise the first line of standard input (a script's pipe)."""
    if sys.stdin.isatty():
        first = getpass.getpass("camera password: ")
        if getpass.getpass("again: ") != first:
            raise CredentialError("the two passwords differ; nothing was stored")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _audit(opened: Opened, name: str, change: str) -> None:
    opened.audit.append(
        AuditEvent(client_name(), AuditAction.CONFIG_CHANGED, f"camera-credentials:{name}", {"change": change})
    )


def credentials_set_command(config_path: Path, name: str, username: str) -> int:
    def store(opened: Opened, credentials: CameraCredentialStore) -> int:
        replaced = credentials.set(name, username, _read_password())
        _audit(opened, name, "account replaced" if replaced else "account added")
        print(f"camera account {name} {'replaced' if replaced else 'stored'} in {credentials.path}")
        return 0

    return _with_store(config_path, store)


def credentials_list_command(config_path: Path) -> int:
    def show(_opened: Opened, credentials: CameraCredentialStore) -> int:
        accounts = credentials.accounts()
        if not accounts:
            print("no camera account stored")
        for name, account in sorted(accounts.items()):
            print(f"{name}\t{account.username}")
        return 0

    return _with_store(config_path, show)


def credentials_remove_command(config_path: Path, name: str) -> int:
    def remove(opened: Opened, credentials: CameraCredentialStore) -> int:
        if not credentials.remove(name):
            print(f"vigie cameras credentials: no account named {name}", file=sys.stderr)
            return 1
        _audit(opened, name, "account removed")
        print(f"camera account {name} removed")
        return 0

    return _with_store(config_path, remove)
