"""Issue 15, D10: deleting the database under a running service went unnoticed (its writes went into the deleted
file), and the next start made an empty database with a new audit chain from seq 1, silently.

Now the running service notices (the file's identity), stops writing, says so (logs, ``/readyz``) and keeps the
``database.lost`` entry for the next chain; the next start refuses an empty database where the data folder shows a
previous life, unless told (``new_database``), and then the new chain begins with ``database.new`` naming the last
published head of the old one."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.support.clocks import T0, FakeClock
from tests.support.configs import config_yaml
from tests.support.waiting import wait_for
from vigie.config import load_config_text
from vigie.domain.audit import AuditAction, AuditEvent
from vigie.runtime.assembly.service import ServiceError, VigieService
from vigie.storage import SqlAuditStore, StorageError, create_engine_for


def _database_check(api: TestClient) -> dict[str, object]:
    response = api.get("/readyz")
    body = response.json()
    checks = body["checks"] if response.status_code == 200 else body["error"]["details"]
    check = next(c for c in checks if c["name"] == "database")
    return {"status": response.status_code, **check}


def test_a_database_deleted_under_the_service_is_noticed_and_the_next_start_says_so(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    config = load_config_text(config_yaml(tmp_path, ""))
    service = VigieService(config, clock=clock)
    api = TestClient(service.app)
    service.start()
    try:
        head = service.audit.publish_head()  # what the service publishes every audit_head_every_minutes
        assert head is not None and _database_check(api)["status"] == 200
        for path in tmp_path.glob("vigie.db*"):  # rm vigie.db*, by an administrator or an intruder
            path.unlink()
        lost = wait_for(lambda: (c := _database_check(api))["status"] == 503 and c, 10, "readiness to say lost")
        assert "lost" in str(lost["detail"]) and str(tmp_path / "vigie.db") in str(lost["detail"]), lost
        with pytest.raises(StorageError, match="stopped"):  # the API's own writes are refused, not lost in the void
            service.audit.append(AuditEvent("user:someone", AuditAction.AUDIT_READ, "audit", {}))
        clock.advance(minutes=5)
    finally:
        service.stop()
    assert len(service.journal) >= 2, "database.lost and service.stopped kept for the next database"

    clock.advance(hours=1)
    with pytest.raises(ServiceError) as refused:
        VigieService(config, clock=clock)
    message = str(refused.value)
    assert "empty" in message and "previous life" in message and "--new-database" in message
    assert str(config.storage.data_dir / "audit-heads.jsonl") in message

    restarted = VigieService(config, clock=clock, new_database=True)
    restarted.start()
    restarted.stop()
    records = list(SqlAuditStore(create_engine_for(config.storage.database_url)).records())
    first = records[0]
    assert first.seq == 1 and first.action == AuditAction.DATABASE_NEW
    assert first.details["previous_head"]["seq"] == head["seq"]
    assert first.details["previous_head"]["hash"] == head["hash"]
    assert "audit_keys" in first.details["evidence"]
    # then what the first run kept for the database: its loss, when it was noticed, and its stop; then this run
    assert [r.action for r in records[1:4]] == [
        AuditAction.DATABASE_LOST,
        AuditAction.SERVICE_STOPPED,
        AuditAction.SERVICE_STARTED,
    ]
    assert records[1].at == T0 and records[1].details["path"] == str(tmp_path / "vigie.db")
    assert records[2].at == T0 + timedelta(minutes=5)
    assert len(restarted.journal) == 0


def test_a_first_start_that_failed_before_its_first_entry_is_not_a_previous_life(tmp_path: Path) -> None:
    """Built once (its keys made) and never started: the next start is still a first start."""
    config = load_config_text(config_yaml(tmp_path, ""))
    VigieService(config, clock=FakeClock(T0))
    assert (config.storage.data_dir / "keys").is_dir()
    service = VigieService(config, clock=FakeClock(T0 + timedelta(minutes=1)))
    service.start()
    service.stop()
