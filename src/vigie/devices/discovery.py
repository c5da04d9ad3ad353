"""WS-Discovery of ONVIF cameras: one Probe sent over UDP, the ProbeMatches collected for a while.

Hand-written SOAP-over-UDP with lxml, because onvif-zeep-async (the ONVIF client Vigie uses) has no discovery, and
the one package on PyPI that does it, WSDiscovery, says of itself that it "doesn't verify data received from the
network. It may crash, and might contain security holes" — and a Probe answered by every device of a camera
network is exactly data from the network. What is needed is small: one message out, replies parsed defensively
(a malformed reply is counted and ignored, never fatal), de-duplicated by endpoint.

The Probe goes to the multicast group 239.255.255.250:3702 out of a configured interface (a camera network is
rarely the host's default route), or to one address and port (a device, or the simulator's responder in tests).
"""

from __future__ import annotations

import json
import select
import socket
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from lxml import etree  # type: ignore[import-untyped]  # no stubs in the lock

MULTICAST_GROUP = "239.255.255.250"
DISCOVERY_PORT = 3702
MAX_DEVICES = 20_000
"""More distinct endpoints than this in one probe are counted, not kept (a bound on what the network can make us
hold: the métropole has ~4,900 cameras)."""
MAX_DATAGRAM = 65_535

NS = {
    "soap": "http://www.w3.org/2003/05/soap-envelope",
    "wsa": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "wsd": "http://schemas.xmlsoap.org/ws/2005/04/discovery",
    "dn": "http://www.onvif.org/ver10/network/wsdl",
    "tds": "http://www.onvif.org/ver10/device/wsdl",
}
_TO_DISCOVERY = "urn:schemas-xmlsoap-org:ws:2005:04:discovery"
_PROBE_ACTION = "http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe"
_MATCHES_ACTION = "http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches"
_ONVIF_SCOPE = "onvif://www.onvif.org/"

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
"""Replies come from anyone on the network: no entities, no DTD, no fetching, no huge trees."""


class DiscoveryError(OSError):
    """The probe could not be sent (no such interface, network unreachable…): says which and how to fix it."""


@dataclass(frozen=True, slots=True)
class DiscoveredDevice:
    """One device that answered: its endpoint reference (a stable ``urn:uuid:…``), where its device service
    answers, and what its ONVIF scopes say of it."""

    endpoint: str
    xaddrs: tuple[str, ...]
    types: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    name: str | None = None
    hardware: str | None = None
    location: str | None = None

    @property
    def host_port(self) -> tuple[str, int] | None:
        """Host and port of the first HTTP XAddr (what :func:`vigie.devices.onvif.describe` connects to)."""
        for xaddr in self.xaddrs:
            try:
                parts = urlsplit(xaddr)
                port = parts.port
            except ValueError:
                continue
            if parts.scheme in ("http", "https") and parts.hostname:
                return parts.hostname, port or (443 if parts.scheme == "https" else 80)
        return None


@dataclass(frozen=True, slots=True)
class DiscoveryResult:
    """Every device that answered one probe, in the order they first answered, and how many replies were
    ignored because they were not a well-formed ProbeMatches to this probe (or past :data:`MAX_DEVICES`)."""

    devices: tuple[DiscoveredDevice, ...]
    malformed: int = 0
    ignored: int = 0
    duration_s: float = 0.0
    target: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {
                "target": self.target,
                "duration_s": round(self.duration_s, 3),
                "malformed": self.malformed,
                "ignored": self.ignored,
                "devices": [
                    {
                        "endpoint": d.endpoint,
                        "xaddrs": list(d.xaddrs),
                        "types": list(d.types),
                        "scopes": list(d.scopes),
                        "name": d.name,
                        "hardware": d.hardware,
                        "location": d.location,
                    }
                    for d in self.devices
                ],
            },
            indent=2,
            ensure_ascii=False,
        )


