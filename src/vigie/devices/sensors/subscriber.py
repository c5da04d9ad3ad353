"""The sensors' subscriber of ``vigie serve`` (issue 21): paho-mqtt (MQTT v5) on the broker of the ``mqtt``
section, subscribed to each configured sensor's topic, each message checked before anything reads it.

A message is dropped — counted by reason (``vigie_sensor_messages_dropped_total``) and logged, at most one line
per reason a minute — when it is larger than :data:`MAX_READING_BYTES` (``too_large``), is not a reading of the
JSON Schema (``malformed``), names another sensor or kind than its topic's (``wrong_sensor``), repeats an id the
sensor sent lately (``duplicate``) or finds the queue full (``queue_full``). Nothing a sensor sends can stop the
subscriber: the network thread (:class:`~vigie.devices.mqtt.paho_loop.PahoLoop`, epoll — paho's own loop cannot
watch a descriptor numbered 1024 or more) only checks and queues; one thread of the subscriber hands the readings
over, and an error there is logged and the next reading taken.

The session is not persistent (``clean_start``): readings sent while Vigie is away are not queued by the broker for
it — a link carried out minutes late would move a dome for a car long gone.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode
from pydantic import ValidationError

from vigie.config.integrations import MqttSettings
from vigie.config.sensors import Sensor
from vigie.devices.mqtt.paho_loop import PahoLoop
from vigie.devices.mqtt.publisher import RECONNECT_MAX_S, RECONNECT_MIN_S, MqttSetupError, tls_context
from vigie.devices.sensors.links import Reading
from vigie.devices.sensors.payloads import MAX_READING_BYTES, parse_reading, sensor_topic

log = logging.getLogger(__name__)

QUEUE_SIZE = 10_000
"""Readings waiting for the handler, at most (more are dropped: ``queue_full``)."""
RECENT_IDS = 256
"""Reading ids remembered per sensor, to drop a repeated one."""
LOG_EVERY_S = 60.0
DROP_REASONS = ("too_large", "malformed", "wrong_sensor", "duplicate", "queue_full")


class ReadingHandler(Protocol):
    """What the subscriber hands the readings to (:class:`vigie.services.sensors.SensorReadings`)."""

    def reading(self, reading: Reading, received_at: datetime) -> None: ...

    def tick(self, now: datetime) -> None: ...

    def close(self) -> None: ...


class SensorSubscriber:
    """See the module docstring. ``start`` connects in the background (retried every 1 to 5 s); ``stop`` hands the
    readings queued so far over, then closes the handler."""

    def __init__(
        self,
        settings: MqttSettings,
        sensors: Sequence[Sensor],
        handler: ReadingHandler,
        clock: Callable[[], datetime],
        *,
        password: str | None = None,
        tick_s: float = 1.0,
    ) -> None:
        if settings.host is None:
            raise MqttSetupError("mqtt.host is required when sensors.enabled is true")
        self.settings, self._handler, self._clock, self._tick_s = settings, handler, clock, tick_s
        self._where = f"{settings.host}:{settings.broker_port}"
        self._topics = {sensor_topic(settings.topic_prefix, s.commune, s.id): s for s in sensors}
        self._queue: queue.Queue[tuple[Reading, datetime] | None] = queue.Queue(QUEUE_SIZE)
        self._recent: dict[str, OrderedDict[str, None]] = {s.id: OrderedDict() for s in sensors}
        self._client = self._new_client(settings, password)
        self._network = PahoLoop(
            self._client,
            str(settings.host),
            settings.broker_port,
            keepalive=settings.keepalive_s,
            min_delay_s=RECONNECT_MIN_S,
            max_delay_s=RECONNECT_MAX_S,
            name="sensors-mqtt",
            on_connect_error=self._on_connect_error,
        )
        self._thread: threading.Thread | None = None
        self._logged: dict[str, float] = {}
        self.connected = threading.Event()
        """Set while connected and subscribed."""
        self.last_error: str | None = None
        """Why the last connection was refused (no secret), or None."""
        self.received: Counter[str] = Counter()
        """Messages received per sensor id (the metrics)."""
        self.dropped: Counter[str] = Counter({reason: 0 for reason in DROP_REASONS})
        """Messages dropped per reason (the metrics)."""
        self.handled = 0
        """Readings handed over."""

    @property
    def topics(self) -> list[str]:
        return sorted(self._topics)

    # --- life ----------------------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="sensor-readings", daemon=True)
        self._thread.start()
        self._network.start()
        log.info("sensors: reading %d sensor topic(s) from %s", len(self._topics), self._where)

    @property
    def running(self) -> bool:
        """Whether this process runs it (started, not stopped): only then are its live state and counts known here
        (the health view of a ``vigie api`` process, which never starts it, says so)."""
        return self._thread is not None

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self.connected.clear()  # a disconnection asked for is no loss to log
        self._network.stop()
        self._queue.put(None)
        thread.join(10.0)

    # --- paho's network thread: checks and queues, never blocks ----------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any) -> None:
        if reason.is_failure:
            error = f"the broker {self._where} refused the connection: {reason}"
            if error != self.last_error:  # paho tries again every few seconds: said once
                log.error("sensors: %s (check mqtt.username and the variable named by mqtt.password_env)", error)
            self.last_error = error
            return
        self.last_error = None
        if self._topics:
            client.subscribe([(topic, 1) for topic in self._topics])
        else:
            self.connected.set()

    def _on_connect_error(self, err: OSError) -> None:
        error = f"cannot reach the broker {self._where}: {err.strerror or type(err).__name__}"
        if error != self.last_error:  # tried again every few seconds: said once
            log.error("sensors: %s (check mqtt.host, mqtt.port and that the broker runs)", error)
        self.last_error = error

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, codes: Any, props: Any) -> None:
        refused = [str(code) for code in codes if getattr(code, "is_failure", False)]
        if refused:
            log.error(
                "sensors: the broker %s refused a subscription (%s): check its ACL for mqtt.username",
                self._where,
                ", ".join(refused),
            )
        self.connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any) -> None:
        if self.connected.is_set():
            log.warning("sensors: connection to %s lost (%s); reconnecting", self._where, reason)
        self.connected.clear()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            self._take(message.topic, bytes(message.payload))
        except Exception:  # never let a message end paho's thread
            log.exception("sensors: a message on %s could not be read", message.topic)

    def _take(self, topic: str, payload: bytes) -> None:
        sensor = self._topics.get(topic)
        if sensor is None:
            return  # not subscribed (a retained message of a former subscription)
        self.received[sensor.id] += 1
        if len(payload) > MAX_READING_BYTES:
            self._drop("too_large", f"{topic}: {len(payload)} bytes, more than {MAX_READING_BYTES}")
            return
        try:
            reading = parse_reading(payload)
        except ValidationError as err:
            first = err.errors(include_input=False)[0] if err.error_count() else {"loc": (), "msg": "invalid"}
            where = ".".join(str(part) for part in first["loc"]) or "the message"
            self._drop(
                "malformed",
                f"{topic}: not a reading of docs/schemas/mqtt-sensor-reading.json ({where}: {first['msg']})",
            )
            return
        if reading.sensor != sensor.id or reading.kind != sensor.kind:
            self._drop(
                "wrong_sensor",
                f"{topic}: a {reading.kind} reading of {reading.sensor}, where sensor {sensor.id} is a {sensor.kind}",
            )
            return
        if reading.id is not None:
            recent = self._recent[sensor.id]
            if reading.id in recent:
                self._drop("duplicate", f"{topic}: reading {reading.id[:64]} already received")
                return
            recent[reading.id] = None
            if len(recent) > RECENT_IDS:
                recent.popitem(last=False)
        try:
            self._queue.put_nowait((reading, self._clock()))
        except queue.Full:
            self._drop("queue_full", f"{topic}: {QUEUE_SIZE} readings wait already")

    def _drop(self, reason: str, detail: str) -> None:
        self.dropped[reason] += 1
        now = time.monotonic()
        if now - self._logged.get(reason, float("-inf")) >= LOG_EVERY_S:
            self._logged[reason] = now
            log.warning(
                "sensors: message dropped (%s): %s [%d dropped so far for this reason; one line a minute]",
                reason,
                detail,
                self.dropped[reason],
            )

    # --- the subscriber's thread ---------------------------------------------------------------------------------

    def _run(self) -> None:
        next_tick = time.monotonic() + self._tick_s
        while True:
            item: tuple[Reading, datetime] | bool | None
            try:
                item = self._queue.get(timeout=max(0.0, next_tick - time.monotonic()))
            except queue.Empty:
                item = False
            if item is None:
                break
            try:
                if isinstance(item, tuple):
                    reading, received_at = item
                    self._handler.reading(reading, received_at)
                    self.handled += 1
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + self._tick_s
                    self._handler.tick(self._clock())
            except Exception:  # the database away, a dome that does not answer: logged, the next reading taken
                log.exception("sensors: a reading could not be handled")
        self._drain()

    def _drain(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item:
                try:
                    self._handler.reading(*item)
                except Exception:
                    log.exception("sensors: a reading could not be handled")
        try:
            self._handler.close()
        except Exception:
            log.exception("sensors: the statistics could not be written at the stop")

    def _new_client(self, settings: MqttSettings, password: str | None) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{settings.client_id}-sensors",
            protocol=mqtt.MQTTv5,
        )
        if settings.username is not None:
            client.username_pw_set(settings.username, password)
        tls = tls_context(settings)
        if tls is not None:
            client.tls_set_context(tls)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client
