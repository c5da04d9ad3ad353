"""The command line acts as a signed-in account, never as a name typed on it (issue 14: D1 and "every CLI action is
attributed to free text"): ``vigie login`` with password and code, a short-lived session of mode 0600, roles
checked as in the API, refusals audited, the audit naming the account."""

from __future__ import annotations

import io
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.activations import NOW, config_text
from tests.support.cli_accounts import CliAccounts, login_stdin, signed_in_world
from tests.support.clocks import FakeClock
from vigie.cli import main
from vigie.cli.commands.session import SESSION_FILE_ENV, session_file
from vigie.config import load_config
from vigie.domain.audit import AuditAction
from vigie.storage import SqlAuditStore, create_engine_for


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "vigie.yaml"
    text = config_text(NOW.date()).replace(
        "version: 1\n",
        f"version: 1\nstorage:\n  database_url: sqlite:///{tmp_path / 'v.db'}\n  data_dir: {tmp_path / 'data'}\n",
        1,
    )
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def accounts(config: Path, tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliAccounts]:
    with signed_in_world(config, tmp_path / "sessions", clock, monkeypatch) as world:
        world.add("alice", "supervisor", commune="belvedere")
        world.add("bob", "dpo", commune="belvedere")
        world.add("carol", "authority", commune="belvedere")
        world.add("dave", "dpo", "authority", commune="belvedere")
        world.add("erin", "operator", commune="belvedere")
        world.add("ivan", "investigator", commune="belvedere")
        world.add("paul", "authority", commune="police")
        yield world


def audit(config: Path) -> list[tuple[str, str, str, dict[str, object]]]:
    engine = create_engine_for(load_config(config).storage.database_url)
    try:
        return [(r.actor, r.action, r.target, dict(r.details)) for r in SqlAuditStore(engine).records()]
    finally:
        engine.dispose()


REQUEST = (
    "--module", "motion", "--cameras", "cam-depot", "--framework", "site-prive", "--decision", "2026-PREF-0042",
    "--decision-date", str(NOW.date() - timedelta(days=30)), "--dpia", "AIPD-2026-07", "--purpose", "intrusions",
    "--start", (NOW - timedelta(minutes=1)).isoformat(), "--end", (NOW + timedelta(days=1)).isoformat(),
)  # fmt: skip


EXPORT_AS_SOMEONE_ELSE = [
    "export", "create", "--cameras", "cam-depot", "--from", "2026-03-01", "--to", "2026-03-02", "-o", "x",
    "--requisition", "PV 1", "--by", "Someone Else", "--reason", "r",
]  # fmt: skip
"""L13 as reported: footage exported under another person's name."""


