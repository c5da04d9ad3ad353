"""The insider, against a running ``vigie serve`` (issue #14): with the database alone they forge activation rows
and cut or rewrite the audit log; with a shell they seal rows with the stolen signing key. Every attempt is
refused by the service, shown by the compliance report, or detected by ``vigie audit verify --head`` against a head
the DPO archived before the attempt. (The demo's footage swap: ``tests/runtime/test_demo_footage.py``.)"""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.support.audit_tamper import delete_last_rows, rechain
from tests.support.configs import camera_yaml, config_yaml
from tests.support.servers import free_port
from tests.support.vigie_cli import TEST_PASSWORD, ApiSession, add_operator, start_vigie, stop_vigie
from tests.support.waiting import wait_for
from vigie.domain.activation import ActivationRequest, Approval
from vigie.domain.audit import AuditAction
from vigie.governance.audit import AuditKeyring
from vigie.governance.seal import KeySealer, activation_payload, approval_payload
from vigie.storage import SqlAuditStore, SqlGovernanceStore, create_engine_for

SQLITE_INSTANT = "%Y-%m-%d %H:%M:%S.%f"


def vigie(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vigie.cli", *map(str, args)], capture_output=True, text=True, check=False
    )


def forge_activation(database: Path, now: datetime) -> int:
    """An approved-looking activation of motion on quai-1, typed into the database (with a made-up seal)."""
    start, end = (
        (now - timedelta(minutes=5)).strftime(SQLITE_INSTANT),
        (now + timedelta(days=1)).strftime(SQLITE_INSTANT),
    )
    with sqlite3.connect(database) as db:
        cursor = db.execute(
            "INSERT INTO governance_activations (tenant, module, framework, decision_number, decision_date, "
            "dpia_reference, purpose, starts_at, ends_at, requested_by, requested_role, requested_at, seal) "
            "VALUES ('testville', 'motion', 'detection-mouvement', '2026-PREF-9', ?, 'AIPD-9', 'x', ?, ?, "
            "'t.operator', 'supervisor', ?, '0123456789abcdef:AAAA')",
            ((now - timedelta(days=30)).date().isoformat(), start, end, start),
        )
        activation_id = int(cursor.lastrowid or 0)
        db.execute(
            "INSERT INTO governance_activation_cameras (activation_id, camera_id) VALUES (?, 'quai-1')",
            (activation_id,),
        )
        for by, role in (("dpo.fictif", "dpo"), ("maire.fictif", "authority")):
            db.execute(
                "INSERT INTO governance_approvals (activation_id, approved_by, role, at, seal) VALUES (?, ?, ?, ?, '')",
                (activation_id, by, role, start),
            )
    return activation_id


def seal_with_the_stolen_key(keys: Path, database: Path, now: datetime) -> int:
    """What an administrator with a shell can do: read the signing key and seal rows with it."""
    sealer = KeySealer(AuditKeyring(keys).current_signer)
    engine = create_engine_for(f"sqlite:///{database}")
    try:
        store = SqlGovernanceStore(engine)
        request = ActivationRequest(
            tenant="testville",
            module="motion",
            camera_ids=("quai-1",),
            framework="detection-mouvement",
            decision_number="2026-PREF-10",
            decision_date=(now - timedelta(days=30)).date(),
            dpia_reference="AIPD-10",
            purpose="x",
            starts_at=now - timedelta(minutes=5),
            ends_at=now + timedelta(days=1),
            requested_by="t.operator",
            requested_role="supervisor",
        )
        activation = store.add_activation(request, now, lambda a: sealer.seal(activation_payload(a)))
        for by, role in (("dpo.fictif", "dpo"), ("maire.fictif", "authority")):
            seal = sealer.seal(approval_payload(Approval(activation.id, by, role, now), activation.seal))
            store.add_approval(activation.id, by, role, now, seal)
        return activation.id
    finally:
        engine.dispose()


def export_and_verify(cfg: Path, tmp_path: Path, head: Path, name: str) -> subprocess.CompletedProcess[str]:
    export, keys = tmp_path / f"{name}.jsonl", tmp_path / "keys"
    made = vigie("audit", "export", "--config", cfg, "--from", "2000-01-01", "--to", "8999-12-31", "-o", export)
    assert made.returncode == 0, made.stderr
    assert vigie("audit", "keys", "--config", cfg, "-o", keys).returncode == 0
    return vigie("audit", "verify", export, "--pubkey", keys, "--head", head)


