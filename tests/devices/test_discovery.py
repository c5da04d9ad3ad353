"""WS-Discovery: ProbeMatches as cameras send them are read (endpoint, XAddrs, name, hardware, location);
replies that are not a ProbeMatches to our probe are counted and ignored; a device answering twice is one device."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest
from lxml import etree

from tests.support.clocks import Ticks
from tests.support.onvif_sim import device_specs
from vigie.devices.discovery import (
    DISCOVERY_PORT,
    NS,
    DiscoveredDevice,
    DiscoveryError,
    DiscoveryResult,
    load_result,
    parse_probe_matches,
    probe,
    probe_message,
)
from vigie.sim.onvif import OnvifSimulator

# A ProbeMatches in the shape a Hikvision-style dome sends it (SOAP 1.2, WS-Addressing 2004/08, ONVIF scopes).
MATCHES = """<?xml version="1.0" encoding="UTF-8"?>
<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"
  xmlns:wsadis="http://schemas.xmlsoap.org/ws/2004/08/addressing"
  xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"
  xmlns:dn="http://www.onvif.org/ver10/network/wsdl" xmlns:tds="http://www.onvif.org/ver10/device/wsdl">
 <env:Header>
  <wsadis:MessageID>urn:uuid:0a6dc791-2d2b-4be1-9b37-000000000001</wsadis:MessageID>
  <wsadis:RelatesTo>{relates}</wsadis:RelatesTo>
  <wsadis:To env:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsadis:To>
  <wsadis:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</wsadis:Action>
  <d:AppSequence InstanceId="1701" MessageNumber="4"/>
 </env:Header>
 <env:Body>
  <d:ProbeMatches>
   <d:ProbeMatch>
    <wsadis:EndpointReference><wsadis:Address>{endpoint}</wsadis:Address></wsadis:EndpointReference>
    <d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types>
    <d:Scopes>onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/Profile/Streaming
      onvif://www.onvif.org/type/ptz onvif://www.onvif.org/name/D%C3%B4me%20Mairie
      onvif://www.onvif.org/hardware/DS-2DE4425IW onvif://www.onvif.org/location/city/Belv%C3%A9d%C3%A8re</d:Scopes>
    <d:XAddrs>{xaddrs}</d:XAddrs>
    <d:MetadataVersion>10</d:MetadataVersion>
   </d:ProbeMatch>
  </d:ProbeMatches>
 </env:Body>