def vigie(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_names_and_roles_typed_on_the_command_line_are_gone(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """D1 as reported: ``--by "Fictional Person One" --role dpo`` is not an option any more."""
    for args in (
        ["activation", "approve", "1", "--by", "Fictional Person One", "--role", "dpo"],
        EXPORT_AS_SOMEONE_ELSE,
        ["hold", "lift", "1", "--by", "x", "--reason", "y"],
        ["users", "update", "x", "--disable", "--by", "x"],
        ["alerts", "confirm", "1", "--by", "x", "--role", "operator"],
        ["stop", "--all", "--by", "x", "--role", "operator", "--reason", "y"],
    ):
        with pytest.raises(SystemExit) as exit_:
            main([*args, "--config", str(config)])
        assert exit_.value.code == 2
        assert "unrecognized arguments: --by" in capsys.readouterr().err


def test_nothing_changes_without_a_session(
    accounts: CliAccounts, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    accounts.use("bob")  # never logged in: no session file
    code, _, err = vigie(capsys, "activation", "request", "--config", str(config), *REQUEST)
    assert code == 2 and "not signed in: run `vigie login --config" in err
    code, _, err = vigie(capsys, "whoami", "--config", str(config))
    assert code == 2 and "not signed in" in err
    assert not [a for a in audit(config) if a[1].startswith("activation.")]


def test_two_person_rule_holds_against_one_person_at_the_command_line(
    accounts: CliAccounts, config: Path, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(config)
    accounts.sign_in("alice")
    code, out, _ = vigie(capsys, "activation", "request", "--config", cfg, *REQUEST)
    assert code == 0 and "activation 1 requested" in out

    accounts.sign_in("erin")  # an operator cannot approve, whatever role they would claim
    code, _, err = vigie(capsys, "activation", "approve", "1", "--config", cfg)
    assert code == 1 and "do not allow approve activation" in err
    code, _, err = vigie(capsys, "activation", "approve", "1", "--config", cfg, "--as", "authority")
    assert code == 1 and "does not hold the role authority" in err

    accounts.sign_in("dave")  # holds both approving roles: one approval only
    code, out, _ = vigie(capsys, "activation", "approve", "1", "--config", cfg, "--as", "dpo")
    assert code == 0 and "approved; it is now requested" in out
    code, _, err = vigie(capsys, "activation", "approve", "1", "--config", cfg, "--as", "authority")
    assert code == 1 and "same_person_twice" in err

    accounts.sign_in("paul")  # an authority of another tenant
    code, _, err = vigie(capsys, "activation", "approve", "1", "--config", cfg)
    assert code == 1

    accounts.sign_in("carol")
    code, out, _ = vigie(capsys, "activation", "approve", "1", "--config", cfg)
    assert code == 0 and "now active" in out

    entries = audit(config)
    approved = [(actor, details["role"]) for actor, action, _, details in entries if action == "activation.approved"]
    assert approved == [("dave", "dpo"), ("carol", "authority")]
    requested = [actor for actor, action, _, _ in entries if action == "activation.requested"]
    assert requested == ["alice"]
    denied = [(actor, target) for actor, action, target, _ in entries if action == AuditAction.ACCESS_DENIED.value]
    assert ("erin", "vigie activation approve") in denied


def test_stop_and_resume_follow_the_accounts_permissions(
    accounts: CliAccounts, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(config)
    accounts.sign_in("erin")
    assert vigie(capsys, "stop", "--camera", "cam-depot", "--config", cfg, "--reason", "incident")[0] == 0
    code, _, err = vigie(capsys, "resume", "--camera", "cam-depot", "--config", cfg, "--reason", "fini")
    assert code == 1 and "do not allow release stop" in err
    accounts.sign_in("bob")
    assert vigie(capsys, "resume", "--camera", "cam-depot", "--config", cfg, "--reason", "vérifié")[0] == 0
    stops = [(a, action) for a, action, *_ in audit(config) if action.startswith("stop.")]
    assert stops == [("erin", "stop.engaged"), ("bob", "stop.released")]


def test_login_session_file_expiry_and_logout(
    accounts: CliAccounts, config: Path, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(config)
    bob = accounts.sign_in("bob")
    assert stat.S_IMODE(bob.session_file.stat().st_mode) == 0o600
    assert bob.password not in bob.session_file.read_text(encoding="utf-8")
    assert "signed in as bob" in capsys.readouterr().out
    code, out, _ = vigie(capsys, "whoami", "--config", cfg)
    assert code == 0 and out.startswith("bob (Test Bob) of belvedere: dpo")

    clock.advance(minutes=16)  # a command-line session is short-lived
    code, _, err = vigie(capsys, "whoami", "--config", cfg)
    assert code == 2 and "has ended" in err

    accounts.sign_in("bob")
    assert vigie(capsys, "logout", "--config", cfg)[0] == 0
    assert not bob.session_file.exists()
    assert vigie(capsys, "whoami", "--config", cfg)[0] == 2

    entries = audit(config)
    logins = [(a, details["client"]) for a, action, _, details in entries if action == "login.succeeded"]
    assert len(logins) == 2 and all(actor == "bob" and str(c).startswith("cli") for actor, c in logins)
    assert any(action == "logout" for _, action, *_ in entries)
    assert bob.password not in repr(entries)


def test_a_wrong_password_or_code_is_refused_and_audited(
    accounts: CliAccounts,
    config: Path,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = str(config)
    bob = accounts["bob"]
    accounts.use("bob")
    monkeypatch.setattr("sys.stdin", io.StringIO("not the passphrase\n000000\n"))
    code, _, err = vigie(capsys, "login", "--config", cfg, "--user", "bob")
    assert code == 1 and "wrong username or password" in err
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{bob.password}\n\n"))
    code, _, err = vigie(capsys, "login", "--config", cfg, "--user", "bob")
    assert code == 1 and "6-digit code" in err
    assert not bob.session_file.exists()
    monkeypatch.setattr("sys.stdin", io.StringIO(login_stdin(bob, clock())))
    assert vigie(capsys, "login", "--config", cfg, "--user", "bob")[0] == 0
    failures = [d["reason"] for a, action, _, d in audit(config) if action == "login.failed"]
    assert failures == ["wrong_password", "second_factor_missing"]


def test_a_disabled_account_loses_its_session_and_a_readable_session_file_is_refused(
    accounts: CliAccounts, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(config)
    erin = accounts.sign_in("erin")
    erin.session_file.chmod(0o644)
    code, _, err = vigie(capsys, "whoami", "--config", cfg)
    assert code == 2 and "not a session file of yours alone" in err
    erin.session_file.chmod(0o600)
    accounts.add("root", "administrator", commune="belvedere")
    accounts.sign_in("root")
    assert vigie(capsys, "users", "update", "erin", "--config", cfg, "--disable")[0] == 0
    accounts.use("erin")
    code, _, err = vigie(capsys, "stop", "--all", "--config", cfg, "--reason", "x")
    assert code == 2 and "has ended" in err


def test_the_default_session_file_is_private_and_per_configuration(
    accounts: CliAccounts,
    config: Path,
    tmp_path: Path,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    runtime = tmp_path / "run-user"
    runtime.mkdir()
    monkeypatch.delenv(SESSION_FILE_ENV, raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    path = session_file(config)
    assert path.parent == runtime / "vigie" and path.name.startswith("session-")
    assert session_file(tmp_path / "other.yaml") != path, "one session per configuration"
    monkeypatch.setattr("sys.stdin", io.StringIO(login_stdin(accounts["erin"], clock())))
    assert vigie(capsys, "login", "--config", str(config), "--user", "erin")[0] == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    code, out, _ = vigie(capsys, "whoami", "--config", str(config))
    assert code == 0 and out.startswith("erin ")
