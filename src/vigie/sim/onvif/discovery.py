"""WS-Discovery (SOAP-over-UDP, 2005/04) target side: answering a Probe with each matching device's ProbeMatches.

A real camera answers a Probe by itself, from its own address; the simulator answers once per matching device,
each in its own ProbeMatches datagram (a client must collect several replies, as on a real network; one
datagram per device also keeps each reply far below the UDP size limit with 100 devices). The responder listens
on a chosen UDP port (tests need no multicast) or joins the WS-Discovery group 239.255.255.250:3702.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import uuid
from collections.abc import Callable, Sequence
from typing import Final, cast

from lxml import etree  # type: ignore[import-untyped]  # no stubs in the lock
from lxml.builder import ElementMaker  # type: ignore[import-untyped]

from vigie.sim.onvif.device import SimDevice
from vigie.sim.onvif.soap import ENV, MAX_BODY_BYTES, TDS

WSD: Final = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
WSA_2004: Final = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
DN: Final = "http://www.onvif.org/ver10/network/wsdl"
PROBE_ACTION: Final = WSD + "/Probe"
PROBE_MATCHES_ACTION: Final = WSD + "/ProbeMatches"
ANONYMOUS: Final = WSA_2004 + "/role/anonymous"
MULTICAST_GROUP: Final = "239.255.255.250"
MULTICAST_PORT: Final = 3702
RFC3986: Final = WSD + "/rfc3986"
STRCMP0: Final = WSD + "/strcmp0"

DEVICE_TYPES: Final = frozenset({(DN, "NetworkVideoTransmitter"), (TDS, "Device")})

_NSMAP: Final = {"s": ENV, "a": WSA_2004, "d": WSD, "dn": DN, "tds": TDS}
_S = ElementMaker(namespace=ENV, nsmap=_NSMAP)
_A = ElementMaker(namespace=WSA_2004, nsmap=_NSMAP)
_D = ElementMaker(namespace=WSD, nsmap=_NSMAP)
_PARSER: Final = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)

log = logging.getLogger(__name__)


def _scope_matches(probe_scope: str, device_scopes: Sequence[str], match_by: str) -> bool:
    if match_by == STRCMP0:
        return probe_scope in device_scopes
    # RFC 3986 matching, simplified to what ONVIF scopes need: equal, or a prefix ending at a path segment.
    wanted = probe_scope.rstrip("/")
    return any(s == wanted or s.startswith(wanted + "/") for s in device_scopes)


def _matches(probe: etree._Element, device: SimDevice) -> bool:
    types = probe.find(f"{{{WSD}}}Types")
    if types is not None and types.text and types.text.strip():
        for qname in types.text.split():
            prefix, _, local = qname.rpartition(":")
            namespace = types.nsmap.get(prefix or None)
            if (namespace, local) not in DEVICE_TYPES:
                return False
    scopes = probe.find(f"{{{WSD}}}Scopes")
    if scopes is not None and scopes.text and scopes.text.strip():
        match_by = scopes.get("MatchBy", RFC3986)
        if match_by not in (RFC3986, STRCMP0):
            return False
        device_scopes = device.spec.scopes()
        return all(_scope_matches(s, device_scopes, match_by) for s in scopes.text.split())
    return True


def probe_matches(datagram: bytes, devices: Sequence[SimDevice], instance_id: int) -> list[bytes]:
    """The ProbeMatches datagrams answering ``datagram`` (one per matching device), or none when it is not a
    Probe (anything else on the port is ignored, as WS-Discovery asks)."""
    if len(datagram) > MAX_BODY_BYTES:
        return []
    try:
        root = etree.fromstring(datagram, _PARSER)
    except etree.XMLSyntaxError:
        return []
    action = root.findtext(f"{{{ENV}}}Header/{{{WSA_2004}}}Action")
    message_id = root.findtext(f"{{{ENV}}}Header/{{{WSA_2004}}}MessageID")
    probe = root.find(f"{{{ENV}}}Body/{{{WSD}}}Probe")
    if probe is None or message_id is None or (action is not None and action.strip() != PROBE_ACTION):
        return []
    replies = []
    for number, device in enumerate((d for d in devices if _matches(probe, d)), start=1):
        header = _S.Header(
            _A.MessageID(f"urn:uuid:{uuid.uuid4()}"),
            _A.RelatesTo(message_id.strip()),
            _A.To(ANONYMOUS),
            _A.Action(PROBE_MATCHES_ACTION),
            _D.AppSequence(InstanceId=str(instance_id), MessageNumber=str(number)),
        )
        match = _D.ProbeMatch(
            _A.EndpointReference(_A.Address(device.spec.endpoint_uuid)),
            _D.Types("dn:NetworkVideoTransmitter tds:Device"),
            _D.Scopes(" ".join(device.spec.scopes())),
            _D.XAddrs(device.device_xaddr),
            _D.MetadataVersion("1"),
        )
        envelope = _S.Envelope(header, _S.Body(_D.ProbeMatches(match)))
        replies.append(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"))
    return replies


class DiscoveryResponder(asyncio.DatagramProtocol):
    """Answers each Probe datagram with one ProbeMatches datagram per matching device, to the sender."""

    def __init__(self, devices: Callable[[], Sequence[SimDevice]], instance_id: int) -> None:
        self._devices = devices
        self._instance_id = instance_id
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # asyncio hands a UDP endpoint a DatagramTransport, although its selector class does not subclass it.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if self.transport is None:
            return
        for reply in probe_matches(data, self._devices(), self._instance_id):
            self.transport.sendto(reply, addr)


def discovery_socket(host: str, port: int, multicast: bool) -> socket.socket:
    """A UDP socket for the responder: on ``host:port``, or joined to the WS-Discovery multicast group (then
    bound on all addresses at ``port``, normally 3702, and joined on ``host``'s interface)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if multicast:
        sock.bind(("", port))
        membership = struct.pack("4s4s", socket.inet_aton(MULTICAST_GROUP), socket.inet_aton(host))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
    else:
        sock.bind((host, port))
    sock.setblocking(False)
    return sock
