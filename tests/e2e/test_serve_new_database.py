"""Issue 15, D10, as a user meets it: after the database is deleted, ``vigie serve`` refuses to start on the empty
database it would create (the data folder shows a previous life) and says what to do; ``vigie serve
--new-database`` starts, and the new audit chain opens with ``database.new`` naming the previous chain's head."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.configs import config_yaml
from tests.support.servers import free_port
from tests.support.vigie_cli import get_json, start_vigie, stop_vigie
from tests.support.waiting import wait_for
from vigie.config import load_config
from vigie.domain.audit import AuditAction
from vigie.storage import SqlAuditStore, create_engine_for


def _ready(base: str) -> bool:
    try:
        return bool(get_json(f"{base}/readyz")["status"] == "ready")
    except OSError:
        return False


def test_serve_refuses_an_empty_database_after_a_previous_life_unless_told(tmp_path: Path) -> None:
    port = free_port()
    config_path = tmp_path / "vigie.yaml"
    config_path.write_text(config_yaml(tmp_path, "", port=port), encoding="utf-8")
    base = f"http://127.0.0.1:{port}"
    first = start_vigie("serve", "--config", str(config_path))
    try:
        wait_for(lambda: _ready(base), 60, "the first run ready", every=0.3)
    finally:
        output = stop_vigie(first, signal.SIGTERM)
    assert first.returncode == 0, output[-2000:]
    heads = (tmp_path / "data" / "audit-heads.jsonl").read_text(encoding="utf-8").splitlines()
    assert heads, "a clean stop publishes the chain's head"
    for path in tmp_path.glob("vigie.db*"):
        path.unlink()

    refused = subprocess.run(
        [sys.executable, "-m", "vigie.cli", "serve", "--config", str(config_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "previous life" in refused.stderr and "--new-database" in refused.stderr, refused.stderr
    assert "nothing was started" in refused.stderr

    second = start_vigie("serve", "--config", str(config_path), "--new-database")
    try:
        wait_for(lambda: _ready(base), 60, "the run on a new database ready", every=0.3)
    finally:
        output = stop_vigie(second, signal.SIGTERM)
    assert second.returncode == 0, output[-2000:]
    assert "database.new" in output
    records = list(SqlAuditStore(create_engine_for(load_config(config_path).storage.database_url)).records())
    assert records[0].action == AuditAction.DATABASE_NEW
    last_head = json.loads(heads[-1])
    assert records[0].details["previous_head"]["seq"] == last_head["seq"]
    assert records[0].details["previous_head"]["hash"] == last_head["hash"]
