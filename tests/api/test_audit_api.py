"""The audit log through the API (L10, L11): DPOs and auditors read their own tenant's entries and nobody else's,
everyone else is refused (and the refusal traced), the chain's verification finds a row changed in the database,
an export downloads as the file `vigie audit verify` accepts offline, and reading the log is itself traced."""

from __future__ import annotations

import hashlib
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.api.world import CAMERAS, PASSWORD, World, build_world
from vigie.api.app import ApiServices, create_app
from vigie.cli.commands.audit import verify_command
from vigie.domain.audit import AuditAction, AuditEvent
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation
from vigie.domain.users import Role
from vigie.governance.audit import AuditChain, verify_export
from vigie.services.access import AccessDeniedError
from vigie.services.audit import AuditFilters
from vigie.services.cameras import CameraService
from vigie.services.events import EventService
from vigie.storage import SqlAuditStore
from vigie.storage.repositories import SqlCameraStatusRepo, SqlEventRepo

VILLEURBANNE_PEOPLE = {
    "op.vil",
    "sup.vil",
    "inv.vil",
    "dpo.vil",
    "auditor.vil",
    "maire.vil",
    "admin.vil",
    "op.untrained",
    "op.expired",
}


@pytest.fixture
def world(db: Engine) -> World:
    world = build_world(db, sql_audit=True)
    world.add("dpo.bron", [Role.DPO], "bron", authorised_for=None, trained_ago=None)
    return world


def chain(world: World) -> AuditChain:
    assert world.audit_chain is not None
    return world.audit_chain


