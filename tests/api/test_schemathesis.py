"""Schemathesis against the published OpenAPI description, logged in as people of several roles: whatever the
generated request (valid, boundary or malformed), the server never answers 5xx — and every answer is in the one
error format when it is an error. Dates are drawn with a bias to the extremes (years 1 and 9999 with offsets of
±14 h: a 500 ``OverflowError`` once, issue 15 D13), and every operation that takes a body gets one larger than any
JSON route accepts (D6)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.formats import rfc3339_values, unregister_string_format
from sqlalchemy import Engine

from tests.api.live_world import live_service
from tests.api.world import Clock, World, build_world
from tests.recording.export_samples import ListAuditSink
from vigie.api.limits import ACTIVATION_BODY_MAX_BYTES
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation
from vigie.services.alerts import AlertService
from vigie.services.playback import PlaybackService
from vigie.services.snapshots import SnapshotService
from vigie.storage.recording import SqlSegmentIndex
from vigie.storage.segment_store import FileSegmentStore

ROLES = ("op.vil", "admin.vil", "dpo.vil")
ENDLESS = ("/live.mjpeg", "/api/feed")
EXTREME_INSTANTS = (
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00Z",
    "1969-12-31T23:59:59.999999Z",
    "1970-01-01T00:00:00Z",
    "9999-12-30T23:59:59Z",
    "9999-12-31T00:00:00Z",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59.999999+00:00",
)
EXTREME_DAYS = ("0001-01-01", "1969-12-31", "1970-01-01", "9999-12-31")
LARGE_BODY = b'{"x": "' + b"a" * ACTIVATION_BODY_MAX_BYTES + b'"}'
"""Larger than any JSON route accepts (a package upload accepts it, and finds it is no package)."""


@pytest.fixture(autouse=True)
def extreme_dates() -> Iterator[None]:
    """Dates and instants drawn from the extremes half of the time, from the whole RFC 3339 grammar otherwise."""
    schemathesis.openapi.format("date-time", st.sampled_from(EXTREME_INSTANTS) | rfc3339_values("date-time"))
    schemathesis.openapi.format("date", st.sampled_from(EXTREME_DAYS) | rfc3339_values("full-date"))
    yield
    unregister_string_format("date-time")
    unregister_string_format("date")


@pytest.fixture
def world(db: Engine, tmp_path: Path) -> World:
    store = FileSegmentStore(tmp_path / "segments")

    def playback(audit: ListAuditSink, clock: Clock) -> PlaybackService:
        return PlaybackService(SqlSegmentIndex(db), store, audit, ["vil-1", "vil-2", "bron-1", "pn-1"], clock)

    def snapshots(alerts: AlertService, audit: ListAuditSink, clock: Clock) -> SnapshotService:
        return SnapshotService(alerts, SqlSegmentIndex(db), store, audit, clock=clock)

    world = build_world(db, playback=playback, live=live_service, snapshots=snapshots)
    world.alerts.raise_alert(
        Observation("vil-1", "intrusion", "intrusion", world.clock.now, (Box(0.1, 0.1, 0.2, 0.2),), 0.9, "m@1")
    )
    return world


@pytest.fixture
def sessions(world: World) -> list[dict[str, str]]:
    """Headers of logged-in people (cookie and CSRF token), and no session at all."""
    headers = []
    for username in ROLES:
        client = world.login(username)
        token = client.cookies["vigie_session"]
        headers.append({"Cookie": f"vigie_session={token}", "X-CSRF-Token": client.headers["X-CSRF-Token"]})
    return [*headers, {}]


def test_no_server_error_whatever_the_request(world: World, sessions: list[dict[str, str]]) -> None:
    # Schemathesis' pytest plugin does not run under this pytest (AttributeError on a node id), so each operation's
    # strategy is driven by Hypothesis directly: the same generated cases, the same check.
    schema = schemathesis.openapi.from_asgi("/openapi.json", world.client().app)
    operations = sorted(
        (op for op in (result.ok() for result in schema.get_all_operations()) if not op.label.endswith(ENDLESS)),
        key=lambda op: "logout" in op.label,
    )
    # (logging out ends the sessions the other operations are called with: last; the MJPEG live view is an
    # endless response, as is the SSE feed, which the in-process client cannot end: tests/api/test_live_api.py
    # covers both on a real server)
    assert len(operations) >= 15, [op.label for op in operations]

    for operation in operations:
        # 20 cases an operation, each sent in four sessions (three roles, none): ≈ 75 operations, ≈ 6,000 requests
        @given(case=operation.as_strategy())
        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def run(case: schemathesis.Case) -> None:
            for headers in sessions:
                response = case.call(headers={**(case.headers or {}), **headers})
                case.validate_response(response, checks=[not_a_server_error])
                content_type = response.headers.get("content-type", [""])[0]
                if response.status_code >= 400 and content_type.startswith("application/json"):
                    body = response.json()
                    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"]), body

        run()

        if operation.definition.raw.get("requestBody"):  # a body far larger than the route accepts: 413 or 4xx
            client = world.client()
            path = re.sub(r"\{[^}]+\}", "1", operation.path)
            for headers in sessions:
                answer = client.request(
                    operation.method.upper(),
                    path,
                    content=LARGE_BODY,
                    headers={**headers, "Content-Type": "application/json"},
                )
                assert answer.status_code < 500, (operation.label, answer.status_code, answer.text[:300])
                if answer.status_code >= 400:
                    assert set(answer.json()) == {"error"}, (operation.label, answer.text[:300])
