"""Integrations with other systems: the ``mqtt`` section (issue 21).

Vigie publishes to an MQTT broker (Mosquitto) what other systems of a supervision centre may know: **confirmed**
alerts only (a person decided, L28), the state of the cameras and the recording and stream alarms. Nothing here is
read: the password comes from an environment variable named in the file, never from the file, and is read by the
runtime when it connects (validators do no I/O).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from vigie.config.fields import ConfigModel, NonEmptyText, invalid

MQTT_ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
TOPIC_PREFIX_PATTERN = r"^[A-Za-z0-9_-]{1,64}(?:/[A-Za-z0-9_-]{1,64}){0,3}$"
"""One to four topic levels of letters, digits, ``_`` and ``-``: never a wildcard (``+``, ``#``), never ``$``."""
CLIENT_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
"""Where a broker may be reached without TLS (a broker on this machine, in tests)."""
MAX_SESSION_EXPIRY_S = 4_294_967_295
"""MQTT v5's largest session expiry interval (it never expires)."""


class MqttTlsSettings(ConfigModel):
    """TLS to the broker (L15): the broker's certificate checked against a CA, and optionally a client
    certificate."""

    ca_file: Path | None = Field(
        default=None,
        title="CA file",
        description="PEM file of the certificate authority that signed the broker's certificate; unset: the "
        "system's trusted authorities.",
    )
    client_certificate_file: Path | None = Field(
        default=None,
        title="Client certificate file",
        description="PEM file of Vigie's client certificate, for a broker that requires one "
        "(`require_certificate true`); needs `client_key_file`.",
    )
    client_key_file: Path | None = Field(
        default=None,
        title="Client key file",
        description="PEM file of the client certificate's private key (unencrypted, readable by the user running "
        "vigie only).",
    )

    @model_validator(mode="after")
    def _certificate_with_key(self) -> MqttTlsSettings:
        if (self.client_certificate_file is None) != (self.client_key_file is None):
            raise invalid(
                "mqtt.tls.client_certificate_file needs mqtt.tls.client_key_file, and the key its certificate",
                "set both `client_certificate_file` and `client_key_file`, or neither",
            )
        return self


class MqttSettings(ConfigModel):
    """Publishing to an MQTT broker (docs/integrations.md): per commune, `<prefix>/<commune>/alerts` (confirmed
    alerts only), `<prefix>/<commune>/cameras/<camera>/state` (retained) and `<prefix>/<commune>/health`. QoS 1
    over a persistent session; alerts and health events go through an outbox in the database, so none is lost
    while the broker is away. Off by default."""

    enabled: bool = Field(
        default=False,
        title="Enabled",
        description="Publish to the broker; `false` (the default): nothing is published and no outbox row is written.",
    )
    host: NonEmptyText | None = Field(
        default=None,
        title="Broker host",
        description="Host name or address of the broker; required when `enabled`.",
    )
    port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        title="Broker port",
        description="TCP port of the broker; default 8883 with `tls`, 1883 without.",
    )
    tls: MqttTlsSettings | None = Field(
        default=None,
        title="TLS",
        description="Connect over TLS (L15); required for a broker that is not on this machine (plain MQTT is "
        "accepted for 127.0.0.1, ::1 and localhost only).",
    )
    username: NonEmptyText | None = Field(
        default=None,
        title="Username",
        description="Vigie's account on the broker; unset: no password is sent (a broker with client "
        "certificates as identities).",
    )
    password_env: str = Field(
        default="VIGIE_MQTT_PASSWORD",
        pattern=MQTT_ENV_NAME_PATTERN,
        title="Password variable",
        description="Name of the environment variable holding the password of `username` (not the password "
        "itself); the password never goes in this file, in a log or in the audit.",
    )
    topic_prefix: str = Field(
        default="vigie",
        pattern=TOPIC_PREFIX_PATTERN,
        title="Topic prefix",
        description="First level(s) of every topic (default `vigie`: `vigie/<commune>/alerts`); letters, digits, "
        "`_` and `-`, up to four levels separated by `/`, no wildcard.",
    )
    client_id: str = Field(
        default="vigie",
        pattern=CLIENT_ID_PATTERN,
        title="Client id",
        description="MQTT client id of `vigie serve` (fixed: the broker keeps its session across reconnections); "
        "two Vigie installations on one broker need different ids.",
    )
    qos: Literal[1] = Field(
        default=1,
        title="QoS",
        description="Quality of service of every message: 1 (at least once; consumers drop duplicates by the "
        "payload's `id`). The only value.",
    )
    session_expiry_s: int = Field(
        default=86_400,
        ge=0,
        le=MAX_SESSION_EXPIRY_S,
        title="Session expiry (s)",
        description="How long the broker keeps Vigie's session after a disconnection (MQTT v5); default a day.",
    )
    max_inflight: int = Field(
        default=20,
        ge=1,
        le=65_535,
        title="Messages in flight",
        description="Messages sent and not yet acknowledged, at most; at most the broker's receive maximum "
        "(Mosquitto: `max_inflight_messages`, default 20). Raise both for thousands of messages a second.",
    )
    keepalive_s: int = Field(
        default=30,
        ge=5,
        le=3600,
        title="Keep-alive (s)",
        description="Seconds between two pings when nothing else is sent; a broker that does not answer within "
        "1.5 times this is taken as gone and reconnected to.",
    )

    @model_validator(mode="after")
    def _usable_when_enabled(self) -> MqttSettings:
        if not self.enabled:
            return self
        if self.host is None:
            raise invalid("mqtt.host is required when mqtt.enabled is true", "e.g. host: mqtt.metropole.fr")
        if self.tls is None and self.host not in LOOPBACK_HOSTS:
            raise invalid(
                f"mqtt.tls is required for the broker {self.host}: plain MQTT would carry alerts and the password "
                "in clear (L15)",
                "add `tls: {ca_file: /etc/vigie/mqtt-ca.pem}` and the broker's TLS port (8883)",
            )
        return self

    @property
    def broker_port(self) -> int:
        """The configured port, or MQTT's default for the transport."""
        if self.port is not None:
            return self.port
        return 8883 if self.tls is not None else 1883
