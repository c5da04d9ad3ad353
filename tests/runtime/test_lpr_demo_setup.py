"""The demo's plate-reading set-up on the service it starts: a real activation through the governance service
(requested by one account, approved by two others in two roles), the hit list imported by its checksum, and a
second start reusing both rather than piling up activations and imports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.support.clocks import FakeClock
from vigie.domain.audit import AuditAction
from vigie.governance.activation import ActivationState
from vigie.runtime.assembly.demo import demo_config, start_lapi
from vigie.runtime.assembly.demo_lapi import ACCOUNTS, LAPI_CAMERA, LAPI_LOGIN_FILE
from vigie.runtime.assembly.governance import open_governance
from vigie.runtime.assembly.service import VigieService
from vigie.storage.audit import SqlAuditStore
from vigie.storage.database import create_engine_for

NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)
"""Inside the demo cameras' simulated authorisation (2026-2030); the service runs on this fixed clock."""


def test_the_demo_activates_plate_reading_through_governance_once(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    data.mkdir()
    config = demo_config(data, "127.0.0.1", 8080, {"sim1": "file:///street.mp4"}, lapi_url="file:///lane.mp4")
    clock = FakeClock(NOW)
    service = VigieService(config, simulated_cameras=frozenset({"sim1", LAPI_CAMERA}), clock=clock)
    start_lapi(service, config, data)
    clock.advance(timedelta(minutes=5))
    (data / LAPI_LOGIN_FILE).unlink()
    start_lapi(service, config, data)  # a second start of the same demo folder, its login file lost

    engine = create_engine_for(config.storage.database_url)
    status = open_governance(config, engine, service.audit, clock).service.status()
    (activation,) = status.activations
    assert activation.state is ActivationState.ACTIVE
    assert activation.activation.module == "plate_reading" and activation.activation.camera_ids == (LAPI_CAMERA,)
    assert activation.activation.requested_by == ACCOUNTS.supervisor
    assert {(a.by, a.role) for a in activation.approvals} == {(ACCOUNTS.dpo, "dpo"), (ACCOUNTS.authority, "authority")}
    actions = [r.action for r in SqlAuditStore(engine).records()]
    assert actions.count(AuditAction.ACTIVATION_REQUESTED) == 1
    assert actions.count(AuditAction.ACTIVATION_APPROVED) == 2
    assert actions.count(AuditAction.HIT_LIST_IMPORTED) == 1
    fields = dict(line.split(": ", 1) for line in (data / LAPI_LOGIN_FILE).read_text().splitlines())
    assert fields["username"] == ACCOUNTS.supervisor
    assert service.accounts.login(fields["username"], fields["password"]).principal.user.commune_id == "pn-demo"
    engine.dispose()
