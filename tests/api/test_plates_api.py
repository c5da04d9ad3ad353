"""``/api/plates`` (LAPI, L34, L35): a state tenant's officers see their matches and crops, every query audited;
a read that matched nothing is reachable by no route, only counted; a commune's people are refused; hit lists
come in as a raw body vouched for by a checksum, bounded, with errors that name the line; bodies are strict."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from tests.api.world import DIRECTORY, T0, Clock, World, build_world
from tests.recording.export_samples import ListAuditSink
from vigie.domain.audit import AuditAction
from vigie.domain.plates import MODULE, PlateRead
from vigie.domain.users import Role
from vigie.governance.gate import ActivationGate, GateRules, Window
from vigie.lpr.hitlists import key_id
from vigie.services.alerts import AlertService
from vigie.services.plates import MAX_HIT_LIST_BYTES, PlateService
from vigie.storage.plates import SqlPlateRepo

CROP = b"\xff\xd8\xff\xe0 plate AB123CD"
LIST = "plate\treason\tlist\nAB-123-CD\tvol déclaré\tvoles\n".encode()


class LapiActivation:
    """The compiled rules of one approved plate_reading activation on the state camera pn-1 (activation 1)."""

    def rules(self, now: datetime) -> GateRules:
        window = Window(1, T0 - timedelta(days=1), T0 + timedelta(days=90))
        return GateRules(windows={(MODULE, "pn-1"): (window,)})


@pytest.fixture
def world(db: Engine) -> World:
    def plates(alerts: AlertService, audit: ListAuditSink, clock: Clock) -> PlateService:
        gate = ActivationGate(LapiActivation(), clock, cache_ttl_s=0)
        return PlateService(SqlPlateRepo(db), alerts, audit, clock, directory=DIRECTORY, gate=gate)

    built = build_world(db, plates=plates)
    built.add("op.pn", [Role.OPERATOR], "police-nationale")
    built.add("sup.pn", [Role.SUPERVISOR], "police-nationale")
    built.add("inv.pn", [Role.INVESTIGATOR], "police-nationale")
    return built


def service(world: World) -> PlateService:
    found = world.client().app.state.services.plates  # type: ignore[attr-defined]
    assert isinstance(found, PlateService)
    return found


def read(text: str, minutes: float = 1) -> PlateRead:
    return PlateRead("pn-1", "police-nationale", T0 + timedelta(minutes=minutes), text, text, "FR-SIV", 0.9, 5, CROP, 1)


def imported(world: World) -> None:
    digest = hashlib.sha256(LIST).hexdigest()
    answer = world.login("sup.pn").post(f"/api/plates/lists?checksum={digest}", content=LIST)
    assert answer.status_code == 200, answer.text
    assert answer.json()["sha256"] == digest and answer.json()["lists"] == ["voles"]


def audited(world: World, action: AuditAction) -> list[dict[str, object]]:
    return [dict(e.details) for e in world.audit.events if e.action == action]


def test_an_officer_sees_the_match_and_its_crop_and_each_look_is_audited(world: World) -> None:
    imported(world)
    recorded = service(world).store(read("AB123CD"))
    officer = world.login("op.pn")
    [match] = officer.get("/api/plates/matches").json()
    assert (match["plate"], match["list_name"], match["alert_id"]) == ("AB123CD", "voles", recorded.alert_id)
    assert officer.get(f"/api/plates/matches?alert_id={recorded.alert_id}").json() == [match]
    assert officer.get(f"/api/plates/matches/{match['id']}").json() == match
    crop = officer.get(f"/api/plates/matches/{match['id']}/crop")
    assert crop.status_code == 200 and crop.content == CROP
    assert crop.headers["content-type"] == "image/jpeg" and crop.headers["cache-control"] == "no-store"
    assert [d["matches"] for d in audited(world, AuditAction.PLATE_MATCHES_READ)] == [[match["id"]]] * 3
    assert audited(world, AuditAction.PLATE_CROP_VIEWED)[0]["match"] == match["id"]
    alert = officer.get(f"/api/alerts/{recorded.alert_id}").json()
    assert (alert["module"], alert["kind"], alert["state"]) == (MODULE, "plate_match", "pending")


def test_a_read_that_matched_nothing_is_only_counted(world: World) -> None:
    imported(world)
    recorded = service(world).store(read("EF456GH"))
    officer = world.login("op.pn")
    assert officer.get("/api/plates/matches").json() == []
    for path in (f"/api/plates/matches/{recorded.read_id}", f"/api/plates/matches/{recorded.read_id}/crop"):
        assert officer.get(path).status_code == 404
    day = T0.date().isoformat()
    counts = officer.get(f"/api/plates/counts?since={day}&until={day}")
    assert counts.json() == [{"camera_id": "pn-1", "day": day, "reads": 1, "matches": 0}]
    assert audited(world, AuditAction.PLATE_COUNTS_READ)[-1]["rows"] == 1


def test_a_communes_people_are_refused_whatever_their_role(world: World) -> None:
    for username in ("op.vil", "sup.vil"):
        client = world.login(username)
        for path in ("/api/plates/matches", "/api/plates/counts", "/api/plates/lists"):
            answer = client.get(path)
            assert answer.status_code == 403, (username, path, answer.text)
            assert username != "sup.vil" or "L34" in answer.text, "a supervisor's roles allow it: the tenant does not"
        assert client.post("/api/plates/lists?checksum=" + "0" * 64, content=LIST).status_code == 403
        plate_permissions = {"read_plate_matches", "hold_plate_matches", "manage_hit_lists"}
        assert not plate_permissions & set(client.get("/api/auth/me").json()["permissions"]), "no plate view offered"
    assert {"read_plate_matches", "manage_hit_lists"} <= set(
        world.login("sup.pn").get("/api/auth/me").json()["permissions"]
    )


def test_a_hit_list_that_does_not_verify_or_parse_is_refused_with_the_fix(world: World) -> None:
    chief = world.login("sup.pn")
    wrong = chief.post(f"/api/plates/lists?checksum={'0' * 64}", content=LIST)
    assert wrong.status_code == 422 and "SHA-256" in wrong.json()["error"]["message"]
    bad = b"plate\treason\tlist\nAB123CD\tvol\n"
    answer = chief.post(f"/api/plates/lists?checksum={hashlib.sha256(bad).hexdigest()}", content=bad)
    assert answer.status_code == 422 and "line 2" in answer.json()["error"]["message"]
    assert chief.post("/api/plates/lists", content=LIST).status_code == 422, "neither checksum nor signature"
    too_big = chief.post(f"/api/plates/lists?checksum={'0' * 64}", content=b"#" * (MAX_HIT_LIST_BYTES + 1))
    assert too_big.status_code == 413
    assert [d.get("refused") is not None for d in audited(world, AuditAction.HIT_LIST_IMPORTED)] == [True] * 3
    assert world.login("op.pn").post(f"/api/plates/lists?checksum={'0' * 64}", content=LIST).status_code == 403


def test_a_list_signed_by_a_registered_key_is_imported_with_the_signature_in_the_query(db: Engine) -> None:
    issuer = Ed25519PrivateKey.generate()
    public = issuer.public_key()

    def plates(alerts: AlertService, audit: ListAuditSink, clock: Clock) -> PlateService:
        gate = ActivationGate(LapiActivation(), clock, cache_ttl_s=0)
        keys = {"police-nationale": {key_id(public): public}}
        return PlateService(
            SqlPlateRepo(db), alerts, audit, clock, directory=DIRECTORY, gate=gate, keys=lambda c: keys.get(c, {})
        )

    world = build_world(db, plates=plates)
    world.add("sup.pn", [Role.SUPERVISOR], "police-nationale")
    chief = world.login("sup.pn")
    signature = quote(base64.b64encode(issuer.sign(LIST)).decode())
    answer = chief.post(f"/api/plates/lists?signature={signature}", content=LIST)
    assert answer.status_code == 200 and answer.json()["verified_by"] == f"signature:{key_id(public)}"
    tampered = chief.post(f"/api/plates/lists?signature={signature}", content=LIST + b"EF456GH\tvol\tvoles\n")
    assert tampered.status_code == 422 and "verifies with none" in tampered.text
    assert chief.post("/api/plates/lists?signature=not-base64!", content=LIST).status_code == 422


def test_an_investigator_holds_a_match_for_a_procedure_with_a_strict_body(world: World) -> None:
    imported(world)
    match_id = service(world).store(read("AB123CD")).match_ids[0]
    investigator = world.login("inv.pn")
    assert investigator.post(f"/api/plates/matches/{match_id}/hold", json={"ref": "PV 1"}).status_code == 422
    held = investigator.post(f"/api/plates/matches/{match_id}/hold", json={"reference": "PV 2026/118"})
    assert held.status_code == 200 and held.json()["hold"]["reference"] == "PV 2026/118"
    again = investigator.post(f"/api/plates/matches/{match_id}/hold", json={"reference": "PV 2026/119"})
    assert again.status_code == 422 and "already held" in again.text
    assert world.login("op.pn").post(f"/api/plates/matches/{match_id}/hold", json={"reference": "x"}).status_code == 403
    released = investigator.post(f"/api/plates/matches/{match_id}/release", json={"reason": "procédure close"})
    assert released.status_code == 200 and released.json()["hold"] is None
    assert [d["match"] for d in audited(world, AuditAction.PLATE_MATCH_HELD)] == [match_id]
    assert [d["match"] for d in audited(world, AuditAction.PLATE_MATCH_RELEASED)] == [match_id]
