"""The ``users``, ``user_sessions`` and ``sharing_agreements`` tables (implements ``vigie.domain.users.UserRepo``).

Same habits as the other repositories: one short transaction per call, rows turned into domain types before they
leave. Usernames are stored lower-cased, so ``Lea.Martin`` and ``lea.martin`` are one account.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from vigie.domain.users import (
    Role,
    Session,
    SharingAgreement,
    User,
    UserExistsError,
    UserNotFoundError,
)
from vigie.storage.database import for_reading, storage_errors
from vigie.storage.repositories import rowcount
from vigie.storage.tables import SessionRow, SharingAgreementRow, UserRow, require_aware


def _roles_text(roles: frozenset[Role]) -> str:
    return ",".join(sorted(role.value for role in roles))


class SqlUserRepo:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._write = sessionmaker(engine, expire_on_commit=False)
        self._read = sessionmaker(for_reading(engine), expire_on_commit=False)

    # --- accounts ------------------------------------------------------------------------------------------------

    def add(self, user: User) -> User:
        if user.id is not None:
            raise ValueError(f"user {user.id} is already stored")
        if user.created_at is None:
            raise ValueError("a new user needs its creation time")
        row = UserRow(
            username=user.username.lower(),
            display_name=user.display_name,
            commune_id=user.commune_id,
            roles=_roles_text(user.roles),
            password_hash=user.password_hash,
            authorised_until=user.authorised_until,
            trained_on=user.trained_on,
            totp_secret=user.totp_secret,
            totp_last_step=user.totp_last_step,
            disabled=user.disabled,
            failed_logins=0,
            locked_until=None,
            created_at=require_aware(user.created_at, "user.created_at"),
            created_by=user.created_by,
        )
        try:
            with storage_errors(self._engine, f"store user {user.username}"), self._write.begin() as session:
                if session.scalar(select(UserRow.id).where(UserRow.username == row.username)) is not None:
                    raise UserExistsError(f"a user named {row.username!r} exists already")
                session.add(row)
                session.flush()
                return _to_user(row)
        except IntegrityError as err:  # a concurrent creation of the same name
            raise UserExistsError(f"a user named {row.username!r} exists already") from err

    def get(self, user_id: int) -> User | None:
        with storage_errors(self._engine, f"read user {user_id}"), self._read.begin() as session:
            row = session.get(UserRow, user_id)
            return None if row is None else _to_user(row)

    def by_username(self, username: str) -> User | None:
        with storage_errors(self._engine, "read a user"), self._read.begin() as session:
            row = session.scalars(select(UserRow).where(UserRow.username == username.strip().lower())).one_or_none()
            return None if row is None else _to_user(row)

    def list(self, commune_ids: Sequence[str] | None = None) -> builtins.list[User]:
        query = select(UserRow).order_by(UserRow.commune_id, UserRow.username)
        if commune_ids is not None:
            query = query.where(UserRow.commune_id.in_(list(commune_ids)))
        with storage_errors(self._engine, "list users"), self._read.begin() as session:
            return [_to_user(row) for row in session.scalars(query)]

    def count_with_role(self, role: Role) -> int:
        with storage_errors(self._engine, "count users"), self._read.begin() as session:
            return sum(1 for roles in session.scalars(select(UserRow.roles)) if role.value in roles.split(","))

    def record_failure(self, user_id: int, *, failed_logins: int, locked_until: datetime | None) -> None:
        locked = None if locked_until is None else require_aware(locked_until, "locked_until")
        with storage_errors(self._engine, f"record a failed login of user {user_id}"), self._write.begin() as s:
            s.execute(
                update(UserRow).where(UserRow.id == user_id).values(failed_logins=failed_logins, locked_until=locked)
            )

    def record_success(self, user_id: int, *, totp_last_step: int | None) -> None:
        values: dict[str, object] = {"failed_logins": 0, "locked_until": None}
        if totp_last_step is not None:
            values["totp_last_step"] = totp_last_step
        with storage_errors(self._engine, f"record a login of user {user_id}"), self._write.begin() as s:
            s.execute(update(UserRow).where(UserRow.id == user_id).values(**values))

    def update(self, user: User) -> User:
        """Write the account's editable fields (names, roles, dates, password, second factor, disabled, lock)."""
        if user.id is None:
            raise ValueError("only a stored user can be updated")
        with storage_errors(self._engine, f"update user {user.username}"), self._write.begin() as session:
            row = session.get(UserRow, user.id)
            if row is None:
                raise UserNotFoundError(f"no user {user.id}")
            row.display_name, row.commune_id, row.roles = user.display_name, user.commune_id, _roles_text(user.roles)
            row.password_hash, row.totp_secret, row.totp_last_step = (
                user.password_hash,
                user.totp_secret,
                user.totp_last_step,
            )
            row.authorised_until, row.trained_on, row.disabled = user.authorised_until, user.trained_on, user.disabled
            row.failed_logins = user.failed_logins
            row.locked_until = None if user.locked_until is None else require_aware(user.locked_until)
            session.flush()
            return _to_user(row)

    # --- sessions ------------------------------------------------------------------------------------------------

    def add_session(self, session: Session) -> None:
        row = SessionRow(
            token_sha256=session.token_sha256,
            user_id=session.user_id,
            csrf_token=session.csrf_token,
            created_at=require_aware(session.created_at),
            last_seen_at=require_aware(session.last_seen_at),
            expires_at=require_aware(session.expires_at),
            client=session.client[:128],
        )
        with storage_errors(self._engine, "store a session"), self._write.begin() as s:
            s.add(row)

    def session(self, token_sha256: str) -> Session | None:
        with storage_errors(self._engine, "read a session"), self._read.begin() as s:
            row = s.get(SessionRow, token_sha256)
            if row is None:
                return None
            return Session(
                row.token_sha256,
                row.user_id,
                row.csrf_token,
                row.created_at,
                row.last_seen_at,
                row.expires_at,
                row.client,
            )

    def touch_session(self, token_sha256: str, *, last_seen_at: datetime) -> None:
        with storage_errors(self._engine, "refresh a session"), self._write.begin() as s:
            s.execute(
                update(SessionRow)
                .where(SessionRow.token_sha256 == token_sha256)
                .values(last_seen_at=require_aware(last_seen_at))
            )

    def drop_session(self, token_sha256: str) -> None:
        with storage_errors(self._engine, "end a session"), self._write.begin() as s:
            s.execute(delete(SessionRow).where(SessionRow.token_sha256 == token_sha256))

    def drop_sessions_of(self, user_id: int) -> int:
        with storage_errors(self._engine, f"end the sessions of user {user_id}"), self._write.begin() as s:
            return rowcount(s.execute(delete(SessionRow).where(SessionRow.user_id == user_id)))

    def drop_expired_sessions(self, now: datetime) -> int:
        with storage_errors(self._engine, "end expired sessions"), self._write.begin() as s:
            return rowcount(s.execute(delete(SessionRow).where(SessionRow.expires_at <= require_aware(now))))

    def session_count(self) -> int:
        with storage_errors(self._engine, "count sessions"), self._read.begin() as s:
            return int(s.scalar(select(func.count()).select_from(SessionRow)) or 0)

    # --- sharing agreements --------------------------------------------------------------------------------------

    def add_agreement(self, agreement: SharingAgreement) -> SharingAgreement:
        row = SharingAgreementRow(
            owner_commune=agreement.owner_commune,
            partner_commune=agreement.partner_commune,
            reference=agreement.reference,
            starts_on=agreement.starts_on,
            ends_on=agreement.ends_on,
            recorded_by=agreement.recorded_by,
            recorded_at=require_aware(agreement.recorded_at),
            revoked_at=None,
        )
        with storage_errors(self._engine, "store a sharing agreement"), self._write.begin() as s:
            s.add(row)
            s.flush()
            return _to_agreement(row)

    def agreements(self) -> builtins.list[SharingAgreement]:
        with storage_errors(self._engine, "list sharing agreements"), self._read.begin() as s:
            return [_to_agreement(r) for r in s.scalars(select(SharingAgreementRow).order_by(SharingAgreementRow.id))]

    def revoke_agreement(self, agreement_id: int, at: datetime) -> SharingAgreement:
        with storage_errors(self._engine, f"revoke sharing agreement {agreement_id}"), self._write.begin() as s:
            row = s.get(SharingAgreementRow, agreement_id)
            if row is None:
                raise LookupError(f"no sharing agreement {agreement_id}")
            if row.revoked_at is None:
                row.revoked_at = require_aware(at)
            return _to_agreement(row)


def _to_user(row: UserRow) -> User:
    return User(
        username=row.username,
        display_name=row.display_name,
        commune_id=row.commune_id,
        roles=frozenset(Role(r) for r in row.roles.split(",") if r),
        password_hash=row.password_hash,
        authorised_until=row.authorised_until,
        trained_on=row.trained_on,
        totp_secret=row.totp_secret,
        totp_last_step=row.totp_last_step,
        disabled=row.disabled,
        failed_logins=row.failed_logins,
        locked_until=row.locked_until,
        created_at=row.created_at,
        created_by=row.created_by,
        id=row.id,
    )


def _to_agreement(row: SharingAgreementRow) -> SharingAgreement:
    return SharingAgreement(
        owner_commune=row.owner_commune,
        partner_commune=row.partner_commune,
        reference=row.reference,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
        revoked_at=row.revoked_at,
        id=row.id,
    )
