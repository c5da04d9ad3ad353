"""A real Mosquitto broker for the MQTT tests (issue 21), started by the test like PostgreSQL and SeaweedFS: Debian's
``mosquitto`` binary (``scripts/setup.sh --with-mqtt``) on free loopback ports, from a generated configuration —
password file, ACL, persistence folder, a TLS listener with a certificate made in the test. Never the distribution's
service. Without the binary the tests are skipped, except in CI where they fail.

Also a subscriber (paho, MQTT v5, persistent session, QoS 1) that collects what it receives: what a commune's
system would do.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.support.servers import free_port
from tests.support.tls import LoopbackCertificate, loopback_certificate
from tests.support.waiting import wait_for
from vigie.devices.mqtt.paho_loop import PahoLoop

SERVICE_USER = "vigie"
PASSWORD_ITERATIONS = 101
"""What ``mosquitto_passwd`` 2.0 writes (``$7$101$…``: PBKDF2-HMAC-SHA512)."""


def mosquitto_binary() -> str:
    """The broker's path; the test is skipped without it (failed in CI, where scripts/test.sh installs it)."""
    found = shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/bin/mosquitto") if os.access(p, os.X_OK)), None
    )
    if found is None:
        reason = "Debian's mosquitto is not installed: run scripts/setup.sh --with-mqtt (scripts/test.sh does)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def password_line(username: str, password: str) -> str:
    """One line of a Mosquitto password file, as ``mosquitto_passwd`` writes it (the salt is used decoded)."""
    salt = os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PASSWORD_ITERATIONS)
    encode = base64.b64encode
    return f"{username}:$7${PASSWORD_ITERATIONS}${encode(salt).decode()}${encode(digest).decode()}"


def acl_text(prefix: str = "vigie", *, anonymous: bool = False) -> str:
    """Vigie's account writes everything under the prefix; each commune's account (username = the commune's id) reads
    its own subtree only. ``anonymous``: clients without an account read and write the whole prefix (a demo's
    broker on this machine; topic lines before any ``user`` line are the anonymous clients')."""
    open_lines = f"topic readwrite {prefix}/#\n\n" if anonymous else ""
    return f"{open_lines}user {SERVICE_USER}\ntopic readwrite {prefix}/#\n\npattern read {prefix}/%u/#\n"


@dataclass
class MosquittoBroker:
    """A broker in ``folder``: ``port`` plain, ``tls_port`` TLS (``certificate`` signs it), both on 127.0.0.1."""

    folder: Path
    users: Mapping[str, str]
    certificate: LoopbackCertificate
    anonymous: bool = False
    """Accept clients without an account (``vigie demo --mqtt``)."""
    port: int = field(default_factory=free_port)
    tls_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def write_config(self) -> Path:
        data = self.folder / "data"
        data.mkdir(parents=True, exist_ok=True)
        passwd = self.folder / "passwd"
        passwd.write_text("".join(password_line(u, p) + "\n" for u, p in self.users.items()))
        passwd.chmod(0o600)
        acl = self.folder / "acl"
        acl.write_text(acl_text(anonymous=self.anonymous))
        acl.chmod(0o600)
        lines = [
            "per_listener_settings false",
            f"allow_anonymous {'true' if self.anonymous else 'false'}",
            f"password_file {passwd}",
            f"acl_file {acl}",
            "persistence true",
            f"persistence_location {data}/",
            "autosave_interval 1",
            "max_queued_messages 100000",
            "max_inflight_messages 0",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            *(["user root"] if os.geteuid() == 0 else []),  # as root it would switch to a user who cannot read here
            f"listener {self.port} 127.0.0.1",
            f"listener {self.tls_port} 127.0.0.1",
            f"certfile {self.certificate.certificate_file}",
            f"keyfile {self.certificate.private_key_file}",
            "tls_version tlsv1.2",
        ]
        conf = self.folder / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        return conf

    def start(self) -> None:
        conf = self.write_config()
        with (self.folder / "mosquitto.log").open("ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen([mosquitto_binary(), "-c", str(conf)], stdout=log, stderr=log)
        wait_for(self._listening, 10, f"mosquitto listening on {self.port}", context=self.log_tail)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the broker with ``sig`` (SIGTERM: it saves its database first) and wait for it to exit."""
        process, self.process = self.process, None
        if process is None:
            return
        process.send_signal(sig)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def restart(self) -> None:
        self.stop()
        self.start()

    def _listening(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"mosquitto exited ({self.process.returncode}): {self.log_tail()}")
        for port in (self.port, self.tls_port):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    pass
            except OSError:
                return False
        return True

    def log_tail(self) -> str:
        path = self.folder / "mosquitto.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


@contextmanager
def mosquitto(folder: Path, users: Mapping[str, str], *, anonymous: bool = False) -> Iterator[MosquittoBroker]:
    """A running broker with these accounts (``vigie`` writes under ``vigie/``; the others are communes)."""
    mosquitto_binary()
    broker = MosquittoBroker(folder, users, loopback_certificate(folder / "tls"), anonymous=anonymous)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@dataclass(frozen=True, slots=True)
class Received:
    topic: str
    payload: dict[str, Any]
    retain: bool


class Subscriber:
    """A commune's consumer: MQTT v5, a fixed client id and a persistent session, QoS 1 subscriptions; what it
    receives is kept in order. ``granted`` holds the SUBACK reason codes (135: not authorised). ``broker``: a broker
    the test started, or the plain port of one on 127.0.0.1 that something else started (the demo's own)."""

    def __init__(
        self,
        broker: MosquittoBroker | int,
        username: str | None,
        password: str | None,
        topics: Sequence[str],
        *,
        client_id: str | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.received: list[Received] = []
        self.granted: list[int] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._topics = list(topics)
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or f"test-{username}", protocol=mqtt.MQTTv5
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        if tls is not None:
            self.client.tls_set_context(tls)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 3600
        port = broker if isinstance(broker, int) else broker.tls_port if tls is not None else broker.port
        self._network = PahoLoop(
            self.client,
            "127.0.0.1",
            port,
            keepalive=30,
            name="test-collector",
            clean_start=False,
            properties=properties,
        )
        self._network.start()
        wait_for(self._subscribed.is_set, 10, f"{username} subscribed to {self._topics}")

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if not reason.is_failure:
            client.subscribe([(t, 1) for t in self._topics])

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, codes: Any, props: Any) -> None:
        self.granted = [code.value for code in codes]
        self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.received.append(Received(message.topic, json.loads(message.payload), bool(message.retain)))

    def messages(self, topic: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.received if topic is None or r.topic == topic]

    def close(self) -> None:
        self._network.stop()


def settle(seconds: float = 0.5) -> None:
    """Give a broker time to deliver what it would (to assert that nothing came)."""
    time.sleep(seconds)
