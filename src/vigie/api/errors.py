"""One error format for the whole API: ``{"error": {"code", "message", "details"}}``.

Refusals of the services map to statuses here, once: not logged in 401, not allowed 403 (audited), not among what
the caller may see 404 (exactly like something that does not exist: another tenant's camera does not leak), a
camera whose prefectoral authorisation is not in force 403 ``camera_not_authorised`` (audited, L1), a
decision already taken 409, a body larger than the route accepts 413 ``too_large`` (:mod:`vigie.api.limits`), a
request a person can fix 422 (naming the field: a date out of range says which and what range), too many
attempts 429.

A route whose refusals are audited by its service (an export: every attempt is in the audit log, L13) also has
the requests refused here, before they reach it, recorded through the ``audited_refusals`` it was given.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vigie.api.limits import BodyTooLargeError, body_limit
from vigie.api.schemas import DATE_ERRORS
from vigie.api.security import CsrfError, NotAuthenticatedError, TooManyAttemptsError, client_address
from vigie.domain.access_requests import AccessRequestError
from vigie.domain.alerts import AlertAlreadyDecidedError, AlertNotFoundError
from vigie.domain.camera_groups import CameraGroupConflictError, CameraGroupError
from vigie.domain.case_objects import ObjectQueryError
from vigie.domain.errors import StoreUnavailableError
from vigie.domain.layouts import LayoutConflictError, LayoutError
from vigie.domain.ptz import PtzError
from vigie.domain.site_plans import SitePlanError
from vigie.domain.speakers import SpeakerUnreachableError
from vigie.domain.users import UserNotFoundError
from vigie.services.access import AccessDeniedError, NotVisibleError, Principal
from vigie.services.access_requests import (
    AccessRequestBusyError,
    AccessRequestConflictError,
    AccessRequestsUnavailableError,
    SecondPersonError,
)
from vigie.services.alerts import AlertRefusedError
from vigie.services.audit import AuditUnavailableError
from vigie.services.auth import AccountError, LoginRefusedError
from vigie.services.cameras import CameraNotAuthorisedError
from vigie.services.case_search import FootageGoneError
from vigie.services.cases import (
    CaseClosedError,
    CaseConflictError,
    CaseRefusedError,
    CasesUnavailableError,
    OutOfScopeError,
)
from vigie.services.events import InvalidQuery
from vigie.services.exports import ExportBusyError, ExportNotReadyError, ExportRefused, ExportsUnavailableError
from vigie.services.governance_access import GovernanceRefusedError
from vigie.services.map import BasemapUnavailableError, NoBasemapError
from vigie.services.ptz import DomeUnreachableError, PtzLockedError, PtzUnavailableError
from vigie.services.ptz_tracking import TrackingBusyError, TrackingRefusedError
from vigie.services.snapshots import NoSnapshotError
from vigie.services.speakers import SpeakerRefusedError
from vigie.services.webhooks import WebhookNotDisabledError

log = logging.getLogger(__name__)

RefusalRecorder = Callable[[Request, Principal, Any, str], None]
"""Records, through the route's service, a request of ``principal`` refused before reaching it: the raw body (any
JSON, or None) and what was wrong. Called in a worker thread; a failure is logged and the refusal stands."""


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content=error_body(code, message), headers=headers)


STORE_UNAVAILABLE = "the database cannot be read or written just now; nothing was changed, try again in a few seconds"
STORE_RETRY_AFTER_S = 5

_PLAIN: tuple[tuple[type[Exception], int, str], ...] = (
    (InvalidQuery, 422, "invalid_request"),
    (AlertRefusedError, 422, "invalid_request"),
    (AccountError, 422, "invalid_request"),
    (NotAuthenticatedError, 401, "not_authenticated"),
    (CsrfError, 403, "csrf"),
    (NotVisibleError, 404, "not_found"),
    (AlertNotFoundError, 404, "not_found"),
    (NoSnapshotError, 404, "not_found"),
    (UserNotFoundError, 404, "not_found"),
    (AlertAlreadyDecidedError, 409, "already_decided"),
    (AuditUnavailableError, 503, "unavailable"),
    (ExportRefused, 422, "invalid_request"),
    (ExportNotReadyError, 409, "not_ready"),
    (ExportBusyError, 429, "too_many_exports"),
    (ExportsUnavailableError, 503, "unavailable"),
    (PtzError, 422, "invalid_request"),
    (PtzLockedError, 409, "locked"),
    (PtzUnavailableError, 404, "not_found"),
    (DomeUnreachableError, 503, "unavailable"),
    (TrackingRefusedError, 403, "not_activated"),
    (TrackingBusyError, 409, "busy"),
    (SpeakerRefusedError, 422, "invalid_request"),
    (SpeakerUnreachableError, 503, "unavailable"),
    (WebhookNotDisabledError, 409, "not_disabled"),
    (CaseRefusedError, 422, "invalid_request"),
    (CaseClosedError, 409, "case_closed"),
    (CaseConflictError, 409, "conflict"),
    (CameraGroupError, 422, "invalid_request"),
    (CameraGroupConflictError, 409, "conflict"),
    (OutOfScopeError, 403, "out_of_scope"),
    (CasesUnavailableError, 503, "unavailable"),
    (ObjectQueryError, 422, "invalid_request"),
    (FootageGoneError, 404, "not_found"),
    (AccessRequestError, 422, "invalid_request"),
    (AccessRequestConflictError, 409, "conflict"),
    (SecondPersonError, 403, "second_person"),
    (AccessRequestBusyError, 429, "busy"),
    (AccessRequestsUnavailableError, 503, "unavailable"),
    (LayoutError, 422, "invalid_request"),
    (LayoutConflictError, 409, "conflict"),
    (SitePlanError, 422, "invalid_request"),
    (BasemapUnavailableError, 503, "unavailable"),
    (NoBasemapError, 404, "not_found"),
)
"""Refusals answered with their own message, a status and a code, and nothing else."""


def _plain(status: int, code: str) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def handler(_: Request, exc: Exception) -> JSONResponse:
        return _error(status, code, str(exc))

    return handler


_GENERIC_TOO_LARGE = frozenset({"Content Too Large", "Request Entity Too Large"})
"""What the framework's cap says (Starlette, and the HTTP phrase): replaced by a message naming the cap."""


