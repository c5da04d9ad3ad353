"""The services a route needs, taken from the application (built by the runtime, see :class:`ApiServices`)."""

from __future__ import annotations

from typing import TypeVar

from fastapi import HTTPException
from starlette.requests import HTTPConnection

T = TypeVar("T")


def configured(request: HTTPConnection, name: str, kind: type[T], what: str) -> T:
    """The ``name`` service of this server, or a 503 saying ``what`` is not available here (a server without
    recordings has no playback, one without cameras no live view)."""
    service = getattr(request.app.state.services, name, None)
    if service is None:
        raise HTTPException(status_code=503, detail=f"{what} not available on this server")
    if not isinstance(service, kind):  # pragma: no cover - a wiring mistake of the runtime, not a request's
        raise TypeError(f"ApiServices.{name} is a {type(service).__name__}, not a {kind.__name__}")
    return service
