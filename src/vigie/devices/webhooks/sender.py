"""The sender of one webhook endpoint: a thread of ``vigie serve`` that POSTs the endpoint's waiting deliveries with
httpx, in the order they were written, and records every outcome (issue 21).

**Outcomes.** A 2xx answer is a delivery (``integration.webhook_delivered`` in the audit log). Any other answer, a
timeout or a refused connection is a failed attempt: the delivery is tried again after a delay that doubles at each
attempt (``backoff_initial_s``, twice that, … up to ``backoff_max_s``), drawn between half and all of it (jitter:
receivers coming back are not hit by every sender at once); a 429 or 503 with ``Retry-After`` waits what the
receiver asked (up to a day). After ``max_attempts`` the delivery is given up (``integration.webhook_failed``).
``410 Gone`` says the receiver is no more: the endpoint is disabled — recorded in the database for this URL, its
waiting deliveries dropped, nothing sent to it while its configured URL stays the same — and audited
(``integration.webhook_disabled``), until an administrator re-enables it (``vigie webhooks enable``,
:mod:`vigie.services.webhooks`), which this sender notices within ``poll_s``. Redirections are not followed (a
3xx is a failed attempt).

**Pauses.** After a failed attempt the endpoint pauses until that delivery's next attempt, then tries the oldest
due delivery first: a receiver that is down costs one request per delay, not one per waiting delivery.

**Restarts.** Deliveries live in the database: what was not delivered when ``vigie serve`` stopped is sent after
it starts again (at its recorded next attempt). Deliveries written by ``vigie api`` processes are picked up at the
next poll (every ``poll_s``); those of this process at once (:meth:`WebhookSender.wake`).

**Secrets.** The signing key is held in memory only. Logs and the audit name the endpoint and its URL without
query string or fragment (:func:`shown_url`); an error names the exception's class, never its text (httpx quotes
the full URL).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit, urlunsplit

import httpx

from vigie import __version__
from vigie.config.integrations import WebhookEndpoint
from vigie.devices.webhooks.signing import sign
from vigie.domain.audit import AuditAction, AuditEvent
from vigie.domain.ports import AuditSink
from vigie.domain.webhooks import DisabledEndpoint, WebhookDeliveries, WebhookDelivery

log = logging.getLogger(__name__)

ACTOR = "system:webhooks"
BATCH = 100
"""Deliveries read per round."""
MAX_RETRY_AFTER_S = 86_400.0
"""A receiver's ``Retry-After`` is honoured up to this long."""
KEEP_DONE = timedelta(days=7)
"""Deliveries no longer waiting are purged after this long."""
PURGE_EVERY_S = 3600.0


def shown_url(url: str) -> str:
    """The URL as logs and the audit show it: scheme, host, port and path; never a query string or fragment,
    which may hold a token."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, "", ""))


class _HttpxUrlFilter(logging.Filter):
    """httpx logs every request with its whole URL (``HTTP Request: POST <url> …`` at INFO): the URLs in its
    records are shown as :func:`shown_url` shows them, so a token in a query string never reaches a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, httpx.URL) for a in record.args):
            record.args = tuple(shown_url(str(a)) if isinstance(a, httpx.URL) else a for a in record.args)
        return True


_HTTPX_FILTER = _HttpxUrlFilter()


def _guard_httpx_logs() -> None:
    logger = logging.getLogger("httpx")
    if _HTTPX_FILTER not in logger.filters:
        logger.addFilter(_HTTPX_FILTER)


