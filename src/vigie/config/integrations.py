"""Integrations with other systems: the ``mqtt`` and ``webhooks`` sections (issue 21).

Vigie publishes to an MQTT broker (Mosquitto) what other systems of a supervision centre may know: **confirmed**
alerts only (a person decided, L28), the state of the cameras and the recording and stream alarms. Nothing here is
read: the password comes from an environment variable named in the file, never from the file, and is read by the
runtime when it connects (validators do no I/O). Webhooks POST the same confirmed alerts and health events to
configured URLs, signed with a secret that likewise stays in the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from vigie.config.fields import ConfigModel, NonEmptyText, Slug, first_repeated, invalid
from vigie.domain.redact import redact_url

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


WebhookKind = Literal["alert.confirmed", "health"]
"""What an endpoint may receive: the payload ``type`` (the same payloads as MQTT's alerts and health topics)."""
WEBHOOK_KINDS: tuple[WebhookKind, ...] = ("alert.confirmed", "health")


class WebhookEndpoint(ConfigModel):
    """One receiver of webhooks: a URL, the communes and kinds of message it receives, the variable holding its
    signing secret, and how hard Vigie tries (docs/integrations.md#webhooks)."""

    name: Slug = Field(
        title="Name",
        description="Identifier of the endpoint (in logs, metrics and the audit log, which never show its full URL).",
    )
    url: NonEmptyText = Field(
        title="URL",
        description="Where messages are POSTed; `https://` (plain `http://` only to 127.0.0.1, ::1 or localhost). "
        "No user or password in it: receivers check the signature.",
    )
    communes: tuple[Slug, ...] = Field(
        min_length=1,
        title="Communes",
        description="Ids of the communes whose messages this endpoint receives (each must be a configured commune).",
    )
    kinds: tuple[WebhookKind, ...] = Field(
        default=WEBHOOK_KINDS,
        min_length=1,
        title="Kinds",
        description="Which messages: `alert.confirmed` (alerts a person confirmed, never pending or dismissed ones) "
        "and/or `health` (recording gaps, stream alarms); default both.",
    )
    secret_env: str = Field(
        pattern=MQTT_ENV_NAME_PATTERN,
        title="Secret variable",
        description="Name of the environment variable holding the endpoint's signing secret (`whsec_` followed by "
        "the base64 of 24 to 64 random bytes), not the secret itself; it never goes in this file, a log or the "
        "audit.",
    )
    ca_file: Path | None = Field(
        default=None,
        title="CA file",
        description="PEM file of the certificate authority that signed the receiver's certificate (an internal "
        "PKI); unset: the system's trusted authorities. The certificate and the host name are always checked.",
    )
    timeout_s: float = Field(
        default=10.0,
        gt=0.0,
        le=60.0,
        title="Timeout (s)",
        description="How long one attempt may take (connection and answer); past it the attempt failed.",
    )
    max_attempts: int = Field(
        default=12,
        ge=1,
        le=50,
        title="Attempts",
        description="Attempts per message before giving up (audited as `integration.webhook_failed`); with the "
        "default backoff, 12 attempts span 1.7 to 3.4 hours.",
    )
    backoff_initial_s: float = Field(
        default=10.0,
        ge=0.1,
        le=3600.0,
        title="First retry delay (s)",
        description="Delay before the second attempt; each next delay doubles, up to `backoff_max_s`, with jitter "
        "(each delay is drawn between half and all of it).",
    )
    backoff_max_s: float = Field(
        default=3600.0,
        ge=1.0,
        le=86_400.0,
        title="Longest retry delay (s)",
        description="Longest delay between two attempts (a `Retry-After` of the receiver, on 429 or 503, is "
        "honoured up to a day).",
    )

    @field_validator("url")
    @classmethod
    def _secure_url(cls, url: str) -> str:
        shown = redact_url(url)
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:
            raise invalid(f"{shown} is not a URL", "e.g. https://dispatch.example.fr/vigie") from None
        if parts.scheme not in ("https", "http") or not host:
            raise invalid(f"{shown} is not an http(s) URL", "e.g. https://dispatch.example.fr/vigie")
        if parts.username is not None or parts.password is not None:
            raise invalid(
                f"{shown} holds a user or password: it would be written wherever the URL is",
                "remove it: the receiver checks each message's signature (`secret_env`)",
            )
        if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
            raise invalid(
                f"{shown}: plain http would carry alerts in clear (L15)",
                "use https:// (plain http is accepted for 127.0.0.1, ::1 and localhost only)",
            )
        return url

    @model_validator(mode="after")
    def _backoff_in_order(self) -> WebhookEndpoint:
        if self.ca_file is not None and not self.url.startswith("https://"):
            raise invalid(
                f"webhook endpoint {self.name}: ca_file is for an https:// URL",
                "remove `ca_file`, or use the receiver's https:// URL",
            )
        if self.backoff_max_s < self.backoff_initial_s:
            raise invalid(
                f"webhook endpoint {self.name}: backoff_max_s ({self.backoff_max_s}) is below backoff_initial_s "
                f"({self.backoff_initial_s})",
                "raise `backoff_max_s` or lower `backoff_initial_s`",
            )
        return self


class WebhooksSettings(ConfigModel):
    """POSTing confirmed alerts and health events to other systems (docs/integrations.md#webhooks), signed per
    the Standard Webhooks specification, retried with a backoff, every outcome audited. Off by default."""

    enabled: bool = Field(
        default=False,
        title="Enabled",
        description="Send webhooks; `false` (the default): nothing is sent and no delivery row is written.",
    )
    endpoints: tuple[WebhookEndpoint, ...] = Field(
        default=(),
        title="Endpoints",
        description="The receivers; at least one when `enabled`. Each message goes to every endpoint whose "
        "`communes` and `kinds` take it.",
    )

    @model_validator(mode="after")
    def _usable_when_enabled(self) -> WebhooksSettings:
        repeated = first_repeated([e.name for e in self.endpoints])
        if repeated is not None:
            raise invalid(
                f"webhooks.endpoints: the name {repeated[1]} is used twice", "give each endpoint its own `name`"
            )
        if self.enabled and not self.endpoints:
            raise invalid(
                "webhooks.endpoints is empty while webhooks.enabled is true",
                "add an endpoint (name, url, communes, secret_env) or set `enabled: false`",
            )
        return self
