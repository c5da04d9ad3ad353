"""SOAP 1.2 envelopes and faults as the ONVIF core specification shapes them.

ONVIF services are SOAP 1.2 over HTTP. A request is parsed with a hardened lxml parser (no network, no entity
expansion, no huge trees: the body is also bounded before it reaches the parser); a reply is the operation's
response element wrapped in an envelope. Faults follow the core specification's generic fault table: a code
(``env:Sender`` for a bad request, ``env:Receiver`` for what the device cannot do), ONVIF subcodes in the ``ter``
namespace, and the HTTP status of the SOAP 1.2 HTTP binding (400 for a sender fault, 500 for a receiver fault).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from lxml import etree  # type: ignore[import-untyped]  # no stubs in the lock
from lxml.builder import ElementMaker  # type: ignore[import-untyped]

ENV: Final = "http://www.w3.org/2003/05/soap-envelope"
TT: Final = "http://www.onvif.org/ver10/schema"
TDS: Final = "http://www.onvif.org/ver10/device/wsdl"
TRT: Final = "http://www.onvif.org/ver10/media/wsdl"
TPTZ: Final = "http://www.onvif.org/ver20/ptz/wsdl"
TEV: Final = "http://www.onvif.org/ver10/events/wsdl"
TTH: Final = "http://www.onvif.org/ver10/thermal/wsdl"
"""The Thermal service (ONVIF Thermal Service Specification): not in NSMAP, declared only on its own replies."""
WSNT: Final = "http://docs.oasis-open.org/wsn/b-2"
WSTOP: Final = "http://docs.oasis-open.org/wsn/t-1"
WSA: Final = "http://www.w3.org/2005/08/addressing"
TNS1: Final = "http://www.onvif.org/ver10/topics"
TER: Final = "http://www.onvif.org/ver10/error"
WSSE: Final = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU: Final = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
XS: Final = "http://www.w3.org/2001/XMLSchema"

NSMAP: Final = {
    "env": ENV,
    "tt": TT,
    "tds": TDS,
    "trt": TRT,
    "tptz": TPTZ,
    "tev": TEV,
    "wsnt": WSNT,
    "wstop": WSTOP,
    "wsa": WSA,
    "tns1": TNS1,
    "ter": TER,
    "xs": XS,
}

MAX_BODY_BYTES: Final = 64 * 1024
"""The largest request body accepted. The longest request the simulator serves (a PTZ move, a subscription with
a topic filter) is a few kilobytes; a larger body is refused before parsing."""

_PARSER: Final = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=True)

TT_: Final = ElementMaker(namespace=TT, nsmap=NSMAP)
TDS_: Final = ElementMaker(namespace=TDS, nsmap=NSMAP)
TRT_: Final = ElementMaker(namespace=TRT, nsmap=NSMAP)
TPTZ_: Final = ElementMaker(namespace=TPTZ, nsmap=NSMAP)
TEV_: Final = ElementMaker(namespace=TEV, nsmap=NSMAP)
WSNT_: Final = ElementMaker(namespace=WSNT, nsmap=NSMAP)
WSA_: Final = ElementMaker(namespace=WSA, nsmap=NSMAP)
ENV_: Final = ElementMaker(namespace=ENV, nsmap=NSMAP)


class SoapFault(Exception):
    """A fault to answer instead of a response: ``code`` is ``Sender`` or ``Receiver``, ``subcodes`` the ONVIF
    ``ter:`` subcodes from the most general (``InvalidArgVal``) to the most precise (``NoProfile``)."""

    def __init__(self, code: str, subcodes: tuple[str, ...], reason: str, detail: etree._Element | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.subcodes = subcodes
        self.reason = reason
        self.detail = detail

    @property
    def http_status(self) -> int:
        """400 for a sender fault, 500 for a receiver fault (SOAP 1.2 HTTP binding, ONVIF core 5.11)."""
        return 400 if self.code == "Sender" else 500


def sender_fault(*subcodes: str, reason: str, detail: etree._Element | None = None) -> SoapFault:
    return SoapFault("Sender", subcodes, reason, detail)


def receiver_fault(*subcodes: str, reason: str) -> SoapFault:
    return SoapFault("Receiver", subcodes, reason)


def not_authorized(reason: str) -> SoapFault:
    """The fault of the ONVIF core specification for a request without valid credentials."""
    return sender_fault("NotAuthorized", reason=reason)


def action_not_supported(operation: str) -> SoapFault:
    """The fault of the ONVIF core specification for an optional action the device does not implement."""
    return receiver_fault("ActionNotSupported", reason=f"the operation {operation} is not supported by this service")


def parse_envelope(body: bytes) -> tuple[etree._Element | None, etree._Element]:
    """The header (or None) and the first element of the body of a SOAP 1.2 request, or a sender fault saying
    what is wrong with it."""
    if len(body) > MAX_BODY_BYTES:
        raise sender_fault("WellFormed", reason=f"request body over {MAX_BODY_BYTES} bytes")
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as error:
        raise sender_fault("WellFormed", reason=f"the request is not well-formed XML: {error}") from None
    if root.tag == "{http://schemas.xmlsoap.org/soap/envelope/}Envelope":
        raise SoapFault("VersionMismatch", (), "ONVIF services speak SOAP 1.2; the request is a SOAP 1.1 envelope")
    if root.tag != f"{{{ENV}}}Envelope":
        raise sender_fault("TagMismatch", reason=f"the request's root is {root.tag}, not a SOAP 1.2 env:Envelope")
    header = root.find(f"{{{ENV}}}Header")
    body_element = root.find(f"{{{ENV}}}Body")
    if body_element is None or len(body_element) == 0:
        raise sender_fault("Tag", reason="the SOAP envelope has no body element naming an operation")
    return header, body_element[0]


def envelope(payload: etree._Element, header: list[etree._Element] | None = None) -> bytes:
    """A SOAP 1.2 envelope holding ``payload`` (and header blocks) as UTF-8 bytes."""
    children = [ENV_.Header(*header)] if header else []
    serialized: bytes = etree.tostring(
        ENV_.Envelope(*children, ENV_.Body(payload)), xml_declaration=True, encoding="UTF-8"
    )
    return serialized


def fault_envelope(fault: SoapFault) -> bytes:
    """The SOAP 1.2 fault (``env:Code`` with nested ``env:Subcode`` values, ``env:Reason``) for ``fault``."""
    code = ENV_.Code(ENV_.Value(f"env:{fault.code}"))
    parent = code
    for subcode in fault.subcodes:
        child = ENV_.Subcode(ENV_.Value(f"ter:{subcode}"))
        parent.append(child)
        parent = child
    reason = ENV_.Reason(ENV_.Text(fault.reason))
    reason[0].set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    fault_element = ENV_.Fault(code, reason)
    if fault.detail is not None:
        fault_element.append(ENV_.Detail(fault.detail))
    return envelope(fault_element)


def child(element: etree._Element, namespace: str, name: str) -> etree._Element | None:
    return element.find(f"{{{namespace}}}{name}")


def text(element: etree._Element, namespace: str, name: str) -> str | None:
    found = element.find(f"{{{namespace}}}{name}")
    return None if found is None or found.text is None else found.text.strip()


def required_text(element: etree._Element, namespace: str, name: str) -> str:
    value = text(element, namespace, name)
    if not value:
        operation = etree.QName(element).localname
        raise sender_fault("InvalidArgVal", reason=f"{operation} needs a {name} element")
    return value


def xs_datetime(instant: datetime) -> str:
    """An xs:dateTime in UTC with a Z (what ONVIF devices send)."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def xs_duration(seconds: float) -> str:
    return f"PT{seconds:g}S"


