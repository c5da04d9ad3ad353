"""The ``access_requests`` table on SQLite and PostgreSQL: a request and its steps (scope with boxes, copy, review,
refusal, release) read back as written; a step is written only from the state the writer saw, and a copy's late
write only while its process still holds it; the ended requests not yet erased are found for the purge."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Engine
from tests.support.clocks import T0

from vigie.domain.access_requests import (
    AccessRequest,
    AccessRequestState,
    CopyFile,
    CopyScope,
    IdentityDocument,
    NormalisedBox,
    PreparedCopy,
    Refusal,
    RefusalReason,
    Release,
    Review,
)
from vigie.storage.access_requests import SqlAccessRequestStore

RECEIVED = frozenset({AccessRequestState.RECEIVED})
PREPARING = frozenset({AccessRequestState.PREPARING})


def a_request(commune: str = "villeurbanne") -> AccessRequest:
    return AccessRequest(
        commune_id=commune,
        requester_name="Camille Requérante",
        requester_contact="camille@example.org",
        identity_document=IdentityDocument.RESIDENCE_PERMIT,
        identity_checked_by="Agent Dupont",
        received_on=T0.date() - timedelta(days=3),
        description="veste rouge",
        created_by="dpo.a",
        created_at=T0,
    )


def test_a_request_and_every_step_read_back_as_written(db: Engine) -> None:
    store = SqlAccessRequestStore(db)
    added = store.add(a_request())
    assert added.id is not None and store.get(added.id) == added
    scope = CopyScope(
        ("vil-1", "vil-2"),
        T0 - timedelta(hours=2),
        T0 - timedelta(hours=1),
        keep_clear=(NormalisedBox("vil-1", 0.1, 0.2, 0.3, 0.4, 1.5, None),),
        manual=(NormalisedBox("vil-2", 0.5, 0.5, 0.9, 0.9, 0.0, 12.0),),
    )
    copy = PreparedCopy(
        "/data/access-requests/1/copy-1",
        (CopyFile("vil-1_x.mp4", "vil-1", 25, "ab" * 32, 1234, scope.start, scope.end),),
        "cd" * 32,
        "yolox sha256:ef",
        {"detector_fps": 5},
    )
    full = replace(
        added,
        state=AccessRequestState.RELEASED,
        scope=scope,
        copy=copy,
        prepared_by="dpo.a",
        review=Review("dpo.b", T0, True, 25, "ok"),
        refusal=Refusal(RefusalReason.THIRD_PARTY_RIGHTS, "x", "dpo.a", T0),
        release=Release(T0, "dpo.a", "p.zip", "11" * 32, "22" * 32, "key"),
        extended_because="many cameras",
        progress=(3, 50),
        copies=2,
        ended_at=T0,
    )
    assert store.save(full, if_states=RECEIVED)
    assert store.get(added.id) == full
    assert store.list("villeurbanne") == [full] and store.list("bron") == []
    assert store.list("villeurbanne", AccessRequestState.REFUSED) == []


def test_a_step_is_written_only_from_the_state_seen_and_by_the_process_holding_the_copy(db: Engine) -> None:
    store = SqlAccessRequestStore(db)
    request = store.add(a_request())
    preparing = replace(request, state=AccessRequestState.PREPARING, runner="host:1:aaaa", heartbeat_at=T0)
    assert store.save(preparing, if_states=RECEIVED)
    assert not store.save(replace(preparing, description="late"), if_states=RECEIVED)  # it moved on
    assert not store.save(replace(preparing, progress=(1, 2)), if_states=PREPARING, if_runner="host:2:bbbb")
    assert store.save(replace(preparing, progress=(1, 2)), if_states=PREPARING, if_runner="host:1:aaaa")
    store.beat("host:1:aaaa", T0 + timedelta(seconds=5))
    assert [r.heartbeat_at for r in store.preparing()] == [T0 + timedelta(seconds=5)]


def test_the_ended_requests_not_yet_erased_are_found_for_the_purge(db: Engine) -> None:
    store = SqlAccessRequestStore(db)
    old = store.add(a_request())
    recent = store.add(a_request())
    store.add(a_request())  # still open
    for request, at in ((old, T0 - timedelta(days=400)), (recent, T0 - timedelta(days=10))):
        store.save(replace(request, state=AccessRequestState.REFUSED, ended_at=at), if_states=RECEIVED)
    assert [r.id for r in store.ended_before(T0 - timedelta(days=365))] == [old.id]
    found = store.ended_before(T0 - timedelta(days=365))[0]
    ended = frozenset({AccessRequestState.REFUSED})
    assert store.save(replace(found, requester_name="", erased_at=T0), if_states=ended)
    assert store.ended_before(T0 - timedelta(days=365)) == []
