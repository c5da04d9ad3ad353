"""Accounts and logins (L8–L10, L11, L17): argon2id passwords, TOTP second factor, lockout, sessions, sharing.

- No default credentials: the first administrator is created by a command on the server
  (:meth:`AuthService.create_first_admin`, refused once an administrator exists); every other account by an
  administrator of the same tenant. Passwords are checked against a short policy (length, not the username, not a
  well-known default) and stored as argon2id hashes (argon2-cffi, rehashed on login when parameters change).
- Administrators and DPOs need a TOTP second factor (RFC 6238, through ``cryptography``'s implementation): its
  secret is created with the account, shown once as an ``otpauth://`` URI, and sealed at rest with a key the
  runtime keeps outside the database; a code is accepted once (its time step is remembered).
- Failed logins delay further attempts with the same name (:mod:`vigie.services.login_throttle`: after
  ``THROTTLE_AFTER`` failures, an exponential delay), whether the name is an account or not: the answers, their
  order and their cost are the same, so names cannot be enumerated; someone else's guesses delay an account at
  most ``THROTTLE_LONGEST`` after the last one, a correct password with a valid second factor passes the delay, and
  an administrator clears it.
- A login gives an opaque token (kept by the browser in an HttpOnly cookie; only its SHA-256 is stored) and a
  CSRF token; sessions end after ``IDLE_TIMEOUT`` without a request or ``ABSOLUTE_TIMEOUT`` after login.
- Every login success and failure is audited with the reason; the password, the code and the token never are.
  A failure for a username that does not exist is audited without the name typed (it may be a password typed in
  the wrong field).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken

from vigie.domain.actor import Actor
from vigie.domain.audit import AuditAction, AuditEvent
from vigie.domain.clock import legal_day
from vigie.domain.ports import AuditSink
from vigie.domain.redact import redact_text
from vigie.domain.users import (
    Permission,
    Role,
    Session,
    SharingAgreement,
    User,
    UserExistsError,
    UserNotFoundError,
    UserRepo,
    video_access_refusal,
)
from vigie.services.access import AccessDeniedError, Directory, Principal, visible_communes
from vigie.services.credentials import (
    TOTP_DIGITS,
    TOTP_STEP_S,
    new_totp_secret,
    password_problem,
    totp_uri,
    totp_verifier,
)
from vigie.services.login_throttle import FailureRecord, LoginAttempts

IDLE_TIMEOUT: Final = timedelta(minutes=30)
ABSOLUTE_TIMEOUT: Final = timedelta(hours=12)
CLI_SESSION_LIFETIME: Final = timedelta(minutes=15)
"""A session opened by ``vigie login`` ends this long after login (or sooner when idle): the token sits in a file
on the server, so it is kept short-lived."""
MAX_AUTHORISATION: Final = timedelta(days=5 * 365 + 1)
"""An authorisation to view video (L8) ends at most five years after the day it is recorded: an end in 9999 would
never be reviewed."""
TOUCH_EVERY: Final = timedelta(seconds=60)
"""A session's last activity is written at most this often (not on every request)."""


