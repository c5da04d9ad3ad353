"""One connection of the publisher to the broker: MQTT v5, QoS-1 PUBLISH out and PUBACK in, framed here (issue 21).

**Why not paho for this.** paho-mqtt costs about 110 µs of CPU per QoS-1 message on this 2-core machine even driven
from one thread without its window — a ``MQTTMessage``, a ``MQTTMessageInfo`` with its own ``threading.Condition``, a
``ReasonCode`` (which copies a table of 45 names) and two ``Properties`` per acknowledgement, three ``recv`` calls per
PUBACK — against about 7 µs for the same messages framed here and written a round at a time (``bench/
mqtt_throughput.py --phases client``: both on one broker, in one run); at the issue's 5,000 messages a second paho
alone would take more than half a core of the process that also writes them. Only what the publisher needs is
here: CONNECT (clean start off, session expiry, username and password), CONNACK, PUBLISH QoS 1 (retain, DUP), PUBACK,
PINGREQ/PINGRESP and DISCONNECT. The rare packets' properties (CONNACK's) are read with paho's :class:`Properties` and
reason codes named with its :class:`ReasonCode`; paho stays the client of the sensors' subscriber.

The socket is blocking with a timeout (the keep-alive): a round's messages are written with one ``sendall``; what the
broker sent is read without waiting (``poll`` with no timeout — not ``select.select``, which cannot watch a
descriptor numbered 1024 or more, as a serve holding hundreds of cameras' connections gives — and what TLS holds
decrypted). Not thread-safe: the
publisher's thread alone uses a session.
"""

from __future__ import annotations

import select
import socket
import ssl
import struct
import time
from dataclasses import dataclass

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

CONNECT, CONNACK, PUBLISH, PUBACK, PINGREQ, PINGRESP, DISCONNECT = 0x10, 0x20, 0x30, 0x40, 0xC0, 0xD0, 0xE0
QOS1, RETAIN, DUP = 0x02, 0x01, 0x08
FAILURE = 0x80
"""Reason codes from this one up are failures (MQTT v5)."""
MAX_REMAINING = 268_435_455
_U16 = struct.Struct("!H")
_NO_PROPERTIES = b"\x00"


class SessionError(ConnectionError):
    """The connection is gone or was refused; ``reason`` says why, for a person (never a secret)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Refused(SessionError):
    """The broker answered CONNECT with a failure (a wrong password: 134, not authorised: 135)."""


@dataclass(frozen=True, slots=True)
class Connected:
    """What the broker said in its CONNACK."""

    session_present: bool
    receive_maximum: int
    """QoS-1 messages it accepts unacknowledged (65,535 when it does not say)."""
    keepalive_s: int
    """The keep-alive to keep: the broker's (Server Keep Alive) when it set one, else ours."""


def varint(n: int) -> bytes:
    """MQTT's variable byte integer (remaining lengths, property lengths)."""
    if not 0 <= n <= MAX_REMAINING:
        raise ValueError(f"MQTT length {n} out of range (0..{MAX_REMAINING})")
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | 0x80 if n else digit)
        if not n:
            return bytes(out)


def _text(value: str | bytes) -> bytes:
    data = value.encode("utf-8") if isinstance(value, str) else value
    if len(data) > 0xFFFF:
        raise ValueError("MQTT string longer than 65,535 bytes")
    return _U16.pack(len(data)) + data


def connect_packet(
    client_id: str, keepalive_s: int, session_expiry_s: int, username: str | None, password: str | None
) -> bytes:
    """CONNECT, MQTT v5, clean start off (the broker keeps the session), the session expiry as its property."""
    flags = 0
    payload = _text(client_id)
    if username is not None:
        flags |= 0x80
        payload += _text(username)
        if password is not None:
            flags |= 0x40
            payload += _text(password)
    properties = b"\x11" + struct.pack("!I", session_expiry_s)
    body = _text(b"MQTT") + bytes([5, flags]) + _U16.pack(keepalive_s) + varint(len(properties)) + properties + payload
    return bytes([CONNECT]) + varint(len(body)) + body


