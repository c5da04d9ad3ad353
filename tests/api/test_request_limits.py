"""Every route caps its request body (issue 15, D6): a body announced too large is refused with 413 before a byte
of it is read, one streamed without a length is cut at the cap, and a real server does not grow by what a client
streams at it (it went from 329 MB to 3.3 GB for a 1 GiB body sent to the login)."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy import Engine
from starlette.routing import Mount

from tests.api.world import World, build_world
from tests.support.bodies import asgi_call, pieces, stream_http
from tests.support.configs import config_yaml
from tests.support.servers import free_port
from tests.support.vigie_cli import get_json, start_vigie, stop_vigie
from tests.support.waiting import wait_for
from vigie.api.limits import (
    ACTIVATION_BODY_MAX_BYTES,
    JSON_BODY_MAX_BYTES,
    PACKAGE_UPLOAD_MAX_BYTES,
    SIGN_IN_BODY_MAX_BYTES,
)
from vigie.api.routes.map import PLAN_UPLOAD_CAP
from vigie.domain.audit import AuditAction
from vigie.services.plates import MAX_HIT_LIST_BYTES

CHUNK = b"x" * 4096
MIB = 1 << 20
BODY = 8 * MIB
"""What a client streams in process: 32 times the largest JSON cap."""


@pytest.fixture
def world(db: Engine, tmp_path: Path) -> World:
    static = tmp_path / "static"
    static.mkdir()
    for page in ("index.html", "public.html", "app.js"):
        (static / page).write_text("<!doctype html>", encoding="utf-8")
    return build_world(db, static=static)


def app_of(world: World) -> FastAPI:
    app = world.client().app
    assert isinstance(app, FastAPI)
    return app


def session_headers(world: World, username: str) -> dict[str, str]:
    client = world.login(username)
    return {
        "cookie": f"vigie_session={client.cookies['vigie_session']}",
        "x-csrf-token": client.headers["X-CSRF-Token"],
    }


def expected_cap(method: str, path: str) -> int:
    """The caps docs/access.md promises ("Limits")."""
    if (method, path) == ("POST", "/api/exports/verify"):
        return PACKAGE_UPLOAD_MAX_BYTES
    if (method, path) == ("POST", "/api/plates/lists"):
        return MAX_HIT_LIST_BYTES
    if (method, path) == ("POST", "/api/map/plans"):
        return PLAN_UPLOAD_CAP
    if path.startswith("/api/auth/"):
        return SIGN_IN_BODY_MAX_BYTES
    if path.startswith(("/api/governance", "/api/activations", "/api/stops", "/api/access-requests")):
        return ACTIVATION_BODY_MAX_BYTES
    return JSON_BODY_MAX_BYTES


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", path)


def http_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the application answers over HTTP, mounted static files included (HEAD is GET's)."""
    found: list[tuple[str, str]] = []
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, Mount):
            found.append(("GET", f"{route.path}/app.js"))
            continue
        methods = route.methods
        if methods is None or route.path is None:  # a WebSocket route: no request body in HTTP terms
            continue
        found += [(m, route.path) for m in sorted(methods - {"HEAD"})]
    return found


def test_every_route_refuses_an_announced_oversized_body_before_reading_it(world: World) -> None:
    app = app_of(world)
    routes = http_routes(app)
    assert len(routes) >= 50, routes
    assert ("POST", "/api/auth/login") in routes and ("POST", "/api/exports/verify") in routes
    headers = session_headers(world, "inv.vil")
    world.audit.events.clear()
    unrefused = []
    for method, path in routes:
        cap = expected_cap(method, path)
        announced = {**headers, "content-type": "application/json", "content-length": str(cap + 1)}
        answer = asgi_call(app, method, concrete(path), headers=announced, chunks=pieces(CHUNK, BODY))
        if answer.status != 413 or answer.pulled:
            unrefused.append((method, path, answer.status, answer.pulled))
            continue
        error = answer.json()["error"]  # the API's one error format, static files included
        assert error["code"] == "too_large", (method, path, error)
        assert str(cap) in error["message"], (method, path, error)
    assert unrefused == [], "routes that took an oversized body, or read some of it: (method, path, status, read)"
    assert not [e for e in world.audit.events if e.action is not AuditAction.LOGIN_SUCCEEDED], "no route ran"


