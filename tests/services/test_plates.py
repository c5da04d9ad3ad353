"""Plate reading's legal store (L34, L35), through the real governance, gate, SQL store and alerts: a read exists
only for a state tenant's camera under an approved activation; a match raises a pending alert; a read that matched
nothing is never shown, only counted; every query is audited (without the plate); the purge follows a moved clock."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.support.activations import NOW, make_request, sample_config
from tests.support.audit_sinks import ListAudit
from tests.support.clocks import FakeClock
from tests.support.databases import fresh_database
from tests.support.seals import Seals, governance_service
from vigie.domain.actor import Actor
from vigie.domain.alerts import AlertState
from vigie.domain.audit import AuditAction
from vigie.domain.plates import MATCH_KIND, MODULE, NON_MATCH_RETENTION, PlateRead, PlateReadRefusedError, match_expiry
from vigie.domain.users import Role, User
from vigie.governance.catalogue import load_catalogue
from vigie.governance.gate import ActivationGate, CheckedRules
from vigie.runtime.assembly.auth import directory
from vigie.runtime.assembly.gates import SimulatedFootageRules
from vigie.services.access import AccessDeniedError, NotVisibleError, Principal
from vigie.services.alerts import AlertService
from vigie.services.plates import HitListRefusedError, HoldRefusedError, PlateService
from vigie.storage import SqlAlertRepo, SqlGovernanceStore, create_engine_for, migrate
from vigie.storage.plates import SqlPlateRepo

CATALOGUE = load_catalogue()
CONFIG = sample_config()
DIRECTORY = directory(CONFIG)
SEALS = Seals()
CROP = b"\xff\xd8\xff\xe0 a plate crop"
LIST = "plate\treason\tlist\nAB-123-CD\tvol déclaré\tvoles\n".encode()


def person(username: str, commune: str, *roles: Role) -> Principal:
    user = User(username, username, commune, frozenset(roles), "x", id=1)
    return Principal(user, frozenset({commune}), DIRECTORY, None)


OFFICER = person("op.pn", "police", Role.OPERATOR)
CHIEF = person("sup.pn", "police", Role.SUPERVISOR)
JUDGE = person("inv.pn", "police", Role.INVESTIGATOR)
MUNICIPAL_CHIEF = person("sup.vil", "belvedere", Role.SUPERVISOR)


@dataclass
class Rig:
    engine: Engine
    clock: FakeClock
    audit: ListAudit
    alerts: AlertService
    plates: PlateService
    activation_id: int

    def read(
        self, text: str = "AB123CD", camera: str = "cam-lapi", minutes: float = 1, tenant: str = "police"
    ) -> PlateRead:
        return PlateRead(
            camera_id=camera,
            commune_id=tenant,
            at=NOW + timedelta(minutes=minutes),
            text=text,
            display=text,
            plate_format="FR-SIV",
            confidence=0.93,
            frames=6,
            crop_jpeg=CROP + text.encode(),
            activation_id=self.activation_id,
        )

    def audited(self, action: AuditAction) -> list[dict[str, object]]:
        return [dict(e.details) for e in self.audit.events if e.action == action]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    with fresh_database(request.param, tmp_path) as url:
        yield from _rig(url)


def _rig(url: str) -> Iterator[Rig]:
    engine = create_engine_for(url)
    migrate(engine)
    clock, audit = FakeClock(NOW), ListAudit()
    store = SqlGovernanceStore(engine)
    governance = governance_service(store, CATALOGUE, CONFIG, audit, clock, seals=SEALS)
    outcome = governance.request(
        make_request(
            tenant="police",
            module=MODULE,
            framework="lapi-csi-l233-1",
            camera_ids=("cam-lapi",),
            zone_ids=(),
            ends_at=NOW + timedelta(days=90),
        )
    )
    assert outcome.accepted and outcome.activation_id is not None, outcome.message
    for approver in (Actor("cli:bob", "dpo"), Actor("cli:carol", "authority")):
        assert governance.approve(outcome.activation_id, approver).accepted
    gate = ActivationGate(CheckedRules(store, CATALOGUE, CONFIG, SEALS.verifier), clock, cache_ttl_s=0)
    alerts = AlertService(SqlAlertRepo(engine), audit, clock)
    plates = PlateService(SqlPlateRepo(engine), alerts, audit, clock, directory=DIRECTORY, gate=gate)
    yield Rig(engine, clock, audit, alerts, plates, outcome.activation_id)
    engine.dispose()


def import_list(rig: Rig, data: bytes = LIST) -> None:
    rig.plates.import_as(CHIEF, data, checksum=hashlib.sha256(data).hexdigest())


def test_a_match_raises_a_pending_alert_and_is_shown_to_the_tenants_officers(rig: Rig) -> None:
    import_list(rig)
    recorded = rig.plates.store(rig.read())
    assert recorded.alert_id is not None and len(recorded.match_ids) == 1
    [alert] = rig.alerts.pending()
    assert (alert.id, alert.module, alert.kind, alert.state) == (
        recorded.alert_id,
        MODULE,
        MATCH_KIND,
        AlertState.PENDING,
    )
    [match] = rig.plates.matches_for(OFFICER, alert_id=alert.id)
    assert (match.text, match.list_name, match.reason) == ("AB123CD", "voles", "vol déclaré")
    assert match.expires_at == match_expiry(rig.read().at)
    assert rig.plates.crop_for(OFFICER, match.id) == CROP + b"AB123CD"
    assert rig.audited(AuditAction.PLATE_MATCHES_READ)[-1]["matches"] == [match.id]
    assert rig.audited(AuditAction.PLATE_CROP_VIEWED) == [
        {"match": match.id, "alert": alert.id, "bytes": len(CROP) + 7}
    ]


def test_a_read_that_matched_nothing_is_never_shown_only_counted(rig: Rig) -> None:
    import_list(rig)
    recorded = rig.plates.store(rig.read("EF456GH"))
    assert (recorded.match_ids, recorded.alert_id) == ((), None)
    assert rig.plates.matches_for(OFFICER) == [] and rig.alerts.pending() == []
    for anyone in (OFFICER, CHIEF, JUDGE):
        with pytest.raises(NotVisibleError):
            rig.plates.crop_for(anyone, recorded.read_id)  # a read's id is no match's
    [count] = rig.plates.counts_for(OFFICER, *rig.plates.default_period())
    assert (count.camera_id, count.reads, count.matches) == ("cam-lapi", 1, 0)
    assert rig.audited(AuditAction.PLATE_COUNTS_READ)[-1]["rows"] == 1


def test_the_plate_never_enters_the_audit_log(rig: Rig) -> None:
    import_list(rig)
    match_id = rig.plates.store(rig.read()).match_ids[0]
    rig.plates.store(rig.read("EF456GH"))
    rig.plates.matches_for(OFFICER)
    rig.plates.match_for(OFFICER, match_id)
    rig.plates.crop_for(OFFICER, match_id)
    rig.plates.hold_as(JUDGE, match_id, "PV 2026/118")
    text = repr([(e.target, dict(e.details)) for e in rig.audit.events])
    assert "AB123CD" not in text and "EF456GH" not in text and "AB-123-CD" not in text
    assert len(rig.audited(AuditAction.PLATE_MATCHES_READ)) == 2


def test_without_an_activation_in_force_a_read_is_dropped_and_audited_once(rig: Rig) -> None:
    before = rig.read(minutes=-10)  # the activation starts at NOW
    for _ in range(2):
        with pytest.raises(PlateReadRefusedError, match="no plate_reading activation in force"):
            rig.plates.record(before)
    assert [d["code"] for d in rig.audited(AuditAction.PLATE_READ_REFUSED)] == ["no_activation"]
    assert rig.plates.counts_for(OFFICER, *rig.plates.default_period()) == []


def test_a_read_naming_another_activation_than_the_cameras_is_dropped(rig: Rig) -> None:
    with pytest.raises(PlateReadRefusedError, match=f"runs on camera cam-lapi under activation {rig.activation_id}"):
        rig.plates.record(replace(rig.read(), activation_id=rig.activation_id + 1))
    assert [d["code"] for d in rig.audited(AuditAction.PLATE_READ_REFUSED)] == ["other_activation"]


def test_a_municipal_tenant_can_neither_activate_nor_store_nor_see_plates(rig: Rig) -> None:
    governance = governance_service(
        SqlGovernanceStore(rig.engine), CATALOGUE, CONFIG, rig.audit, rig.clock, seals=SEALS
    )
    refused = governance.request(
        make_request(module=MODULE, framework="lapi-csi-l233-1", camera_ids=("cam-street",), zone_ids=())
    )
    assert not refused.accepted and "L34" in refused.message
    # even through a gate that were open to it on a commune's camera, a commune's read is not stored
    everything_open = SimulatedFootageRules(
        CheckedRules(SqlGovernanceStore(rig.engine), CATALOGUE, CONFIG, SEALS.verifier),
        frozenset({"cam-street"}),
        [MODULE],
    )
    gate = ActivationGate(everything_open, rig.clock, cache_ttl_s=0)
    assert gate.allows(MODULE, "cam-street", NOW)
    plates = PlateService(SqlPlateRepo(rig.engine), rig.alerts, rig.audit, rig.clock, directory=DIRECTORY, gate=gate)
    with pytest.raises(PlateReadRefusedError, match="L34"):
        plates.record(rig.read(camera="cam-street", tenant="belvedere"))
    with pytest.raises(PlateReadRefusedError, match="not a camera of tenant police"):
        plates.record(rig.read(camera="cam-street"))
    for ask in (
        lambda: plates.matches_for(MUNICIPAL_CHIEF),
        lambda: plates.counts_for(MUNICIPAL_CHIEF, *plates.default_period()),
        lambda: plates.import_as(MUNICIPAL_CHIEF, LIST, checksum=hashlib.sha256(LIST).hexdigest()),
    ):
        with pytest.raises(AccessDeniedError, match="L34"):
            ask()
    shared = replace(MUNICIPAL_CHIEF, communes=frozenset({"belvedere", "police"}))
    with pytest.raises(AccessDeniedError):
        plates.matches_for(shared)  # a sharing agreement shares cameras, never plate reads


def test_permissions_decide_who_imports_reads_and_holds(rig: Rig) -> None:
    with pytest.raises(AccessDeniedError):
        rig.plates.import_as(OFFICER, LIST, checksum=hashlib.sha256(LIST).hexdigest())
    import_list(rig)
    match_id = rig.plates.store(rig.read()).match_ids[0]
    with pytest.raises(AccessDeniedError):
        rig.plates.hold_as(OFFICER, match_id, "PV 1")
    with pytest.raises(AccessDeniedError):
        rig.plates.matches_for(person("dpo.pn", "police", Role.DPO))


def test_an_import_is_audited_with_its_checksum_and_a_refused_one_with_why(rig: Rig) -> None:
    import_list(rig)
    [done] = rig.audited(AuditAction.HIT_LIST_IMPORTED)
    assert done["sha256"] == hashlib.sha256(LIST).hexdigest() and done["verified_by"] == "checksum"
    assert (done["lists"], done["entries"]) == (["voles"], 1)
    with pytest.raises(HitListRefusedError, match="not the"):
        rig.plates.import_as(CHIEF, LIST + b"EF456GH\tvol\tvoles\n", checksum=hashlib.sha256(LIST).hexdigest())
    assert "not the" in str(rig.audited(AuditAction.HIT_LIST_IMPORTED)[-1]["refused"])
    duplicate = LIST + b"ab 123 cd\tvol\tvoles\n"
    with pytest.raises(HitListRefusedError, match="line 3: plate AB123CD is already"):
        rig.plates.import_as(CHIEF, duplicate, checksum=hashlib.sha256(duplicate).hexdigest())
    assert rig.audited(AuditAction.HIT_LIST_IMPORTED)[-1] == {
        "refused": "malformed file",
        "line": 3,
        "bytes": len(duplicate),
    }, "the line, never the plate it quotes"
    assert [i.sha256 for i in rig.plates.imports_for(CHIEF)] == [done["sha256"]]


def test_the_purge_follows_the_clock_15_days_a_month_and_holds(rig: Rig) -> None:
    import_list(rig)
    rig.plates.store(rig.read("EF456GH"))
    kept, held = (rig.plates.store(rig.read(minutes=m)).match_ids[0] for m in (2, 3))
    rig.plates.hold_as(JUDGE, held, "PV 2026/118")
    with pytest.raises(HoldRefusedError, match="already held"):
        rig.plates.hold_as(JUDGE, held, "PV 2026/119")

    rig.clock.advance(NON_MATCH_RETENTION)
    assert rig.plates.purge().reads == 0, "15 days after NOW, the read made a minute later is still due"
    rig.clock.advance(minutes=1)
    assert (rig.plates.purge().reads, rig.plates.purge().reads) == (1, 0)
    assert {m.id for m in rig.plates.matches_for(OFFICER)} == {kept, held}

    rig.clock.now = match_expiry(NOW) + timedelta(minutes=3)
    result = rig.plates.purge()
    assert (result.reads, result.matches) == (1, 1)
    assert [m.id for m in rig.plates.matches_for(OFFICER)] == [held]
    rig.plates.release_as(JUDGE, held, "procédure close")
    assert rig.plates.purge().matches == 1 and rig.plates.matches_for(OFFICER) == []
    assert rig.audited(AuditAction.PLATES_PURGED) == [
        {"reads": 1, "matches": 0},
        {"reads": 1, "matches": 1},
        {"reads": 1, "matches": 1},
    ]
    [count] = rig.plates.counts_for(OFFICER, *rig.plates.default_period(60))
    assert (count.reads, count.matches) == (3, 2), "counts outlive the reads"
