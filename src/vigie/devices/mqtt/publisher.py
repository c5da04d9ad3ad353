"""The MQTT publisher of ``vigie serve``: paho-mqtt (MQTT v5) with its network loop in its own thread, the outbox in
the database as its queue (issue 21).

**Delivery.** Outbox messages are published QoS 1 in the order they were written, by one thread of this publisher,
woken when a message is written in this process (:meth:`MqttPublisher.wake`) and at least every ``poll_s`` (for
messages written by another process, an API process confirming an alert). A message is marked sent when its PUBACK
arrives with a success code; with MQTT v5 a refusal of the broker (its ACL: reason code 135, *not authorised*) comes
back as a failure code, logged, and the message stays unsent (published again at the next start). paho keeps the
messages it has not seen acknowledged and sends them again after a reconnection (with the DUP flag); what it never
had — written while the broker was away, or before a restart of Vigie — is read from the outbox.

**The crash window.** Mosquitto acknowledges a message before its database is written (every ``autosave_interval``
seconds, and at a clean stop): a broker killed in between loses messages it acknowledged. So after every
(re)connection the messages acknowledged in the last ``resend_window_s`` are published once more. Duplicates are
the price of "at least once": every payload has an ``id`` to drop them by.

**Camera states** are retained messages (the latest wins): kept in memory per configured camera, published by the
publisher's thread (within the same window as the outbox) when they change and all again after every
(re)connection; not in the outbox.

**The window.** This publisher, not paho, bounds the messages in flight (``mqtt.max_inflight``): paho's own window
walks every message it holds at each acknowledgement (``Client._update_inflight``), about half of its network
thread's CPU at a window of 1,000 (``bench/mqtt_throughput.py``), so paho is given no limit and is handed at most the
room left.

Credentials: the password is handed to paho and never logged; errors name the broker's host and port only.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from vigie.config.integrations import MqttSettings
from vigie.domain.outbox import Outbox, OutboxMessage

log = logging.getLogger(__name__)

BATCH = 1000
"""Outbox messages read per statement, at most (and never more than the room left in the window)."""
ROUND_S = 0.02
"""Shortest time between two publishing rounds. Without it, under load each acknowledgement woke a round of its own
(an UPDATE marking one message sent, a SELECT reading one more): 380 µs of CPU per message and 2,650 messages a
second at most; with 20 ms rounds, 230 µs and 3,600 (``bench/mqtt_throughput.py``). It adds at most this much to a
message's delay."""
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
FAILURE = 0x80
"""PUBACK reason codes from this one up are refusals (MQTT v5)."""
_HANDED = (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN)
"""``publish`` results for which paho keeps a QoS-1 message (without a connection: sent at the reconnection)."""


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
        self._where = f"{settings.host}:{settings.broker_port}"
        self._client = self._new_client(settings, password, tls_context(settings))
        self._acks: deque[tuple[int, int]] = deque()
        """(mid, PUBACK reason code) appended by paho's network thread, taken by the publisher's (a deque's append
        and popleft are atomic)."""
        self._connections = 0
        """Connections made (paho's thread counts them; the publisher's thread notices a new one)."""
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()
        """Set while a connection to the broker is up (read by the tests and the health view)."""
        self.last_error: str | None = None
        """Why the last connection failed or ended (no secret), or None."""
        # owned by the publisher's thread
        self._mids: dict[int, OutboxMessage] = {}
        """Outbox messages handed to paho and not acknowledged, by paho's message id."""
        self._in_flight: set[int] = set()
        """Their ``seq``, to skip when the outbox is read again from its start."""
        self._refused: dict[int, str] = {}
        """Messages the broker refused, by ``seq`` (their id, for the log): not published again before a restart."""
        self._again: deque[OutboxMessage] = deque()
        """Messages acknowledged within the crash window, to publish once more after a (re)connection."""
        self._other_mids: set[int] = set()
        """Camera states and messages published again, in flight (in the window, not in the outbox's books)."""
        self._cursor = 0
        self._seen_connections = 0
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
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self.settings.session_expiry_s
        self._client.connect_async(
            str(self.settings.host),
            self.settings.broker_port,
            keepalive=self.settings.keepalive_s,
            clean_start=False,
            properties=properties,
        )
        self._client.loop_start()
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
        thread.join(flush_s + 5.0)
        self._client.disconnect()
        self._client.loop_stop()
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

    # --- paho's callbacks (its network thread): nothing here blocks -----------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any) -> None:
        if reason.is_failure:
            error = f"the broker {self._where} refused the connection: {reason}"
            if error != self.last_error:
                log.error("MQTT: %s (check mqtt.username and the variable named by mqtt.password_env)", error)
            self.last_error = error
            return
        sock = client.socket()
        if isinstance(sock, socket.socket):  # paho does not set it: each message would wait for the previous ack
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.last_error is not None:
            log.info("MQTT: connected to %s again", self._where)
        self.last_error = None
        self._connections += 1
        self.connected.set()
        self._wake.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any) -> None:
        was = self.connected.is_set()
        self.connected.clear()
        if was and not self._stopping.is_set():
            self.last_error = f"connection to {self._where} lost: {reason}"
            log.warning("MQTT: %s; reconnecting (messages wait in the outbox)", self.last_error)

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: ReasonCode, props: Any) -> None:
        self._acks.append((mid, reason.value))
        if not self._wake.is_set():  # the publisher works in rounds: one wake-up is enough
            self._wake.set()

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        error = f"cannot connect to the broker {self._where}"
        if error != self.last_error:
            log.warning("MQTT: %s; retried every %d-%d s", error, RECONNECT_MIN_S, RECONNECT_MAX_S)
        self.last_error = error

    # --- the publisher's thread ---------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._wake.wait(self._poll_s)
            self._wake.clear()
            try:
                self._take_acks()
                if self._stopping.is_set():
                    if not self._in_flight or time.monotonic() >= self._flush_until:
                        return
                    continue
                if self._connections != self._seen_connections:
                    self._seen_connections = self._connections
                    self._after_connect()
                if self.connected.is_set():
                    self._publish_waiting()
                self._purge()
                # what arrives within a round's time (acknowledgements, new messages) waits for the next round,
                # taken together: a round per acknowledgement is one UPDATE and one SELECT per message
                self._stopping.wait(ROUND_S)
            except Exception:  # the database away, a paho error: logged, tried again at the next round
                log.exception("MQTT: publishing round failed; tried again in %.0f s", self._poll_s)
                time.sleep(self._poll_s)

    def _take_acks(self) -> None:
        """Mark what the broker acknowledged, in one statement."""
        acks, mids, in_flight, others = self._acks, self._mids, self._in_flight, self._other_mids
        sent: list[int] = []
        while acks:
            mid, code = acks.popleft()
            message = mids.pop(mid, None)
            if message is None:
                others.discard(mid)  # a camera state, or a message published again after a crash window
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
            ReasonCode(PacketTypes.PUBACK, identifier=code),
        )

    def _after_connect(self) -> None:
        """A connection was made: the camera states again, the messages acknowledged within the crash window again,
        and the outbox read from its start (paho sends again what it had in flight)."""
        self._cursor = 0
        with self._states_lock:
            self._states_due.update(self._states)
        self._again = deque(self._outbox.sent_since(self._clock() - self._resend_window, AGAIN_MAX))

    def _room(self) -> int:
        """Messages that may be handed to paho now: the window less those it holds unacknowledged."""
        return self.settings.max_inflight - len(self._mids) - len(self._other_mids)

    def _publish_waiting(self) -> None:
        publish, qos, others = self._client.publish, self.settings.qos, self._other_mids
        if self._states_due:
            with self._states_lock:
                due = [self._states[camera] for camera in self._states_due]
                self._states_due.clear()
            for topic, payload in due:  # bounded by the cameras: may go past the window by that much, once
                info = publish(topic, payload, qos=qos, retain=True)
                if info.rc in _HANDED:
                    others.add(info.mid)
        while self._again and self._room() > 0:
            message = self._again.popleft()
            info = publish(message.topic, message.payload, qos=qos, retain=message.retain)
            if info.rc in _HANDED:
                others.add(info.mid)
        while (room := self._room()) > 0 and self.connected.is_set():
            batch = self._outbox.unsent(min(BATCH, room), after_seq=self._cursor)
            if not batch:
                return
            self._cursor = batch[-1].seq or self._cursor
            self._send(batch)
            if len(batch) < min(BATCH, room):
                return  # the outbox is read to its end

    def _send(self, batch: Sequence[OutboxMessage]) -> None:
        """Hand ``batch`` to paho: the hot path, a few attribute look-ups per message."""
        publish, qos, mids, in_flight, refused = (
            self._client.publish,
            self.settings.qos,
            self._mids,
            self._in_flight,
            self._refused,
        )
        for message in batch:
            seq = message.seq or 0
            if seq in in_flight or seq in refused:
                continue
            info = publish(message.topic, message.payload, qos, message.retain)
            # paho keeps a QoS-1 message it could not send (no connection) and sends it at the reconnection
            if info.rc in _HANDED:
                mids[info.mid] = message
                in_flight.add(seq)
            else:
                log.warning("MQTT: message %s not handed to the client (%s); tried again", message.id, info.rc)

    def _purge(self) -> None:
        now = time.monotonic()
        if now - self._purged < PURGE_EVERY_S:
            return
        self._purged = now
        purged = self._outbox.purge(self._clock() - KEEP_SENT)
        if purged:
            log.info("MQTT: %d message(s) sent more than %d days ago purged from the outbox", purged, KEEP_SENT.days)

    # --- the client ---------------------------------------------------------------------------------------------

    def _new_client(self, settings: MqttSettings, password: str | None, tls: ssl.SSLContext | None) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            protocol=mqtt.MQTTv5,
        )
        if settings.username is not None:
            client.username_pw_set(settings.username, password)
        if tls is not None:
            client.tls_set_context(tls)
        client.max_inflight_messages_set(0)  # no window in paho: this publisher keeps it (module docstring)
        client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_connect_fail = self._on_connect_fail
        return client
