"""One error format for the whole API: ``{"error": {"code", "message", "details"}}``.

Refusals of the services map to statuses here, once: not logged in 401, not allowed 403 (audited), not among what
the caller may see 404 (exactly like something that does not exist: another tenant's camera does not leak), a
camera whose prefectoral authorisation is not in force 403 ``camera_not_authorised`` (audited, L1), a
decision already taken 409, a request a person can fix 422, too many attempts 429.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from vigie.api.security import CsrfError, NotAuthenticatedError, TooManyAttemptsError, client_address
from vigie.domain.alerts import AlertAlreadyDecidedError, AlertNotFoundError
from vigie.domain.users import UserNotFoundError
from vigie.services.access import AccessDeniedError, NotVisibleError
from vigie.services.alerts import AlertRefusedError
from vigie.services.audit import AuditUnavailableError
from vigie.services.auth import AccountError, LoginRefusedError
from vigie.services.cameras import CameraNotAuthorisedError
from vigie.services.events import InvalidQuery
from vigie.services.exports import ExportBusyError, ExportNotReadyError, ExportRefused, ExportsUnavailableError
from vigie.services.governance_access import GovernanceRefusedError
from vigie.services.snapshots import NoSnapshotError

log = logging.getLogger(__name__)


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content=error_body(code, message), headers=headers)


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
)
"""Refusals answered with their own message, a status and a code, and nothing else."""


def _plain(status: int, code: str) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def handler(_: Request, exc: Exception) -> JSONResponse:
        return _error(status, code, str(exc))

    return handler


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details: list[dict[str, Any]] = []
        unknown: list[str] = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ())]
            message = err.get("msg", "")
            if err.get("type") == "extra_forbidden":  # a key the schema does not know: refused, never dropped
                name = ".".join(loc[1:] if loc[:1] == ["body"] else loc)
                unknown.append(name)
                message = f"unknown field {name!r}: not part of this request (check its spelling)"
            details.append({"field": ".".join(loc), "message": message})
        summary = "the request is invalid"
        if unknown:
            summary += f": unknown field(s) {', '.join(repr(n) for n in unknown)}"
        return JSONResponse(status_code=422, content=error_body("invalid_request", summary, details))

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
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 503: "unavailable"}.get(exc.status_code, "http_error")
        return JSONResponse(status_code=exc.status_code, content=error_body(code, str(exc.detail)))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected server error: %s", type(exc).__name__, exc_info=exc)
        return _error(500, "internal_error", "unexpected server error")
