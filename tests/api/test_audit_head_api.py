"""The audit chain's signed head, published where the server cannot take it back (issue 14, D3): anyone reads it
without login at ``/api/public/audit-head`` and on the public page, and the API's own verification fails once rows
before it are cut."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tests.api.world import World, build_world
from vigie.governance.audit.head import head_signature_ok
from vigie.governance.audit.signing import load_public_key

STATIC = Path(__file__).resolve().parents[2] / "src" / "vigie" / "web" / "static"


@pytest.fixture
def world(db: Engine) -> World:
    return build_world(db, static=STATIC, sql_audit=True)


def test_the_head_is_public_signed_and_stable(world: World) -> None:
    world.login("op.vil")
    anonymous = world.client()
    answer = anonymous.get("/api/public/audit-head")
    assert answer.status_code == 200, answer.text
    assert "max-age" in answer.headers["cache-control"]
    head = answer.json()
    assert set(head) == {"format", "version", "seq", "hash", "at", "checkpoint_every", "key_id", "signature"}
    assert head["format"] == "vigie-audit-head"
    assert world.audit_chain is not None
    keys = {k: load_public_key(pem) for k, pem in world.audit_chain.keyring.public_keys().items()}
    assert head_signature_ok(head, keys) is True
    stored = world.audit_chain.store.head()
    assert stored is not None and (stored.seq, stored.hash) == (head["seq"], head["hash"])
    assert anonymous.get("/api/public/audit-head").json() == head, "nothing new: the same head, no new entry"
    assert world.audit_chain.store.head() == stored


def test_the_public_page_shows_the_head_and_asks_auditors_to_archive_it(world: World) -> None:
    page = world.client().get("/public").text
    for element in ("audit-head-seq", "audit-head-hash", "audit-head-at", "audit-head-key", "audit-head-download"):
        assert f'id="{element}"' in page
    assert "archive it outside the server" in page
    script = world.client().get("/static/public.js").text
    assert 'fetch("/api/public/audit-head")' in script


def test_the_api_verification_fails_when_rows_before_the_published_head_are_cut(world: World) -> None:
    world.login("op.vil")
    dpo = world.login("dpo.vil")
    assert dpo.get("/api/audit/verify").json()["ok"] is True
    head = world.client().get("/api/public/audit-head").json()
    with world.engine.begin() as connection:  # the database administrator cuts the tail, the head's entry with it
        connection.execute(text("DELETE FROM audit_entries WHERE seq > :s"), {"s": head["seq"] - 3})
    verdict = dpo.get("/api/audit/verify").json()
    assert verdict["ok"] is False
    assert verdict["problem"] in {"deleted", "modified"}
    assert any(str(head["seq"]) in issue["message"] for issue in verdict["issues"])
