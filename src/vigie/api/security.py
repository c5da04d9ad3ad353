"""Who is calling: the session cookie, the CSRF check, and the login rate limit.

- The session token travels only in an ``HttpOnly``, ``SameSite=Strict`` cookie (``Secure`` when the request came
  over HTTPS or the configuration says so); JavaScript never sees it.
- Every state-changing request (POST, PUT, PATCH, DELETE) of a logged-in person must carry the session's CSRF
  token in the ``X-CSRF-Token`` header (synchroniser token, compared in constant time); the console reads it from
  ``GET /api/auth/me``.
- Login attempts are limited per client address (sliding window, in the API process) on top of the per-name delay
  of :mod:`vigie.services.login_throttle`, so guessing across many accounts is slowed too. The address limit is
  checked before the request's body is read (:class:`AddressLimitedRoute`): a flood of bodies, well-formed or
  not, is refused for what it is.
- The client address is the connection's peer. ``X-Forwarded-For`` and ``X-Forwarded-Proto`` count only when the
  peer is one of the configured ``api.trusted_proxies``: the server (the composition root) applies them before the
  application sees the request, so ``request.client`` and ``request.url.scheme`` are already the real ones, and
  nothing here reads those headers from anyone.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Final

from fastapi import Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute

from vigie.domain.users import Permission
from vigie.services.access import Principal
from vigie.services.auth import AuthService

SESSION_COOKIE: Final = "vigie_session"
CSRF_HEADER: Final = "X-CSRF-Token"
UNSAFE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class NotAuthenticatedError(Exception):
    """No valid session: log in again."""


class CsrfError(Exception):
    """A state-changing request without the session's CSRF token."""


class TooManyAttemptsError(Exception):
    def __init__(self, retry_after_s: int, message: str = "") -> None:
        super().__init__(message or f"too many login attempts from this address: wait {retry_after_s} s")
        self.retry_after_s = retry_after_s


class LoginRateLimiter:
    """At most ``attempts`` logins per ``window_s`` per client address; the table of addresses is bounded."""

    def __init__(
        self,
        attempts: int = 10,
        window_s: float = 60.0,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._attempts = attempts
        self._window = window_s
        self._max_clients = max_clients
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        """Count one attempt of ``client``; raise :class:`TooManyAttemptsError` when over the limit."""
        now = self._clock()
        with self._lock:
            if len(self._seen) >= self._max_clients and client not in self._seen:
                self._forget_idle(now)
            times = self._seen.setdefault(client, deque())
            while times and now - times[0] >= self._window:
                times.popleft()
            if len(times) >= self._attempts:
                raise TooManyAttemptsError(int(self._window - (now - times[0])) + 1)
            times.append(now)

    def _forget_idle(self, now: float) -> None:
        for client in [c for c, t in self._seen.items() if not t or now - t[-1] >= self._window]:
            del self._seen[client]
        while len(self._seen) >= self._max_clients:  # still full of active clients: drop the oldest
            del self._seen[next(iter(self._seen))]


def client_address(request: Request) -> str:
    """The client as the audit and the limits know it: the connection's peer, or the address a trusted proxy
    forwarded (resolved by the server before the request gets here)."""
    return request.client.host if request.client else "unknown"


class AddressLimitedRoute(APIRoute):
    """A route whose calls count towards the client address's login limit before anything else: before the body
    is read and validated, before the dependencies, so that a refused client costs no parsing (issue 15, D6) and
    malformed attempts count like the others."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def limited(request: Request) -> Response:
            limiter: LoginRateLimiter = request.app.state.login_limiter
            limiter.check(client_address(request))
            return await handler(request)

        return limited


def auth_service(request: Request) -> AuthService:
    service: AuthService = request.app.state.services.auth
    return service


def current_principal(request: Request) -> Principal:
    """The logged-in person, for every route that needs one; checks CSRF on state-changing requests."""
    token = request.cookies.get(SESSION_COOKIE, "")
    principal = auth_service(request).resolve(token)
    if principal is None:
        raise NotAuthenticatedError("log in first (no session, or it has expired)")
    request.state.principal = principal
    if request.method in UNSAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not hmac.compare_digest(sent.encode(), principal.csrf_token.encode()):
            raise CsrfError(f"missing or wrong {CSRF_HEADER} header: reload the page")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def still_allowed(auth: AuthService, token: str, permission: Permission | None = None) -> Principal | None:
    """The person behind ``token`` now, for responses that last (live view, the feed, the wall) and check again
    from time to time: None once the session has ended (logout, expiry, account disabled) or, with
    ``permission``, once they may no longer do it (authorisation or training expired)."""
    principal = await run_in_threadpool(auth.resolve, token)
    if principal is None or (permission is not None and not principal.can(permission)):
        return None
    return principal