def read(client: TestClient, **params: Any) -> dict[str, Any]:
    answer = client.get("/api/audit", params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def raise_alert(world: World, camera: str) -> None:
    world.alerts.raise_alert(
        Observation(camera, "intrusion", "intrusion", world.clock.now, (Box(0.1, 0.1, 0.2, 0.2),), 0.9, "m@1")
    )


def test_dpo_and_auditor_read_their_own_tenants_entries_only(world: World) -> None:
    op_vil, op_bron = world.login("op.vil"), world.login("op.bron")
    assert op_vil.get("/api/cameras").status_code == op_bron.get("/api/cameras").status_code == 200
    raise_alert(world, "vil-1")
    raise_alert(world, "bron-1")
    gate = AuditEvent("vigie:gate", AuditAction.GATE_OPENED, "intrusion@bron-1", {"camera_id": "bron-1"})
    chain(world).append(gate)
    chain(world).checkpoint()

    for username in ("dpo.vil", "auditor.vil"):
        page = read(world.login(username), limit=500)
        items = page["items"]
        seqs = [e["seq"] for e in items]
        assert seqs == sorted(seqs, reverse=True) and page["next_offset"] is None
        assert (items[0]["actor"], items[0]["action"]) == (username, "audit.read"), "the read is traced first"
        pairs = {(e["actor"], e["target"]) for e in items}
        assert ("op.vil", "user:op.vil") in pairs and ("cli:setup", "user:dpo.vil") in pairs
        assert ("vigie:intrusion", "vil-1") in pairs
        assert any(e["action"] == "audit.checkpoint" for e in items), "the platform's own entries are shown"
        foreign = [e for e in items if "bron" in e["actor"] or "bron" in e["target"]]
        assert foreign == [], foreign

    bron = read(world.login("dpo.bron"), limit=500)["items"]
    assert {("op.bron", "user:op.bron"), ("vigie:intrusion", "bron-1"), ("vigie:gate", "intrusion@bron-1")} <= {
        (e["actor"], e["target"]) for e in bron
    }
    assert not [e for e in bron if "vil" in e["actor"] or e["target"] in {"vil-1", "user:op.vil"}]


def test_another_tenants_entries_cannot_be_reached_by_filtering(world: World) -> None:
    world.login("op.bron")
    dpo = world.login("dpo.vil")
    assert read(dpo, actor="op.bron")["items"] == []
    assert read(dpo, target="user:op.bron")["items"] == []
    assert read(dpo, target="bron")["items"] == []
    service = world.audit_log
    assert service is not None
    page = service.list_for(world.auth.principal_for("dpo.bron"), AuditFilters(actor="op.vil"))
    assert page.items == [], "the service scopes by itself, without any route"


ROLES_WITHOUT_AUDIT = ("op.vil", "sup.vil", "inv.vil", "maire.vil", "admin.vil")
AUDIT_PATHS = ("/api/audit", "/api/audit/verify", "/api/audit/export")


@pytest.mark.parametrize("username", ROLES_WITHOUT_AUDIT)
def test_other_roles_are_refused_and_the_refusals_are_traced(world: World, username: str) -> None:
    client = world.login(username)
    for path in AUDIT_PATHS:
        answer = client.get(path)
        assert answer.status_code == 403, f"{username} {path}: {answer.status_code}"
        assert answer.json()["error"]["code"] == "forbidden" and "read audit" in answer.json()["error"]["message"]
    denied = [e for e in world.audit.events if e.action is AuditAction.ACCESS_DENIED and e.actor == username]
    assert sorted(e.target for e in denied) == sorted(f"GET {p}" for p in AUDIT_PATHS)
    assert SqlAuditStore(world.engine).last(AuditAction.AUDIT_READ) is None, "nothing was read"


@pytest.mark.parametrize("path", AUDIT_PATHS)
def test_the_audit_log_needs_a_session(world: World, path: str) -> None:
    answer = world.client().get(path)
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "not_authenticated"


def test_reading_verifying_and_exporting_are_traced(world: World) -> None:
    world.clock.advance(hours=1)
    since = world.clock.now
    dpo = world.login("dpo.vil")
    read(dpo, action="login.succeeded", target="user:")
    assert dpo.get("/api/audit/verify").json()["ok"] is True
    exported = dpo.get("/api/audit/export", params={"since": since.isoformat()})
    assert exported.status_code == 200, exported.text

    mine = read(dpo, actor="dpo.vil", limit=10)["items"]
    by_action = {e["action"]: e for e in mine}
    assert by_action["audit.read"]["details"]["action"] == "login.succeeded"
    assert by_action["audit.read"]["details"]["target_prefix"] == "user:"
    assert by_action["audit.verified"]["details"]["ok"] is True
    assert by_action["audit.exported"]["details"]["file_sha256"] == exported.headers["X-Content-SHA256"]
    assert [e["action"] for e in mine].count("audit.read") == 2


def test_pages_do_not_shift_while_reading_adds_entries(world: World) -> None:
    dpo = world.login("dpo.vil")
    first = read(dpo, limit=4)
    max_seq, seen = first["max_seq"], [e["seq"] for e in first["items"]]
    offset = first["next_offset"]
    while offset is not None:
        page = read(dpo, limit=4, offset=offset, max_seq=max_seq)
        assert page["max_seq"] == max_seq
        seen += [e["seq"] for e in page["items"]]
        offset = page["next_offset"]
    assert len(seen) == len(set(seen)) and seen == sorted(seen, reverse=True), "no entry twice, none skipped"
    everything = read(dpo, limit=500, max_seq=max_seq)["items"]
    assert [e["seq"] for e in everything] == seen
    assert len(seen) > 8, "several pages were read"


def test_filters(world: World) -> None:
    world.clock.advance(hours=1)
    later = world.clock.now
    world.login("op.vil")
    world.clock.advance(hours=1)
    raise_alert(world, "vil-2")
    dpo = world.login("dpo.vil")

    window = read(dpo, since=later.isoformat(), until=(later + timedelta(minutes=1)).isoformat())["items"]
    assert [(e["actor"], e["action"]) for e in window] == [("op.vil", "login.succeeded")]
    before = read(dpo, until=later.isoformat(), limit=500)["items"]
    assert before and all(datetime.fromisoformat(e["at"]) < later for e in before)
    assert {e["action"] for e in before} == {"user.created"}
    assert {e["actor"] for e in read(dpo, actor="op.vil")["items"]} == {"op.vil"}
    created = read(dpo, action="user.created", limit=500)["items"]
    assert {e["target"].removeprefix("user:") for e in created} == VILLEURBANNE_PEOPLE
    assert {e["target"] for e in read(dpo, target="vil-")["items"]} == {"vil-2"}
    assert read(dpo, target="%")["items"] == [], "a target prefix is literal text, not a pattern"
    assert read(dpo, target="user:op.v_l")["items"] == []


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"since": "2026-11-28T12:00:00"}, None, "since must carry a time zone"),
        ({"until": "yesterday"}, "query.until", None),
        ({"since": "2026-11-28T13:00:00Z", "until": "2026-11-28T12:00:00Z"}, None, "since must be before until"),
        ({"since": "0001-01-01T00:00:00+01:00"}, None, "since must be between 1970 and 9999"),
        ({"action": "video.stolen"}, "query.action", None),
        ({"limit": 0}, "query.limit", None),
        ({"limit": 501}, "query.limit", None),
        ({"offset": -1}, "query.offset", None),
        ({"max_seq": 0}, "query.max_seq", None),
        ({"actor": "x" * 257}, "query.actor", None),
    ],
)
def test_malformed_filters_are_422_saying_what_is_wrong(
    world: World, params: dict[str, Any], field: str | None, words: str | None
) -> None:
    answer = world.login("auditor.vil").get("/api/audit", params=params)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "invalid_request"
    if field is not None:
        assert field in {d["field"] for d in error["details"]}
    if words is not None:
        assert words in error["message"]


