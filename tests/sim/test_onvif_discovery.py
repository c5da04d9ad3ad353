"""The simulated cameras' WS-Discovery responder: a Probe sent to its UDP port gets one ProbeMatches per matching
device, each related to the probe and naming the device's service address, types and scopes."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import pytest
from lxml import etree  # type: ignore[import-untyped]

from tests.sim.onvif_rig import camera_spec
from vigie.sim.onvif import OnvifSimulator

ENV = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"


def probe(message_id: str, types: str | None = "dn:NetworkVideoTransmitter", scopes: str | None = None) -> bytes:
    types_element = f"<d:Types>{types}</d:Types>" if types is not None else ""
    scopes_element = f"<d:Scopes>{scopes}</d:Scopes>" if scopes is not None else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="{ENV}" xmlns:a="{WSA}" xmlns:d="{WSD}" xmlns:dn="http://www.onvif.org/ver10/network/wsdl"
            xmlns:tds="http://www.onvif.org/ver10/device/wsdl">
  <s:Header><a:Action>{WSD}/Probe</a:Action><a:MessageID>{message_id}</a:MessageID>
    <a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header>
  <s:Body><d:Probe>{types_element}{scopes_element}</d:Probe></s:Body>
</s:Envelope>""".encode()


def replies(address: tuple[str, int], datagram: bytes, quiet_s: float = 0.5) -> list[etree._Element]:
    """Send ``datagram`` and collect replies until none came for ``quiet_s`` (as a discovering client does)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(quiet_s)
        sock.sendto(datagram, address)
        received = []
        try:
            while True:
                received.append(etree.fromstring(sock.recvfrom(65536)[0]))
        except TimeoutError:
            return received


@pytest.fixture(scope="module")
def sim() -> Iterator[OnvifSimulator]:
    specs = [camera_spec(f"cam-{i}", location="lyon/part-dieu" if i == 2 else "lyon/bellecour") for i in range(5)]
    with OnvifSimulator(specs, discovery_port=0) as simulator:
        yield simulator


def test_a_probe_gets_one_match_per_device_with_its_address(sim: OnvifSimulator) -> None:
    message_id = f"uuid:{uuid.uuid4()}"
    got = replies(sim.discovery_address, probe(message_id))

    assert len(got) == 5
    by_xaddr = {}
    for reply in got:
        assert reply.findtext(f"{{{ENV}}}Header/{{{WSA}}}RelatesTo") == message_id
        assert reply.findtext(f"{{{ENV}}}Header/{{{WSA}}}Action") == f"{WSD}/ProbeMatches"
        (match,) = reply.findall(f"{{{ENV}}}Body/{{{WSD}}}ProbeMatches/{{{WSD}}}ProbeMatch")
        address = match.findtext(f"{{{WSA}}}EndpointReference/{{{WSA}}}Address")
        assert address.startswith("urn:uuid:")
        assert set(match.findtext(f"{{{WSD}}}Types").split()) == {"dn:NetworkVideoTransmitter", "tds:Device"}
        assert match.findtext(f"{{{WSD}}}MetadataVersion") == "1"
        by_xaddr[match.findtext(f"{{{WSD}}}XAddrs")] = match.findtext(f"{{{WSD}}}Scopes").split()
    assert set(by_xaddr) == {sim.device_url(f"cam-{i}") for i in range(5)}
    scopes = by_xaddr[sim.device_url("cam-3")]
    for expected in (
        "onvif://www.onvif.org/type/video_encoder",
        "onvif://www.onvif.org/Profile/Streaming",
        "onvif://www.onvif.org/name/cam-3",
        "onvif://www.onvif.org/hardware/SimCam",
        "onvif://www.onvif.org/location/lyon/bellecour",
    ):
        assert expected in scopes


def test_types_and_scopes_filter_the_matches(sim: OnvifSimulator) -> None:
    by_name = replies(sim.discovery_address, probe("uuid:1", scopes="onvif://www.onvif.org/name/cam-4"))
    by_place = replies(
        sim.discovery_address, probe("uuid:2", types="tds:Device", scopes="onvif://www.onvif.org/location/lyon")
    )
    one_place = replies(sim.discovery_address, probe("uuid:3", scopes="onvif://www.onvif.org/location/lyon/part-dieu"))
    no_type = replies(sim.discovery_address, probe("uuid:4", types=None))
    printers = replies(sim.discovery_address, probe("uuid:5", types="dn:Printer"))
    not_a_probe = replies(sim.discovery_address, b"<hello/>", quiet_s=0.3)

    def xaddrs(got: list[etree._Element]) -> set[str]:
        return {r.findtext(f".//{{{WSD}}}XAddrs") for r in got}

    assert xaddrs(by_name) == {sim.device_url("cam-4")}
    assert len(by_place) == 5  # a scope matches the scopes below it, segment by segment
    assert xaddrs(one_place) == {sim.device_url("cam-2")}
    assert len(no_type) == 5
    assert printers == []
    assert not_a_probe == []


def test_the_responder_joined_to_the_multicast_group_answers_a_probe_sent_to_the_group() -> None:
    with OnvifSimulator([camera_spec("cam-m")], discovery_port=0, discovery_multicast=True) as simulator:
        port = simulator.discovery_address[1]  # the group's usual port is 3702; any port works for the test
        xaddr = simulator.device_url("cam-m")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
            sock.settimeout(2.0)
            sock.sendto(probe("uuid:multicast"), ("239.255.255.250", port))
            reply = etree.fromstring(sock.recvfrom(65536)[0])

    assert reply.findtext(f"{{{ENV}}}Header/{{{WSA}}}RelatesTo") == "uuid:multicast"
    assert reply.findtext(f".//{{{WSD}}}XAddrs") == xaddr
