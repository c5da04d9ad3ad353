"""Case searches as jobs (issue 22) through the real service, SQL storage and motion search on real footage: a stop
fails the searches waiting and stops the one running (nothing stored); closing the case while a search runs fails
it and nothing of it is stored after the purge; progress is written at most every 0.5 s, however often the analysis
reports it. The footage comes through a function standing for the segment index, held back by the test where it
must catch a search mid-way."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.analytics.onnx_models import DATA, require
from tests.recording.export_samples import ListAuditSink
from tests.support.clip_segments import cut_segments
from tests.support.clocks import T0, FakeClock
from vigie.analytics.forensics.motion_footage import FootageMotionSearch
from vigie.analytics.forensics.motion_region import MotionSearchParams, MotionSpan, RecordedFile
from vigie.analytics.forensics.object_search import FootageObjectSearch
from vigie.domain.audit import AuditAction
from vigie.domain.case_searches import SearchJob, SearchState
from vigie.domain.cases import AuthorityKind, HoldDecision
from vigie.domain.geometry import Point
from vigie.domain.users import Role, User
from vigie.services.access import CommuneInfo, Directory, Principal
from vigie.services.case_search import CaseSearchService
from vigie.services.cases import CaseService
from vigie.storage import create_engine_for, migrate
from vigie.storage.case_objects import SqlCaseObjects
from vigie.storage.case_searches import SqlCaseSearches
from vigie.storage.cases import SqlCaseRepo

START, END = T0 - timedelta(hours=5), T0 - timedelta(hours=1)
RECORDED = START + timedelta(hours=1)
CLIP = DATA / "video" / "car-detection.mp4"
RED_CAR_PATH = [[0.45, 0.05], [0.65, 0.05], [0.65, 0.95], [0.45, 0.95]]
INVESTIGATOR = Principal(
    User("inv.vil", "inv.vil", "villeurbanne", frozenset({Role.INVESTIGATOR}), "x", id=1),
    frozenset({"villeurbanne"}),
    Directory(
        communes=(CommuneInfo("villeurbanne", "Villeurbanne", "municipal"),), camera_commune={"vil-1": "villeurbanne"}
    ),
    None,
)


class CountedSaves(SqlCaseSearches):
    """The SQL store, counting the writes of a job's state."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.saves = 0

    def save(self, job: SearchJob, **kwargs: object) -> bool:
        self.saves += 1
        return super().save(job, **kwargs)  # type: ignore[arg-type]


class ReportedMotion(FootageMotionSearch):
    """The real motion search, keeping every progress it reports."""

    def __init__(self, files: Footage, *, chunk: timedelta, warm_up: timedelta) -> None:
        super().__init__(files, chunk=chunk, warm_up=warm_up)
        self.reports: list[float] = []

    def search(
        self,
        camera_id: str,
        start: datetime,
        end: datetime,
        region: Sequence[Point],
        params: MotionSearchParams,
        progress: Callable[[float], None] | None = None,
    ) -> list[MotionSpan]:
        def report(fraction: float) -> None:
            self.reports.append(fraction)
            if progress is not None:
                progress(fraction)

        return super().search(camera_id, start, end, region, params, report)


class Footage:
    """The recorded files of vil-1, handed over once the test lets them go."""

    def __init__(self, files: list[RecordedFile]) -> None:
        self.files, self.asked, self.released = files, threading.Event(), threading.Event()

    def __call__(self, _camera: str, _start: datetime, _end: datetime) -> list[RecordedFile]:
        self.asked.set()
        assert self.released.wait(30), "the test never released the footage"
        return self.files


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> list[RecordedFile]:
    return cut_segments(require(CLIP), tmp_path_factory.mktemp("clip"), RECORDED, seconds=2.0, limit=21.0)


