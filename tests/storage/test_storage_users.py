"""Accounts, sessions and sharing agreements on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine

from vigie.domain.users import Role, Session, SharingAgreement, User, UserExistsError
from vigie.storage import SqlUserRepo

T0 = datetime(2026, 11, 28, 12, tzinfo=UTC)


def user(name: str = "Lea.Martin", commune: str = "villeurbanne", roles: frozenset[Role] | None = None) -> User:
    return User(
        username=name,
        display_name="Léa Martin",
        commune_id=commune,
        roles=roles or frozenset({Role.OPERATOR, Role.SUPERVISOR}),
        password_hash="$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$aGFzaA",
        authorised_until=date(2027, 6, 30),
        trained_on=date(2026, 9, 1),
        created_at=T0,
        created_by="cli:setup",
    )


def test_an_account_round_trips_and_usernames_ignore_case(db: Engine) -> None:
    repo = SqlUserRepo(db)
    stored = repo.add(user())
    assert stored.id is not None and stored.username == "lea.martin"
    assert repo.by_username("LEA.MARTIN") == stored == repo.get(stored.id)
    assert stored.roles == {Role.OPERATOR, Role.SUPERVISOR} and stored.authorised_until == date(2027, 6, 30)
    with pytest.raises(UserExistsError):
        repo.add(user("lea.martin", "bron"))
    assert repo.count_with_role(Role.OPERATOR) == 1 and repo.count_with_role(Role.ADMINISTRATOR) == 0


def test_failures_lock_and_a_success_resets(db: Engine) -> None:
    repo = SqlUserRepo(db)
    stored = repo.add(user())
    assert stored.id is not None
    repo.record_failure(stored.id, failed_logins=0, locked_until=T0 + timedelta(minutes=15))
    locked = repo.get(stored.id)
    assert locked is not None and locked.locked_until == T0 + timedelta(minutes=15)
    repo.record_success(stored.id, totp_last_step=123)
    back = repo.get(stored.id)
    assert back is not None and back.locked_until is None and back.failed_logins == 0 and back.totp_last_step == 123


def test_sessions_are_found_by_hash_and_expire(db: Engine) -> None:
    repo = SqlUserRepo(db)
    stored = repo.add(user())
    assert stored.id is not None
    for key, hours in (("a" * 64, 1), ("b" * 64, 12)):
        repo.add_session(Session(key, stored.id, "csrf", T0, T0, T0 + timedelta(hours=hours), "10.0.0.1"))
    assert repo.session("a" * 64) == Session("a" * 64, stored.id, "csrf", T0, T0, T0 + timedelta(hours=1), "10.0.0.1")
    assert repo.drop_expired_sessions(T0 + timedelta(hours=2)) == 1
    assert repo.session("a" * 64) is None and repo.session("b" * 64) is not None
    assert repo.drop_sessions_of(stored.id) == 1 and repo.session_count() == 0


def test_sharing_agreements_are_kept_and_revoked_once(db: Engine) -> None:
    repo = SqlUserRepo(db)
    agreement = repo.add_agreement(
        SharingAgreement("bron", "villeurbanne", "Conv. 14", date(2026, 11, 1), date(2026, 12, 31), "cli:x", T0)
    )
    assert agreement.id is not None and agreement.in_force(date(2026, 11, 28))
    revoked = repo.revoke_agreement(agreement.id, T0 + timedelta(days=1))
    assert not revoked.in_force(date(2026, 11, 28))
    assert repo.revoke_agreement(agreement.id, T0 + timedelta(days=5)).revoked_at == T0 + timedelta(days=1)
    assert repo.agreements() == [revoked]
