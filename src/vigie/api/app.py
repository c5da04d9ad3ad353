"""The FastAPI application. Routes call services; they never touch storage (checked by import-linter)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from vigie import __version__
from vigie.api.errors import install_error_handlers
from vigie.api.routes import alerts, auth, cameras, communes, events, playback, public, users
from vigie.api.schemas import HealthOut
from vigie.api.security import LoginRateLimiter
from vigie.services.alerts import AlertService
from vigie.services.auth import AuthService
from vigie.services.cameras import CameraService
from vigie.services.events import EventService
from vigie.services.exports import ExportService
from vigie.services.playback import PlaybackService


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
    """Signed exports; no route yet (the ``vigie export`` command uses the service directly)."""


def create_app(
    services: ApiServices,
    static_dir: Path | None = None,
    *,
    secure_cookies: bool | None = None,
    login_limiter: LoginRateLimiter | None = None,
) -> FastAPI:
    """``secure_cookies``: mark the session cookie ``Secure`` always (True), never (False), or when the request
    came over HTTPS (None)."""
    app = FastAPI(title="Vigie", version=__version__, description="Video protection under governance")
    app.state.services = services
    app.state.secure_cookies = secure_cookies
    app.state.login_limiter = login_limiter or LoginRateLimiter()
    install_error_handlers(app)
    for module in (auth, communes, cameras, events, alerts, playback, users, public):
        app.include_router(module.router)

    @app.get("/healthz", response_model=HealthOut, tags=["health"])
    def healthz() -> HealthOut:
        return HealthOut(status="ok", version=__version__)

    if static_dir is not None:
        app.mount("/static", StaticFiles(directory=static_dir), name="static")
        index = static_dir / "index.html"

        @app.get("/", include_in_schema=False)
        def status_page() -> FileResponse:
            return FileResponse(index, headers={"Cache-Control": "no-store"})

    @app.middleware("http")
    async def _security_headers(request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault(
            "Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'"
        )
        return response

    return app
