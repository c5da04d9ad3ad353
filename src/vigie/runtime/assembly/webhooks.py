"""Builds the webhook bridge of the ``webhooks`` section (issue 21), or nothing when it is off: the one place that
reads the endpoints' signing secrets, from the environment variables the file names."""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from vigie.config.models import VigieConfig, WebhookEndpoint
from vigie.devices.webhooks.bridge import WebhookBridge
from vigie.devices.webhooks.sender import WebhookSender
from vigie.devices.webhooks.signing import WebhookSecretError, decode_secret
from vigie.domain.ports import AuditSink
from vigie.services.webhooks import WebhookAdministration
from vigie.storage.webhooks import SqlWebhookDeliveries

GENERATE_COMMAND = (
    "python3 -c \"import base64, secrets; print('whsec_' + base64.b64encode(secrets.token_bytes(32)).decode())\""
)
"""A command that prints a new secret (given to the endpoint's receiver and to Vigie's environment)."""


class WebhookSetupError(ValueError):
    """The ``webhooks`` section cannot be used as written (a secret variable not set or malformed); the message
    names the endpoint and the variable, never the secret."""


def open_webhooks(
    config: VigieConfig,
    engine: Engine,
    audit: AuditSink,
    clock: Callable[[], datetime],
    environ: Mapping[str, str] | None = None,
    *,
    poll_s: float = 1.0,
) -> WebhookBridge | None:
    """The bridge when ``webhooks.enabled``, else None. Nothing is sent before :meth:`WebhookBridge.start`."""
    settings = config.webhooks
    if not settings.enabled:
        return None
    env = os.environ if environ is None else environ
    deliveries = SqlWebhookDeliveries(engine)
    senders = []
    for endpoint in settings.endpoints:
        where = f"webhooks endpoint {endpoint.name}: secret_env"
        secret = env.get(endpoint.secret_env, "")
        if not secret:
            raise WebhookSetupError(
                f"{where}: the environment variable {endpoint.secret_env} (its signing secret) is not set or empty; "
                f"set it before starting vigie (a new secret: {GENERATE_COMMAND})"
            )
        try:
            key = decode_secret(secret)
        except WebhookSecretError as err:
            raise WebhookSetupError(
                f"{where}: the variable {endpoint.secret_env} does not hold a Standard Webhooks secret ({err}); "
                f"it must be whsec_ followed by the base64 of 24 to 64 random bytes (a new one: {GENERATE_COMMAND})"
            ) from None
        tls = tls_context(endpoint)
        senders.append(WebhookSender(endpoint, key, deliveries, audit, clock, tls=tls, poll_s=poll_s))
    return WebhookBridge(settings, config.placements(), deliveries, senders, clock)


def open_webhook_administration(
    config: VigieConfig, engine: Engine, audit: AuditSink, clock: Callable[[], datetime]
) -> WebhookAdministration:
    """What administrators do about the endpoints (re-enable one; at ``vigie serve``'s start, forget the removed
    ones): built whether the section is on or off, since rows may be left from when it was on."""
    return WebhookAdministration(config.webhooks.endpoints, SqlWebhookDeliveries(engine), audit, clock)


def tls_context(endpoint: WebhookEndpoint) -> ssl.SSLContext | None:
    """The context of the endpoint's ``ca_file`` (None: the system's authorities); a file that cannot be used is a
    :class:`WebhookSetupError` naming the field."""
    if endpoint.ca_file is None:
        return None
    try:
        return ssl.create_default_context(cafile=str(endpoint.ca_file))
    except (OSError, ssl.SSLError) as err:
        why = getattr(err, "strerror", None) or getattr(err, "reason", None) or type(err).__name__
        raise WebhookSetupError(
            f"webhooks endpoint {endpoint.name}: ca_file {endpoint.ca_file}: cannot use it ({why})"
        ) from None


class WebhooksCollector(Collector):
    """``vigie_webhooks_*`` per endpoint: deliveries waiting, made, given up, failed attempts, disabled
    (docs/metrics.md)."""

    def __init__(self, bridge: WebhookBridge) -> None:
        self._bridge = bridge

    def collect(self) -> Iterator[Metric]:
        waiting = GaugeMetricFamily(
            "vigie_webhooks_waiting", "Webhook messages waiting to be delivered", labels=["endpoint"]
        )
        delivered = CounterMetricFamily(
            "vigie_webhooks_delivered", "Webhook messages the endpoint answered 2xx to", labels=["endpoint"]
        )
        failed = CounterMetricFamily(
            "vigie_webhooks_failed", "Webhook messages given up after the endpoint's attempts", labels=["endpoint"]
        )
        attempts = CounterMetricFamily(
            "vigie_webhooks_attempts_failed", "Webhook attempts that failed (retried or not)", labels=["endpoint"]
        )
        disabled = GaugeMetricFamily(
            "vigie_webhooks_endpoint_disabled", "1 when the endpoint answered 410 Gone, else 0", labels=["endpoint"]
        )
        for sender in self._bridge.senders:
            name = [sender.endpoint.name]
            waiting.add_metric(name, float(self._bridge.deliveries.count_waiting(sender.endpoint.name)))
            delivered.add_metric(name, sender.delivered)
            failed.add_metric(name, sender.failed)
            attempts.add_metric(name, sender.failed_attempts)
            disabled.add_metric(name, 1.0 if sender.disabled is not None else 0.0)
        yield from (waiting, delivered, failed, attempts, disabled)