def publish_packet(topic: bytes, payload: bytes, mid: int, *, retain: bool, dup: bool = False) -> bytes:
    """PUBLISH, QoS 1, no property; ``topic`` already UTF-8."""
    header = PUBLISH | QOS1 | (RETAIN if retain else 0) | (DUP if dup else 0)
    length = 2 + len(topic) + 2 + 1 + len(payload)
    return b"".join(
        (bytes([header]), varint(length), _U16.pack(len(topic)), topic, _U16.pack(mid), _NO_PROPERTIES, payload)
    )


def read_connack(body: bytes, keepalive_s: int) -> Connected:
    """A CONNACK's body; a failure is :class:`Refused` naming the broker's reason."""
    if len(body) < 2:
        raise SessionError("malformed CONNACK")
    code = body[1]
    properties = Properties(PacketTypes.CONNACK)  # type: ignore[no-untyped-call]
    if len(body) > 2:
        properties.unpack(body[2:])  # type: ignore[no-untyped-call]
    if code >= FAILURE:
        raise Refused(str(ReasonCode(PacketTypes.CONNACK, identifier=code)))
    return Connected(
        session_present=bool(body[0] & 0x01),
        receive_maximum=int(getattr(properties, "ReceiveMaximum", 65_535)),
        keepalive_s=int(getattr(properties, "ServerKeepAlive", keepalive_s)),
    )


def reason_name(packet_type: int, code: int) -> str:
    """The name of a reason code as MQTT v5 spells it (paho's table), for the logs."""
    try:
        return str(ReasonCode(packet_type, identifier=code))
    except (KeyError, ValueError):
        return f"reason code {code}"


