"""Access requests as ``vigie serve`` builds them (L19): the service the API reaches, its copies under the data
folder, and the erasure of an ended request's personal data after ``privacy.access_request_keep_days`` — the
configured number of days, not the default."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.support.clocks import FakeClock
from tests.support.configs import config_yaml
from vigie.config import load_config_text
from vigie.domain.access_requests import AccessRequest, AccessRequestState, IdentityDocument
from vigie.runtime.assembly.service import VigieService
from vigie.storage import create_engine_for
from vigie.storage.access_requests import SqlAccessRequestStore


def test_serve_erases_ended_requests_after_the_configured_days(tmp_path: Path) -> None:
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0) - timedelta(days=3 * 365))
    text = "privacy: {access_request_keep_days: 30}\n" + config_yaml(tmp_path, "")
    service = VigieService(load_config_text(text), clock=clock)
    assert service.api_services.access_requests is service.access_requests
    engine = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    store = SqlAccessRequestStore(engine)
    ended = store.add(
        AccessRequest(
            "testville",
            "Camille",
            "camille@example.org",
            IdentityDocument.ID_CARD,
            "agent",
            clock().date(),
            "veste rouge",
            "dpo",
            clock(),
        )
    )
    store.save(
        replace(ended, state=AccessRequestState.REFUSED, ended_at=clock()),
        if_states=frozenset({AccessRequestState.RECEIVED}),
    )
    folder = tmp_path / "data" / "access-requests" / str(ended.id) / "copy-1"
    folder.mkdir(parents=True)
    (folder / "vil-1.mp4").write_bytes(b"redacted")

    clock.advance(timedelta(days=29))
    assert service.access_requests.purge() == 0
    clock.advance(timedelta(days=2))
    assert service.access_requests.purge() == 1
    erased = store.get(ended.id or 0)
    assert erased is not None and (erased.requester_name, erased.requester_contact, erased.description) == ("", "", "")
    assert not folder.exists()
    service.access_requests.close()
    engine.dispose()
