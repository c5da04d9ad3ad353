"""Plate reads from the analysis workers reach the plate store through the writer's sink, like observations: as
they come, refused reads counted and dropped, and never kept in the write journal (a read must not live anywhere
its L35 retention does not reach)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.support.clocks import T0, StepClock
from tests.support.configs import config_yaml
from vigie.config import load_config_text
from vigie.domain.plates import PlateRead, PlateReadRefusedError
from vigie.events.aggregation import EventAggregator
from vigie.runtime.assembly.audit import open_audit_sink
from vigie.runtime.workers.journal import WriteJournal
from vigie.runtime.workers.sink import WorkerMessageSink
from vigie.storage import create_engine_for, migrate
from vigie.storage.repositories import SqlCameraStatusRepo, SqlEventRepo

CROP = b"\xff\xd8\xff\xe0plate"


def _read(text: str, commune: str = "pn") -> PlateRead:
    return PlateRead("lapi1", commune, T0 + timedelta(seconds=1), text, text, "FR-SIV", 0.9, 4, CROP, 3)


class PlateStore:
    """The port the sink hands reads to (``vigie.domain.plates.PlateReadSink``): keeps state-tenant reads."""

    def __init__(self) -> None:
        self.kept: list[PlateRead] = []

    def record(self, read: PlateRead) -> None:
        if read.commune_id != "pn":
            raise PlateReadRefusedError(f"{read.commune_id} is not a state tenant")
        self.kept.append(read)


def test_reads_reach_the_plate_store_and_refused_ones_are_only_counted(tmp_path: Path) -> None:
    config = load_config_text(config_yaml(tmp_path, ""))
    engine = create_engine_for(config.storage.database_url)
    migrate(engine)
    journal = WriteJournal(tmp_path / "journal")
    store = PlateStore()
    sink = WorkerMessageSink(
        EventAggregator(SqlEventRepo(engine)),
        SqlCameraStatusRepo(engine),
        open_audit_sink(config, engine, StepClock()),
        journal=journal,
        plates=store,
    )
    sink(_read("GE042ZR"))
    sink(_read("AB123CD", commune="testville"))
    sink.tick()
    assert [r.text for r in store.kept] == ["GE042ZR"]
    assert sink.not_stored == {"plate reads refused": 1}
    assert not journal.path.exists() or journal.path.read_text() == ""


def test_without_a_plate_store_reads_are_dropped_and_counted(tmp_path: Path) -> None:
    config = load_config_text(config_yaml(tmp_path, ""))
    engine = create_engine_for(config.storage.database_url)
    migrate(engine)
    sink = WorkerMessageSink(
        EventAggregator(SqlEventRepo(engine)), SqlCameraStatusRepo(engine), open_audit_sink(config, engine, StepClock())
    )
    sink(_read("GE042ZR"))
    assert sink.not_stored == {"plate reads": 1}
