"""The case searches as ``vigie serve`` / ``vigie api`` build them (issue 22): at the start of an API process, the
searches a process of this host that no longer exists left running are failed (audited), those of a live process
elsewhere are left alone; closing a case through the service's case service purges its search results (the close
step is wired by the assembly, not only by the tests)."""

from __future__ import annotations

import socket
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from tests.support.clocks import FakeClock
from tests.support.configs import camera_yaml, config_yaml
from vigie.config import load_config_text
from vigie.domain.case_searches import MotionHit, SearchJob, SearchKind, SearchState
from vigie.domain.cases import AuthorityKind, Case, HoldDecision
from vigie.domain.users import Role, User
from vigie.runtime.assembly.service import VigieService
from vigie.services.access import CommuneInfo, Directory, Principal
from vigie.storage import create_engine_for
from vigie.storage.case_searches import SqlCaseSearches
from vigie.storage.cases import SqlCaseRepo

# Far from the host's day on purpose: nothing here may read the host's time instead of this clock.
CLOCK = datetime(2026, 3, 14, 14, 0, tzinfo=UTC)
INVESTIGATOR = Principal(
    User("inv.test", "inv.test", "testville", frozenset({Role.INVESTIGATOR}), "x", id=1),
    frozenset({"testville"}),
    Directory(communes=(CommuneInfo("testville", "Testville", "municipal"),), camera_commune={"cam-s": "testville"}),
    None,
)


def test_an_api_process_fails_at_start_what_a_dead_process_left_and_a_close_purges_the_results(
    tmp_path: Path,
) -> None:
    clock = FakeClock(CLOCK)
    text = config_yaml(tmp_path, camera_yaml("cam-s", "rtsp://127.0.0.1:9/cam-s", enabled=False))
    service = VigieService(load_config_text(text), clock=clock)
    engine = create_engine_for(service.config.storage.database_url)
    case = SqlCaseRepo(engine).add(
        Case(
            commune_id="testville",
            reference="PV-9",
            requisition_ref="REQ-9",
            authority="OPJ Martin",
            authority_kind=AuthorityKind.OFFICER,
            requisition_date=date(2026, 3, 13),
            purpose="vol",
            camera_ids=("cam-s",),
            start=CLOCK - timedelta(hours=4),
            end=CLOCK - timedelta(hours=1),
            opened_by="inv.test",
            opened_at=CLOCK - timedelta(minutes=30),
        )
    )
    assert case.id is not None
    store = SqlCaseSearches(engine)
    dead = subprocess.Popen(["true"])
    dead.wait()

    def left(runner: str) -> SearchJob:
        return store.add(
            SearchJob(
                case_id=case.id or 0,
                camera_ids=("cam-s",),
                start=case.start,
                end=case.end,
                requested_by="inv.test",
                requested_at=clock(),
                kind=SearchKind.MOTION,
                parameters={"region": [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]], "min_changed": 0.02, "min_seconds": 0},
                state=SearchState.RUNNING,
                runner=runner,
                heartbeat_at=clock(),
            )
        )

    killed = left(f"{socket.gethostname()}:{dead.pid}:dead0001")
    elsewhere = left("other-host:4242:alive001")
    store.add_hits([MotionHit(case.id, killed.id or 0, "cam-s", case.start, case.end, case.start, 0.3)])
    try:
        service.start_api()

        assert store.get(case.id, killed.id or 0) is not None
        assert store.get(case.id, killed.id or 0).state is SearchState.FAILED  # type: ignore[union-attr]
        assert store.get(case.id, elsewhere.id or 0).state is SearchState.RUNNING  # type: ignore[union-attr]

        cases = service.api_services.cases
        assert cases is not None
        cases.close(INVESTIGATOR, case.id, decision=HoldDecision.KEPT, reason="jugement")

        assert store.hits(case.id, killed.id or 0, limit=10, offset=0) == []
        assert store.get(case.id, elsewhere.id or 0).state is SearchState.FAILED  # type: ignore[union-attr]
        assert [j.id for j in store.list(case.id, limit=10, offset=0)] == [elsewhere.id, killed.id]  # history kept
    finally:
        service.stop_api()
        engine.dispose()