def parse_xs_duration(value: str) -> timedelta:
    """An xs:duration as ONVIF clients send it (``PT10S``, ``PT1M30.5S``, ``P1DT2H``); years and months are
    refused (their length is not fixed)."""
    original = value
    sign = 1.0
    if value.startswith("-"):
        sign, value = -1.0, value[1:]
    if not value.startswith("P"):
        raise sender_fault("InvalidArgVal", reason=f"{original!r} is not an xs:duration such as PT10S")
    date_part, _, time_part = value[1:].partition("T")
    total = 0.0
    try:
        for part, units in ((date_part, {"D": 86400.0}), (time_part, {"H": 3600.0, "M": 60.0, "S": 1.0})):
            number = ""
            for char in part:
                if char.isdigit() or char == ".":
                    number += char
                elif char in units and number:
                    total += float(number) * units[char]
                    number = ""
                else:
                    raise ValueError(char)
            if number:
                raise ValueError(number)
    except ValueError:
        raise sender_fault(
            "InvalidArgVal", reason=f"{original!r} is not an xs:duration in days, hours, minutes and seconds"
        ) from None
    return timedelta(seconds=sign * total)


def parse_xs_datetime(value: str) -> datetime:
    """An xs:dateTime; one without a zone is read as UTC (ONVIF clients send UTC)."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise sender_fault("InvalidArgVal", reason=f"{value!r} is not an xs:dateTime") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def absolute_or_relative(value: str, now: datetime) -> datetime:
    """A WS-BaseNotification AbsoluteOrRelativeTimeType: an xs:duration from ``now`` or an xs:dateTime."""
    value = value.strip()
    if value.startswith(("P", "-P")):
        return now + parse_xs_duration(value)
    return parse_xs_datetime(value)
