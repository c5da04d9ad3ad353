"""The FastAPI application. Routes call services; they never touch storage (checked by import-linter)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.types import ASGIApp

from vigie import __version__
from vigie.api.camera_lists import CameraLists
from vigie.api.errors import RefusalRecorder, TooLargeInOneFormat, error_body, install_error_handlers
from vigie.api.limits import (
    ACTIVATION_BODY_MAX_BYTES,
    JSON_BODY_MAX_BYTES,
    SIGN_IN_BODY_MAX_BYTES,
    refuse_announced_oversize,
)
from vigie.api.routes import (
    access_requests,
    alerts,
    audit,
    auth,
    camera_groups,
    cameras,
    cases,
    communes,
    events,
    exports,
    feed,
    governance,
    layouts,
    live,
    plates,
    playback,
    ptz,
    public,
    recordings,
    sensors,
    sites,
    snapshots,
    speakers,
    system,
    users,
    wall,
    webhooks,
)
from vigie.api.routes import map as map_routes
from vigie.api.schemas import HealthOut
from vigie.api.security import LoginRateLimiter
from vigie.services.access import Principal
from vigie.services.access_requests import AccessRequestService
from vigie.services.alerts import AlertService
from vigie.services.audit import AuditService
from vigie.services.auth import AuthService
from vigie.services.camera_groups import CameraGroupService
from vigie.services.cameras import CameraService
from vigie.services.case_bookmarks import CaseBookmarkService
from vigie.services.case_search import CaseSearchService
from vigie.services.cases import CaseService
from vigie.services.events import EventService
from vigie.services.exports import ExportService
from vigie.services.governance_access import GovernanceAccess
from vigie.services.health import HealthService
from vigie.services.layouts import LayoutService
from vigie.services.live import LiveService
from vigie.services.map import MapService
from vigie.services.oidc import OidcLogin
from vigie.services.plates import PlateService
from vigie.services.playback import PlaybackService
from vigie.services.ptz import PtzService
from vigie.services.recordings import RecordingService
from vigie.services.sensor_statistics import SensorStatisticsService
from vigie.services.sensors import SensorLinkService
from vigie.services.sites import SiteService
from vigie.services.snapshots import SnapshotService
from vigie.services.speakers import SpeakerService
from vigie.services.system_health import MetricsAccess, SystemHealthService
from vigie.services.webhooks import WebhookAdministration

SECURITY_HEADERS: Final = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    # Scripts, styles, images, the live feed: from this server only; no inline script, no eval, no framing.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


# --- Request limits and refusals recorded (issue 15, D6 and D13) --------------------------------------------------

BODY_CAPS: Final = {
    auth: SIGN_IN_BODY_MAX_BYTES,
    governance: ACTIVATION_BODY_MAX_BYTES,
    access_requests: ACTIVATION_BODY_MAX_BYTES,  # up to 2 x 200 boxes of a copy
}
"""Routers whose bodies are capped otherwise than :data:`JSON_BODY_MAX_BYTES` (a route may set its own: the
package upload of ``POST /api/exports/verify``). See :mod:`vigie.api.limits`."""


def _refused_export(request: Request, principal: Principal, body: Any, error: str) -> None:
    service: ExportService | None = request.app.state.services.exports
    if service is not None:
        service.record_refused_request(principal, body if isinstance(body, dict) else {}, error)


def _refused_activation(request: Request, principal: Principal, body: Any, error: str) -> None:
    service: GovernanceAccess | None = request.app.state.services.governance
    if service is not None:
        service.record_refused_request(principal, body if isinstance(body, dict) else {}, error)


AUDITED_REFUSALS: Final[dict[Any, RefusalRecorder]] = {
    exports.create_export: _refused_export,
    governance.request_activation: _refused_activation,
}
"""Routes whose service audits every refusal: the requests the API refuses before they reach it are recorded too
(an export or activation request with a date out of range, or a field missing, is in the audit log like one the
service refused)."""


class VigieApi(FastAPI):
    """FastAPI, with one more layer outside all of its own: :class:`TooLargeInOneFormat`."""

    def build_middleware_stack(self) -> ASGIApp:
        return TooLargeInOneFormat(super().build_middleware_stack())


# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApiServices:
    """Everything the routes may use, built by the runtime and passed in (no module-level singletons)."""

    events: EventService
    cameras: CameraService
    auth: AuthService
    alerts: AlertService | None = None
    playback: PlaybackService | None = None
    """Recorded footage as HLS; None where the server has no recordings (the routes answer 503)."""
    exports: ExportService | None = None
    """Exports for a requisition, run in the background (the ``vigie export`` command uses the service directly);
    None: the routes answer 503."""
    snapshots: SnapshotService | None = None
    """Alert images from the recordings; None without recordings (the route answers 503)."""
    live: LiveService | None = None
    """Live view (MJPEG); None where the server reads no cameras (the routes answer 503)."""
    sites: SiteService | None = None
    """Sites and camera zones from the configuration; None: the routes answer 503."""
    recordings: RecordingService | None = None
    """The recordings timeline (segment index); None where the server has no recordings (503)."""
    governance: GovernanceAccess | None = None
    """Activations, approvals, stop switches and the legal catalogue; None: the routes answer 503."""
    audit: AuditService | None = None
    """Reading, verifying and exporting the audit log; None: the routes answer 503."""
    oidc: OidcLogin | None = None
    """Single sign-on through an OpenID provider; None when not configured (its routes answer 404)."""
    health: HealthService | None = None
    """Readiness (database written, storage usable); None: no check, ``/readyz`` answers ready."""
    system_health: SystemHealthService | None = None
    """The console's health view (nodes, disks, cameras offline, recording gaps); None: the route answers 503."""
    metrics: MetricsAccess | None = None
    """``/metrics`` for a Prometheus scraper with the token; None (no ``api.metrics_token_file``): 404."""
    plates: PlateService | None = None
    """Plate reading (LAPI) for state tenants: matches, counts, hit lists; None: the routes answer 503."""
    ptz: PtzService | None = None
    """Driving domes (moves, presets, tours); None: the routes answer 503."""
    speakers: SpeakerService | None = None
    """Playing pre-recorded messages on loudspeakers (a person only); None: the routes answer 503."""
    sensor_links: SensorLinkService | None = None
    """The sensors' link events (issue 21): the live feed's `sensor` events; None: the feed sends none."""
    sensor_statistics: SensorStatisticsService | None = None
    """The sensors' statistics per period (issue 21); None: the routes answer 503."""
    webhooks: WebhookAdministration | None = None
    """Re-enabling webhook endpoints a 410 disabled (issue 21); None: the route answers 503."""
    cases: CaseService | None = None
    """Cases opened from judicial requisitions (issue 22); None: the routes answer 503."""
    case_search: CaseSearchService | None = None
    """Forensic object search within a case (issue 22); None: the search routes answer 503."""
    case_bookmarks: CaseBookmarkService | None = None
    camera_groups: CameraGroupService | None = None
    """A person's own camera groups and favourites (the console's tree, issue 24)."""
    """A case's own bookmarks (issue 22); None: the bookmark routes answer 503."""
    access_requests: AccessRequestService | None = None
    """Filmed persons' requests of access (L19); None: the routes answer 503."""
    layouts: LayoutService | None = None
    """The console's saved layouts and video-wall outputs (issue 24); None: the routes answer 503."""
    map: MapService | None = None
    """The console's map: basemap tiles, cameras' fields of view, site plans (issue 24); None: the routes answer 503."""


