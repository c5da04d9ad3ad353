"""How large a request body each route accepts (issue 15, D6).

A 1 GiB body streamed to ``POST /api/auth/login`` used to be read whole before its 422: the API process went from
329 MB to 3.3 GB, before anyone had logged in. Every route now has a cap, refused with 413 ``too_large``:

- a body announced larger than the cap (``Content-Length``) is refused **before a byte of it is read**: when the
  route reads its body (that first read raises), or, for a route that reads none, before the route runs
  (:func:`refuse_announced_oversize`, so a GET or a logout with a huge announced body does nothing);
- a body sent without a length (chunked, streamed) is read up to the cap and no further: the read that passes it
  raises, the rest is never taken from the connection, which the server then closes.

The caps are the FastAPI/Starlette ones (``max_body_size`` of the application, of an included router or of one
route, the most specific winning; Starlette's ``RequestBodyLimitMiddleware`` wraps ``receive``), not a middleware
of ours: a maintained implementation of exactly this, which also covers mounted apps and 404s. Here is only what
Vigie decides: the sizes, refusing before a route runs, and that the refusal speaks the API's one error format
(:class:`vigie.api.errors.TooLargeInOneFormat`: Starlette answers an announced oversize in plain text). Listed
for people in docs/access.md ("Limits").
"""

from __future__ import annotations

from typing import Final

from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.requests import HTTPConnection

KIB: Final = 1024

JSON_BODY_MAX_BYTES: Final = 64 * KIB
"""Every route unless said otherwise: JSON requests of people (an account, a verdict, an export request) are a
few hundred bytes; 64 KiB leaves room for every field at its longest."""
SIGN_IN_BODY_MAX_BYTES: Final = 4 * KIB
"""``/api/auth/*`` (login, password change): answered without a session, so the smallest. A login is a name of
at most 64 characters, a password of at most 256 and a code."""
ACTIVATION_BODY_MAX_BYTES: Final = 256 * KIB
"""The governance routes: an activation's perimeter may name up to 1,000 cameras of up to 128 characters each."""
PACKAGE_UPLOAD_MAX_BYTES: Final = 8 * 1024 * 1024 * KIB
"""``POST /api/exports/verify``: an export package brought back, one day of up to 64 cameras (8 GiB, the export
workspace's ``max_upload_bytes``, which the route checks too while it spools the upload)."""


class BodyTooLargeError(Exception):
    """A request whose body is larger than its route accepts."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        super().__init__(too_large_message(limit))


def too_large_message(limit: int | None) -> str:
    if limit is None:  # pragma: no cover - every route has a cap; said plainly should one ever lack it
        return "the request body is too large for this request: send less"
    return f"the request body is larger than the {readable(limit)} this request accepts ({limit} bytes): send less"


def readable(size: int) -> str:
    """``4 KiB``, ``64 KiB``, ``8 GiB``, or bytes when not a round number of them."""
    for unit, factor in (("GiB", KIB**3), ("MiB", KIB**2), ("KiB", KIB)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


def body_limit(connection: HTTPConnection) -> int | None:
    """The cap of the route this request was routed to (set by the framework for the route's whole run)."""
    limit = connection.scope.get(MAX_BODY_SIZE_SCOPE_KEY)
    return limit if isinstance(limit, int) else None


async def refuse_announced_oversize(connection: HTTPConnection) -> None:
    """Run before every route's own dependencies: a body announced larger than the route's cap is refused before
    the route does anything, whether or not it would read it. (A route that reads a body has its first read
    refused by the framework first, before any byte: the same 413.) ``async``: answered in the event loop, no
    thread taken."""
    limit = body_limit(connection)
    announced = connection.headers.get("content-length", "")
    if limit is not None and announced.isdigit() and int(announced) > limit:
        raise BodyTooLargeError(limit)
