"""Log in, log out, who am I, change my password. Logins are audited by the service (L11)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from vigie.api.schemas import LoginIn, MeOut, PasswordChangeIn
from vigie.api.security import SESSION_COOKIE, CurrentPrincipal, auth_service, client_address
from vigie.services.access import Principal
from vigie.services.auth import ABSOLUTE_TIMEOUT

router = APIRouter(prefix="/api/auth", tags=["auth"])


def me_out(principal: Principal) -> MeOut:
    user = principal.user
    return MeOut(
        username=user.username,
        display_name=user.display_name,
        commune_id=user.commune_id,
        roles=sorted(r.value for r in user.roles),
        permissions=sorted(p.value for p in user.permissions() if principal.can(p)),
        communes=sorted(principal.communes),
        video_access=principal.video_refusal is None,
        video_refusal=principal.video_refusal or "",
        csrf_token=principal.csrf_token,
    )


def _secure(request: Request) -> bool:
    configured: bool | None = getattr(request.app.state, "secure_cookies", None)
    if configured is not None:
        return configured
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "") == "https"


@router.post("/login", response_model=MeOut, summary="Log in (password, and TOTP code for admins and DPOs)")
def login(request: Request, response: Response, body: LoginIn) -> MeOut:
    client = client_address(request)
    request.app.state.login_limiter.check(client)
    done = auth_service(request).login(body.username, body.password, totp=body.totp, client=client)
    response.set_cookie(
        SESSION_COOKIE,
        done.token,
        max_age=int(ABSOLUTE_TIMEOUT.total_seconds()),
        httponly=True,
        secure=_secure(request),
        samesite="strict",
        path="/",
    )
    response.headers["Cache-Control"] = "no-store"
    return me_out(done.principal)


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
