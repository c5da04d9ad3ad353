"""What the simulated ONVIF camera's tests share: device specs, a dome on a clock the test moves, the real client
(onvif-zeep-async) connected to a simulated device, and raw SOAP requests signed by zeep's own UsernameToken (for
what the client library hides: HTTP statuses, fault subcodes, replays, schema validation of the raw reply)."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import onvif
from lxml import etree  # type: ignore[import-untyped]
from onvif import ONVIFCamera
from zeep.wsse.username import UsernameToken

from vigie.domain.ptz import DomeOptics
from vigie.sim.dome import SimulatedDome
from vigie.sim.onvif import OnvifSimulator, SimDeviceSpec, SimProfile
from vigie.sim.panorama import PanoramaSpec, panorama

USERNAME = "operator"
PASSWORD = "Str0ng-pass-42-sim"
ENV = "http://www.w3.org/2003/05/soap-envelope"
TER = "http://www.onvif.org/ver10/error"
WSDL_DIR = Path(onvif.__file__).parent / "wsdl"
SMALL_PANORAMA = PanoramaSpec(width=1024, height=384)
"""The dome's picture is not what these tests look at; a small panorama draws quickly."""


class Seconds:
    """The dome's clock in seconds: moves only when the test says."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def profiles(name: str) -> tuple[SimProfile, ...]:
    return (
        SimProfile("main", "Main", f"rtsp://127.0.0.1:8554/{name}", width=1920, height=1080, fps=25),
        SimProfile(
            "sub", "Sub", f"rtsp://127.0.0.1:8554/{name}-sub", encoding="H265", width=640, height=360, fps=10,
            bitrate_kbps=512,
        ),
    )  # fmt: skip


def camera_spec(name: str, **kwargs: Any) -> SimDeviceSpec:
    return SimDeviceSpec(name=name, username=USERNAME, password=PASSWORD, profiles=profiles(name), **kwargs)


def dome(clock: Seconds) -> SimulatedDome:
    return SimulatedDome(DomeOptics(), panorama(SMALL_PANORAMA), clock, walkers=False)


async def connect(sim: OnvifSimulator, name: str, password: str = PASSWORD, **kwargs: Any) -> ONVIFCamera:
    """The real client, connected to device ``name`` the way Home Assistant connects (GetServices first)."""
    host, port = sim.address(name)
    camera = ONVIFCamera(host, port, USERNAME, password, **kwargs)
    try:
        await camera.update_xaddrs()
    except BaseException:
        await camera.close()
        raise
    return camera


def envelope(body: etree._Element, password: str | None = PASSWORD, username: str = USERNAME) -> bytes:
    """A SOAP 1.2 request carrying ``body``, signed with a PasswordDigest UsernameToken by zeep (None: unsigned)."""
    root = etree.Element(f"{{{ENV}}}Envelope", nsmap={"env": ENV})
    etree.SubElement(root, f"{{{ENV}}}Header")
    etree.SubElement(root, f"{{{ENV}}}Body").append(body)
    if password is not None:
        root, _ = UsernameToken(username, password, use_digest=True, zulu_timestamp=True).apply(root, {})
    return bytes(etree.tostring(root))


def post(url: str, data: bytes) -> tuple[int, etree._Element]:
    """POST ``data`` as SOAP 1.2; the HTTP status and the reply's root element."""
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/soap+xml"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, etree.fromstring(response.read())
    except urllib.error.HTTPError as error:
        return error.code, etree.fromstring(error.read())


def fault(root: etree._Element) -> tuple[str, list[str]]:
    """The fault's code and its subcode values (``("env:Sender", ["ter:NotAuthorized"])``)."""
    code = root.findtext(f"{{{ENV}}}Body/{{{ENV}}}Fault/{{{ENV}}}Code/{{{ENV}}}Value")
    subcodes = [v.text for v in root.iter(f"{{{ENV}}}Subcode") for v in v.findall(f"{{{ENV}}}Value")]
    return code or "", subcodes


def payload(root: etree._Element) -> etree._Element:
    """The response element of a SOAP reply."""
    return root.find(f"{{{ENV}}}Body")[0]


def element(namespace: str, name: str, *children: etree._Element, **text: str) -> etree._Element:
    """``<ns:name>`` with child elements, and ``Child=text`` children in the same namespace."""
    made = etree.Element(f"{{{namespace}}}{name}")
    made.extend(children)
    for child, value in text.items():
        etree.SubElement(made, f"{{{namespace}}}{child}").text = value
    return made
