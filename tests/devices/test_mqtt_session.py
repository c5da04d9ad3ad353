"""The publisher's MQTT v5 framing (issue 21), without a broker: what it writes is what paho reads, what a broker
answers is read whole even when it arrives in pieces, and a refusal or a DISCONNECT names the broker's reason.
The whole session runs against a real Mosquitto in tests/runtime/test_mqtt_serve.py."""

from __future__ import annotations

import select
import socket
import struct
from collections.abc import Iterator

import pytest
from paho.mqtt import _packet as paho_packet

from tests.support.descriptors import descriptors_above_1024
from vigie.devices.mqtt.session import (
    Connected,
    PublishSession,
    Refused,
    SessionError,
    connect_packet,
    publish_packet,
    read_connack,
    varint,
)


@pytest.fixture
def pair() -> Iterator[tuple[PublishSession, socket.socket]]:
    """A session on one end of a socket pair; the test plays the broker on the other."""
    ours, broker = socket.socketpair()
    ours.settimeout(5)
    session = PublishSession(ours, Connected(session_present=False, receive_maximum=100, keepalive_s=30))
    yield session, broker
    session.close(disconnect=False)
    broker.close()


@pytest.mark.parametrize(
    ("n", "encoded"),
    [(0, b"\x00"), (127, b"\x7f"), (128, b"\x80\x01"), (16_383, b"\xff\x7f"), (16_384, b"\x80\x80\x01")],
)
def test_lengths_are_mqtt_variable_byte_integers(n: int, encoded: bytes) -> None:
    assert varint(n) == encoded
    with pytest.raises(ValueError, match="out of range"):
        varint(268_435_456)


def test_a_publish_is_read_back_by_paho_as_written() -> None:
    payload = b'{"id": "x"}' * 20  # past 127 bytes: a two-byte length
    packet = publish_packet(b"vigie/testville/health", payload, 513, retain=True, dup=True)
    assert packet[0] == 0x30 | 0x08 | 0x02 | 0x01, "PUBLISH, DUP, QoS 1, retained"
    body = packet[3:]  # one byte of type, two of remaining length
    assert len(body) == (packet[1] & 0x7F) + 128 * packet[2]
    decoded = paho_packet.decode_publish(packet[0], body, 5)
    assert decoded.topic == b"vigie/testville/health" and decoded.mid == 513 and decoded.payload == payload
    assert decoded.qos == 1 and decoded.retain and decoded.dup


def test_connect_carries_clean_start_off_the_expiry_and_the_account() -> None:
    packet = connect_packet("vigie", 30, 86_400, "vigie", "secret")
    body = packet[2:]
    assert packet[0] == 0x10 and body[:7] == b"\x00\x04MQTT\x05"
    assert body[7] == 0xC0, "username and password, clean start off (the broker keeps the session)"
    assert struct.unpack("!H", body[8:10]) == (30,)
    assert body[10:16] == b"\x05\x11" + struct.pack("!I", 86_400), "the session expiry property"
    assert body.endswith(b"\x00\x05vigie\x00\x05vigie\x00\x06secret")


def test_connack_refusal_and_receive_maximum() -> None:
    with pytest.raises(Refused, match="Bad user name or password"):
        read_connack(b"\x00\x86\x00", 30)
    connected = read_connack(b"\x01\x00\x06\x21\x00\x14\x13\x00\x3c", 30)  # Receive Maximum 20, Server Keep Alive 60
    assert connected == Connected(session_present=True, receive_maximum=20, keepalive_s=60)
    assert read_connack(b"\x00\x00\x00", 30).receive_maximum == 65_535, "unsaid: the protocol's maximum"


def test_acknowledgements_arriving_in_pieces_are_read_whole(pair: tuple[PublishSession, socket.socket]) -> None:
    session, broker = pair
    short, refused = b"\x40\x02\x00\x07", b"\x40\x03\x00\x08\x87"
    with_reason_string = b"\x40\x0a\x00\x09\x97\x06\x1f\x00\x03abc"  # quota exceeded, and a reason string
    stream = short + b"\xd0\x00" + refused + with_reason_string
    broker.sendall(stream[:5])
    wait_readable(session)
    first = session.acknowledgements()
    broker.sendall(stream[5:])
    wait_readable(session)
    assert first + session.acknowledgements() == [(7, 0), (8, 0x87), (9, 0x97)]


def test_acknowledgements_are_read_on_a_descriptor_numbered_above_1024() -> None:
    """A serve with hundreds of cameras' connections gives the MQTT socket such a number: ``select.select`` raised
    ValueError there and the publisher reconnected forever."""
    with descriptors_above_1024():
        ours, broker = socket.socketpair()
    assert ours.fileno() > 1024
    ours.settimeout(5)
    session = PublishSession(ours, Connected(session_present=False, receive_maximum=100, keepalive_s=30))
    try:
        broker.sendall(b"\x40\x02\x00\x07")
        wait_readable(session)
        assert session.acknowledgements() == [(7, 0)]
    finally:
        session.close(disconnect=False)
        broker.close()


def test_a_disconnect_from_the_broker_names_its_reason(pair: tuple[PublishSession, socket.socket]) -> None:
    session, broker = pair
    broker.sendall(b"\xe0\x01\x8b")  # server shutting down
    wait_readable(session)
    with pytest.raises(SessionError, match="Server shutting down"):
        session.acknowledgements()


def test_a_round_is_written_at_once_and_a_closed_connection_is_an_error(
    pair: tuple[PublishSession, socket.socket],
) -> None:
    session, broker = pair
    for mid in (1, 2, 3):
        session.publish(b"vigie/t/health", b"{}", mid, retain=False)
    session.flush()
    expected = b"".join(publish_packet(b"vigie/t/health", b"{}", mid, retain=False) for mid in (1, 2, 3))
    assert read_exactly(broker, len(expected)) == expected
    broker.close()
    wait_readable(session)
    with pytest.raises(SessionError, match="closed"):
        session.acknowledgements()


def wait_readable(session: PublishSession) -> None:
    poller = select.poll()
    poller.register(session.fileno(), select.POLLIN)
    poller.poll(5000)


def read_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    sock.settimeout(5)
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        assert chunk, "the session wrote less than the round"
        data += chunk
    return data
