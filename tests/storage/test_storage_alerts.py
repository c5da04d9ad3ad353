"""The alerts table on SQLite and PostgreSQL: pending on arrival, one verdict ever, filters and counts."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from vigie.domain.alerts import Alert, AlertAlreadyDecidedError, AlertNotFoundError, AlertState, Verdict
from vigie.domain.geometry import Box
from vigie.storage import SqlAlertRepo

T0 = datetime(2026, 11, 28, 12, tzinfo=UTC)


def alert(camera: str = "cam-1", module: str = "intrusion", minutes: int = 0) -> Alert:
    return Alert(
        camera, module, module, T0 + timedelta(minutes=minutes), Box(0.1, 0.2, 0.3, 0.4), 0.87, "yolox@sha256:ab"
    )


def test_an_alert_is_stored_pending_and_read_back_whole(db: Engine) -> None:
    repo = SqlAlertRepo(db)
    stored = repo.add(alert())
    assert stored.id is not None and stored.state is AlertState.PENDING and stored.verdict is None
    again = repo.get(stored.id)
    assert again == stored and again.at == T0 and again.region == Box(0.1, 0.2, 0.3, 0.4)


def test_a_verdict_is_written_once(db: Engine) -> None:
    repo = SqlAlertRepo(db)
    stored = repo.add(alert())
    assert stored.id is not None
    decided = repo.decide(stored.id, Verdict.FALSE_POSITIVE, by="Léa Martin", role="operator", at=T0, note="ombre")
    assert decided.state is AlertState.DISMISSED and decided.decided_by == "Léa Martin" and decided.note == "ombre"
    with pytest.raises(AlertAlreadyDecidedError, match="Léa Martin"):
        repo.decide(stored.id, Verdict.CONFIRMED, by="Marc Petit", role="supervisor", at=T0)
    assert repo.get(stored.id) == decided
    with pytest.raises(AlertNotFoundError):
        repo.decide(999, Verdict.CONFIRMED, by="x", role="operator", at=T0)


def test_two_operators_deciding_at_once_one_wins(db: Engine) -> None:
    repo = SqlAlertRepo(db)
    stored = repo.add(alert())
    assert stored.id is not None
    outcomes: list[str] = []

    def decide(verdict: Verdict, who: str) -> None:
        try:
            repo.decide(stored.id or 0, verdict, by=who, role="operator", at=T0)
            outcomes.append("ok")
        except AlertAlreadyDecidedError:
            outcomes.append("refused")

    threads = [threading.Thread(target=decide, args=(v, f"op{k}")) for k, v in enumerate([Verdict.CONFIRMED] * 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok", "refused", "refused", "refused"]


def test_lists_filter_and_counts_group_by_module_camera_and_verdict(db: Engine) -> None:
    repo = SqlAlertRepo(db)
    ids = [repo.add(alert(camera, module, k)).id for k, (camera, module) in enumerate(
        [("cam-1", "intrusion"), ("cam-1", "intrusion"), ("cam-2", "intrusion"), ("cam-1", "abandoned_object")]
    )]  # fmt: skip
    repo.decide(ids[0] or 0, Verdict.FALSE_POSITIVE, by="a", role="operator", at=T0)
    repo.decide(ids[1] or 0, Verdict.CONFIRMED, by="a", role="operator", at=T0)
    assert [a.id for a in repo.list(state=AlertState.PENDING)] == [ids[3], ids[2]]  # newest first
    assert [a.id for a in repo.list(camera_ids=["cam-2"])] == [ids[2]]
    assert [a.id for a in repo.list(module="abandoned_object")] == [ids[3]]
    assert len(repo.list(since=T0 + timedelta(minutes=2))) == 2
    assert repo.list(camera_ids=[]) == []
    counts = {(c.module, c.camera_id, c.verdict): c.count for c in repo.counts()}
    assert counts == {
        ("intrusion", "cam-1", Verdict.FALSE_POSITIVE): 1,
        ("intrusion", "cam-1", Verdict.CONFIRMED): 1,
        ("intrusion", "cam-2", None): 1,
        ("abandoned_object", "cam-1", None): 1,
    }
