"""``X-Forwarded-For`` and ``X-Forwarded-Proto`` through a real ``vigie serve`` (issue 15, D11): the server in
front of the application (uvicorn) believed them from loopback by default, so anyone on the machine, or behind
any proxy there, could choose the address the login limit counts and the audit records. They count only from the
proxies listed in ``api.trusted_proxies``."""

from __future__ import annotations

import json
import signal
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.configs import config_yaml
from tests.support.servers import free_port
from tests.support.vigie_cli import TEST_PASSWORD, add_operator, get_json, start_vigie, stop_vigie
from tests.support.waiting import wait_for
from vigie.config import load_config
from vigie.storage import SqlAuditStore, create_engine_for


@contextmanager
def serving(tmp_path: Path, api: str = "") -> Iterator[tuple[str, Path, str]]:
    """A running ``vigie serve`` with no camera and one operator; ``api`` adds keys to the ``api`` section.
    Yields the base URL, the configuration and the operator's name."""
    port = free_port()
    config = tmp_path / "vigie.yaml"
    text = config_yaml(tmp_path, "", port=port)
    config.write_text(text.replace(f"port: {port}}}", f"port: {port}{api}}}", 1), encoding="utf-8")
    operator = add_operator(config)
    proc = start_vigie("serve", "--config", str(config))
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None, "vigie serve stopped"
        try:
            return bool(get_json(f"{base}/healthz"))
        except OSError:
            return False

    try:
        wait_for(up, 40, "vigie serve answering", every=0.2)
        yield base, config, operator
    finally:
        stop_vigie(proc, signal.SIGTERM)


def login(base: str, username: str, password: str, headers: dict[str, str]) -> tuple[int, Any]:
    """POST a login with ``headers``; the status and the response's headers."""
    body = json.dumps({"username": username, "password": password}).encode()
    request = urllib.request.Request(
        f"{base}/api/auth/login", data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
            return response.status, response.headers
    except urllib.error.HTTPError as err:
        err.read()
        return err.code, err.headers


def login_clients(config: Path) -> list[str]:
    """The client address of every login the audit recorded, in order."""
    engine = create_engine_for(load_config(config).storage.database_url)
    try:
        return [
            str(r.details.get("client"))
            for r in SqlAuditStore(engine).records()
            if r.action in {"login.succeeded", "login.failed"}
        ]
    finally:
        engine.dispose()


def test_forwarded_headers_from_anyone_are_ignored(tmp_path: Path) -> None:
    with serving(tmp_path) as (base, config, operator):
        forged = {"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "https"}
        status, headers = login(base, operator, TEST_PASSWORD, forged)
        assert status == 200
        assert "; secure" not in headers["set-cookie"].lower(), "a forged X-Forwarded-Proto does not make it HTTPS"
        statuses = [
            login(base, f"guess{n}", "wrong guess", {"X-Forwarded-For": f"198.51.100.{n + 2}"})[0] for n in range(11)
        ]
    assert statuses == [401] * 9 + [429, 429], "the address limit counts the real client, whatever it claims"
    clients = login_clients(config)
    assert len(clients) == 10 and set(clients) == {"127.0.0.1"}, "the audit records the real client"


def test_forwarded_headers_from_a_trusted_proxy_are_used(tmp_path: Path) -> None:
    with serving(tmp_path, ", trusted_proxies: ['127.0.0.1']") as (base, config, operator):
        forwarded = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7", "X-Forwarded-Proto": "https"}
        status, headers = login(base, operator, TEST_PASSWORD, forwarded)
        assert status == 200 and "; secure" in headers["set-cookie"].lower()
        statuses = [
            login(base, f"guess{n}", "wrong guess", {"X-Forwarded-For": f"198.51.100.{n + 2}"})[0] for n in range(11)
        ]
    assert statuses == [401] * 11, "each client behind the proxy has its own limit"
    clients = login_clients(config)
    assert clients == ["203.0.113.7"] + [f"198.51.100.{n + 2}" for n in range(11)], (
        "the audit records the client the proxy saw (the last address before it)"
    )