class LoginRefusedError(Exception):
    """A login that did not succeed. ``code`` is stable for clients; the message can be shown as is."""

    def __init__(self, code: str, message: str, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.retry_after_s = retry_after_s


class LoginThrottledError(LoginRefusedError):
    """Too many failed logins with this name: wait ``retry_after_s`` seconds. The same for every name typed,
    account or not."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(
            "too_many_attempts",
            f"too many failed attempts with this username: try again in {retry_after_s} s (or log in with your "
            "password and second factor, or ask an administrator)",
            retry_after_s=retry_after_s,
        )


class AccountError(ValueError):
    """An account change cannot be made as asked; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class NewAccount:
    user: User
    totp_uri: str | None
    """``otpauth://`` URI to load in an authenticator app, shown once (None without a second factor)."""


@dataclass(frozen=True, slots=True)
class LoggedIn:
    token: str
    """Opaque session token, for the HttpOnly cookie only."""
    principal: Principal


def _token_key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AuthService:
    def __init__(
        self,
        users: UserRepo,
        audit: AuditSink,
        directory: Directory,
        clock: Callable[[], datetime],
        *,
        sealing_key: bytes,
        hasher: PasswordHasher | None = None,
        today: Callable[[], date] | None = None,
        attempts: LoginAttempts | None = None,
    ) -> None:
        """``sealing_key``: a Fernet key (``Fernet.generate_key()``) kept outside the database, sealing TOTP
        secrets at rest. ``today``: the calendar day for authorisation and training dates (default: the clock's
        Paris day, :func:`vigie.domain.clock.legal_day`). ``attempts``: the throttle's table of names (the runtime
        gives one shared by every API process; default: this process's own)."""
        self._users = users
        self._audit = audit
        self._directory = directory
        self._clock = clock
        self._today = today or (lambda: legal_day(clock))
        self._fernet = Fernet(sealing_key)
        self._hasher = hasher or PasswordHasher()
        self._dummy_hash = ""
        """Checked for unknown usernames (same time as a wrong password); made at the first need, not at start."""
        self._attempts = attempts or LoginAttempts()
        """Failed logins with names that are no account (accounts keep theirs in their row), and the checks in
        flight for every name."""
        self._failure_lock = threading.Lock()
        """Counts an account's failures one at a time (read, add one, write) in this process."""

    # --- accounts ------------------------------------------------------------------------------------------------

    def create_first_admin(self, *, username: str, display_name: str, commune_id: str, password: str) -> NewAccount:
        """The first administrator, created from the server's command line; refused once one exists (L17)."""
        if self._users.count_with_role(Role.ADMINISTRATOR) > 0:
            raise AccountError(
                "an administrator exists already: further accounts are created by an administrator "
                "(`vigie users add` or the console)"
            )
        return self._create(
            by="cli:first-admin",
            username=username,
            display_name=display_name,
            commune_id=commune_id,
            roles=frozenset({Role.ADMINISTRATOR}),
            password=password,
            authorised_until=None,
            trained_on=None,
        )

    def add_user(
        self,
        by: Principal | Actor,
        *,
        username: str,
        display_name: str,
        commune_id: str,
        roles: Iterable[Role],
        password: str,
        authorised_until: date | None = None,
        trained_on: date | None = None,
    ) -> NewAccount:
        """An account created by an administrator of the same tenant (``by`` a principal), or from the server's
        command line (``by`` an :class:`Actor`)."""
        if isinstance(by, Principal):
            by.require(Permission.MANAGE_USERS)
            if commune_id != by.user.commune_id:
                raise AccessDeniedError(f"you manage the accounts of {by.user.commune_id} only, not of {commune_id}")
        actor = by.actor if isinstance(by, Principal) else by.name
        return self._create(
            by=actor,
            username=username,
            display_name=display_name,
            commune_id=commune_id,
            roles=frozenset(roles),
            password=password,
            authorised_until=authorised_until,
            trained_on=trained_on,
        )

    def _create(
        self,
        *,
        by: str,
        username: str,
        display_name: str,
        commune_id: str,
        roles: frozenset[Role],
        password: str,
        authorised_until: date | None,
        trained_on: date | None,
    ) -> NewAccount:
        username = username.strip().lower()
        if not username or len(username) > 64 or not all(c.isalnum() or c in "._-@" for c in username):
            raise AccountError("a username has 1 to 64 letters, digits, '.', '_', '-' or '@'")
        if not display_name.strip():
            raise AccountError("an account is a named person: give their first and last name (L8)")
        if self._directory.commune(commune_id) is None:
            known = ", ".join(c.id for c in self._directory.communes) or "none configured"
            raise AccountError(f"no commune {commune_id!r} in the configuration (known: {known})")
        if not roles:
            raise AccountError(f"give at least one role: {', '.join(r.value for r in Role)}")
        problem = password_problem(password, username)
        if problem:
            raise AccountError(problem)
        if authorised_until is not None and authorised_until < self._today():
            raise AccountError(f"the authorisation end {authorised_until.isoformat()} is in the past")
        self._check_dates(authorised_until, trained_on)
        secret = new_totp_secret() if any(r in roles for r in (Role.ADMINISTRATOR, Role.DPO)) else None
        now = self._clock()
        try:
            user = self._users.add(
                User(
                    username=username,
                    display_name=display_name.strip(),
                    commune_id=commune_id,
                    roles=roles,
                    password_hash=self._hasher.hash(password),
                    authorised_until=authorised_until,
                    trained_on=trained_on,
                    totp_secret=None if secret is None else self._seal(secret),
                    created_at=now,
                    created_by=by,
                )
            )
        except UserExistsError as err:
            raise AccountError(str(err)) from None
        self._audit.append(
            AuditEvent(
                actor=by,
                action=AuditAction.USER_CREATED,
                target=f"user:{username}",
                details={
                    "commune": commune_id,
                    "roles": sorted(r.value for r in roles),
                    "authorised_until": None if authorised_until is None else authorised_until.isoformat(),
                    "trained_on": None if trained_on is None else trained_on.isoformat(),
                    "second_factor": secret is not None,
                },
                at=now,
            )
        )
        return NewAccount(user, None if secret is None else totp_uri(secret, username))

    def today(self) -> date:
        return self._today()

    def _check_dates(self, authorised_until: date | None, trained_on: date | None) -> None:
        """A training is a past event, and an authorisation ends within ``MAX_AUTHORISATION`` (L8, L9): a training
        dated in the future would never need the three-year refresh, an end in 9999 never ends."""
        today = self._today()
        if trained_on is not None and trained_on > today:
            raise AccountError(
                f"the training date {trained_on.isoformat()} is in the future: record a training once it took place "
                f"(today is {today.isoformat()})"
            )
        if authorised_until is not None and authorised_until > today + MAX_AUTHORISATION:
            latest = today + MAX_AUTHORISATION
            raise AccountError(
                f"the authorisation end {authorised_until.isoformat()} is too far: an authorisation to view video is "
                f"renewed at least every {MAX_AUTHORISATION.days} days (at the latest {latest.isoformat()})"
            )

    def is_locked(self, user: User) -> bool:
        """Whether logins with this account's name are delayed now after failures (an administrator may clear it
        with ``unlock``)."""
        return user.locked_until is not None and user.locked_until > self._clock()

    def users(self, by: Principal) -> Sequence[User]:
        by.require(Permission.MANAGE_USERS)
        return self._users.list([by.user.commune_id])

    def update_user(
        self,
        by: Principal | Actor,
        username: str,
        *,
        authorised_until: date | None = None,
        trained_on: date | None = None,
        disabled: bool | None = None,
        unlock: bool = False,
    ) -> User:
        """Record a new authorisation end or training date, disable or enable, unlock; audited."""
        user = self._users.by_username(username)
        if user is None:
            raise UserNotFoundError(f"no user {username!r}")
        if isinstance(by, Principal):
            by.require(Permission.MANAGE_USERS)
            if user.commune_id != by.user.commune_id:
                raise UserNotFoundError(f"no user {username!r} in {by.user.commune_id}")
        self._check_dates(authorised_until, trained_on)
        changes: dict[str, object] = {}
        if authorised_until is not None:
            changes["authorised_until"] = authorised_until
        if trained_on is not None:
            changes["trained_on"] = trained_on
        if disabled is not None:
            changes["disabled"] = disabled
        if unlock:
            changes["failed_logins"], changes["locked_until"] = 0, None
        if not changes:
            raise AccountError("nothing to change")
        updated = self._users.update(replace(user, **changes))  # type: ignore[arg-type]
        if disabled and updated.id is not None:
            self._users.drop_sessions_of(updated.id)
        self._audit.append(
            AuditEvent(
                actor=by.actor if isinstance(by, Principal) else by.name,
                action=AuditAction.USER_CHANGED,
                target=f"user:{user.username}",
                details={k: (v.isoformat() if isinstance(v, date) else v) for k, v in changes.items()},
            )
        )
        return updated

    def reset_password(self, by: Actor, username: str, password: str) -> User:
        """Set a new password from the server's command line (forgotten password); ends the user's sessions."""
        user = self._users.by_username(username)
        if user is None or user.id is None:
            raise UserNotFoundError(f"no user {username!r}")
        problem = password_problem(password, user.username)
        if problem:
            raise AccountError(problem)
        updated = self._users.update(
            replace(user, password_hash=self._hasher.hash(password), failed_logins=0, locked_until=None)
        )
        self._users.drop_sessions_of(user.id)
        self._audit.append(
            AuditEvent(by.name, AuditAction.USER_CHANGED, f"user:{user.username}", {"password": "reset"})
        )
        return updated

    def change_password(self, principal: Principal, *, current: str, new: str) -> None:
        user = self._users.get(principal.user_id)
        if user is None or not self._verify(user.password_hash, current):
            raise AccountError("the current password is wrong")
        problem = password_problem(new, user.username)
        if problem:
            raise AccountError(problem)
        self._users.update(replace(user, password_hash=self._hasher.hash(new)))
        self._users.drop_sessions_of(principal.user_id)
        self._audit.append(
            AuditEvent(user.username, AuditAction.USER_CHANGED, f"user:{user.username}", {"password": "changed"})
        )

    # --- sharing agreements (L10) ---------------------------------------------------------------------------------

    def record_agreement(
        self, by: Principal | Actor, *, partner_commune: str, reference: str, starts_on: date, ends_on: date
    ) -> SharingAgreement:
        """``by``'s tenant (a principal's own, or the one a command-line actor acts for) shares its cameras with
        ``partner_commune``'s users between the two dates."""
        if isinstance(by, Principal):
            by.require(Permission.MANAGE_USERS)
            owner, actor = by.user.commune_id, by.actor
        elif by.commune_id is None:
            raise AccountError("name the commune that shares its cameras (the owner of the agreement)")
        else:
            owner, actor = by.commune_id, by.name
        for commune in (owner, partner_commune):
            if self._directory.commune(commune) is None:
                raise AccountError(f"no commune {commune!r} in the configuration")
        if owner == partner_commune:
            raise AccountError("a tenant always sees its own cameras: name another partner")
        if not reference.strip():
            raise AccountError("a sharing agreement needs the reference of the signed agreement (L10)")
        if ends_on < starts_on:
            raise AccountError("the agreement ends before it starts")
        now = self._clock()
        agreement = self._users.add_agreement(
            SharingAgreement(owner, partner_commune, reference.strip(), starts_on, ends_on, actor, now)
        )
        self._audit.append(
            AuditEvent(
                actor,
                AuditAction.SHARING_RECORDED,
                f"commune:{owner}",
                {
                    "agreement": agreement.id,
                    "partner": partner_commune,
                    "reference": redact_text(reference.strip()),
                    "starts_on": starts_on.isoformat(),
                    "ends_on": ends_on.isoformat(),
                },
                at=now,
            )
        )
        return agreement

    def agreements(self) -> Sequence[SharingAgreement]:
        return self._users.agreements()

    def revoke_agreement(self, by: Principal, agreement_id: int) -> SharingAgreement:
        by.require(Permission.MANAGE_USERS)
        mine = [a for a in self._users.agreements() if a.id == agreement_id and a.owner_commune == by.user.commune_id]
        if not mine:
            raise UserNotFoundError(f"no sharing agreement {agreement_id} of {by.user.commune_id}")
        agreement = self._users.revoke_agreement(agreement_id, self._clock())
        self._audit.append(
            AuditEvent(
                by.actor, AuditAction.SHARING_REVOKED, f"commune:{by.user.commune_id}", {"agreement": agreement_id}
            )
        )
        return agreement

    # --- login and sessions ---------------------------------------------------------------------------------------

    def login(
        self, username: str, password: str, *, totp: str = "", client: str = "", lifetime: timedelta | None = None
    ) -> LoggedIn:
        """Check the password (and TOTP code where the account needs one) and open a session; ``lifetime`` shortens
        the session below ``ABSOLUTE_TIMEOUT`` (``CLI_SESSION_LIFETIME`` for the command line)."""
        now = self._clock()
        found = self._users.by_username(username) if 0 < len(username) <= 64 else None
        user = found if found is not None and found.id is not None else None
        with self._attempts.checking(username, lambda: self._failures_of(user, username, now), now) as check:
            if not check.held:  # as many checks of this name in flight as it may still fail: a parallel guess
                self._fail(user, "throttled", client, now)
                raise LoginThrottledError(max(1, check.wait))
            if check.wait:
                return self._login_while_throttled(
                    user, password, totp=totp, client=client, now=now, wait=check.wait, lifetime=lifetime
                )
            return self._check_login(user, username, password, totp=totp, client=client, now=now, lifetime=lifetime)

    def _check_login(
        self,
        user: User | None,
        username: str,
        password: str,
        *,
        totp: str,
        client: str,
        now: datetime,
        lifetime: timedelta | None,
    ) -> LoggedIn:
        """A login with a name that is not delayed: the password, then the account's state and second factor."""
        if user is None:
            self._hasher_burn(password)  # same time as a wrong password: whether a name exists does not leak
            self._attempts.fail_unknown(username, now)
            self._fail(None, "unknown_user", client, now)
            raise LoginRefusedError("invalid_credentials", "wrong username or password")
        if not self._verify(user.password_hash, password):
            self._count_failure(user, "wrong_password", client, now)
            raise LoginRefusedError("invalid_credentials", "wrong username or password")
        if user.disabled:
            self._fail(user, "disabled", client, now)
            raise LoginRefusedError("disabled", "this account is disabled: ask an administrator")
        step = None
        if user.needs_second_factor:
            if user.totp_secret is None:
                self._fail(user, "no_second_factor_enrolled", client, now)
                raise LoginRefusedError(
                    "second_factor_not_enrolled",
                    "this account needs a second factor that is not enrolled: ask an administrator to reset it",
                )
            if not totp.strip():
                self._fail(user, "second_factor_missing", client, now)
                raise LoginRefusedError("second_factor_required", "enter the 6-digit code of your authenticator app")
            step = self._check_totp(user, totp.strip(), now)
            if step is None:
                self._count_failure(user, "second_factor_wrong", client, now)
                raise LoginRefusedError("second_factor_wrong", "the 6-digit code is wrong or was already used")
        return self._password_login(user, password, step, client, lifetime)

    def _password_login(
        self,
        user: User,
        password: str,
        step: int | None,
        client: str,
        lifetime: timedelta | None,
        *,
        throttle_lifted: bool = False,
    ) -> LoggedIn:
        """Open the session of a person whose password (and code) were right; their failures are cleared."""
        if user.id is None:
            raise UserNotFoundError(f"no stored user {user.username!r}")
        self._users.record_success(user.id, totp_last_step=step)
        if self._hasher.check_needs_rehash(user.password_hash):
            self._users.update(replace(user, password_hash=self._hasher.hash(password)))
        return self._open_session(
            user,
            user.id,
            method="password",
            second_factor=step is not None,
            client=client,
            lifetime=lifetime,
            throttle_lifted=throttle_lifted,
        )

    def _failures_of(self, user: User | None, username: str, now: datetime) -> FailureRecord:
        """The failed logins that count now for the name typed: the account's (read again), or the unknown name's."""
        if user is not None:
            stored = self._users.get(user.id) if user.id is not None else None
            user = stored or user
            return FailureRecord(user.failed_logins, user.locked_until).current(now)
        return self._attempts.unknown(username).current(now)

    def _login_while_throttled(
        self,
        user: User | None,
        password: str,
        *,
        totp: str,
        client: str,
        now: datetime,
        wait: int,
        lifetime: timedelta | None,
    ) -> LoggedIn:
        """A login with a name whose failures delay it: refused (429) unless the account has a second factor and
        both the password and a fresh code are right, which proves the rightful person (the delay is then
        cleared). Every refusal costs one password check and says the same, whatever the name: no way to tell an
        account, or one with a second factor, from a name that is none. Refusals here are not counted."""
        step = None
        if user is not None and user.totp_secret is not None:
            if self._verify(user.password_hash, password) and not user.disabled:
                step = self._check_totp(user, totp.strip(), now)
        else:
            self._hasher_burn(password)
        if user is None or step is None:
            self._fail(user, "throttled", client, now)
            raise LoginThrottledError(wait)
        return self._password_login(user, password, step, client, lifetime, throttle_lifted=True)

    def login_identified(self, username: str, *, method: str, second_factor: bool, client: str = "") -> LoggedIn:
        """A login whose identity an outside provider proved (``method``: ``oidc``), for an existing account only.

        The provider says who the person is; Vigie decides what they may do: an unknown username is refused (an
        account is never created here), so are a disabled account, and an administrator or DPO without a
        ``second_factor`` proven by the provider. Failed password logins do not delay it (the provider proved who
        the person is: nothing is guessed here), and its refusals do not count towards that delay. The identity of
        an unknown person is audited as the provider gave it (it was not typed)."""
        now = self._clock()
        username = username.strip().lower()
        user = self._users.by_username(username) if 0 < len(username) <= 64 else None
        if user is None or user.id is None:
            self._fail(None, "unknown_user", client, now, method=method, identity=username[:64])
            raise LoginRefusedError(
                "unknown_user",
                "no Vigie account has this identity: an administrator of your commune must create it first",
            )
        if user.disabled:
            self._fail(user, "disabled", client, now, method=method)
            raise LoginRefusedError("disabled", "this account is disabled: ask an administrator")
        if user.needs_second_factor and not second_factor:
            self._fail(user, "second_factor_missing", client, now, method=method)
            raise LoginRefusedError(
                "second_factor_required",
                "administrators and DPOs need a second factor: log in with your password and code, or ask the "
                "identity provider for a second factor",
            )
        self._users.record_success(user.id, totp_last_step=None)
        return self._open_session(user, user.id, method=method, second_factor=second_factor, client=client)

    def login_failed(self, reason: str, *, method: str, client: str = "", problem: str = "") -> None:
        """Audit a login that failed before any account was known (a refused or broken sign-on flow); ``problem``
        says what went wrong and must hold no token, code or secret."""
        self._fail(None, reason, client, self._clock(), method=method, problem=problem)

    def _open_session(
        self,
        user: User,
        user_id: int,
        *,
        method: str,
        second_factor: bool,
        client: str,
        lifetime: timedelta | None = None,
        throttle_lifted: bool = False,
    ) -> LoggedIn:
        """The one way a session starts, whatever proved the person: token, CSRF token, audit."""
        now = self._clock()
        length = ABSOLUTE_TIMEOUT if lifetime is None else min(lifetime, ABSOLUTE_TIMEOUT)
        token = secrets.token_urlsafe(32)
        session = Session(
            token_sha256=_token_key(token),
            user_id=user_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + length,
            client=client,
        )
        self._users.drop_expired_sessions(now)
        self._users.add_session(session)
        self._audit.append(
            AuditEvent(
                user.username,
                AuditAction.LOGIN_SUCCEEDED,
                f"user:{user.username}",
                {"client": client, "method": method, "second_factor": second_factor}
                | ({"throttle_lifted": True} if throttle_lifted else {}),
                at=now,
            )
        )
        return LoggedIn(token, self._principal(user, session))

    def resolve(self, token: str) -> Principal | None:
        """The person behind a session token, or None when the token is unknown, expired, idle too long, or
        the account was disabled since."""
        if not token or len(token) > 128:
            return None
        key = _token_key(token)
        session = self._users.session(key)
        if session is None:
            return None
        now = self._clock()
        if now >= session.expires_at or now - session.last_seen_at >= IDLE_TIMEOUT:
            self._users.drop_session(key)
            return None
        user = self._users.get(session.user_id)
        if user is None or user.disabled:
            self._users.drop_session(key)
            return None
        if now - session.last_seen_at >= TOUCH_EVERY:
            self._users.touch_session(key, last_seen_at=now)
        return self._principal(user, session)

    def in_session(self, principal: Principal) -> bool:
        """Whether ``principal`` acts through a session that a login opened and that is open now (what the
        person-only acts ask, such as playing a message on loudspeakers: a principal made without a login has none)."""
        if not principal.session_key:
            return False
        session = self._users.session(principal.session_key)
        if session is None or session.user_id != principal.user.id:
            return False
        now = self._clock()
        return now < session.expires_at and now - session.last_seen_at < IDLE_TIMEOUT

    def logout(self, principal: Principal) -> None:
        self._users.drop_session(principal.session_key)
        self._audit.append(AuditEvent(principal.actor, AuditAction.LOGOUT, f"user:{principal.actor}", {}))

    def denied(self, principal: Principal | None, what: str, reason: str, client: str = "") -> None:
        """Audit a refused access (a request for video or data the person may not have)."""
        self._audit.append(
            AuditEvent(
                principal.actor if principal else "anonymous",
                AuditAction.ACCESS_DENIED,
                what,
                {"reason": redact_text(reason), "client": client},
            )
        )

    def principal_exists(self, username: str) -> bool:
        return self._users.by_username(username) is not None

    def principal_for(self, username: str) -> Principal:
        """A principal for ``username`` without a session (commands run on the server on a person's behalf)."""
        user = self._users.by_username(username)
        if user is None:
            raise UserNotFoundError(f"no user {username!r}")
        return self._principal(user, None)

    def _principal(self, user: User, session: Session | None) -> Principal:
        today = self._today()
        return Principal(
            user=replace(user, password_hash="", totp_secret=None),
            communes=visible_communes(user, self._users.agreements(), today),
            directory=self._directory,
            video_refusal=video_access_refusal(user, today),
            csrf_token=session.csrf_token if session else "",
            session_key=session.token_sha256 if session else "",
        )

    # --- helpers --------------------------------------------------------------------------------------------------

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return bool(self._hasher.verify(password_hash, password))
        except (VerificationError, InvalidHashError):
            return False

    def _hasher_burn(self, password: str) -> None:
        if not self._dummy_hash:
            self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))
        self._verify(self._dummy_hash, password)

    def _check_totp(self, user: User, code: str, now: datetime) -> int | None:
        """The time step of ``code`` when it is valid now (± one step of clock drift) and newer than the last
        accepted one; None otherwise."""
        if user.totp_secret is None or len(code) != TOTP_DIGITS or not code.isdigit():
            return None
        secret = self._unseal(user.totp_secret)
        current = int(now.timestamp()) // TOTP_STEP_S
        for step in (current - 1, current, current + 1):
            expected = totp_verifier(secret).generate(step * TOTP_STEP_S)
            if hmac.compare_digest(expected, code.encode("ascii")):
                if user.totp_last_step is not None and step <= user.totp_last_step:
                    return None  # replayed code
                return step
        return None

    def _count_failure(self, user: User, reason: str, client: str, now: datetime) -> None:
        """One more failure of the account, counted on its row as it is now (parallel failures in this process are
        counted one after the other, none lost)."""
        with self._failure_lock:
            stored = self._users.get(user.id) if user.id is not None else None
            base = user if stored is None else stored
            after = FailureRecord(base.failed_logins, base.locked_until).after_failure(now)
            if user.id is not None:
                self._users.record_failure(user.id, failed_logins=after.failures, locked_until=after.until)
        delayed = after.until is not None and after.until > now
        self._fail(user, reason, client, now, throttled_until=after.until if delayed else None)

    def _fail(
        self,
        user: User | None,
        reason: str,
        client: str,
        now: datetime,
        throttled_until: datetime | None = None,
        *,
        method: str = "password",
        identity: str | None = None,
        problem: str = "",
    ) -> None:
        details: dict[str, object] = {"reason": reason, "client": client, "method": method}
        if throttled_until is not None:
            details["throttled_until"] = throttled_until.isoformat()
        if identity is not None:
            details["identity"] = identity
        if problem:
            details["problem"] = redact_text(problem)
        self._audit.append(
            AuditEvent(
                user.username if user else "anonymous",
                AuditAction.LOGIN_FAILED,
                f"user:{user.username}" if user else "user:unknown",
                details,
                at=now,
            )
        )

    def _seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("ascii")).decode("ascii")

    def _unseal(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("ascii")
        except InvalidToken as err:
            raise AccountError(
                "the second-factor secret cannot be unsealed with this server's key (was the key file replaced?)"
            ) from err