def test_export_rejects_a_naive_time_too(world: World) -> None:
    answer = world.login("dpo.vil").get("/api/audit/export", params={"since": "2026-11-28T12:00:00"})
    assert answer.status_code == 422 and "time zone" in answer.json()["error"]["message"]


def login_seq(world: World, client: TestClient, username: str) -> int:
    (entry,) = read(client, actor=username, action="login.succeeded")["items"]
    seq: int = entry["seq"]
    return seq


def test_verification_holds_on_an_intact_chain_and_names_the_row_changed_in_the_database(world: World) -> None:
    world.login("op.vil")
    chain(world).checkpoint()
    dpo, auditor, other = world.login("dpo.vil"), world.login("auditor.vil"), world.login("dpo.bron")
    head = chain(world).store.head()
    assert head is not None
    intact = dpo.get("/api/audit/verify").json()
    assert intact["ok"] is True and intact["first_broken_seq"] is None and intact["issues"] == []
    assert intact["first_seq"] == 1 and intact["last_seq"] == head.seq == intact["entries"]
    assert intact["checkpoints"] >= 1
    assert intact["key_ids"] == [chain(world).signer().key_id]

    target = login_seq(world, dpo, "op.vil")
    with world.engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_entries SET details = :d WHERE seq = :s"), {"d": '{"client":"10.0.0.66"}', "s": target}
        )
    for client in (dpo, auditor, other):  # the verdict names no entry's content: every reader gets it
        broken = client.get("/api/audit/verify").json()
        assert broken["ok"] is False and broken["first_broken_seq"] == target, broken
        assert broken["problem"] == "modified" and f"seq {target}" in broken["message"]
    recorded = read(dpo, action="audit.verified")["items"]
    assert [(e["actor"], e["details"]["ok"]) for e in recorded] == [
        ("auditor.vil", False),
        ("dpo.vil", False),
        ("dpo.vil", True),
    ], "dpo.bron's verification is Bron's entry"
    assert recorded[0]["details"]["first_broken_seq"] == target


def test_verification_reports_a_deleted_row(world: World) -> None:
    world.login("op.vil")
    dpo = world.login("dpo.vil")
    target = login_seq(world, dpo, "op.vil")
    with world.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_entries WHERE seq = :s"), {"s": target})
    broken = dpo.get("/api/audit/verify").json()
    assert broken["ok"] is False and broken["first_broken_seq"] == target and broken["problem"] == "deleted"


