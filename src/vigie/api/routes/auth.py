"""Log in (password, or single sign-on through an OpenID provider), log out, who am I, change my password.
Logins are audited by the services (L11)."""

from __future__ import annotations

from typing import Final
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import RedirectResponse

from vigie.api.schemas import AuthMethodsOut, LoginIn, MeOut, OidcMethodOut, PasswordChangeIn
from vigie.api.security import (
    SESSION_COOKIE,
    AddressLimitedRoute,
    CurrentPrincipal,
    TooManyAttemptsError,
    auth_service,
    client_address,
)
from vigie.domain.users import STATE_SERVICE_PERMISSIONS
from vigie.services.access import Principal
from vigie.services.auth import ABSOLUTE_TIMEOUT, LoginRefusedError, LoginThrottledError
from vigie.services.oidc import PENDING_FOR, OidcLogin, SignOnError
from vigie.services.plates import STATE

router = APIRouter(prefix="/api/auth", tags=["auth"])

SIGN_ON_COOKIE: Final = "vigie_oidc"
"""Holds the key of a sign-on in progress between the login redirect and the provider's callback.

``SameSite=Lax``: the callback is a top-level navigation coming from the provider's site, which a ``Strict``
cookie would not follow. It carries no session, only a random key to the server-side state, nonce and verifier."""
SIGN_ON_PATH: Final = "/api/auth/oidc"
OIDC_LOGIN_URL: Final = f"{SIGN_ON_PATH}/login"


def _usable_permissions(principal: Principal) -> list[str]:
    """What the console may offer this person: their roles' permissions, less video without an authorisation, and
    less plate reading outside a state tenant (a commune's supervisor holds the role's permission, never its use:
    the plate routes refuse it, L34, so the console shows no plate view)."""
    tenant = principal.directory.commune(principal.user.commune_id)
    state_service = tenant is not None and tenant.kind == STATE
    return sorted(
        p.value
        for p in principal.user.permissions()
        if principal.can(p) and (state_service or p not in STATE_SERVICE_PERMISSIONS)
    )


def me_out(principal: Principal) -> MeOut:
    user = principal.user
    return MeOut(
        username=user.username,
        display_name=user.display_name,
        commune_id=user.commune_id,
        roles=sorted(r.value for r in user.roles),
        permissions=_usable_permissions(principal),
        communes=sorted(principal.communes),
        video_access=principal.video_refusal is None,
        video_refusal=principal.video_refusal or "",
        csrf_token=principal.csrf_token,
    )


def _secure(request: Request) -> bool:
    """Whether the session cookie is marked ``Secure``: as configured, else when the request came over HTTPS (the
    scheme a trusted proxy forwarded counts, resolved by the server: a header sent by anyone else does not)."""
    configured: bool | None = getattr(request.app.state, "secure_cookies", None)
    if configured is not None:
        return configured
    return request.url.scheme == "https"


def _set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(ABSOLUTE_TIMEOUT.total_seconds()),
        httponly=True,
        secure=_secure(request),
        samesite="strict",
        path="/",
    )
    response.headers["Cache-Control"] = "no-store"


def login(request: Request, response: Response, body: LoginIn) -> MeOut:
    """The client address's limit was counted before the body was read (:class:`AddressLimitedRoute`); a name
    delayed after failed logins answers 429 like an address over its limit, whether it is an account or not."""
    try:
        done = auth_service(request).login(body.username, body.password, totp=body.totp, client=client_address(request))
    except LoginThrottledError as err:  # audited by the service
        raise TooManyAttemptsError(err.retry_after_s or 1, str(err)) from None
    _set_session_cookie(request, response, done.token)
    return me_out(done.principal)


router.add_api_route(
    "/login",
    login,
    methods=["POST"],
    response_model=MeOut,
    summary="Log in (password, and TOTP code for admins and DPOs)",
    route_class_override=AddressLimitedRoute,
)


