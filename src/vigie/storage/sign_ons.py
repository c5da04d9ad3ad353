"""The ``pending_sign_ons`` table (implements ``vigie.domain.sign_on.PendingSignOns``): single sign-ons begun on
one API process and finished on any (issue 17)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, delete
from sqlalchemy.orm import sessionmaker

from vigie.domain.sign_on import PendingSignOn
from vigie.storage.database import storage_errors
from vigie.storage.repositories import rowcount
from vigie.storage.tables import PendingSignOnRow, require_aware


class SqlPendingSignOns:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._write = sessionmaker(engine, expire_on_commit=False)

    def put(self, key_sha256: str, pending: PendingSignOn) -> None:
        row = PendingSignOnRow(
            key_sha256=key_sha256,
            state=pending.state,
            nonce=pending.nonce,
            verifier=pending.verifier,
            redirect_uri=pending.redirect_uri,
            started_at=require_aware(pending.started_at, "pending.started_at"),
        )
        with storage_errors(self._engine, "keep a pending sign-on"), self._write.begin() as session:
            session.add(row)

    def take(self, key_sha256: str) -> PendingSignOn | None:
        # DELETE ... RETURNING: one statement, so two processes given the same answer cannot both take it.
        statement = (
            delete(PendingSignOnRow)
            .where(PendingSignOnRow.key_sha256 == key_sha256)
            .returning(
                PendingSignOnRow.state,
                PendingSignOnRow.nonce,
                PendingSignOnRow.verifier,
                PendingSignOnRow.redirect_uri,
                PendingSignOnRow.started_at,
            )
        )
        with storage_errors(self._engine, "take a pending sign-on"), self._write.begin() as session:
            found = session.execute(statement).one_or_none()
        if found is None:
            return None
        state, nonce, verifier, redirect_uri, started_at = found
        return PendingSignOn(state, nonce, verifier, redirect_uri, started_at)

    def forget_before(self, started_before: datetime) -> int:
        before = require_aware(started_before, "started_before")
        with storage_errors(self._engine, "forget expired sign-ons"), self._write.begin() as session:
            return rowcount(session.execute(delete(PendingSignOnRow).where(PendingSignOnRow.started_at < before)))