class PublishSession:
    """One connection, made by :meth:`open` (blocking up to ``timeout_s``): :meth:`publish` adds a message to the
    round being written, :meth:`flush` writes the round, :meth:`acknowledgements` reads what came back."""

    def __init__(self, sock: socket.socket | ssl.SSLSocket, connected: Connected) -> None:
        self._sock, self.connected = sock, connected
        self._poll = select.poll()
        self._poll.register(sock, select.POLLIN)
        self._out: list[bytes] = []
        self._in = bytearray()
        now = time.monotonic()
        self._last_out, self._last_in, self._ping_sent = now, now, 0.0

    @classmethod
    def open(
        cls,
        host: str,
        port: int,
        connect: bytes,
        keepalive_s: int,
        *,
        tls: ssl.SSLContext | None,
        timeout_s: float = 10.0,
    ) -> PublishSession:
        """Connect (TLS when given: the broker's certificate and name checked), send ``connect`` (a CONNECT
        packet) and wait for the CONNACK. :class:`Refused` when the broker says no, :class:`SessionError` or
        :class:`OSError` when it cannot be reached."""
        raw = socket.create_connection((host, port), timeout=timeout_s)
        try:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock: socket.socket | ssl.SSLSocket = raw if tls is None else tls.wrap_socket(raw, server_hostname=host)
            sock.sendall(connect)
            deadline = time.monotonic() + timeout_s
            buffer = bytearray()
            while True:
                packet = _next_packet(buffer)
                if packet is not None:
                    kind, body, end = packet
                    if kind != CONNACK:
                        raise SessionError(f"the broker answered CONNECT with packet type {kind >> 4}")
                    connected = read_connack(body, keepalive_s)
                    del buffer[:end]
                    break
                if time.monotonic() > deadline:
                    raise SessionError("no CONNACK from the broker")
                data = sock.recv(65_536)
                if not data:
                    raise SessionError("the broker closed the connection before its CONNACK")
                buffer += data
            session = cls(sock, connected)
            session._in = buffer
            sock.settimeout(max(1.0, float(connected.keepalive_s)))
            return session
        except BaseException:
            raw.close()
            raise

    def publish(self, topic: bytes, payload: bytes, mid: int, *, retain: bool, dup: bool = False) -> None:
        self._out.append(publish_packet(topic, payload, mid, retain=retain, dup=dup))

    def flush(self) -> None:
        """Write the round's messages (one ``sendall``), and a PINGREQ when nothing was written for the keep-alive."""
        now = time.monotonic()
        keepalive = self.connected.keepalive_s
        if not self._out and keepalive and now - self._last_out >= keepalive:
            if self._ping_sent and now - self._last_in >= 1.5 * keepalive:
                raise SessionError(f"no answer from the broker for {1.5 * keepalive:.0f} s")
            self._out.append(bytes([PINGREQ, 0]))
            self._ping_sent = now
        if not self._out:
            return
        data, self._out = b"".join(self._out), []
        try:
            self._sock.sendall(data)
        except OSError as err:
            raise SessionError(f"cannot write to the broker ({type(err).__name__})") from err
        self._last_out = now

    def acknowledgements(self) -> list[tuple[int, int]]:
        """(packet id, reason code) of every PUBACK received since the last call, without waiting; a DISCONNECT
        from the broker or a closed connection is a :class:`SessionError`."""
        sock, buffer = self._sock, self._in
        try:
            while self._poll.poll(0) or (isinstance(sock, ssl.SSLSocket) and sock.pending()):
                data = sock.recv(65_536)
                if not data:
                    raise SessionError("the broker closed the connection")
                buffer += data
                self._last_in = time.monotonic()
        except (OSError, ValueError) as err:
            if isinstance(err, SessionError):
                raise
            raise SessionError(f"cannot read from the broker ({type(err).__name__})") from err
        acks: list[tuple[int, int]] = []
        pos, end = 0, len(buffer)
        while pos + 2 <= end:
            kind = buffer[pos] & 0xF0
            if kind == PUBACK and buffer[pos + 1] < 0x80:  # the common case: a one-byte length, 2 to 4 bytes
                length = buffer[pos + 1]
                if pos + 2 + length > end:
                    break
                if length < 2:
                    raise SessionError("malformed PUBACK")
                acks.append(((buffer[pos + 2] << 8) | buffer[pos + 3], buffer[pos + 4] if length > 2 else 0))
                pos += 2 + length
                continue
            packet = _next_packet(buffer, pos)
            if packet is None:
                break
            kind, body, pos = packet
            if kind == PUBACK:
                acks.append((_U16.unpack_from(body)[0], body[2] if len(body) > 2 else 0))
            elif kind == DISCONNECT:
                code = body[0] if body else 0
                raise SessionError(f"the broker closed the session: {reason_name(PacketTypes.DISCONNECT, code)}")
            elif kind == PINGRESP:
                self._ping_sent = 0.0
            # anything else (no subscription is made: nothing else is expected) is skipped
        del buffer[:pos]
        return acks

    def fileno(self) -> int:
        """The socket's (to wait for it with ``selectors`` or ``poll``)."""
        return self._sock.fileno()

    def close(self, *, disconnect: bool) -> None:
        """Close the connection; ``disconnect``: say so first (DISCONNECT, normal), the broker keeps the session."""
        try:
            if disconnect:
                self._sock.sendall(bytes([DISCONNECT, 0]))
        except OSError:
            pass
        finally:
            self._sock.close()


def _remaining(buffer: bytearray, pos: int) -> tuple[int, int] | None:
    """(remaining length, where the body starts) of the packet at ``pos``, None when not all there yet."""
    multiplier, value, at = 1, 0, pos + 1
    while True:
        if at >= len(buffer):
            return None
        digit = buffer[at]
        value += (digit & 0x7F) * multiplier
        at += 1
        if not digit & 0x80:
            return value, at
        multiplier *= 128
        if multiplier > 128**3:
            raise SessionError("malformed packet length from the broker")


def _next_packet(buffer: bytearray, pos: int = 0) -> tuple[int, bytes, int] | None:
    """(type, body, where it ends) of the packet at ``pos`` when it is all in ``buffer``, else None."""
    found = _remaining(buffer, pos)
    if found is None:
        return None
    length, start = found
    if start + length > len(buffer):
        return None
    return buffer[pos] & 0xF0, bytes(buffer[start : start + length]), start + length