def test_a_body_just_under_the_cap_is_read(world: World) -> None:
    # the caps are not so tight that real requests fail: an activation naming 1,000 cameras is over 64 KiB
    app = app_of(world)
    cameras = ",".join(f'"camera-{i:04d}-{"z" * 100}"' for i in range(1000))
    body = ('{"module": "intrusion", "framework": "x", "camera_ids": [' + cameras + "]}").encode()
    assert JSON_BODY_MAX_BYTES < len(body) < ACTIVATION_BODY_MAX_BYTES
    headers = {**session_headers(world, "sup.vil"), "content-type": "application/json"}
    answer = asgi_call(
        app, "POST", "/api/activations", headers={**headers, "content-length": str(len(body))}, chunks=[body]
    )
    assert answer.status == 422 and answer.json()["error"]["code"] == "invalid_request", answer.body[:300]
    assert answer.pulled == len(body)


@pytest.mark.parametrize(
    ("path", "cap", "who"),
    [
        ("/api/auth/login", SIGN_IN_BODY_MAX_BYTES, None),
        ("/api/exports", JSON_BODY_MAX_BYTES, "inv.vil"),
        ("/api/activations", ACTIVATION_BODY_MAX_BYTES, "sup.vil"),
    ],
)
def test_a_body_streamed_without_length_is_cut_at_the_cap(world: World, path: str, cap: int, who: str | None) -> None:
    app = app_of(world)
    headers = {**(session_headers(world, who) if who else {}), "content-type": "application/json"}
    # no Content-Length: the body is a stream the client could make endless
    answer = asgi_call(app, "POST", path, headers=headers, chunks=pieces(CHUNK, BODY))
    assert answer.status == 413, answer.body[:300]
    error = answer.json()["error"]
    assert error["code"] == "too_large" and str(cap) in error["message"]
    assert cap < answer.pulled <= cap + len(CHUNK), "read up to the cap and not a chunk further"
    assert answer.headers.get("connection") == "close"


def test_a_route_refuses_before_it_runs(world: World) -> None:
    # logging out reads no body: announced too large, it is refused, and the session lives on
    app = app_of(world)
    headers = session_headers(world, "op.vil")
    announced = {**headers, "content-length": str(SIGN_IN_BODY_MAX_BYTES + 1)}
    answer = asgi_call(app, "POST", "/api/auth/logout", headers=announced, chunks=pieces(CHUNK, BODY))
    assert answer.status == 413 and answer.pulled == 0
    assert asgi_call(app, "GET", "/api/auth/me", headers=headers).status == 200, "the logout did not run"


def test_a_package_upload_has_its_own_cap(world: World) -> None:
    app = app_of(world)
    headers = {**session_headers(world, "inv.vil"), "content-type": "application/zip"}
    too_big = asgi_call(
        app,
        "POST",
        "/api/exports/verify",
        headers={**headers, "content-length": str(PACKAGE_UPLOAD_MAX_BYTES + 1)},
        chunks=pieces(CHUNK, BODY),
    )
    assert too_big.status == 413 and too_big.pulled == 0
    assert "8 GiB" in too_big.json()["error"]["message"]
    # a package well over the JSON routes' cap is read and checked (not a zip: refused for that, not its size)
    package = b"PK" + b"\0" * (2 * MIB)
    checked = asgi_call(
        app, "POST", "/api/exports/verify", headers={**headers, "content-length": str(len(package))}, chunks=[package]
    )
    assert checked.status != 413 and checked.pulled == len(package)


def vm_peak_kib(pid: int, field: str = "VmHWM") -> int:
    """The process's peak resident memory (``VmHWM``), in KiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for process {pid}")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the server's memory from /proc")
def test_a_real_server_does_not_grow_by_the_bodies_streamed_at_it(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "vigie.yaml"
    config.write_text(config_yaml(tmp_path, "", port=port), encoding="utf-8")
    proc = start_vigie("serve", "--config", str(config))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(base, proc.poll()), 60, "vigie serve to answer /healthz")
        before = vm_peak_kib(proc.pid)
        total = 200 * MIB
        streamed = stream_http(base, "/api/auth/login", total)  # chunked: no length to refuse it by
        announced = stream_http(base, "/api/auth/login", total, announce_length=True)
        after = vm_peak_kib(proc.pid)
        assert get_json(f"{base}/healthz")["status"] == "ok", "the server goes on"
    finally:
        output = stop_vigie(proc, signal.SIGTERM)
    grown_mib = (after - before) / 1024
    assert streamed.status == 413 and announced.status == 413, (streamed, announced, output[-2000:])
    assert announced.sent < total and streamed.sent < total, "the server stopped taking the bodies"
    assert grown_mib < 32, f"the server's peak memory grew by {grown_mib:.0f} MiB for two 200 MiB bodies"


def _answers(base: str, exit_code: int | None) -> bool:
    assert exit_code is None, "vigie serve exited"
    try:
        return bool(get_json(f"{base}/healthz"))
    except OSError:
        return False
