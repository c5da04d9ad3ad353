"""The access-request service with the copy maker ``vigie serve`` builds (``open_copy_maker``), on real footage:
TUD-Campus recorded as the recorder writes it and the real PicoDet-S detector registered under the configured name.
A request goes from recorded to released: the copy is made in the background, its redacted MP4s, their boxes and
the originals are served from where the maker wrote them, a second person approves every frame, and the released
package passes the verifier."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.analytics.onnx_models import MODELS, require
from tests.support.audit_sinks import ListAudit
from tests.support.campus_footage import FRAMES, record_campus
from tests.support.clocks import FakeClock
from tests.support.configs import camera_yaml, config_yaml
from tests.support.waiting import wait_for
from vigie.config import load_config_text
from vigie.domain.access_requests import AccessRequest, AccessRequestState, IdentityDocument, NormalisedBox
from vigie.domain.users import Role, User
from vigie.governance.audit import AuditKeyring
from vigie.runtime.assembly.models import ModelRegistry
from vigie.runtime.assembly.redaction import open_copy_maker
from vigie.services.access import CommuneInfo, Directory, Principal
from vigie.services.access_requests import AccessRequestService
from vigie.services.export_package import verify_package
from vigie.storage import create_engine_for, migrate
from vigie.storage.access_requests import SqlAccessRequestStore
from vigie.storage.recording import SqlSegmentIndex
from vigie.storage.segment_store import FileSegmentStore

T0 = datetime(2026, 3, 14, 14, 0, tzinfo=UTC)  # the footage's own time; the service's clock is set after it
CAMERA = "cam-campus"
DIRECTORY = Directory((CommuneInfo("testville", "Testville", "municipal"),), {CAMERA: "testville"})


def dpo(name: str) -> Principal:
    return Principal(
        User(name, name, "testville", frozenset({Role.DPO}), "x", id=1), frozenset({"testville"}), DIRECTORY, None
    )


def test_a_request_is_answered_with_a_real_redacted_copy(tmp_path: Path) -> None:
    model = require(MODELS / "picodet_s_320_coco.onnx")
    config = load_config_text(config_yaml(tmp_path, camera_yaml(CAMERA, "rtsp://127.0.0.1:9/campus", enabled=False)))
    engine = create_engine_for(config.storage.database_url)
    migrate(engine)
    index, store = SqlSegmentIndex(engine), FileSegmentStore(tmp_path / "segments")
    record_campus(tmp_path / "clip", CAMERA, T0, index, store)
    registry = ModelRegistry(config.storage.data_dir / "models", ListAudit())
    registry.add(model, "gfl", "picodet_s_320")
    keyring = AuditKeyring(tmp_path / "keys")
    clock = FakeClock(T0 + timedelta(days=3))
    maker = open_copy_maker(config, index, store, keyring.current_signer(), registry, clock)
    service = AccessRequestService(SqlAccessRequestStore(engine), ListAudit(), clock, config.storage.data_dir, maker)
    first, second = dpo("dpo.a"), dpo("dpo.b")

    request = service.create(
        first,
        requester_name="Camille Requérante",
        requester_contact="camille@example.org",
        identity_document=IdentityDocument.ID_CARD,
        identity_checked_by="Agent Dupont",
        received_on=clock().date(),
        description="devant le bâtiment, à 14 h",
    )
    request_id = request.id or 0
    service.set_scope(first, request_id, [CAMERA], T0, T0 + timedelta(seconds=3))
    keep = NormalisedBox(CAMERA, 0.62, 0.3, 1.0, 0.95, 0.0, 0.4)
    service.prepare_copy(first, request_id, keep_clear=[keep])
    ready = wait_for(lambda: _settled(service, first, request_id), 120, "the copy to be made")
    assert ready is not None  # wait_for never returns a false value
    assert ready.state is AccessRequestState.IN_REVIEW, ready.copy_error
    assert ready.copy is not None and ready.copy.frames == FRAMES and ready.copy.detector.startswith("picodet_s_320")

    name = ready.copy.files[0].name
    assert service.copy_file(second, request_id, name).read_bytes()[4:8] == b"ftyp"
    boxes = json.loads(service.copy_boxes(second, request_id, name).read_text(encoding="utf-8"))
    assert boxes["fps"] == pytest.approx(25)
    assert service.original(second, request_id, CAMERA).stat().st_size > 0

    service.review(second, request_id, approved=True, frames_reviewed=FRAMES)
    released = service.release(first, request_id)
    assert released.state is AccessRequestState.RELEASED and released.release is not None
    assert released.release.by == "dpo.a"
    package = service.package(second, request_id)
    report = verify_package(package, keyring.public_keys(), expected=released.release.package_sha256)
    assert report.ok, report.issues
    service.close()
    engine.dispose()


def _settled(service: AccessRequestService, principal: Principal, request_id: int) -> AccessRequest | None:
    request = service.get_for(principal, request_id)
    return None if request.state is AccessRequestState.PREPARING else request
