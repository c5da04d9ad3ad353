"""The governance story as a commune lives it, through the real ``vigie`` commands and a running service:
nothing runs on a fresh install; a module runs only after a request and two approvals; a stop switch stops it
within about a second; everything is in the audit chain, which an auditor verifies offline; the compliance
report shows the interval."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.support.cli_accounts import CliAccount, create_account, login_env
from tests.support.configs import camera_yaml, config_yaml
from tests.support.servers import free_port
from tests.support.vigie_cli import TEST_PASSWORD, ApiSession, add_operator, start_vigie, stop_vigie
from tests.support.waiting import wait_for
from vigie.cli.commands.session import SESSION_FILE_ENV
from vigie.domain.audit import parse_time
from vigie.runtime.clock import system_clock


def vigie(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vigie.cli", *args], capture_output=True, text=True, check=False, env=env
    )


def test_activation_two_approvals_stop_audit_and_report(tmp_path: Path, moving_square_video: Path) -> None:
    port = free_port()
    config = tmp_path / "vigie.yaml"
    config.write_text(
        config_yaml(tmp_path, camera_yaml("quai-1", moving_square_video.as_uri(), setting="transit"), port=port),
        encoding="utf-8",
    )
    cfg = str(config)
    fresh = vigie("compliance", "status", "--config", cfg)
    assert fresh.returncode == 0 and "nothing" in fresh.stdout.lower(), fresh.stdout

    operator = add_operator(config)
    sessions = tmp_path / "sessions"
    people = {
        name: create_account(config, name, roles, folder=sessions, clock=system_clock)
        for name, roles in (("b.dpo", ["dpo"]), ("c.autre", ["dpo"]), ("d.maire", ["authority"]))
    }
    as_operator = login_env(config, CliAccount(operator, TEST_PASSWORD, None, sessions / "operator", "testville"))
    as_ = {name: login_env(config, account) for name, account in people.items()}
    proc = start_vigie("serve", "--config", cfg)
    try:
        api = ApiSession(f"http://127.0.0.1:{port}").login(operator, TEST_PASSWORD)
        time.sleep(4)
        assert api.get("/api/events")["items"] == [], "nothing may run before approval"
        now = datetime.now(UTC)  # the commands and the service read the host's clock
        decided = (now - timedelta(days=30)).date().isoformat()
        request = vigie(
            "activation", "request", "--config", cfg, "--tenant", "testville", "--module", "motion",
            "--cameras", "quai-1", "--framework", "detection-mouvement", "--decision", "2026-PREF-0042",
            "--decision-date", decided, "--dpia", "AIPD-2026-07", "--purpose", "quai surveillance test",
            "--start", (now - timedelta(minutes=1)).isoformat(), "--end", (now + timedelta(hours=2)).isoformat(),
            env=as_operator,
        )  # fmt: skip
        assert request.returncode == 0, request.stderr
        unsigned = vigie("activation", "approve", "1", "--config", cfg, env={**as_operator, SESSION_FILE_ENV: "none"})
        assert unsigned.returncode == 2 and "not signed in" in unsigned.stderr
        operator_approves = vigie("activation", "approve", "1", "--config", cfg, env=as_operator)
        assert operator_approves.returncode == 1, "an operator cannot approve"
        first = vigie("activation", "approve", "1", "--config", cfg, env=as_["b.dpo"])
        assert first.returncode == 0, first.stderr
        same_role = vigie("activation", "approve", "1", "--config", cfg, env=as_["c.autre"])
        assert same_role.returncode == 1, "two approvals must come from two different roles"
        time.sleep(2)
        assert api.get("/api/events")["items"] == [], "one approval is not enough"

        second = vigie("activation", "approve", "1", "--config", cfg, env=as_["d.maire"])
        assert second.returncode == 0, second.stderr
        wait_for(lambda: api.get("/api/events")["items"], 15, "the approved module's first events", every=0.3)
        status = vigie("compliance", "status", "--config", cfg)
        assert "active: motion on quai-1" in status.stdout, status.stdout
        assert "running now: motion on quai-1" in status.stdout and "under #1" in status.stdout, status.stdout

        stopped = vigie(
            "stop", "--camera", "quai-1", "--config", cfg, "--reason", "test du bouton d'arrêt", env=as_operator
        )
        assert stopped.returncode == 0, stopped.stderr
        time.sleep(2.5)
    finally:
        output = stop_vigie(proc, signal.SIGTERM)
    assert proc.returncode == 0, output[-2000:]

    export = tmp_path / "audit.jsonl"
    yesterday, tomorrow = (now.date() + timedelta(days=d) for d in (-1, 1))  # bare dates: whole Paris days
    exported = vigie(
        "audit", "export", "--config", cfg, "--from", str(yesterday), "--to", str(tomorrow), "-o", str(export)
    )
    assert exported.returncode == 0, exported.stderr
    lines = export.read_text(encoding="utf-8")
    for action in ("activation.requested", "activation.refused", "activation.approved", "stop.engaged"):
        assert f'"action":"{action}"' in lines, action
    assert '"reason":"stopped"' in lines and '"action":"gate.opened"' in lines
    entries = [json.loads(line) for line in lines.splitlines()[1:]]
    engaged = next(parse_time(e["at"]) for e in entries if e["action"] == "stop.engaged")
    closed = next(
        parse_time(e["at"]) for e in entries if e["action"] == "gate.closed" and e["details"]["reason"] == "stopped"
    )
    assert timedelta(0) <= closed - engaged < timedelta(seconds=1), f"module stopped {closed - engaged} after the stop"
    keys = tmp_path / "keys"
    assert vigie("audit", "keys", "--config", cfg, "-o", str(keys)).returncode == 0
    verified = vigie("audit", "verify", str(export), "--pubkey", str(keys))
    assert verified.returncode == 0 and verified.stdout.startswith("OK"), verified.stdout

    report = tmp_path / "report.html"
    day = datetime.now(ZoneInfo("Europe/Paris")).date().isoformat()  # bare dates are Paris days (a DPO's day)
    made = vigie("audit", "report", "--config", cfg, "--from", day, "--to", day, "-o", str(report))
    assert made.returncode == 0, made.stderr
    html = report.read_text(encoding="utf-8")
    assert "Module motion" in html and "quai-1" in html and "stopped" in html
    assert "<strong>intrusion</strong>: n'a fonctionné sur aucune caméra" in html
