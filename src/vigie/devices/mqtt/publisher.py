"""The MQTT publisher of ``vigie serve``: one thread publishing the outbox of the database over one MQTT v5
connection (:mod:`vigie.devices.mqtt.session`, framed by hand for speed: see there why not paho), issue 21.

**Delivery.** Outbox messages are published QoS 1 in the order they were written, by the publisher's thread, woken
when a message is written in this process (:meth:`MqttPublisher.wake`) and at least every ``poll_s`` (for messages
written by another process, an API process confirming an alert). It works in rounds at least ``ROUND_S`` apart: read
the acknowledgements that came back and mark them sent (one statement), read what waits in the outbox (one
statement), write it (one ``sendall``). A message is marked sent when its PUBACK arrives with a success code; with
MQTT v5 a refusal of the broker (its ACL: reason code 135, *not authorised*) comes back as a failure code, logged,
and the message stays unsent (published again at the next start). What was in flight when a connection ended is
sent again after the reconnection (same packet ids, the DUP flag); what was written while the broker was away, or
before a restart of Vigie, is read from the outbox.

**The window.** At most ``mqtt.max_inflight`` messages (and never more than the broker's Receive Maximum) are in flight.

**The crash window.** Mosquitto acknowledges a message before its database is written (every ``autosave_interval``
seconds, and at a clean stop): a broker killed in between loses messages it acknowledged. So after every
(re)connection the messages acknowledged in the last ``resend_window_s`` are published once more. Duplicates are
the price of "at least once": every payload has an ``id`` to drop them by.

**Camera states** are retained messages (the latest wins): kept in memory per configured camera, published by the
publisher's thread (within the window) when they change and all again after every (re)connection; not in the outbox.

Credentials: the password is only in the CONNECT packet, never logged; errors name the broker's host and port only.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from paho.mqtt.packettypes import PacketTypes

from vigie.config.integrations import MqttSettings
from vigie.devices.mqtt.session import FAILURE, PublishSession, Refused, SessionError, connect_packet, reason_name
from vigie.domain.outbox import Outbox, OutboxMessage

log = logging.getLogger(__name__)

BATCH = 1000
"""Outbox messages read per statement, at most (and never more than the room left in the window)."""
ROUND_S = 0.02
"""Shortest time between two publishing rounds: what arrives within a round's time (acknowledgements, new messages)
is taken together at the next one (a round per acknowledgement was an UPDATE and a SELECT per message). It adds at
most this much to a message's delay."""
CONNECT_TIMEOUT_S = 10.0
AGAIN_MAX = 5_000
"""Messages published once more after a (re)connection at most: the latest acknowledged within the crash window."""
KEEP_SENT = timedelta(days=7)
"""Sent messages are purged after this long."""
PURGE_EVERY_S = 3600.0
RECONNECT_MIN_S, RECONNECT_MAX_S = 1, 5


class MqttSetupError(ValueError):
    """The ``mqtt`` section cannot be used as written (a file that cannot be read, a variable not set); the message
    names the field and never holds a secret."""


TRANSIENT_REFUSALS = frozenset({0x89, 0x97})
"""PUBACK reason codes that say "not now" (server busy, quota exceeded): the message is published again."""


def tls_context(settings: MqttSettings) -> ssl.SSLContext | None:
    """The TLS context of the ``mqtt.tls`` section (None: plain MQTT); the broker's certificate and name are always
    checked. A file that cannot be read is an :class:`MqttSetupError` naming its field."""
    tls = settings.tls
    if tls is None:
        return None
    try:
        context = ssl.create_default_context(cafile=None if tls.ca_file is None else str(tls.ca_file))
    except (OSError, ssl.SSLError) as err:
        raise MqttSetupError(f"mqtt.tls.ca_file {tls.ca_file}: cannot use it ({_why(err)})") from None
    if tls.client_certificate_file is not None and tls.client_key_file is not None:
        try:
            context.load_cert_chain(str(tls.client_certificate_file), str(tls.client_key_file))
        except (OSError, ssl.SSLError) as err:
            raise MqttSetupError(
                f"mqtt.tls.client_certificate_file {tls.client_certificate_file} / client_key_file "
                f"{tls.client_key_file}: cannot use them ({_why(err)})"
            ) from None
    return context