class World:
    def __init__(
        self,
        engine: Engine,
        footage: Footage,
        *,
        chunk: timedelta = timedelta(minutes=10),
        warm_up: timedelta = timedelta(seconds=60),
    ) -> None:
        self.audit, self.clock = ListAuditSink(), FakeClock()
        self.cases = CaseService(SqlCaseRepo(engine), self.audit, self.clock)
        self.jobs = CountedSaves(engine)
        self.search = CaseSearchService(
            self.cases,
            SqlCaseObjects(engine),
            FootageObjectSearch(footage, lambda _c: None),  # type: ignore[arg-type,return-value]  # never called
            self.audit,
            self.clock,
            jobs=self.jobs,
            motion=(motion := ReportedMotion(footage, chunk=chunk, warm_up=warm_up)),
        )
        self.motion_search = motion
        self.cases.on_close(self.search.purge_case)
        self.case = self.cases.open(
            INVESTIGATOR,
            reference="PV 2026/77",
            requisition_ref="REQ-77",
            authority="OPJ Martin",
            authority_kind=AuthorityKind.OFFICER,
            requisition_date=(T0 - timedelta(days=1)).date(),
            purpose="vol de véhicule",
            camera_ids=["vil-1"],
            start=START,
            end=END,
        )
        self.case_id = self.case.id or 0

    def motion(self) -> SearchJob:
        return self.search.search_motion(
            INVESTIGATOR, self.case_id, "vil-1", RECORDED, RECORDED + timedelta(seconds=21), RED_CAR_PATH
        )

    def wait_ended(self, job: SearchJob) -> SearchJob:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = self.search.job(INVESTIGATOR, self.case_id, job.id or 0)
            if not now.active:
                return now
            time.sleep(0.02)
        raise AssertionError(f"search {job.id} still {now.state} after 30 s")

    def finished(self) -> list[dict[str, object]]:
        return [dict(e.details) for e in self.audit.events if e.action is AuditAction.CASE_SEARCH_FINISHED]


def test_a_stop_fails_the_searches_waiting_and_stops_the_one_running(engine: Engine, clip: list[RecordedFile]) -> None:
    footage = Footage(clip)
    world = World(engine, footage)
    running = world.motion()
    assert footage.asked.wait(10)
    waiting = world.motion()

    world.search.close()
    footage.released.set()

    assert world.search.job(INVESTIGATOR, world.case_id, waiting.id or 0).error == (
        "the server stopped before the search started: start it again"
    )
    stopped = world.wait_ended(running)
    assert (
        stopped.state is SearchState.FAILED and stopped.error == "the server stopped during the search: start it again"
    )
    assert world.jobs.hits(world.case_id, running.id or 0, limit=10, offset=0) == []  # nothing stored
    assert {d["job_id"] for d in world.finished()} == {running.id, waiting.id} and len(world.finished()) == 2


def test_closing_the_case_during_a_search_stores_nothing_of_it(engine: Engine, clip: list[RecordedFile]) -> None:
    footage = Footage(clip)
    world = World(engine, footage)
    running = world.motion()
    assert footage.asked.wait(10)

    world.cases.close(INVESTIGATOR, world.case_id, decision=HoldDecision.LIFTED, reason="classée")
    footage.released.set()

    ended = world.wait_ended(running)
    time.sleep(0.5)  # the search's thread has let go of the footage: whatever it would store, it would have
    assert (
        ended.state is SearchState.FAILED
        and ended.error == "the case was closed during the search: its results are purged with it"
    )
    assert world.jobs.hits(world.case_id, running.id or 0, limit=10, offset=0) == []
    assert [d["job_id"] for d in world.finished()] == [running.id]  # failed once, audited once
    world.search.close()


def test_progress_is_written_at_most_every_half_second(engine: Engine, clip: list[RecordedFile]) -> None:
    footage = Footage(clip)
    footage.released.set()
    # a chunk per file, no warm-up: the analysis reports its progress many times a second
    world = World(engine, footage, chunk=timedelta(seconds=1), warm_up=timedelta(0))
    started = time.monotonic()

    job = world.wait_ended(world.motion())

    elapsed = time.monotonic() - started
    assert job.state is SearchState.DONE and job.found >= 1, job
    reports = len(world.motion_search.reports)
    assert reports >= 5 and world.motion_search.reports[-1] == 1.0
    progress_writes = world.jobs.saves - 3  # the others: running, the end of the camera, the end
    assert progress_writes < reports, (world.jobs.saves, reports, elapsed)
    assert progress_writes <= elapsed / 0.5 + 1, (world.jobs.saves, reports, elapsed)
    world.search.close()
