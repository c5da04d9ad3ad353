"""Dates a client gives, in queries and bodies of every route, are range-checked into a 422 naming the field
(issue 15, D13): ``since=0001-01-01T00:00:00+14:00`` gave a 500 ``OverflowError`` on events and alerts, and an
export asked with such a start a 500 with no audit entry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.api.world import T0, Clock, World, build_world
from tests.recording.export_samples import ListAuditSink
from tests.support.governance_api import activation_body
from vigie.domain.audit import AuditAction
from vigie.services.playback import PlaybackService
from vigie.storage.recording import SqlSegmentIndex
from vigie.storage.segment_store import FileSegmentStore

BEFORE_UTC = "0001-01-01T00:00:00+14:00"  # before the first instant Python holds, once in UTC
AFTER_UTC = "9999-12-31T23:59:59-14:00"  # after the last one
OUT_OF_RANGE = {"date-time": [BEFORE_UTC, AFTER_UTC, "1969-12-31T23:59:59Z"], "date": ["0001-01-01", "1969-12-31"]}
FIRST, LAST = "1970-01-01T00:00:00Z", "9999-12-30T23:59:59Z"  # the edges of what is accepted, in range


@pytest.fixture
def world(db: Engine, tmp_path: Path) -> Iterator[World]:
    store = FileSegmentStore(tmp_path / "segments")

    def playback(audit: ListAuditSink, clock: Clock) -> PlaybackService:
        return PlaybackService(SqlSegmentIndex(db), store, audit, ["vil-1", "vil-2", "bron-1", "pn-1"], clock)

    world = build_world(db, playback=playback)
    yield world
    if world.exports is not None:
        world.exports.close()


@pytest.mark.parametrize("value", [BEFORE_UTC, AFTER_UTC])
@pytest.mark.parametrize("path", ["/api/events", "/api/alerts", "/api/alerts/statistics"])
def test_the_reported_queries_are_a_422_naming_since(world: World, path: str, value: str) -> None:
    answer = world.login("op.vil").get(f"{path}?since={quote(value)}")
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_request"
    assert "since must be between 1970 and 9999" in error["message"]
    assert [d["field"] for d in error["details"]] == ["query.since"]


@pytest.mark.parametrize("field", ["start", "end"])
def test_an_export_asked_out_of_range_is_refused_and_audited(world: World, field: str) -> None:
    body = {
        "camera_ids": ["vil-1"],
        "start": T0.isoformat(),
        "end": (T0 + timedelta(seconds=6)).isoformat(),
        "reason": "rixe place Lazare-Goujon",
        "requisition_ref": "PV 2026/001234",
        field: BEFORE_UTC if field == "start" else AFTER_UTC,
    }
    client = world.login("inv.vil")
    world.audit.events.clear()
    answer = client.post("/api/exports", json=body)
    assert answer.status_code == 422, answer.text
    assert f"{field} must be between 1970 and 9999" in answer.json()["error"]["message"]
    (refusal,) = [e for e in world.audit.events if e.action is AuditAction.EXPORT]
    assert refusal.actor == "inv.vil" and refusal.target == "vil-1"
    assert refusal.details["outcome"] == "refused"
    assert refusal.details[field] == body[field] and refusal.details["requisition_ref"] == "PV 2026/001234"
    assert f"body.{field}" in refusal.details["error"]
    assert client.get("/api/exports").json()["items"] == [], "nothing was queued"


def test_an_activation_asked_out_of_range_is_refused_and_audited(world: World) -> None:
    client = world.login("sup.vil")
    world.audit.events.clear()
    answer = client.post("/api/activations", json=activation_body(starts_at=BEFORE_UTC, ends_at=AFTER_UTC))
    assert answer.status_code == 422, answer.text
    message = answer.json()["error"]["message"]
    assert "starts_at must be between 1970 and 9999" in message and "ends_at must be between" in message
    (refusal,) = [e for e in world.audit.events if e.action is AuditAction.ACTIVATION_REFUSED]
    assert refusal.actor == "sup.vil" and refusal.target == "activation-request:intrusion"
    assert refusal.details["cameras"] == ["vil-1"] and refusal.details["stage"] == "request"
    assert "body.starts_at" in refusal.details["refusals"][0]["message"]
    assert client.get("/api/governance").json()["activations"]["total"] == 0, "nothing was stored"


def date_inputs(world: World) -> list[tuple[str, str, str, str, str]]:
    """(method, path, where, name, format) of every date and date-time input the OpenAPI description has."""
    document = world.client().get("/openapi.json").json()
    components = document["components"]["schemas"]
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                kind = date_format(parameter["schema"], components)
                if kind and parameter["in"] == "query":
                    found.append((method.upper(), path, "query", parameter["name"], kind))
            schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            for name, field_schema in resolved(schema or {}, components).get("properties", {}).items():
                kind = date_format(field_schema, components)
                if kind:
                    found.append((method.upper(), path, "body", name, kind))
    return found


def resolved(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def date_format(schema: dict[str, Any], components: dict[str, Any]) -> str | None:
    schema = resolved(schema, components)
    if schema.get("format") in ("date-time", "date"):
        return str(schema["format"])
    for option in schema.get("anyOf", []) + schema.get("allOf", []):
        kind = date_format(option, components)
        if kind:
            return kind
    return None


def concrete(path: str) -> str:
    return (
        path.replace("{camera_id}", "vil-1")
        .replace("{export_id}", "0" * 32)
        .replace("{activation_id}", "1")
        .replace("{username}", "op.vil")
        .replace("{alert_id}", "1")
    )


def test_every_date_input_of_every_route_refuses_what_is_out_of_range(world: World) -> None:
    inputs = date_inputs(world)
    names = {(m, p, n) for m, p, _, n, _ in inputs}
    for expected in [  # the inputs the issue found, and one of each kind: the enumeration sees them all
        ("GET", "/api/events", "since"),
        ("GET", "/api/alerts/statistics", "since"),
        ("GET", "/api/cameras/{camera_id}/recordings", "end"),
        ("GET", "/api/audit", "until"),
        ("POST", "/api/exports", "start"),
        ("POST", "/api/activations", "decision_date"),
        ("PATCH", "/api/users/{username}", "trained_on"),
        ("POST", "/api/sharing-agreements", "ends_on"),
    ]:
        assert expected in names, sorted(names)
    client = world.login("admin.vil")
    accepted = []
    for method, path, where, name, kind in inputs:
        for value in OUT_OF_RANGE[kind]:
            url = concrete(path)
            if where == "query":
                answer = client.request(method, f"{url}?{name}={quote(value)}")
            else:
                answer = client.request(method, url, json={name: value})
            error = answer.json().get("error", {})
            fields = {d["field"] for d in error.get("details", [])}
            if answer.status_code != 422 or f"{where}.{name}" not in fields or f"{name} must" not in error["message"]:
                accepted.append((method, path, name, value, answer.status_code, error.get("message")))
    assert accepted == [], "date inputs out of range not refused with a 422 naming them"


def requests_at_the_edges(world: World) -> Iterator[tuple[TestClient, str, str, dict[str, Any] | None]]:
    """Whole requests, well-formed but for dates at the edges of the accepted range: they reach the services."""
    # (each logged in once: a second factor's code is accepted once)
    op, inv, sup, admin, dpo = (world.login(u) for u in ("op.vil", "inv.vil", "sup.vil", "admin.vil", "dpo.vil"))
    for first, last in [(FIRST, LAST), ("1970-01-01T14:00:00+14:00", "9999-12-30T09:59:59-14:00")]:
        for edge in (first, last):
            yield op, "GET", f"/api/events?since={quote(edge)}", None
            yield op, "GET", f"/api/alerts?since={quote(edge)}", None
            yield op, "GET", f"/api/alerts/statistics?since={quote(edge)}", None
        near_first = quote("1970-01-02T00:00:00Z")
        near_last = quote("9999-12-29T23:59:59Z")
        yield op, "GET", f"/api/cameras/vil-1/recordings?start={quote(first)}&end={near_first}", None
        yield op, "GET", f"/api/cameras/vil-1/recordings?start={near_last}&end={quote(last)}", None
        yield op, "GET", f"/api/cameras/vil-1/playback.m3u8?start={quote(first)}&end={near_first}", None
        yield op, "GET", f"/api/cameras/vil-1/playback.m3u8?start={near_last}&end={quote(last)}", None
        yield dpo, "GET", f"/api/audit?since={quote(first)}&until={quote(last)}", None
        for start, end in [(first, near_first), (near_last, last)]:
            body = {"camera_ids": ["vil-1"], "start": start, "end": end, "reason": "r", "requisition_ref": "PV 1"}
            yield inv, "POST", "/api/exports", body
        for start, end in [(first, "1970-01-08T00:00:00Z"), ("9999-12-23T00:00:00Z", last)]:
            yield sup, "POST", "/api/activations", activation_body(starts_at=start, ends_at=end)
    for day in ("1970-01-01", "9999-12-31"):
        yield admin, "PATCH", "/api/users/op.vil", {"trained_on": day}
        yield admin, "PATCH", "/api/users/op.vil", {"authorised_until": day}
        yield sup, "POST", "/api/activations", activation_body(decision_date=day)
        yield inv, "POST", f"/api/exports/{'0' * 32}/transmission", {"transmitted_on": day, "requisition_ref": "PV"}
    agreement = {"partner_commune": "bron", "reference": "CONV-1"}
    yield admin, "POST", "/api/sharing-agreements", {**agreement, "starts_on": "1970-01-01", "ends_on": "9999-12-31"}


def test_dates_at_the_edges_of_the_range_never_give_a_server_error(world: World) -> None:
    failed = []
    for client, method, url, body in requests_at_the_edges(world):
        answer = client.request(method, url, json=body)
        if answer.status_code >= 500:
            failed.append((method, url, body, answer.status_code, answer.text[:200]))
    assert failed == []