def url_digest(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def backoff_s(endpoint: WebhookEndpoint, attempts: int, draw: float) -> float:
    """The delay after the ``attempts``-th failed attempt: ``backoff_initial_s`` doubled per attempt, at most
    ``backoff_max_s``, scaled by ``draw`` in [0, 1] to between half and all of it."""
    ceiling = min(endpoint.backoff_max_s, endpoint.backoff_initial_s * 2.0 ** max(0, attempts - 1))
    return ceiling * (0.5 + 0.5 * min(1.0, max(0.0, draw)))


def retry_after_s(value: str | None, now: datetime) -> float | None:
    """A ``Retry-After`` header in seconds (delta-seconds or an HTTP date), at most a day; None when absent or
    unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return min(float(text), MAX_RETRY_AFTER_S)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return min(max(0.0, (when - now).total_seconds()), MAX_RETRY_AFTER_S)


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one POST gave: the HTTP status (None: no answer) and, for a failure, why (no URL, no secret)."""

    status: int | None
    error: str = ""
    retry_after: str | None = None


class WebhookSender:
    """See the module docstring. ``tls``: the context checking the receiver's certificate (the endpoint's
    ``ca_file``), the system's authorities when None. :meth:`run_once` is one round (what the thread does at each
    wake-up, and what the tests call with an injected clock); :meth:`start` and :meth:`stop` run it in a thread."""

    def __init__(
        self,
        endpoint: WebhookEndpoint,
        key: bytes,
        deliveries: WebhookDeliveries,
        audit: AuditSink,
        clock: Callable[[], datetime],
        *,
        tls: ssl.SSLContext | None = None,
        client: httpx.Client | None = None,
        draw: Callable[[], float] = random.random,
        poll_s: float = 1.0,
    ) -> None:
        self.endpoint, self._key, self._deliveries, self._audit = endpoint, key, deliveries, audit
        self._clock, self._draw, self._poll_s = clock, draw, poll_s
        self._url, self.shown_url, self._digest = endpoint.url, shown_url(endpoint.url), url_digest(endpoint.url)
        _guard_httpx_logs()
        self._client = client or httpx.Client(
            timeout=endpoint.timeout_s,
            follow_redirects=False,
            # the receiver's certificate and name checked against ``tls`` (the endpoint's ca_file) or the system's
            # authorities, not a bundle shipped with a library
            verify=tls if tls is not None else ssl.create_default_context(),
            headers={"user-agent": f"vigie/{__version__}", "content-type": "application/json"},
        )
        self._hold_until: datetime | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._purged = float("-inf")
        self._disabled_read = False
        self.disabled: DisabledEndpoint | None = None
        """Set when the endpoint answered 410 Gone (at this URL, now or in an earlier run)."""
        self.delivered = 0
        """Deliveries made since the start (the metrics)."""
        self.failed = 0
        """Deliveries given up since the start (the metrics)."""
        self.failed_attempts = 0
        """Attempts that failed since the start, retried or not (the metrics)."""

    # --- life ---------------------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=f"webhooks-{self.endpoint.name}", daemon=True)
        self._thread.start()
        log.info("webhooks: sending to %s (%s)", self.endpoint.name, self.shown_url)

    @property
    def running(self) -> bool:
        """Whether this process runs it (started, not stopped): only then are its live state and counts known here
        (the health view of a ``vigie api`` process, which never starts it, says so)."""
        return self._thread is not None

    def stop(self) -> None:
        """Stop after the attempt in flight (at most ``timeout_s``); what is waiting stays in the database."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping.set()
        self._wake.set()
        thread.join(self.endpoint.timeout_s + 5.0)

    def close(self) -> None:
        self.stop()
        self._client.close()

    def wake(self) -> None:
        """Deliveries were written: send them now rather than at the next poll."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                if self.run_once() >= BATCH:
                    continue  # a full batch went: the next one at once
            except Exception:  # the database away: logged, tried again at the next round
                log.exception("webhooks: round of %s failed; tried again in %.0f s", self.endpoint.name, self._poll_s)
            self._wake.wait(self._poll_s)
            self._wake.clear()

    # --- one round ----------------------------------------------------------------------------------------------

    def run_once(self) -> int:
        """Send what is due (until a failure pauses the endpoint); how many attempts were made."""
        now = self._clock()
        self._purge(now)
        if self._is_disabled():
            self._drop_waiting(now)
            return 0
        if self._hold_until is not None and now < self._hold_until:
            return 0
        self._hold_until = None
        attempts = 0
        for delivery in self._deliveries.due(self.endpoint.name, now, BATCH):
            if self._stopping.is_set():
                break
            attempts += 1
            if not self._send(delivery):
                break
        return attempts

    def _send(self, delivery: WebhookDelivery) -> bool:
        """One attempt and its record; whether the round may go on."""
        seq = _seq(delivery)
        at = self._clock()
        result = self._post(delivery, int(at.timestamp()))
        attempts = delivery.attempts + 1
        status = result.status
        if status is not None and 200 <= status < 300:
            self._deliveries.delivered(seq, attempts, self._clock())
            self.delivered += 1
            self._audit_outcome(AuditAction.WEBHOOK_DELIVERED, delivery, attempts, status, "")
            return True
        self.failed_attempts += 1
        error = result.error or f"HTTP {status}"
        if status == 410:
            self._disable(delivery, attempts, at)
            return False
        if attempts >= self.endpoint.max_attempts:
            self._deliveries.failed(seq, attempts, self._clock(), error)
            self.failed += 1
            log.error(
                "webhooks: %s gave up message %s after %d attempts (%s)",
                self.endpoint.name,
                delivery.message_id,
                attempts,
                error,
            )
            self._audit_outcome(AuditAction.WEBHOOK_FAILED, delivery, attempts, status, error)
            self._hold_until = at + timedelta(seconds=backoff_s(self.endpoint, attempts, self._draw()))
            return False  # the receiver is failing: the next message waits as a retry would
        asked = retry_after_s(result.retry_after, at) if status in (429, 503) else None
        delay = asked if asked is not None else backoff_s(self.endpoint, attempts, self._draw())
        retry = at + timedelta(seconds=delay)
        self._deliveries.retry_at(seq, attempts, retry, error)
        self._hold_until = retry
        log.warning(
            "webhooks: %s attempt %d/%d of message %s failed (%s); next in %.0f s",
            self.endpoint.name,
            attempts,
            self.endpoint.max_attempts,
            delivery.message_id,
            error,
            delay,
        )
        return False

    def _post(self, delivery: WebhookDelivery, timestamp: int) -> Attempt:
        headers = {
            "webhook-id": delivery.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(self._key, delivery.message_id, timestamp, delivery.payload),
        }
        try:
            # streamed and closed unread: a receiver's answer body is never needed, and never read whole
            with self._client.stream("POST", self._url, content=delivery.payload, headers=headers) as response:
                return Attempt(response.status_code, "", response.headers.get("retry-after"))
        except httpx.TimeoutException as err:
            return Attempt(None, f"no answer within {self.endpoint.timeout_s:g} s ({type(err).__name__})")
        except httpx.HTTPError as err:  # its text quotes the URL: only its class is kept
            refused = _certificate_refusal(err)
            if refused is not None:
                return Attempt(None, f"the receiver's certificate was refused ({refused}; see ca_file)")
            return Attempt(None, f"request failed ({type(err).__name__})")

    # --- disabled endpoints -------------------------------------------------------------------------------------

    def _is_disabled(self) -> bool:
        """Whether the endpoint is disabled at its URL. Read from the store at the first round (an earlier run's
        410), then known here while it is enabled (only this sender disables it); while it is disabled, read again
        at every round (one read by primary key a poll): an administrator's ``vigie webhooks enable``, in another
        process, resumes the sending within ``poll_s``."""
        if self.disabled is None and self._disabled_read:
            return False
        known = self._deliveries.disabled(self.endpoint.name)
        self._disabled_read = True
        if known is not None and known.url_sha256 == self._digest:
            self.disabled = known
        elif self.disabled is not None:
            log.warning(
                "webhooks: %s (%s) was re-enabled: sending resumes with the messages written from now on",
                self.endpoint.name,
                self.shown_url,
            )
            self.disabled = None
        return self.disabled is not None

    def _disable(self, delivery: WebhookDelivery, attempts: int, at: datetime) -> None:
        reason = "the receiver answered 410 Gone"
        self.disabled = DisabledEndpoint(self.endpoint.name, self._digest, at, reason)
        self._deliveries.disable(self.disabled)
        self._deliveries.failed(_seq(delivery), attempts, at, "HTTP 410: endpoint disabled")
        dropped = self._deliveries.drop_waiting(self.endpoint.name, at, "endpoint disabled (410 Gone)")
        log.error(
            "webhooks: %s (%s) answered 410 Gone: disabled, %d waiting message(s) dropped; an administrator "
            "re-enables it with `vigie webhooks enable %s` (or change its url in the configuration)",
            self.endpoint.name,
            self.shown_url,
            dropped,
            self.endpoint.name,
        )
        self._audit.append(
            AuditEvent(
                ACTOR,
                AuditAction.WEBHOOK_DISABLED,
                f"webhook:{self.endpoint.name}",
                {
                    "endpoint": self.endpoint.name,
                    "url": self.shown_url,
                    "reason": reason,
                    "message_id": delivery.message_id,
                    "dropped": dropped,
                },
                at,
            )
        )

    def _drop_waiting(self, now: datetime) -> None:
        """Deliveries written for a disabled endpoint (by an API process, or before the 410 was known) are
        dropped, not kept forever; counted in the log."""
        dropped = self._deliveries.drop_waiting(self.endpoint.name, now, "endpoint disabled (410 Gone)")
        if dropped:
            log.warning("webhooks: %s is disabled (410 Gone): %d message(s) dropped", self.endpoint.name, dropped)

    # --- records ------------------------------------------------------------------------------------------------

    def _audit_outcome(
        self, action: AuditAction, delivery: WebhookDelivery, attempts: int, status: int | None, error: str
    ) -> None:
        details: dict[str, object] = {
            "endpoint": self.endpoint.name,
            "url": self.shown_url,
            "message_id": delivery.message_id,
            "type": delivery.kind,
            "attempts": attempts,
            "status": status,
            **_about(delivery.payload),
        }
        if error:
            details["error"] = error
        try:
            self._audit.append(AuditEvent(ACTOR, action, f"webhook:{self.endpoint.name}", details, self._clock()))
        except Exception:  # the delivery is recorded in its row; the audit's failure must not resend it
            log.exception("webhooks: %s of message %s not audited", action.value, delivery.message_id)

    def _purge(self, now: datetime) -> None:
        tick = time.monotonic()
        if tick - self._purged < PURGE_EVERY_S:
            return
        self._purged = tick
        purged = self._deliveries.purge(now - KEEP_DONE)
        if purged:
            log.info("webhooks: %d finished delivery row(s) older than %d days purged", purged, KEEP_DONE.days)


def _certificate_refusal(err: BaseException) -> str | None:
    """Why TLS refused the receiver's certificate (OpenSSL's words, e.g. ``self-signed certificate``), when that is
    what ended the request."""
    cause: BaseException | None = err
    for _ in range(5):
        if cause is None:
            return None
        if isinstance(cause, ssl.SSLCertVerificationError):
            return str(cause.verify_message or "not trusted")
        cause = cause.__cause__ or cause.__context__
    return None


def _seq(delivery: WebhookDelivery) -> int:
    if delivery.seq is None:
        raise ValueError(f"webhook delivery {delivery.message_id} was not read from the store (no seq)")
    return delivery.seq


def _about(payload: bytes) -> dict[str, object]:
    """What the audit says of a payload: its commune, camera and alert (never more: the payload is in the row)."""
    try:
        data = json.loads(payload)
    except ValueError:
        return {}
    about: dict[str, object] = {"commune": data.get("commune"), "camera": (data.get("camera") or {}).get("id")}
    if isinstance(data.get("alert"), dict):
        about["alert_id"] = data["alert"].get("id")
    if data.get("event"):
        about["event"] = data["event"]
    return about