def test_verification_reports_a_row_that_no_longer_reads_back(world: World) -> None:
    dpo = world.login("dpo.vil")
    with world.engine.begin() as connection:
        connection.execute(text("UPDATE audit_entries SET details = 'not json' WHERE seq = 3"))
    answer = dpo.get("/api/audit/verify")
    assert answer.status_code == 200, "a verdict, not a server error"
    assert answer.json()["ok"] is False and answer.json()["problem"] == "malformed"


def test_export_downloads_the_file_the_offline_verifier_accepts(world: World, tmp_path: Path) -> None:
    world.clock.advance(hours=1)
    since = world.clock.now
    world.login("op.vil").get("/api/cameras")
    raise_alert(world, "vil-1")
    dpo = world.login("dpo.vil")

    answer = dpo.get("/api/audit/export", params={"since": since.isoformat()})
    assert answer.status_code == 200, answer.text
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "vigie-audit-villeurbanne-20261128T130000Z-" in disposition
    assert answer.headers["content-type"].startswith("application/x-ndjson")
    assert answer.headers["X-Content-SHA256"] == hashlib.sha256(answer.content).hexdigest()
    filename = disposition.split('filename="')[1].rstrip('"')
    leftovers = list(Path(tempfile.gettempdir()).glob(f"vigie-audit-export-*/{filename}"))
    assert leftovers == [], "the file is removed once sent"

    exported = tmp_path / filename
    exported.write_bytes(answer.content)
    chain(world).keyring.export_public_keys(tmp_path / "pub")
    assert verify_command(exported, [tmp_path / "pub"]) == 0
    report = verify_export(exported, chain(world).store.public_keys())
    assert report.ok and report.entries >= 3
    lines = answer.content.decode().splitlines()
    assert '"action":"login.succeeded","actor":"op.vil"' in lines[1]
    assert any('"actor":"vigie:intrusion"' in line for line in lines)

    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("\n".join([*lines[:1], lines[1].replace("op.vil", "op.xxx"), *lines[2:]]) + "\n")
    assert verify_command(tampered, [tmp_path / "pub"]) == 1


def test_an_export_holding_other_tenants_entries_is_refused_and_traced(world: World) -> None:
    dpo_vil, dpo_bron = world.login("dpo.vil"), world.login("dpo.bron")
    for username, client in (("dpo.vil", dpo_vil), ("dpo.bron", dpo_bron)):
        answer = client.get("/api/audit/export")  # everything so far: both tenants' accounts were created
        assert answer.status_code == 403 and "other tenants" in answer.json()["error"]["message"]
        denied = [e for e in world.audit.events if e.action is AuditAction.ACCESS_DENIED and e.actor == username]
        assert [e.target for e in denied] == ["GET /api/audit/export"]

    world.clock.advance(hours=1)
    since = world.clock.now.isoformat()
    world.login("op.bron")
    dpo_vil = world.login("dpo.vil")  # (the first session has been idle too long)
    assert dpo_vil.get("/api/audit/export", params={"since": since}).status_code == 403
    assert SqlAuditStore(world.engine).last(AuditAction.AUDIT_EXPORTED) is None, "nothing was exported"
    service = world.audit_log
    assert service is not None
    with pytest.raises(AccessDeniedError):
        service.export_for(world.auth.principal_for("dpo.vil"))


def test_without_an_audit_service_the_routes_answer_503(world: World) -> None:
    services = ApiServices(
        EventService(SqlEventRepo(world.engine)),
        CameraService(CAMERAS, SqlCameraStatusRepo(world.engine)),
        auth=world.auth,
    )
    client = TestClient(create_app(services))
    login = client.post("/api/auth/login", json={"username": "auditor.vil", "password": PASSWORD})
    assert login.status_code == 200
    answer = client.get("/api/audit/verify")
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "unavailable"