def _why(err: BaseException) -> str:
    return getattr(err, "strerror", None) or getattr(err, "reason", None) or type(err).__name__


class MqttPublisher:
    """See the module docstring. ``start`` connects in the background (a broker that is away is retried every
    1 to 5 s, messages waiting in the outbox meanwhile); ``stop`` waits up to ``flush_s`` for the messages in
    flight to be acknowledged."""

    def __init__(
        self,
        settings: MqttSettings,
        outbox: Outbox,
        clock: Callable[[], datetime],
        *,
        password: str | None = None,
        poll_s: float = 1.0,
        resend_window_s: float = 3.0,
    ) -> None:
        if settings.host is None:
            raise MqttSetupError("mqtt.host is required when mqtt.enabled is true")
        self.settings, self._outbox, self._clock = settings, outbox, clock
        self._poll_s, self._resend_window = poll_s, timedelta(seconds=resend_window_s)
        self._host, self._where = str(settings.host), f"{settings.host}:{settings.broker_port}"
        self._tls = tls_context(settings)
        self._connect = connect_packet(
            settings.client_id, settings.keepalive_s, settings.session_expiry_s, settings.username, password
        )
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()
        """Set while a connection to the broker is up (read by the tests and the health view)."""
        self.last_error: str | None = None
        """Why the last connection failed or ended (no secret), or None."""
        # owned by the publisher's thread
        self._session: PublishSession | None = None
        self._next_attempt = 0.0
        self._backoff = float(RECONNECT_MIN_S)
        self._last_mid = 0
        self._mids: dict[int, OutboxMessage] = {}
        """Outbox messages published and not acknowledged, by packet id, in the order they were published."""
        self._in_flight: set[int] = set()
        """Their ``seq``, to skip when the outbox is read again from its start."""
        self._refused: dict[int, str] = {}
        """Messages the broker refused, by ``seq`` (their id, for the log): not published again before a restart."""
        self._again: deque[OutboxMessage] = deque()
        """Messages acknowledged within the crash window, to publish once more after a (re)connection."""
        self._others: dict[int, tuple[bytes, bytes, bool]] = {}
        """Camera states and messages published again, in flight: (topic, payload, retain) by packet id."""
        self._cursor = 0
        self._rewound = float("-inf")
        self.acknowledged = 0
        """Outbox messages the broker acknowledged since the start (the metrics)."""
        self.refused = 0
        """Outbox messages the broker refused since the start (the metrics)."""
        self._purged = float("-inf")
        self._flush_until = 0.0
        # camera states: the latest per camera (bounded by the configured cameras), under a lock
        self._states_lock = threading.Lock()
        self._states: dict[str, tuple[str, bytes]] = {}
        self._states_due: set[str] = set()
        """Cameras whose latest state is to be published (changed, or a new connection)."""

    # --- life ---------------------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="mqtt-publisher", daemon=True)
        self._thread.start()
        log.info("MQTT: publishing to %s as client %s", self._where, self.settings.client_id)

    @property
    def running(self) -> bool:
        """Whether this process runs it (started, not stopped): only then are its live state and counts known here
        (the health view of a ``vigie api`` process, which never starts it, says so)."""
        return self._thread is not None

    def stop(self, flush_s: float = 3.0) -> None:
        """Stop publishing: messages in flight get up to ``flush_s`` for their acknowledgement (what is not
        acknowledged stays in the outbox for the next start), then the connection is closed."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._flush_until = time.monotonic() + flush_s
        self._stopping.set()
        self._wake.set()
        thread.join(flush_s + CONNECT_TIMEOUT_S + 5.0)
        self.connected.clear()

    def wake(self) -> None:
        """Messages were written to the outbox: publish them now rather than at the next poll."""
        self._wake.set()

    def publish_state(self, camera_id: str, topic: str, payload: bytes) -> None:
        """A camera's new state (retained, QoS 1): published at the next round, and again after every reconnection."""
        with self._states_lock:
            self._states[camera_id] = (topic, payload)
            self._states_due.add(camera_id)
        self._wake.set()

    # --- the publisher's thread ---------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                in_flight = bool(self._mids or self._others)
                self._wake.wait(ROUND_S if in_flight else self._poll_s)
                self._wake.clear()
                if self._stopping.is_set() and (not self._mids or time.monotonic() >= self._flush_until):
                    return
                try:
                    self._round()
                except SessionError as err:
                    self._lost(err.reason)
                except Exception:  # the database away: logged, tried again at the next round
                    log.exception("MQTT: publishing round failed; tried again in %.0f s", self._poll_s)
                    self._stopping.wait(self._poll_s)
                    continue
                self._stopping.wait(ROUND_S)
        finally:
            self._close(disconnect=True)

    def _round(self) -> None:
        session = self._session or self._open()
        if session is None:
            return
        self._take_acks(session.acknowledgements())
        now = time.monotonic()
        if now - self._rewound >= self._poll_s:
            # on PostgreSQL a transaction may commit its seq after a later one was read: read from the start again
            # now and then (what is in flight is skipped), so such a message waits a second, not a reconnection
            self._cursor, self._rewound = 0, now
        if not self._stopping.is_set():
            self._publish_waiting(session)
        session.flush()
        self._purge()

    def _open(self) -> PublishSession | None:
        """A new connection when the backoff allows (1 to 5 s between attempts), or None."""
        now = time.monotonic()
        if self._stopping.is_set() or now < self._next_attempt:
            return None
        try:
            session = PublishSession.open(
                self._host,
                self.settings.broker_port,
                self._connect,
                self.settings.keepalive_s,
                tls=self._tls,
                timeout_s=CONNECT_TIMEOUT_S,
            )
        except Refused as err:
            self._failed(f"the broker {self._where} refused the connection: {err.reason}", logging.ERROR)
            return None
        except (OSError, SessionError) as err:
            self._failed(f"cannot connect to the broker {self._where} ({_why(err)})", logging.WARNING)
            return None
        if self.last_error is not None:
            log.info("MQTT: connected to %s again", self._where)
        self.last_error, self._backoff, self._session = None, float(RECONNECT_MIN_S), session
        self.connected.set()
        self._after_connect(session)
        return session

    def _failed(self, error: str, level: int) -> None:
        if error != self.last_error:
            hint = (
                "check mqtt.username and the variable named by mqtt.password_env"
                if level == logging.ERROR
                else f"retried every {RECONNECT_MIN_S}-{RECONNECT_MAX_S} s"
            )
            log.log(level, "MQTT: %s; %s (messages wait in the outbox)", error, hint)
        self.last_error = error
        self._next_attempt = time.monotonic() + self._backoff
        self._backoff = min(float(RECONNECT_MAX_S), self._backoff * 2)

    def _lost(self, reason: str) -> None:
        self._close(disconnect=False)
        if not self._stopping.is_set():
            self.last_error = f"connection to {self._where} lost: {reason}"
            log.warning("MQTT: %s; reconnecting (messages wait in the outbox)", self.last_error)
        self._next_attempt = time.monotonic() + RECONNECT_MIN_S

    def _close(self, *, disconnect: bool) -> None:
        session, self._session = self._session, None
        self.connected.clear()
        if session is not None:
            session.close(disconnect=disconnect)

    def _take_acks(self, acks: list[tuple[int, int]]) -> None:
        """Mark what the broker acknowledged, in one statement."""
        mids, in_flight, others = self._mids, self._in_flight, self._others
        sent: list[int] = []
        for mid, code in acks:
            message = mids.pop(mid, None)
            if message is None:
                others.pop(mid, None)  # a camera state, or a message published again after a crash window
                continue
            seq = message.seq or 0
            in_flight.discard(seq)
            if code < FAILURE:
                sent.append(seq)
            elif code in TRANSIENT_REFUSALS:
                self._cursor = 0  # read again from the start at the next round
            else:
                self._refuse(message, code)
        if sent:
            self._outbox.mark_sent(sent, self._clock())
            self.acknowledged += len(sent)

    def _refuse(self, message: OutboxMessage, code: int) -> None:
        self._refused[message.seq or 0] = message.id
        self.refused += 1
        log.error(
            "MQTT: the broker refused message %s (%s): check its ACL for the user in mqtt.username; the message "
            "stays in the outbox (tried again at the next start)",
            message.id,
            reason_name(PacketTypes.PUBACK, code),
        )

    def _after_connect(self, session: PublishSession) -> None:
        """A connection was made: what was in flight again (same packet ids, DUP), the camera states again, the
        messages acknowledged within the crash window again, and the outbox read from its start."""
        for mid, message in self._mids.items():
            session.publish(message.topic.encode(), message.payload, mid, retain=message.retain, dup=True)
        for mid, (topic, payload, retain) in self._others.items():
            session.publish(topic, payload, mid, retain=retain, dup=True)
        self._cursor = 0
        with self._states_lock:
            self._states_due.update(self._states)
        self._again = deque(self._outbox.sent_since(self._clock() - self._resend_window, AGAIN_MAX))

    def _window(self) -> int:
        session = self._session
        broker = session.connected.receive_maximum if session is not None else 0
        return min(self.settings.max_inflight, broker)

    def _room(self) -> int:
        """Messages that may be published now: the window less those in flight."""
        return self._window() - len(self._mids) - len(self._others)

    def _mid(self) -> int:
        """The next free packet id (1..65,535; the window keeps far fewer in flight)."""
        mid = self._last_mid
        while True:
            mid = mid % 0xFFFF + 1
            if mid not in self._mids and mid not in self._others:
                self._last_mid = mid
                return mid

    def _publish_waiting(self, session: PublishSession) -> None:
        if self._states_due and self._room() > 0:
            with self._states_lock:
                cameras = list(self._states_due)[: self._room()]
                self._states_due.difference_update(cameras)
                due = [self._states[camera] for camera in cameras]
            for topic, payload in due:
                self._publish_other(session, topic.encode(), payload, retain=True)
        while self._again and self._room() > 0:
            message = self._again.popleft()
            self._publish_other(session, message.topic.encode(), message.payload, retain=message.retain)
        while (room := self._room()) > 0:
            batch = self._outbox.unsent(min(BATCH, room), after_seq=self._cursor)
            if not batch:
                return
            self._cursor = batch[-1].seq or self._cursor
            self._send(session, batch)
            if len(batch) < min(BATCH, room):
                return  # the outbox is read to its end

    def _publish_other(self, session: PublishSession, topic: bytes, payload: bytes, *, retain: bool) -> None:
        mid = self._mid()
        session.publish(topic, payload, mid, retain=retain)
        self._others[mid] = (topic, payload, retain)

    def _send(self, session: PublishSession, batch: Sequence[OutboxMessage]) -> None:
        """Add ``batch`` to the round: the hot path, a few look-ups per message."""
        mids, in_flight, refused, publish = self._mids, self._in_flight, self._refused, session.publish
        for message in batch:
            seq = message.seq or 0
            if seq in in_flight or seq in refused:
                continue
            mid = self._mid()
            publish(message.topic.encode(), message.payload, mid, retain=message.retain)
            mids[mid] = message
            in_flight.add(seq)

    def _purge(self) -> None:
        now = time.monotonic()
        if now - self._purged < PURGE_EVERY_S:
            return
        self._purged = now
        purged = self._outbox.purge(self._clock() - KEEP_SENT)
        if purged:
            log.info("MQTT: %d message(s) sent more than %d days ago purged from the outbox", purged, KEEP_SENT.days)