</env:Envelope>"""

ENDPOINT = "urn:uuid:4419d7a1-3e4b-11b5-8034-bcbac2e1a3a1"


def matches(relates: str, endpoint: str = ENDPOINT, xaddrs: str = "http://192.0.2.10/onvif/device_service") -> bytes:
    return MATCHES.format(relates=relates, endpoint=endpoint, xaddrs=xaddrs).encode()


def test_a_probe_match_gives_endpoint_addresses_and_what_the_scopes_say() -> None:
    [device] = parse_probe_matches(matches("urn:uuid:p1"), "urn:uuid:p1")
    assert device.endpoint == ENDPOINT
    assert device.xaddrs == ("http://192.0.2.10/onvif/device_service",)
    assert device.host_port == ("192.0.2.10", 80)
    assert device.name == "Dôme Mairie"
    assert device.hardware == "DS-2DE4425IW"
    assert device.location == "city/Belvédère"
    assert "dn:NetworkVideoTransmitter" in device.types
    assert "onvif://www.onvif.org/type/ptz" in device.scopes


def test_the_probe_is_a_ws_discovery_probe_for_video_transmitters() -> None:
    root = etree.fromstring(probe_message("urn:uuid:p2"))
    assert root.findtext("soap:Header/wsa:MessageID", namespaces=NS) == "urn:uuid:p2"
    assert root.findtext("soap:Header/wsa:Action", namespaces=NS).endswith("/discovery/Probe")
    types = root.find("soap:Body/wsd:Probe/wsd:Types", NS)
    prefix, local = types.text.split(":")
    assert (types.nsmap[prefix], local) == ("http://www.onvif.org/ver10/network/wsdl", "NetworkVideoTransmitter")


@pytest.mark.parametrize(
    "datagram",
    [
        b"not xml at all",
        b"<?xml version='1.0'?><a/>",
        b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]><e>&x;</e>',
        matches("urn:uuid:another-probe"),
        matches("urn:uuid:p3", xaddrs=""),
        matches("urn:uuid:p3").replace(b"ProbeMatches</wsadis:Action>", b"Hello</wsadis:Action>"),
    ],
    ids=["garbage", "not-soap", "entity", "other-probe", "no-xaddrs", "not-probe-matches"],
)
def test_a_reply_that_is_not_a_probe_match_to_our_probe_is_refused(datagram: bytes) -> None:
    with pytest.raises(ValueError):
        parse_probe_matches(datagram, "urn:uuid:p3")


class Answerer:
    """A UDP socket answering each Probe it receives with the given replies (built from the probe's MessageID)."""

    def __init__(self, replies: list[bytes | str]) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.replies = replies
        self.probes = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()
        return str(host), int(port)

    def _serve(self) -> None:
        try:
            while True:
                data, sender = self.sock.recvfrom(65535)
                self.probes += 1
                message_id = etree.fromstring(data).findtext("soap:Header/wsa:MessageID", namespaces=NS)
                for reply in self.replies:
                    payload = matches(message_id, endpoint=reply) if isinstance(reply, str) else reply
                    self.sock.sendto(payload, sender)
        except OSError:
            return


def test_probe_collects_each_device_once_and_counts_the_replies_it_cannot_read() -> None:
    answerer = Answerer(["urn:uuid:cam-a", b"<junk", "urn:uuid:cam-b", "urn:uuid:cam-a"])
    address = answerer.address
    try:
        result = probe(target=address, timeout_s=0.6, repeats=2)
    finally:
        answerer.sock.close()
    assert answerer.probes == 2  # the probe is repeated (UDP may lose one)...
    assert [d.endpoint for d in result.devices] == ["urn:uuid:cam-a", "urn:uuid:cam-b"]  # ...each device kept once
    assert result.malformed == 2  # one junk reply per probe
    assert result.target == f"{address[0]}:{address[1]}"


def test_a_discovery_result_written_as_json_reads_back(tmp_path: Path) -> None:
    result = DiscoveryResult(
        devices=(DiscoveredDevice("urn:uuid:x", ("http://192.0.2.7:8080/onvif/device_service",), name="Gare"),),
        malformed=1,
        target="239.255.255.250:3702",
    )
    path = tmp_path / "found.json"
    path.write_text(result.to_json(), encoding="utf-8")
    again = load_result(path)
    assert again.devices == result.devices and again.devices[0].host_port == ("192.0.2.7", 8080)
    path.write_text(json.dumps({"devices": [{"xaddrs": []}]}), encoding="utf-8")
    with pytest.raises(ValueError, match="not a discovery result"):
        load_result(path)


def test_probe_finds_every_simulated_camera_once_by_its_responder() -> None:
    specs = device_specs(40, dome_every=10, clock=Ticks())
    with OnvifSimulator(specs, discovery_port=0) as sim:
        result = probe(target=sim.discovery_address, timeout_s=1.0)
        addresses = {spec.name: sim.address(spec.name) for spec in specs}
    assert result.malformed == 0
    assert sorted(d.name or "" for d in result.devices) == sorted(addresses)
    assert all(d.host_port == addresses[d.name or ""] for d in result.devices)
    domes = {d.name for d in result.devices if "onvif://www.onvif.org/type/ptz" in d.scopes}
    assert domes == {f"cam-{i:03d}" for i in (9, 19, 29, 39)}
    assert {d.hardware for d in result.devices} == {"SimCam", "SimDome"}


def test_probe_reaches_the_multicast_group_out_of_the_interface_given() -> None:
    specs = device_specs(3)
    with OnvifSimulator(specs, discovery_port=DISCOVERY_PORT, discovery_multicast=True) as sim:
        result = probe(interface="127.0.0.1", timeout_s=1.0)
        mine = {sim.device_url(spec.name) for spec in specs}
    assert result.target == "239.255.255.250:3702"
    # another test's responder may share the group: ours must all be there
    assert mine <= {xaddr for device in result.devices for xaddr in device.xaddrs}


def test_an_interface_this_host_does_not_have_is_named() -> None:
    with pytest.raises(DiscoveryError, match=r"interface 192\.0\.2\.250.*--interface"):
        probe(interface="192.0.2.250", timeout_s=0.2)
