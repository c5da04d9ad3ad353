"""Administering the webhook endpoints (issue 21): what a person may do about them, and the start-up clean-up of
what the configuration no longer names.

**Re-enabling an endpoint.** An endpoint that answered ``410 Gone`` is disabled for its URL (the sender,
:mod:`vigie.devices.webhooks.sender`): nothing is sent to it while its configured URL stays the same. A receiver
that comes back at the same URL (a dispatch system redeployed, a 410 answered by mistake) is re-enabled by an
administrator (``manage_integrations``) of a commune the endpoint receives messages of — ``vigie webhooks enable``
— and only that way: the act is a person's, audited with their name (``integration.webhook_enabled``); a refusal
is ``access.denied``. Re-enabling widens nothing: the endpoint receives what the configuration already says it
receives, from the messages written from then on (those dropped at the 410 stay dropped). ``vigie serve``'s sender
notices it within a second.

**Endpoints removed from the configuration.** Their delivery rows are neither sent nor purged by any sender (a
sender exists per configured endpoint): at each start of ``vigie serve`` they are deleted, with their 410 record,
logged and audited with the counts (``integration.webhook_rows_forgotten``); rows no longer waiting older than a
week are purged too, also when the ``webhooks`` section is off.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from vigie.config.integrations import WebhookEndpoint
from vigie.devices.webhooks.sender import ACTOR, KEEP_DONE, shown_url, url_digest
from vigie.domain.audit import AuditAction, AuditEvent
from vigie.domain.ports import AuditSink
from vigie.domain.users import Permission
from vigie.domain.webhooks import ForgottenRows, WebhookDeliveries
from vigie.services.access import NotVisibleError, Principal

log = logging.getLogger(__name__)


class WebhookNotDisabledError(ValueError):
    """The endpoint is not disabled at its configured URL: there is nothing to re-enable."""


@dataclass(frozen=True, slots=True)
class Reenabled:
    endpoint: str
    url: str
    """As logs and the audit show it: without query string."""
    disabled_at: datetime
    reason: str


class WebhookAdministration:
    """See the module docstring. ``endpoints``: those of the configuration (the section's switch aside: an endpoint
    listed while ``webhooks.enabled`` is false keeps its rows for when it is turned on again)."""

    def __init__(
        self,
        endpoints: Sequence[WebhookEndpoint],
        deliveries: WebhookDeliveries,
        audit: AuditSink,
        clock: Callable[[], datetime],
    ) -> None:
        self._endpoints = {e.name: e for e in endpoints}
        self._deliveries, self._audit, self._clock = deliveries, audit, clock

    def reenable(self, principal: Principal, name: str) -> Reenabled:
        """Re-enable ``name``, disabled by a 410 at its configured URL, for ``principal`` (an administrator of one of
        its communes); audited."""
        principal.require(Permission.MANAGE_INTEGRATIONS)
        endpoint = self._endpoints.get(name)
        if endpoint is None or principal.user.commune_id not in endpoint.communes:
            mine = sorted(n for n, e in self._endpoints.items() if principal.user.commune_id in e.communes)
            raise NotVisibleError(
                f"no webhook endpoint {name!r} receiving messages of {principal.user.commune_id} in the configuration"
                f" (yours: {', '.join(mine) or 'none'})"
            )
        known = self._deliveries.disabled(name)
        if known is None or known.url_sha256 != url_digest(endpoint.url):
            raise WebhookNotDisabledError(
                f"webhook endpoint {name} is not disabled at its url ({shown_url(endpoint.url)}): nothing to re-enable"
            )
        self._deliveries.enable(name)
        done = Reenabled(name, shown_url(endpoint.url), known.at, known.reason)
        self._audit.append(
            AuditEvent(
                principal.actor,
                AuditAction.WEBHOOK_ENABLED,
                f"webhook:{name}",
                {
                    "endpoint": name,
                    "url": done.url,
                    "communes": list(endpoint.communes),
                    "disabled_at": known.at.isoformat(),
                    "reason": known.reason,
                },
                self._clock(),
            )
        )
        log.warning("webhooks: %s (%s) re-enabled by %s", name, done.url, principal.actor)
        return done

    def forget_removed_endpoints(self) -> dict[str, ForgottenRows]:
        """Delete the rows of endpoints the configuration no longer names (logged and audited with the counts), and
        purge the rows no longer waiting older than a week; what was deleted per removed endpoint."""
        now = self._clock()
        forgotten = self._deliveries.forget_endpoints(tuple(self._endpoints))
        for name, rows in forgotten.items():
            log.warning(
                "webhooks: endpoint %s is no longer configured: %d waiting message(s) and %d finished row(s) deleted%s",
                name,
                rows.waiting,
                rows.done,
                ", and its 410 record" if rows.disabled else "",
            )
        if forgotten:
            details = {
                name: {"waiting": rows.waiting, "done": rows.done, "disabled": rows.disabled}
                for name, rows in forgotten.items()
            }
            self._audit.append(
                AuditEvent(ACTOR, AuditAction.WEBHOOK_ROWS_FORGOTTEN, "webhooks", {"endpoints": details}, now)
            )
        purged = self._deliveries.purge(now - KEEP_DONE)
        if purged:
            log.info("webhooks: %d finished delivery row(s) older than %d days purged", purged, KEEP_DONE.days)
        return forgotten
