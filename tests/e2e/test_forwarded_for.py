"""``X-Forwarded-For`` and ``X-Forwarded-Proto`` through a real ``vigie serve`` (issue 15, D11): the server in
front of the application (uvicorn) believed them from loopback by default, so anyone on the machine, or behind
any proxy there, could choose the address the login limit counts and the audit records. They count only from the
proxies listed in ``api.trusted_proxies``."""

from __future__ import annotations

import http.client
import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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


def login(base: str, username: str, password: str, headers: dict[str, str], source: str = "127.0.0.1") -> Any:
    """POST a login with ``headers`` from the loopback address ``source``; the response (status, headers)."""
    url = urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10, source_address=(source, 0))
    try:
        body = json.dumps({"username": username, "password": password})
        connection.request("POST", "/api/auth/login", body, {"Content-Type": "application/json", **headers})
        response = connection.getresponse()
        response.read()
        return response
    finally:
        connection.close()


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


def test_forwarded_headers_from_anyone_are_ignored_by_default(tmp_path: Path) -> None:
    with serving(tmp_path) as (base, config, operator):
        forged = {"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "https"}
        direct = login(base, operator, TEST_PASSWORD, forged)
        assert direct.status == 200
        assert "; secure" not in direct.getheader("set-cookie", "").lower(), "forged X-Forwarded-Proto: not HTTPS"
        statuses = [
            login(base, f"guess{n}", "wrong", {"X-Forwarded-For": f"198.51.100.{n + 2}"}).status for n in range(11)
        ]
    assert statuses == [401] * 9 + [429, 429], "the address limit counts the real client, whatever it claims"
    assert login_clients(config) == ["127.0.0.1"] * 10, "the audit records the real client"


PROXY = "127.0.0.2"
"""The trusted reverse proxy: another loopback address of this machine (Linux answers on all of 127.0.0.0/8)."""


def test_forwarded_headers_count_from_a_trusted_proxy_only(tmp_path: Path) -> None:
    with serving(tmp_path, f", trusted_proxies: ['{PROXY}']") as (base, config, operator):
        forwarded = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7", "X-Forwarded-Proto": "https"}
        direct = login(base, operator, TEST_PASSWORD, forwarded)  # from 127.0.0.1: not the proxy
        assert direct.status == 200 and "; secure" not in direct.getheader("set-cookie", "").lower()
        proxied = login(base, operator, TEST_PASSWORD, forwarded, source=PROXY)
        assert proxied.status == 200 and "; secure" in proxied.getheader("set-cookie", "").lower()
        statuses = [
            login(base, f"other{n}", "wrong", {"X-Forwarded-For": f"192.0.2.{n + 1}"}, source=PROXY).status
            for n in range(11)
        ]
    assert statuses == [401] * 11, "behind the trusted proxy, each client has its own limit"
    assert login_clients(config) == ["127.0.0.1", "203.0.113.7"] + [f"192.0.2.{n + 1}" for n in range(11)], (
        "the audit records the real client: the peer, or the last address before the trusted proxy"
    )
