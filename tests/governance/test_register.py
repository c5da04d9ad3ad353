"""The record of processing (L20) and the governance commands, on a fresh install and after an activation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.activations import config_text
from vigie.runtime.governance_commands import (
    activation_approve_command,
    activation_list_command,
    activation_request_command,
    activation_revoke_command,
    compliance_register_command,
    compliance_status_command,
    resume_command,
    stop_command,
)


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "vigie.yaml"
    today = datetime.now(UTC).date()  # the commands read the host's clock: cameras authorised around today
    text = config_text(today).replace(
        "version: 1\n", f"version: 1\nstorage:\n  database_url: sqlite:///{tmp_path / 'v.db'}\n", 1
    )
    path.write_text(text, encoding="utf-8")
    return path


def request(config_path: Path, **changes: object) -> int:
    now = datetime.now(UTC)  # the commands read the host's clock
    values: dict[str, object] = {
        "tenant": "belvedere",
        "module": "motion",
        "cameras": ["cam-depot"],
        "framework": "site-prive",
        "decision": "2026-PREF-0042",
        "decision_date": (now - timedelta(days=30)).date(),
        "dpia": "AIPD-2026-07",
        "purpose": "intrusions au dépôt",
        "start": now - timedelta(minutes=1),
        "end": now + timedelta(days=1),
        "by": "alice",
        "role": "police-chief",
    }
    values.update(changes)
    return activation_request_command(config_path, **values)  # type: ignore[arg-type]


def test_fresh_install_says_nothing_is_active(config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert compliance_status_command(config_path) == 0
    assert "Nothing is active" in capsys.readouterr().out
    assert activation_list_command(config_path) == 0
    assert "No activation" in capsys.readouterr().out


def test_register_of_a_fresh_install(config_path: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert compliance_register_command(config_path, None) == 0
    text = capsys.readouterr().out
    for expected in (
        "GDPR art. 30",
        "Ville de Belvédère",
        "dpo@belvedere.example",
        "cam-street",
        "crime_prevention",
        "| 15 |",
        "Categories of data",
        "Recipients",
        "no transfer outside",
        "Security measures",
        "No algorithmic analysis is activated",
    ):
        assert expected in text
    out = tmp_path / "register.html"
    assert compliance_register_command(config_path, out) == 0
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")


def test_activation_lifecycle_through_the_commands(config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert request(config_path) == 0
    assert "activation 1 requested" in capsys.readouterr().out
    assert activation_approve_command(config_path, 1, "alice", "dpo") == 1  # the requester
    assert "requester cannot approve" in capsys.readouterr().err
    assert activation_approve_command(config_path, 1, "bob", "dpo") == 0
    assert activation_approve_command(config_path, 1, "dave", "dpo") == 1  # same role twice
    assert activation_approve_command(config_path, 1, "carol", "authority") == 0
    assert "now active" in capsys.readouterr().out
    assert compliance_status_command(config_path) == 0
    assert "#1 active: motion on cam-depot" in capsys.readouterr().out
    assert compliance_register_command(config_path, None) == 0
    assert "prefectoral decision 2026-PREF-0042" in capsys.readouterr().out
    assert stop_command(config_path, None, "erin", "incident") == 0
    assert compliance_status_command(config_path) == 0
    assert "GLOBAL STOP engaged by cli:erin" in capsys.readouterr().out
    assert resume_command(config_path, None, "erin", "operator", "fini") == 1
    assert resume_command(config_path, None, "bob", "dpo", "vérifié") == 0
    assert activation_revoke_command(config_path, 1, "carol", "authority", "fin du besoin") == 0
    capsys.readouterr()
    assert compliance_status_command(config_path) == 0
    assert "Nothing is active" in capsys.readouterr().out


def test_refused_requests_say_why(config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert request(config_path, module="plate_reading", framework="lapi-csi-l233-1", cameras=["cam-street"]) == 1
    assert "L34" in capsys.readouterr().err
    assert request(config_path, module="stationary_vehicle", cameras=["cam-street"]) == 1
    assert "no framework authorises 'stationary_vehicle' on public_street cameras" in capsys.readouterr().err


def test_invalid_configuration_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\ngovernance: {bypass: true}\n", encoding="utf-8")
    assert compliance_status_command(path) == 2
    assert "nothing was changed" in capsys.readouterr().err
