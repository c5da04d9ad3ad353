"""The record of processing (L20) and the governance commands, on a fresh install and after an activation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.activations import NOW, config_text
from tests.support.cli_accounts import CliAccounts, signed_in_world
from tests.support.clocks import FakeClock
from vigie.cli.commands.governance import (
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
    text = config_text(NOW.date()).replace(
        "version: 1\n",
        f"version: 1\nstorage:\n  database_url: sqlite:///{tmp_path / 'v.db'}\n  data_dir: {tmp_path / 'data'}\n",
        1,
    )
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def accounts(config_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliAccounts]:
    """The commands run on the samples' clock, as accounts of Belvédère signed in with ``vigie login``."""
    with signed_in_world(config_path, tmp_path / "sessions", FakeClock(NOW), monkeypatch) as world:
        for name, roles in {"alice": ("supervisor",), "bob": ("dpo",), "dave": ("dpo",)}.items():
            world.add(name, *roles, commune="belvedere")
        world.add("carol", "authority", commune="belvedere")
        world.add("erin", "operator", commune="belvedere")
        world.sign_in("alice")
        yield world


def request(config_path: Path, **changes: object) -> int:
    now = NOW
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


def test_activation_lifecycle_through_the_commands(
    config_path: Path, accounts: CliAccounts, capsys: pytest.CaptureFixture[str]
) -> None:
    assert request(config_path) == 0
    assert "activation 1 requested" in capsys.readouterr().out
    assert activation_approve_command(config_path, 1) == 1  # the requester, a supervisor, cannot approve
    assert "do not allow approve activation" in capsys.readouterr().err
    accounts.sign_in("bob")
    assert activation_approve_command(config_path, 1) == 0
    accounts.sign_in("dave")
    assert activation_approve_command(config_path, 1) == 1  # same role twice
    accounts.sign_in("carol")
    assert activation_approve_command(config_path, 1) == 0
    assert "now active" in capsys.readouterr().out
    assert compliance_status_command(config_path) == 0
    assert "#1 active: motion on cam-depot" in capsys.readouterr().out
    assert compliance_register_command(config_path, None) == 0
    assert "prefectoral decision 2026-PREF-0042" in capsys.readouterr().out
    accounts.sign_in("erin")
    assert stop_command(config_path, "cam-depot", "incident") == 0
    assert stop_command(config_path, None, "incident") == 1  # the global switch: approving roles only
    accounts.sign_in("bob")
    assert stop_command(config_path, None, "incident") == 0
    assert compliance_status_command(config_path) == 0
    out = capsys.readouterr().out
    assert "GLOBAL STOP engaged by bob (dpo)" in out and "stop on cam-depot engaged by erin (operator)" in out
    accounts.sign_in("erin")
    assert resume_command(config_path, None, "fini") == 1
    accounts.sign_in("bob")
    assert resume_command(config_path, None, "vérifié") == 0
    assert resume_command(config_path, "cam-depot", "vérifié") == 0
    accounts.sign_in("carol")
    assert activation_revoke_command(config_path, 1, "fin du besoin") == 0
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


def test_register_names_the_broker_and_the_webhook_endpoints_as_recipients(
    config_path: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Confirmed alerts leave for the broker and the endpoints (L28): the record says so (L20), from the
    configuration only — no query string (it may carry a token), no secret."""
    monkeypatch.setenv("VIGIE_TEST_HOOK_SECRET", "whsec_c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1zaG93LXVw")
    assert compliance_register_command(config_path, None) == 0
    before = capsys.readouterr().out
    assert "MQTT" not in before and "Webhook" not in before and "Sensor readings" not in before
    config_path.write_text(
        config_path.read_text(encoding="utf-8")
        + """mqtt:
  enabled: true
  host: 127.0.0.1
  port: 1884
  topic_prefix: metropole/vigie
webhooks:
  enabled: true
  endpoints:
    - name: police-dispatch
      url: https://dispatch.example.fr/hooks/vigie?token=t0ps3cret#frag
      communes: [belvedere]
      secret_env: VIGIE_TEST_HOOK_SECRET
    - name: gtc
      url: https://gtc.example.fr/in
      communes: [belvedere, police]
      kinds: [health]
      secret_env: VIGIE_TEST_HOOK_SECRET
sensors:
  enabled: true
  sensors: [{id: radar-1, commune: belvedere, kind: radar}]
""",
        encoding="utf-8",
    )
    assert compliance_register_command(config_path, None) == 0
    text = capsys.readouterr().out
    recipients = text.split("## Recipients")[1].split("## Transfers")[0]
    assert "MQTT broker 127.0.0.1:1884" in recipients
    assert "`metropole/vigie/belvedere/alerts`, `metropole/vigie/police/alerts`" in recipients
    assert (
        "Webhook endpoint `police-dispatch` at https://dispatch.example.fr/hooks/vigie: alerts confirmed by a person "
        "(L28) and health events of belvedere" in recipients
    )
    assert "Webhook endpoint `gtc` at https://gtc.example.fr/in: health events of belvedere, police" in recipients
    assert "t0ps3cret" not in text and "frag" not in text and "whsec_" not in text
    assert "Judicial authorities" in recipients, "the recipients every install has stay"
    categories = text.split("## Categories of data")[1].split("## Recipients")[0]
    assert "Sensor readings (radars, presence, occupancy) kept only as time-bucketed totals" in categories
    out = tmp_path / "register.html"
    assert compliance_register_command(config_path, out) == 0
    assert "police-dispatch" in out.read_text(encoding="utf-8")