def test_the_insider_is_refused_or_detected(tmp_path: Path, moving_square_video: Path) -> None:
    port = free_port()
    cfg = tmp_path / "vigie.yaml"
    cameras = camera_yaml("quai-1", moving_square_video.as_uri(), setting="transit")
    cfg.write_text(
        config_yaml(tmp_path, cameras, port=port) + "governance:\n  checkpoint_every: 10\n", encoding="utf-8"
    )
    database = tmp_path / "vigie.db"
    operator = add_operator(cfg)
    proc = start_vigie("serve", "--config", str(cfg))
    try:
        api = ApiSession(f"http://127.0.0.1:{port}").login(operator, TEST_PASSWORD)
        for _ in range(12):  # some traffic to be traced: the operator reads events and the audit log
            api.get("/api/events")
        head = tmp_path / "head-archived-by-the-dpo.json"
        published = vigie("audit", "head", "--config", cfg, "-o", head)
        assert published.returncode == 0, published.stderr

        # 1. Rows typed into the governance tables: refused by the running service's gate, and reported.
        forged = forge_activation(database, datetime.now(UTC))  # the service reads the host's clock
        engine = create_engine_for(f"sqlite:///{database}")
        try:
            audit = SqlAuditStore(engine)
            wait_for(lambda: audit.last(AuditAction.ACTIVATION_UNVERIFIED), 20, "the gate's report of the forged rows")
            refused = audit.last(AuditAction.ACTIVATION_UNVERIFIED)
            assert refused is not None and refused.target == f"activation:{forged}"
            time.sleep(2)
            assert api.get("/api/events")["items"] == [], "the forged activation must not run"
            assert audit.last(AuditAction.GATE_OPENED) is None
        finally:
            engine.dispose()
        listed = vigie("activation", "list", "--config", cfg)
        assert f"#{forged} unverified" in listed.stdout, listed.stdout

        # 2. With a shell, the signing key can be read and rows sealed with it: the gate opens, but every opening
        # is in the chain under an activation the chain never saw requested nor approved.
        stolen = seal_with_the_stolen_key(tmp_path / "data" / "keys", database, datetime.now(UTC))
        wait_for(lambda: api.get("/api/events")["items"], 20, "motion under the rows sealed with the stolen key")
    finally:
        output = stop_vigie(proc, signal.SIGTERM)
    assert proc.returncode == 0, output[-2000:]

    day = datetime.now(ZoneInfo("Europe/Paris")).date().isoformat()
    report = vigie("audit", "report", "--config", cfg, "--from", day, "--to", day, "-o", tmp_path / "report.html")
    assert report.returncode == 0, report.stderr
    assert f"under activation #{stolen}, whose request and two approvals are not in the audit log" in report.stderr
    assert "Openings without a traced authorisation" in (tmp_path / "report.html").read_text(encoding="utf-8")

    intact = export_and_verify(cfg, tmp_path, head, "intact")
    assert intact.returncode == 0, intact.stdout + intact.stderr
    untouched = tmp_path / "untouched.db"
    shutil.copyfile(database, untouched)

    # 3. Rewrite the trail: drop the operator's reads, renumber and re-hash the rest (database access only).
    engine = create_engine_for(f"sqlite:///{database}")
    try:
        dropped = rechain(engine, lambda r: r.action not in {AuditAction.SEARCH, AuditAction.AUDIT_CHECKPOINT})
    finally:
        engine.dispose()
    assert dropped > 0
    rewritten = export_and_verify(cfg, tmp_path, head, "rewritten")
    assert rewritten.returncode == 1 and "FAILED" in rewritten.stdout, rewritten.stdout

    # 4. Cut the end of the trail, checkpoints included (from the untouched database).
    shutil.copyfile(untouched, database)
    delete_last_rows(database, 30)
    cut = export_and_verify(cfg, tmp_path, head, "cut")
    assert cut.returncode == 1 and "FAILED" in cut.stdout, cut.stdout
