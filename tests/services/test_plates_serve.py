"""Plate reading in the production composition (``VigieService``, as ``vigie serve`` builds it): the API's plate
service is the one reads are handed to; a state tenant's read is stored only under an approved activation, a
commune can neither activate plate reading nor have a read stored, even on simulated footage where every module
is open to other modules; and the L35 purge runs among the service's periodic jobs, on the service's clock."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.clocks import FakeClock
from tests.support.configs import camera_yaml, config_yaml
from tests.support.waiting import wait_for
from vigie.config import load_config_text
from vigie.domain.activation import ActivationRequest
from vigie.domain.actor import Actor
from vigie.domain.audit import AuditAction
from vigie.domain.clock import legal_day
from vigie.domain.plates import MODULE, PlateRead, PlateReadRefusedError
from vigie.domain.users import Role
from vigie.runtime.assembly.service import VigieService
from vigie.storage.audit import SqlAuditStore
from vigie.storage.database import create_engine_for

CROP = b"\xff\xd8\xff\xe0 plate"


def lapi_camera(camera: str) -> str:
    """A camera dedicated to one lane, configured for plate reading (an activation needs its settings)."""
    return camera.replace(
        "            authorisation:",
        "            analysis: {modules: {plate_reading: {lpr_camera: true}}}\n            authorisation:",
    )


def state_tenant(valid: tuple[str, str]) -> str:
    return f"""  - id: gendarmerie
    name: Gendarmerie nationale
    kind: state
    sites:
      - id: rocade
        name: Rocade
        signage:
          pictogram: true
          controller: Ville de Testville
          contact: dpo@testville.example
          panel: PAN-TEST-001
          posted_on: 2000-01-01
        cameras:
{lapi_camera(camera_yaml("cam-lapi", "rtsp://127.0.0.1:9/lapi", valid=valid)).rstrip()}
"""


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC).replace(microsecond=0) - timedelta(days=3 * 365))


@pytest.fixture
def service(tmp_path: Path, clock: FakeClock) -> VigieService:
    day = legal_day(clock)
    valid = ((day - timedelta(days=30)).isoformat(), (day + timedelta(days=365)).isoformat())
    text = config_yaml(tmp_path, camera_yaml("cam-1", "rtsp://127.0.0.1:9/cam-1", valid=valid)) + state_tenant(valid)
    built = VigieService(load_config_text(text), clock=clock, simulated_cameras=frozenset({"cam-1"}))
    for username, commune, roles in (
        ("sup.gn", "gendarmerie", [Role.SUPERVISOR]),
        ("dpo.gn", "gendarmerie", [Role.DPO]),
        ("prefet", "gendarmerie", [Role.AUTHORITY]),
        ("sup.ville", "testville", [Role.SUPERVISOR]),
    ):
        built.accounts.add_user(
            Actor.command_line("setup"),
            username=username,
            display_name=username,
            commune_id=commune,
            roles=roles,
            password="correct horse battery staple 1",
            authorised_until=day + timedelta(days=365),
            trained_on=day,
        )
    return built


def read(
    service: VigieService, camera: str, tenant: str = "gendarmerie", text: str = "AB123CD", activation: int = 1
) -> PlateRead:
    return PlateRead(camera, tenant, service.clock(), text, text, "FR-SIV", 0.9, 4, CROP, activation)


def request(service: VigieService, tenant: str, camera: str, by: str) -> ActivationRequest:
    now = service.clock()
    return ActivationRequest(
        tenant=tenant,
        module=MODULE,
        camera_ids=(camera,),
        framework="lapi-csi-l233-1",
        decision_number="2026-PREF-0042",
        decision_date=(now - timedelta(days=9)).date(),
        dpia_reference="AIPD-2026-07",
        purpose="lecture des plaques sur la rocade",
        starts_at=now,
        ends_at=now + timedelta(days=30),
        requested_by=by,
        requested_role="supervisor",
    )


def test_the_api_and_the_workers_share_one_plate_service(service: VigieService) -> None:
    assert service.plates is service.api_services.plates


def activate(service: VigieService, clock: FakeClock) -> int:
    governance = service.api_services.governance
    assert governance is not None
    outcome = governance.service.request(request(service, "gendarmerie", "cam-lapi", "sup.gn"))
    assert outcome.accepted and outcome.activation_id is not None, outcome.message
    for approver in (Actor("dpo.gn", "dpo"), Actor("prefet", "authority")):
        assert governance.service.approve(outcome.activation_id, approver).accepted
    clock.advance(seconds=1)
    return outcome.activation_id


def test_a_state_read_is_stored_only_under_an_approved_activation(service: VigieService, clock: FakeClock) -> None:
    with pytest.raises(PlateReadRefusedError, match="no plate_reading activation"):
        service.plates.record(read(service, "cam-lapi"))
    activation = activate(service, clock)

    def stored() -> int | None:
        try:
            return service.plates.store(read(service, "cam-lapi", activation=activation)).read_id
        except PlateReadRefusedError:
            return None

    assert wait_for(stored, 2, "the gate to see the approval (it confirms its rules 4 times a second)") > 0


def test_a_commune_can_neither_activate_nor_store_plate_reads(service: VigieService) -> None:
    governance = service.api_services.governance
    assert governance is not None
    refused = governance.service.request(request(service, "testville", "cam-1", "sup.ville"))
    assert not refused.accepted and "L34" in refused.message
    # cam-1 shows simulated footage, open to the other modules without an activation: not to plate reading
    with pytest.raises(PlateReadRefusedError, match="L34"):
        service.plates.record(read(service, "cam-1", tenant="testville"))


def test_the_purge_runs_among_the_services_jobs_on_its_clock(service: VigieService, clock: FakeClock) -> None:
    activation = activate(service, clock)
    service.plates.store(read(service, "cam-lapi", text="EF456GH", activation=activation))
    data = b"plate\treason\tlist\nAB123CD\tvol\tvoles\n"
    principal = service.accounts.principal_for("sup.gn")
    service.plates.import_as(principal, data, checksum=hashlib.sha256(data).hexdigest())
    clock.advance(days=15, minutes=1)
    service.sink.tick()
    chain = SqlAuditStore(create_engine_for(service.config.storage.database_url))

    def purged() -> list[dict[str, object]]:
        return [dict(r.details) for r in chain.records() if r.action == AuditAction.PLATES_PURGED]

    assert wait_for(purged, 10, "the L35 purge of a read 15 days old") == [{"reads": 1, "matches": 0}]
    service.sink.close()