@router.get("/methods", response_model=AuthMethodsOut, summary="How one may log in here (no login needed)")
def methods(request: Request) -> AuthMethodsOut:
    sign_on = _sign_on(request)
    return AuthMethodsOut(
        password=True, oidc=None if sign_on is None else OidcMethodOut(label=sign_on.label, url=OIDC_LOGIN_URL)
    )


def _sign_on(request: Request) -> OidcLogin | None:
    service: OidcLogin | None = getattr(request.app.state.services, "oidc", None)
    return service


def _configured_sign_on(request: Request) -> OidcLogin:
    service = _sign_on(request)
    if service is None:
        raise HTTPException(status_code=404, detail="single sign-on (OpenID Connect) is not configured on this server")
    return service


def _to_console(request: Request, error: str | None = None) -> RedirectResponse:
    """Back to the console: its home page, or its login page with a stable error code it explains."""
    response = RedirectResponse("/" if error is None else f"/#/login?error={quote(error)}", status_code=302)
    response.delete_cookie(SIGN_ON_COOKIE, path=SIGN_ON_PATH, httponly=True, samesite="lax", secure=_secure(request))
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get(
    "/oidc/login",
    response_class=RedirectResponse,
    status_code=302,
    summary="Single sign-on: go to the OpenID provider (a browser navigation, not an API call)",
    responses={302: {"description": "to the provider, or back to the console's login page with `error`"}},
)
def oidc_login(request: Request) -> RedirectResponse:
    sign_on = _configured_sign_on(request)
    client = client_address(request)
    try:
        request.app.state.login_limiter.check(client)
        redirect_uri = sign_on.redirect_uri or str(request.url_for("oidc_callback"))
        start = sign_on.begin(redirect_uri=redirect_uri, client=client)
    except TooManyAttemptsError:
        return _to_console(request, "too_many_attempts")
    except SignOnError as err:  # audited by the service
        return _to_console(request, err.code)
    response = RedirectResponse(start.url, status_code=302)
    response.set_cookie(
        SIGN_ON_COOKIE,
        start.key,
        max_age=int(PENDING_FOR.total_seconds()),
        httponly=True,
        secure=_secure(request),
        samesite="lax",
        path=SIGN_ON_PATH,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get(
    "/oidc/callback",
    response_class=RedirectResponse,
    status_code=302,
    summary="Single sign-on: the OpenID provider's answer; opens a session and goes to the console",
    responses={302: {"description": "to the console, or to its login page with `error` (audited)"}},
)
def oidc_callback(
    request: Request,
    *,
    code: str = "",
    state: str = "",
    error: str = "",
    error_description: str = "",
    iss: str = "",
) -> RedirectResponse:
    del error_description  # the provider's text is not shown nor audited: the code in `error` is
    sign_on = _configured_sign_on(request)
    try:
        done = sign_on.finish(
            request.cookies.get(SIGN_ON_COOKIE, ""),
            state=state[:512],
            code=code[:2048],
            error=error[:128],
            issuer=iss[:2048],
            client=client_address(request),
        )
    except (SignOnError, LoginRefusedError) as err:  # audited by the services
        return _to_console(request, err.code)
    response = _to_console(request)
    _set_session_cookie(request, response, done.token)
    return response


@router.post("/logout", status_code=204, summary="End this session")
def logout(request: Request, principal: CurrentPrincipal) -> Response:
    auth_service(request).logout(principal)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request))
    return response


@router.get("/me", response_model=MeOut, summary="The logged-in person, their rights and the CSRF token")
def me(principal: CurrentPrincipal, response: Response) -> MeOut:
    response.headers["Cache-Control"] = "no-store"
    return me_out(principal)


@router.post("/password", status_code=204, summary="Change my password (ends all my sessions)")
def change_password(request: Request, principal: CurrentPrincipal, body: PasswordChangeIn) -> Response:
    auth_service(request).change_password(principal, current=body.current, new=body.new)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