def load_result(path: Path) -> DiscoveryResult:
    """Read back what ``vigie devices discover --json`` wrote; a file that is not one raises ValueError naming it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        devices = tuple(
            DiscoveredDevice(
                endpoint=str(d["endpoint"]),
                xaddrs=tuple(str(x) for x in d["xaddrs"]),
                types=tuple(str(t) for t in d.get("types", ())),
                scopes=tuple(str(s) for s in d.get("scopes", ())),
                name=d.get("name"),
                hardware=d.get("hardware"),
                location=d.get("location"),
            )
            for d in data["devices"]
        )
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as err:
        raise ValueError(
            f"{path}: not a discovery result ({type(err).__name__}: {err}); write one with "
            "`vigie devices discover --json FILE`"
        ) from None
    return DiscoveryResult(
        devices=devices,
        malformed=int(data.get("malformed", 0)),
        ignored=int(data.get("ignored", 0)),
        target=str(data.get("target", "")),
    )


def probe_message(
    message_id: str, types: Sequence[tuple[str, str]] = ((NS["dn"], "NetworkVideoTransmitter"),)
) -> bytes:
    """A WS-Discovery Probe (SOAP 1.2) for devices of the given types (default: ONVIF video transmitters)."""
    envelope = etree.Element(
        f"{{{NS['soap']}}}Envelope", nsmap={"soap": NS["soap"], "wsa": NS["wsa"], "wsd": NS["wsd"]}
    )
    header = etree.SubElement(envelope, f"{{{NS['soap']}}}Header")
    etree.SubElement(header, f"{{{NS['wsa']}}}MessageID").text = message_id
    etree.SubElement(header, f"{{{NS['wsa']}}}To").text = _TO_DISCOVERY
    etree.SubElement(header, f"{{{NS['wsa']}}}Action").text = _PROBE_ACTION
    body = etree.SubElement(envelope, f"{{{NS['soap']}}}Body")
    probe = etree.SubElement(body, f"{{{NS['wsd']}}}Probe")
    if types:
        prefixes = {namespace: f"t{index}" for index, namespace in enumerate(dict.fromkeys(ns for ns, _ in types))}
        element = etree.SubElement(probe, f"{{{NS['wsd']}}}Types", nsmap={p: ns for ns, p in prefixes.items()})
        element.text = " ".join(f"{prefixes[ns]}:{local}" for ns, local in types)
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"))


def _text(element: Any, path: str) -> str:
    found = element.find(path, NS)
    return (found.text or "").strip() if found is not None else ""


def _scope_value(scopes: Iterable[str], key: str) -> str | None:
    """The value(s) of an ONVIF scope ``onvif://www.onvif.org/<key>/<value>``, percent-decoded; several values
    (``location/city/Lyon``, ``location/street/…``: ``city/Lyon, street/…``) joined by ", "."""
    prefix = f"{_ONVIF_SCOPE}{key}/"
    values = [unquote(scope[len(prefix) :]).strip() for scope in scopes if scope.startswith(prefix)]
    values = [value for value in values if value]
    return ", ".join(values) if values else None


def parse_probe_matches(datagram: bytes, message_id: str | None = None) -> list[DiscoveredDevice]:
    """The devices of one ProbeMatches datagram; ValueError when it is not one (or answers another probe)."""
    try:
        root = etree.fromstring(datagram, parser=_PARSER)
    except etree.XMLSyntaxError as err:
        raise ValueError(f"not XML: {err}") from None
    if root.tag != f"{{{NS['soap']}}}Envelope":
        raise ValueError(f"not a SOAP 1.2 envelope: {root.tag}")
    action = _text(root, "soap:Header/wsa:Action")
    if action and action != _MATCHES_ACTION:
        raise ValueError(f"not a ProbeMatches: {action}")
    if message_id is not None and _text(root, "soap:Header/wsa:RelatesTo") != message_id:
        raise ValueError("answers another probe")
    matches = root.find("soap:Body/wsd:ProbeMatches", NS)
    if matches is None:
        raise ValueError("no ProbeMatches in the body")
    devices: list[DiscoveredDevice] = []
    for match in matches.findall("wsd:ProbeMatch", NS):
        endpoint = _text(match, "wsa:EndpointReference/wsa:Address")
        xaddrs = tuple(_text(match, "wsd:XAddrs").split())
        if not endpoint or not xaddrs:
            raise ValueError("a ProbeMatch without an endpoint address or XAddrs")
        scopes = tuple(_text(match, "wsd:Scopes").split())
        devices.append(
            DiscoveredDevice(
                endpoint=endpoint,
                xaddrs=xaddrs,
                types=tuple(_text(match, "wsd:Types").split()),
                scopes=scopes,
                name=_scope_value(scopes, "name"),
                hardware=_scope_value(scopes, "hardware"),
                location=_scope_value(scopes, "location"),
            )
        )
    if not devices:
        raise ValueError("an empty ProbeMatches")
    return devices


def _open_socket(interface: str | None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        # Hundreds of devices answer within milliseconds: room for their replies until we read them.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 4)
        if interface is not None:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface))
            sock.bind((interface, 0))
        else:
            sock.bind(("", 0))
    except OSError as err:
        sock.close()
        where = f"interface {interface}" if interface else "any interface"
        raise DiscoveryError(
            f"cannot open a UDP socket on {where}: {err.strerror or err}; give --interface the IPv4 address this "
            "host has on the camera network"
        ) from None
    return sock


def probe(
    *,
    interface: str | None = None,
    target: tuple[str, int] | None = None,
    timeout_s: float = 3.0,
    repeats: int = 2,
) -> DiscoveryResult:
    """Send a Probe (``repeats`` times, 0.1 s apart: UDP may lose one) and collect the ProbeMatches that answer it
    for ``timeout_s`` seconds. ``target`` sends it to one address and port instead of the multicast group;
    ``interface`` is the IPv4 address of this host on the camera network (multicast leaves through it)."""
    if timeout_s <= 0:
        raise ValueError(f"timeout_s must be positive, got {timeout_s}")
    destination = target or (MULTICAST_GROUP, DISCOVERY_PORT)
    message_id = f"urn:uuid:{uuid.uuid4()}"
    message = probe_message(message_id)
    found: dict[str, DiscoveredDevice] = {}
    malformed = ignored = 0
    started = time.monotonic()
    deadline = started + timeout_s
    with _open_socket(interface) as sock:
        poller = select.poll()  # not select.select: the caller's descriptors may number 1024 or more
        poller.register(sock, select.POLLIN)
        sends = [started + 0.1 * index for index in range(max(1, repeats))]
        while True:
            now = time.monotonic()
            while sends and sends[0] <= now:
                sends.pop(0)
                try:
                    sock.sendto(message, destination)
                except OSError as err:
                    raise DiscoveryError(
                        f"cannot send the probe to {destination[0]}:{destination[1]}: {err.strerror or err}"
                    ) from None
            if now >= deadline:
                break
            wait = min(deadline, sends[0] if sends else deadline) - now
            if not poller.poll(max(0.0, wait) * 1000):
                continue
            try:
                datagram, _sender = sock.recvfrom(MAX_DATAGRAM)
            except OSError:  # an ICMP error reported on the socket: nothing to read, the window goes on
                continue
            try:
                devices = parse_probe_matches(datagram, message_id)
            except ValueError:
                malformed += 1
                continue
            for device in devices:
                if device.endpoint in found:
                    found[device.endpoint] = _merge(found[device.endpoint], device)
                elif len(found) < MAX_DEVICES:
                    found[device.endpoint] = device
                else:
                    ignored += 1
    return DiscoveryResult(
        devices=tuple(found.values()),
        malformed=malformed,
        ignored=ignored,
        duration_s=time.monotonic() - started,
        target=f"{destination[0]}:{destination[1]}",
    )


def _merge(old: DiscoveredDevice, new: DiscoveredDevice) -> DiscoveredDevice:
    """The same endpoint answering twice (the repeated probe, two interfaces): its addresses and scopes united."""
    return DiscoveredDevice(
        endpoint=old.endpoint,
        xaddrs=tuple(dict.fromkeys((*old.xaddrs, *new.xaddrs))),
        types=tuple(dict.fromkeys((*old.types, *new.types))),
        scopes=tuple(dict.fromkeys((*old.scopes, *new.scopes))),
        name=old.name or new.name,
        hardware=old.hardware or new.hardware,
        location=old.location or new.location,
    )
