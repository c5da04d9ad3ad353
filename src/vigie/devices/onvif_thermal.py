"""Which video sources of a device are thermal sensors, from its ONVIF Thermal service.

The Media service does not say whether a sensor sees light or heat. The ONVIF Thermal Service Specification does:
a device with thermal sensors lists the service (namespace :data:`THERMAL_NAMESPACE`) in GetServices, and its
``GetConfigurations`` answers one ``tth:Configurations`` per thermal video source, whose ``token`` is the source's
token. onvif-zeep-async ships no thermal WSDL, so this one request is written by hand: a SOAP 1.2 envelope signed by
the library's own WS-Security UsernameToken (PasswordDigest, corrected by the device's clock offset as the library
does for its services), posted with aiohttp and read with a hardened lxml parser (no entities, no network, bounded
size). Failures are raised as zeep's exceptions (``Fault``, ``TransportError``, ``XMLSyntaxError``) so that the
caller turns them into the same causes as the other services' (wrong password, not an ONVIF service…).
"""

from __future__ import annotations

from typing import Final

import aiohttp
import zeep.exceptions
from lxml import etree  # type: ignore[import-untyped]  # no stubs in the lock
from onvif import ONVIFCamera  # type: ignore[import-untyped]  # the package ships no py.typed
from onvif.client import UsernameDigestTokenDtDiff  # type: ignore[import-untyped]

THERMAL_NAMESPACE: Final = "http://www.onvif.org/ver10/thermal/wsdl"
_ENV: Final = "http://www.w3.org/2003/05/soap-envelope"
MAX_REPLY_BYTES: Final = 256 * 1024
"""A GetConfigurations reply is a few hundred bytes per thermal sensor; anything larger is not one."""
_PARSER: Final = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def _request(username: str, password: str, camera: ONVIFCamera) -> bytes:
    root = etree.Element(f"{{{_ENV}}}Envelope", nsmap={"env": _ENV, "tth": THERMAL_NAMESPACE})
    etree.SubElement(root, f"{{{_ENV}}}Header")
    etree.SubElement(etree.SubElement(root, f"{{{_ENV}}}Body"), f"{{{THERMAL_NAMESPACE}}}GetConfigurations")
    token = UsernameDigestTokenDtDiff(username, password, dt_diff=camera.dt_diff, use_digest=True)
    signed, _ = token.apply(root, {})
    body: bytes = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
    return body


def _fault(fault: etree._Element) -> zeep.exceptions.Fault:
    code = fault.findtext(f"{{{_ENV}}}Code/{{{_ENV}}}Value")
    subcodes = [value.text for value in fault.iterfind(f".//{{{_ENV}}}Subcode/{{{_ENV}}}Value") if value.text]
    reason = fault.findtext(f"{{{_ENV}}}Reason/{{{_ENV}}}Text") or ""
    return zeep.exceptions.Fault(reason, code=code or "env:Receiver", subcodes=subcodes)  # type: ignore[no-untyped-call]


def read_reply(status: int, payload: bytes) -> tuple[str, ...]:
    """The thermal source tokens of a GetConfigurations reply, or the zeep exception a client would raise."""
    if len(payload) > MAX_REPLY_BYTES:
        raise zeep.exceptions.XMLSyntaxError(f"reply over {MAX_REPLY_BYTES} bytes")  # type: ignore[no-untyped-call]
    try:
        root = etree.fromstring(payload, _PARSER)
    except etree.XMLSyntaxError as err:
        raise zeep.exceptions.XMLSyntaxError(str(err)) from None  # type: ignore[no-untyped-call]
    fault = root.find(f"{{{_ENV}}}Body/{{{_ENV}}}Fault")
    if fault is not None:
        raise _fault(fault)
    if status != 200:
        raise zeep.exceptions.TransportError(f"HTTP {status}", status_code=status)  # type: ignore[no-untyped-call]
    response = root.find(f"{{{_ENV}}}Body/{{{THERMAL_NAMESPACE}}}GetConfigurationsResponse")
    if response is None:
        raise zeep.exceptions.XMLSyntaxError("the reply holds no tth:GetConfigurationsResponse")  # type: ignore[no-untyped-call]
    tokens = (item.get("token") for item in response.iterfind(f"{{{THERMAL_NAMESPACE}}}Configurations"))
    return tuple(dict.fromkeys(t for t in tokens if t))


async def thermal_sources(camera: ONVIFCamera, username: str, password: str) -> tuple[str, ...]:
    """The tokens of the device's thermal video sources; ``()`` when GetServices listed no Thermal service (call
    after ``update_xaddrs``). The caller bounds the time."""
    xaddr = camera.xaddrs.get(THERMAL_NAMESPACE)
    if xaddr is None:
        return ()
    action = f"{THERMAL_NAMESPACE}/GetConfigurations"
    headers = {"Content-Type": f'application/soap+xml; charset=utf-8; action="{action}"'}
    # ssl=False: the device's certificate is checked no more than onvif-zeep-async checks it for every other
    # service of the same device (cameras' certificates are self-signed); the password travels only as a digest.
    async with (
        aiohttp.ClientSession() as session,
        session.post(xaddr, data=_request(username, password, camera), headers=headers, ssl=False) as response,
    ):
        payload = b""
        async for chunk in response.content.iter_chunked(64 * 1024):
            payload += chunk
            if len(payload) > MAX_REPLY_BYTES:
                break
        return read_reply(response.status, payload)
