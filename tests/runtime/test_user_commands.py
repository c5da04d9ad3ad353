"""``vigie users …`` as an installer runs it: the first administrator once, agents with dates, unlock, sharing,
password reset — refusals say why and change nothing; no password ever in the output."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.configs import config_yaml
from vigie.cli import main
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
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(config)
    admin = ("users", "create-admin", "--config", cfg, "--username", "C.Durand", "--name", "Camille Durand")
    code, out, _ = vigie(
        monkeypatch, capsys, *admin, "--commune", "testville", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert code == 0 and "created c.durand" in out and "otpauth://totp/Vigie%3Ac.durand?secret=" in out
    assert PASSWORD not in out
    code, _, err = vigie(
        monkeypatch, capsys, *admin, "--commune", "testville", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert code == 1 and "exists already" in err, "only one first administrator"

    add = ("users", "add", "--config", cfg, "--username", "l.martin", "--name", "Léa Martin", "--commune", "testville")
    today = datetime.now(UTC).date()  # the commands read the host's day
    until, trained = str(today + timedelta(days=365)), str(today - timedelta(days=60))
    dates = ("--authorised-until", until, "--trained-on", trained, "--by", "Camille Durand")
    code, _, err = vigie(monkeypatch, capsys, *add, "--roles", "operator,king", *dates, "--password-stdin", stdin="x\n")
    assert code == 1 and "unknown role" in err
    code, _, err = vigie(monkeypatch, capsys, *add, "--roles", "operator", *dates, "--password-stdin", stdin="short\n")
    assert code == 1 and "12 characters" in err and "nothing was created" in err
    code, out, _ = vigie(
        monkeypatch, capsys, *add, "--roles", "operator", *dates, "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert code == 0 and "created l.martin" in out and "otpauth" not in out

    code, out, _ = vigie(monkeypatch, capsys, "users", "list", "--config", cfg)
    assert code == 0 and "l.martin" in out and f"authorised until {until}" in out and f"trained {trained}" in out

    code, out, _ = vigie(
        monkeypatch, capsys, "users", "update", "l.martin", "--config", cfg, "--disable", "--by", "C D"
    )
    assert code == 0 and "updated l.martin" in out
    assert "disabled" in vigie(monkeypatch, capsys, "users", "list", "--config", cfg)[1]
    code, _, err = vigie(monkeypatch, capsys, "users", "update", "nobody", "--config", cfg, "--unlock", "--by", "C D")
    assert code == 1 and "no user 'nobody'" in err

    share = ("users", "share", "--config", cfg, "--owner", "testville", "--partner", "testville", "--reference", "C-1")
    year = (str(today), str(today + timedelta(days=365)))
    code, _, err = vigie(monkeypatch, capsys, *share, "--from", year[0], "--to", year[1], "--by", "C D")
    assert code == 1 and "its own cameras" in err
    with pytest.raises(SystemExit):
        vigie(monkeypatch, capsys, *share, "--from", "tomorrow", "--to", year[1], "--by", "C D")
    assert "is not a date" in capsys.readouterr().err

    reset = ("users", "reset-password", "l.martin", "--config", cfg, "--by", "C D", "--password-stdin")
    code, out, _ = vigie(monkeypatch, capsys, *reset, stdin="a brand new passphrase\n")
    assert code == 0 and "sessions are ended" in out

    from vigie.config import load_config
    from vigie.storage import SqlAuditStore, create_engine_for

    engine = create_engine_for(load_config(config).storage.database_url)
    actions = [r.action for r in SqlAuditStore(engine).records()]
    assert actions.count(AuditAction.USER_CREATED.value) == 2 and AuditAction.USER_CHANGED.value in actions
    engine.dispose()