def _too_large(limit: int | None, message: str | None = None) -> JSONResponse:
    # The rest of the body is never read: the connection cannot carry another request, and the client is told so.
    return _error(413, "too_large", message or str(BodyTooLargeError(limit)), {"Connection": "close"})


class TooLargeInOneFormat:
    """The outermost layer of the application: Starlette's body cap answers a body *announced* over the cap
    (``Content-Length``) with its own plain-text 413, put in place of whatever the application answered (our JSON
    413 included), from outside every handler; this puts that answer back in the API's error format. (A body cut
    while it streams raises into the handlers below instead, and needs nothing here.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        replaced: list[int | None] = []  # the cap, once the framework's plain 413 is being replaced

        async def send_in_format(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 413 and not _json(message):
                limit = scope.get(MAX_BODY_SIZE_SCOPE_KEY)
                replaced.append(limit if isinstance(limit, int) else None)
                return
            if not replaced:
                await send(message)
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                await _too_large(replaced[0])(scope, receive, send)

        await self.app(scope, receive, send_in_format)


def _json(start: Message) -> bool:
    return any(k.lower() == b"content-type" and v.startswith(b"application/json") for k, v in start.get("headers", []))


def _invalid(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    """The 422's message and details: unknown fields and dates out of range are named in the message itself."""
    details: list[dict[str, Any]] = []
    unknown: list[str] = []
    named: list[str] = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        message = err.get("msg", "")
        if err.get("type") == "extra_forbidden":  # a key the schema does not know: refused, never dropped
            name = ".".join(loc[1:] if loc[:1] == ["body"] else loc)
            unknown.append(name)
            message = f"unknown field {name!r}: not part of this request (check its spelling)"
        elif err.get("type") in DATE_ERRORS and loc:
            named.append(f"{loc[-1]} {message}")
        details.append({"field": ".".join(loc), "message": message})
    said = [f"unknown field(s) {', '.join(repr(n) for n in unknown)}"] if unknown else []
    said += named
    return "the request is invalid" + (": " + "; ".join(said) if said else ""), details


