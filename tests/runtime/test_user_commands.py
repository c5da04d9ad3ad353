"""``vigie users …`` as an installer runs it: the first administrator once, agents with dates, unlock, sharing,
password reset — refusals say why and change nothing; no password ever in the output."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from tests.support.cli_accounts import totp_code
from tests.support.clocks import T0, FakeClock
from tests.support.configs import config_yaml
from vigie.cli import main
from vigie.cli.commands.context import commands_on
from vigie.cli.commands.session import SESSION_FILE_ENV
from vigie.domain.audit import AuditAction

PASSWORD = "an administrator passphrase"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "vigie.yaml"
    path.write_text(config_yaml(tmp_path, ""), encoding="utf-8")
    return path


def vigie(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str, stdin: str = ""
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_first_admin_agents_sharing_and_reset(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(config)
    clock = FakeClock(T0)
    with commands_on(clock):
        admin = ("users", "create-admin", "--config", cfg, "--username", "C.Durand", "--name", "Camille Durand")
        code, out, _ = vigie(
            monkeypatch, capsys, *admin, "--commune", "testville", "--password-stdin", stdin=PASSWORD + "\n"
        )
        assert code == 0 and "created c.durand" in out and "otpauth://totp/Vigie%3Ac.durand?secret=" in out
        assert PASSWORD not in out
        secret = parse_qs(urlparse(out[out.index("otpauth://") :].split()[0]).query)["secret"][0]
        code, _, err = vigie(
            monkeypatch, capsys, *admin, "--commune", "testville", "--password-stdin", stdin=PASSWORD + "\n"
        )
        assert code == 1 and "exists already" in err, "only one first administrator"

        add = ("users", "add", "--config", cfg, "--username", "l.martin", "--name", "Léa Martin")
        today = T0.date()
        until, trained = str(today + timedelta(days=365)), str(today - timedelta(days=60))
        dates = ("--authorised-until", until, "--trained-on", trained)
        code, _, err = vigie(monkeypatch, capsys, *add, "--roles", "operator", *dates, "--password-stdin", stdin="x\n")
        assert code == 2 and "not signed in" in err, "only a signed-in administrator adds accounts"

        monkeypatch.setenv(SESSION_FILE_ENV, str(tmp_path / "admin.session"))
        login = ("login", "--config", cfg, "--user", "c.durand")
        code, out, _ = vigie(monkeypatch, capsys, *login, stdin=f"{PASSWORD}\n{totp_code(secret, T0)}\n")
        assert code == 0 and "signed in as c.durand" in out

        code, _, err = vigie(
            monkeypatch, capsys, *add, "--roles", "operator,king", *dates, "--password-stdin", stdin="x\n"
        )
        assert code == 1 and "unknown role" in err
        code, _, err = vigie(
            monkeypatch, capsys, *add, "--roles", "operator", *dates, "--password-stdin", stdin="short\n"
        )
        assert code == 1 and "12 characters" in err and "nothing was created" in err
        code, _, err = vigie(
            monkeypatch, capsys, *add, "--commune", "elsewhere", "--roles", "operator", *dates, "--password-stdin",
            stdin=PASSWORD + "\n",
        )  # fmt: skip
        assert code == 1 and "you manage the accounts of testville only" in err
        code, out, _ = vigie(
            monkeypatch, capsys, *add, "--roles", "operator", *dates, "--password-stdin", stdin=PASSWORD + "\n"
        )
        assert code == 0 and "created l.martin" in out and "otpauth" not in out

        code, out, _ = vigie(monkeypatch, capsys, "users", "list", "--config", cfg)
        assert code == 0 and "l.martin" in out and f"authorised until {until}" in out and f"trained {trained}" in out

        code, out, _ = vigie(monkeypatch, capsys, "users", "update", "l.martin", "--config", cfg, "--disable")
        assert code == 0 and "updated l.martin" in out
        assert "disabled" in vigie(monkeypatch, capsys, "users", "list", "--config", cfg)[1]
        code, _, err = vigie(monkeypatch, capsys, "users", "update", "nobody", "--config", cfg, "--unlock")
        assert code == 1 and "no user 'nobody'" in err

        share = ("users", "share", "--config", cfg, "--partner", "testville", "--reference", "C-1")
        year = (str(today), str(today + timedelta(days=365)))
        code, _, err = vigie(monkeypatch, capsys, *share, "--from", year[0], "--to", year[1])
        assert code == 1 and "its own cameras" in err
        code, _, err = vigie(monkeypatch, capsys, *share, "--owner", "lyon", "--from", year[0], "--to", year[1])
        assert code == 1 and "shares the cameras of testville only" in err
        with pytest.raises(SystemExit):
            vigie(monkeypatch, capsys, *share, "--from", "tomorrow", "--to", year[1])
        assert "is not a date" in capsys.readouterr().err

        reset = ("users", "reset-password", "l.martin", "--config", cfg, "--password-stdin")
        code, out, _ = vigie(monkeypatch, capsys, *reset, stdin="a brand new passphrase\n")
        assert code == 0 and "sessions are ended" in out

        monkeypatch.setenv(SESSION_FILE_ENV, str(tmp_path / "nobody.session"))
        code, _, _ = vigie(monkeypatch, capsys, "users", "update", "l.martin", "--config", cfg, "--enable")
        assert code == 2  # not signed in
    from vigie.config import load_config
    from vigie.storage import SqlAuditStore, create_engine_for

    engine = create_engine_for(load_config(config).storage.database_url)
    records = list(SqlAuditStore(engine).records())
    engine.dispose()
    actions = [r.action for r in records]
    assert actions.count(AuditAction.USER_CREATED.value) == 2 and AuditAction.USER_CHANGED.value in actions
    changes = [r.actor for r in records if r.action in (AuditAction.USER_CHANGED.value, AuditAction.USER_CREATED.value)]
    assert changes == ["cli:first-admin", "c.durand", "c.durand", "c.durand"]
    assert PASSWORD not in repr([r.details for r in records])
