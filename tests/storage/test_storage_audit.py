"""The SQL audit log: what is appended reads back identical, chained, and in order, on both backends."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from vigie.domain.audit import GENESIS_HASH, AuditAction, AuditEvent
from vigie.storage import SqlAuditStore, StorageError
from vigie.storage.audit import READ_BATCH

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def event(n: int, **details: object) -> AuditEvent:
    return AuditEvent(f"user:{n % 3}", AuditAction.PLAYBACK, f"camera:{n}", {"n": n, "x": 0.5, **details})


def test_append_and_read_back_round_trip(db: Engine) -> None:
    store = SqlAuditStore(db)
    assert store.head() is None
    assert store.count() == 0
    appended = [
        store.append(event(n, tags=["a", "é"], nested={"k": None}), now=T0 + timedelta(seconds=n)) for n in range(5)
    ]
    read = list(store.records())
    assert read == appended
    assert store.head() == appended[-1]
    assert store.count() == 5
    assert read[0].seq == 1 and read[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(read):
        assert after.seq == before.seq + 1
        assert after.prev_hash == before.hash
    assert all(r.is_consistent() for r in read)
    assert read[2].at == T0 + timedelta(seconds=2)
    assert read[2].details == {"n": 2, "x": 0.5, "tags": ["a", "é"], "nested": {"k": None}}


def test_event_time_wins_over_append_time(db: Engine) -> None:
    store = SqlAuditStore(db)
    at = datetime(2024, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
    record = store.append(AuditEvent("u", AuditAction.SEARCH, "t", at=at), now=T0)
    assert record.at == at
    assert next(store.records()).is_consistent()


def test_records_filters_and_streams_in_batches(db: Engine) -> None:
    store = SqlAuditStore(db)
    total = READ_BATCH + 30
    for n in range(total):
        store.append(event(n), now=T0 + timedelta(minutes=n))
    seqs = [r.seq for r in store.records()]
    assert seqs == list(range(1, total + 1))
    assert [r.seq for r in store.records(from_seq=10, to_seq=12)] == [10, 11, 12]
    window = list(store.records(since=T0 + timedelta(minutes=5), until=T0 + timedelta(minutes=8)))
    assert [r.seq for r in window] == [6, 7, 8]
    assert store.seq_range(T0 + timedelta(minutes=5), T0 + timedelta(minutes=8)) == (6, 8)
    assert store.seq_range(T0 - timedelta(days=2), T0 - timedelta(days=1)) is None
    assert store.seq_range() == (1, total)


def test_unique_hashes_refuse_a_fork(db: Engine) -> None:
    store = SqlAuditStore(db)
    first = store.append(event(1), now=T0)
    with pytest.raises(Exception, match=r"(?i)unique|constraint|duplicate"), db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_entries (seq, at, actor, action, target, details, prev_hash, hash) "
                "VALUES (99, :at, 'x', 'search', 't', '{}', :prev, :hash)"
            ),
            {"at": T0, "prev": first.prev_hash, "hash": "f" * 64},
        )


def test_naive_time_is_refused(db: Engine) -> None:
    with pytest.raises(StorageError, match="time zone"):
        SqlAuditStore(db).append(event(1), now=datetime(2025, 1, 1))


def test_public_keys_are_registered_once_and_retired(db: Engine) -> None:
    store = SqlAuditStore(db)
    store.add_public_key("aa", "PEM-A", T0)
    store.add_public_key("aa", "PEM-other", T0)
    store.add_public_key("bb", "PEM-B", T0 + timedelta(days=1))
    store.retire_public_key("aa", T0 + timedelta(days=1))
    assert store.public_keys() == {"aa": "PEM-A", "bb": "PEM-B"}
    with db.connect() as conn:
        retired = conn.execute(text("SELECT key_id FROM audit_keys WHERE retired_at IS NOT NULL")).scalars().all()
    assert retired == ["aa"]