def install_error_handlers(
    app: FastAPI, *, audited_refusals: Mapping[Callable[..., Any], RefusalRecorder] | None = None
) -> None:
    """``audited_refusals``: by route endpoint, how a request refused before the route ran is recorded."""
    recorders = dict(audited_refusals or {})

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        summary, details = _invalid(exc)
        endpoint = getattr(request.scope.get("route"), "endpoint", None)
        record = recorders.get(endpoint) if endpoint is not None else None
        principal = getattr(request.state, "principal", None)
        if record is not None and isinstance(principal, Principal):
            what = "; ".join(f"{d['field']}: {d['message']}" for d in details)
            try:
                await run_in_threadpool(record, request, principal, exc.body, what)
            except Exception:  # the refusal stands even if its trace cannot be written; the failure is logged
                log.exception("could not audit a refused request")
        return JSONResponse(status_code=422, content=error_body("invalid_request", summary, details))

    @app.exception_handler(BodyTooLargeError)
    async def _body_too_large(_: Request, exc: BodyTooLargeError) -> JSONResponse:
        return _too_large(exc.limit)

    for error, status, code in _PLAIN:
        app.add_exception_handler(error, _plain(status, code))

    @app.exception_handler(GovernanceRefusedError)
    async def _governance_refused(_: Request, exc: GovernanceRefusedError) -> JSONResponse:
        # one detail per reason the governance rules give (already audited by the service)
        return JSONResponse(status_code=422, content=error_body("refused", str(exc), exc.details()))

    @app.exception_handler(LoginRefusedError)
    async def _login_refused(_: Request, exc: LoginRefusedError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s else None
        return _error(401, exc.code, str(exc), headers)

    @app.exception_handler(TooManyAttemptsError)
    async def _too_many(_: Request, exc: TooManyAttemptsError) -> JSONResponse:
        return _error(429, "too_many_attempts", str(exc), {"Retry-After": str(exc.retry_after_s)})

    @app.exception_handler(AccessDeniedError)
    async def _denied(request: Request, exc: AccessDeniedError) -> JSONResponse:
        principal = getattr(request.state, "principal", None)
        try:
            request.app.state.services.auth.denied(
                principal, f"{request.method} {request.url.path}", str(exc), client_address(request)
            )
        except Exception:  # the refusal stands even if its trace cannot be written; the failure is logged
            log.exception("could not audit a refused access")
        code = "camera_not_authorised" if isinstance(exc, CameraNotAuthorisedError) else "forbidden"
        return _error(403, code, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 413:  # the framework's cap (vigie.api.limits) stopped reading the body, or a route's own
            detail = str(exc.detail)
            return _too_large(body_limit(request), None if detail in _GENERIC_TOO_LARGE else detail)
        code = {404: "not_found", 405: "method_not_allowed", 503: "unavailable"}.get(exc.status_code, "http_error")
        return JSONResponse(status_code=exc.status_code, content=error_body(code, str(exc.detail)))

    @app.exception_handler(StoreUnavailableError)
    async def _store_unavailable(_: Request, exc: StoreUnavailableError) -> JSONResponse:
        # The message names the server's database: logged, never shown (issue #15: an outage is not a 500).
        log.warning("request refused, the database is unavailable: %s", exc)
        return _error(503, "unavailable", STORE_UNAVAILABLE, {"Retry-After": str(STORE_RETRY_AFTER_S)})

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected server error: %s", type(exc).__name__, exc_info=exc)
        return _error(500, "internal_error", "unexpected server error")