class ReadinessCheckOut(BaseModel):
    name: str
    ok: bool
    detail: str


class ReadinessOut(BaseModel):
    status: Literal["ready"]
    checks: list[ReadinessCheckOut]


_LIBRARY_MISSING: Final = JSONResponse(
    error_body(
        "not_found",
        "the map library is not installed on this server: run scripts/setup.sh (npm ci --prefix src/vigie/web)",
    ),
    status_code=404,
)


async def _library_missing(scope: Any, receive: Any, send: Any) -> None:
    """What /static/vendor/maplibre-gl/ answers where npm was not run: a 404 that says how to install it."""
    await _LIBRARY_MISSING(scope, receive, send)


def create_app(
    services: ApiServices,
    static_dir: Path | None = None,
    *,
    secure_cookies: bool | None = None,
    login_limiter: LoginRateLimiter | None = None,
) -> FastAPI:
    """``secure_cookies``: mark the session cookie ``Secure`` always (True), never (False), or when the request
    came over HTTPS (None)."""
    # No /docs or /redoc: FastAPI's pages load their scripts from a CDN, which a commune's offline network and this
    # API's Content Security Policy both refuse. The description is at /openapi.json, for any OpenAPI tool.
    app = VigieApi(
        title="Vigie",
        version=__version__,
        description="Video protection under governance",
        docs_url=None,
        redoc_url=None,
        max_body_size=JSON_BODY_MAX_BYTES,  # every route has a cap (vigie.api.limits)
        dependencies=[Depends(refuse_announced_oversize)],
    )
    app.state.services = services
    app.state.camera_lists = CameraLists()
    app.state.secure_cookies = secure_cookies
    app.state.login_limiter = login_limiter or LoginRateLimiter()
    install_error_handlers(app, audited_refusals=AUDITED_REFUSALS)
    for module in (
        auth,
        communes,
        cameras,
        camera_groups,
        events,
        alerts,
        playback,
        users,
        public,
        live,
        feed,
        snapshots,
        wall,
        sites,
        recordings,
        governance,
        audit,
        exports,
        system,
        plates,
        ptz,
        speakers,
        sensors,
        webhooks,
        cases,
        access_requests,
        layouts,
        map_routes,
    ):
        app.include_router(module.router, max_body_size=BODY_CAPS.get(module))

    @app.get("/healthz", response_model=HealthOut, tags=["health"])
    def healthz() -> HealthOut:
        return HealthOut(status="ok", version=__version__)

    @app.get(
        "/readyz",
        response_model=ReadinessOut,
        tags=["health"],
        responses={503: {"description": "not ready: error `not_ready`, the checks in its details"}},
    )
    def readyz() -> JSONResponse:
        """Readiness, for load balancers and supervisors: 200 when the database takes writes and the recordings'
        storage is usable; 503 ``not_ready`` (the one error format) naming the failing checks otherwise.
        ``/healthz`` only says the process answers. An API built without readiness checks (tests) is ready."""
        found = services.health.readiness() if services.health is not None else None
        checks = [ReadinessCheckOut(name=c.name, ok=c.ok, detail=c.detail) for c in (found.checks if found else ())]
        headers = {"Cache-Control": "no-store"}
        if found is None or found.ready:
            body = ReadinessOut(status="ready", checks=checks)
            return JSONResponse(body.model_dump(), headers=headers)
        failing = "; ".join(f"{c.name}: {c.detail}" for c in checks if not c.ok)
        details = [c.model_dump() for c in checks]
        return JSONResponse(error_body("not_ready", f"not ready: {failing}", details), 503, headers=headers)

    if static_dir is not None:
        # MapLibre GL (the map view), installed from the committed package-lock.json by scripts/setup.sh (npm ci):
        # served from this server like the console's own files, never from a CDN. Missing (npm not run), its files
        # answer 404 saying how to install them, and the map view says so too; the rest of the console works.
        vendor = static_dir.parent / "node_modules" / "maplibre-gl" / "dist"
        library: ASGIApp = StaticFiles(directory=vendor) if vendor.is_dir() else _library_missing
        app.mount("/static/vendor/maplibre-gl", library, name="maplibre")
        app.mount("/static", StaticFiles(directory=static_dir), name="static")
        index = static_dir / "index.html"

        public_page = static_dir / "public.html"

        @app.get("/", include_in_schema=False)
        def status_page() -> FileResponse:
            return FileResponse(index, headers={"Cache-Control": "no-store"})

        @app.get("/public", include_in_schema=False)
        def public_information() -> FileResponse:
            """The public information page (L36), open without login."""
            return FileResponse(public_page, headers={"Cache-Control": "public, max-age=60"})

    @app.middleware("http")
    async def _security_headers(request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.scheme == "https":  # behind TLS: browsers must never come back in clear
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    return app
