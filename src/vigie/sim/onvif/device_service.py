"""The Device service (``tds``): identity, services and capabilities, clock, scopes, hostname, network."""

from __future__ import annotations

import hashlib
from typing import Final

from lxml import etree  # type: ignore[import-untyped]  # no stubs in the lock
from lxml.builder import ElementMaker  # type: ignore[import-untyped]

from vigie.sim.onvif.device import EVENTS_PATH, MEDIA_PATH, PTZ_PATH, THERMAL_PATH, Handler, SimDevice
from vigie.sim.onvif.soap import NSMAP, TDS, TDS_, TEV, TPTZ, TRT, TT_, TTH, receiver_fault

ONVIF_VERSION: Final = (2, 40)
"""The ONVIF release the shipped WSDLs describe (schema 2.4.2)."""


def _flag(value: bool) -> str:
    return "true" if value else "false"


async def get_device_information(device: SimDevice, request: etree._Element) -> etree._Element:
    spec = device.spec
    return TDS_.GetDeviceInformationResponse(
        TDS_.Manufacturer(spec.manufacturer),
        TDS_.Model(spec.model),
        TDS_.FirmwareVersion(spec.firmware),
        TDS_.SerialNumber(spec.serial_number),
        TDS_.HardwareId(spec.hardware_id),
    )


def service_capabilities(device: SimDevice, namespace: str) -> etree._Element:
    """The ``Capabilities`` element of GetServiceCapabilities for the service ``namespace``."""
    if namespace == TDS:
        return TDS_.Capabilities(
            TDS_.Network(IPFilter="false", ZeroConfiguration="false", IPVersion6="false", DynDNS="false"),
            TDS_.Security({"UsernameToken": "true", "HttpDigest": "false", "TLS1.2": "false"}),
            TDS_.System(DiscoveryResolve="false", DiscoveryBye="false", RemoteDiscovery="false"),
        )
    if namespace == TTH:
        return ElementMaker(namespace=TTH, nsmap={"tth": TTH}).Capabilities(Radiometry="false")
    maker = ElementMaker(namespace=namespace, nsmap=NSMAP)
    if namespace == TRT:
        return maker.Capabilities(
            maker.ProfileCapabilities(MaximumNumberOfProfiles=str(len(device.spec.profiles))),
            maker.StreamingCapabilities(RTPMulticast="false", RTP_TCP="true", RTP_RTSP_TCP="true"),
            SnapshotUri=_flag(any(p.snapshot_uri for p in device.spec.profiles)),
        )
    if namespace == TEV:
        return maker.Capabilities(
            WSSubscriptionPolicySupport="false",
            WSPullPointSupport="true",
            WSPausableSubscriptionManagerInterfaceSupport="false",
            MaxNotificationProducers="0",
            MaxPullPoints="16",
        )
    return maker.Capabilities(EFlip="false", Reverse="false", GetCompatibleConfigurations="false")


def _services(device: SimDevice) -> list[tuple[str, str]]:
    services = [(TDS, device.device_xaddr), (TRT, device.base_url + MEDIA_PATH)]
    if device.ptz is not None:
        services.append((TPTZ, device.base_url + PTZ_PATH))
    services.append((TEV, device.base_url + EVENTS_PATH))
    if device.spec.thermal:  # listed only here: GetCapabilities has no category for it (Thermal Service spec)
        services.append((TTH, device.base_url + THERMAL_PATH))
    return services


async def get_services(device: SimDevice, request: etree._Element) -> etree._Element:
    include = (request.findtext(f"{{{TDS}}}IncludeCapability") or "false").strip() in ("true", "1")
    response = TDS_.GetServicesResponse()
    for namespace, xaddr in _services(device):
        service = TDS_.Service(TDS_.Namespace(namespace), TDS_.XAddr(xaddr))
        if include:
            service.append(TDS_.Capabilities(service_capabilities(device, namespace)))
        service.append(TDS_.Version(TT_.Major(str(ONVIF_VERSION[0])), TT_.Minor(str(ONVIF_VERSION[1]))))
        response.append(service)
    return response


async def get_service_capabilities(device: SimDevice, request: etree._Element) -> etree._Element:
    return TDS_.GetServiceCapabilitiesResponse(service_capabilities(device, TDS))


async def get_capabilities(device: SimDevice, request: etree._Element) -> etree._Element:
    asked = {(c.text or "").strip() for c in request.findall(f"{{{TDS}}}Category")} or {"All"}
    available = {"Device", "Events", "Media"} | ({"PTZ"} if device.ptz is not None else set())
    missing = sorted(asked - available - {"All"})
    if missing:
        raise receiver_fault(
            "ActionNotSupported", "NoSuchService", reason=f"{device.spec.name} has no {', '.join(missing)} service"
        )
    wanted = available if "All" in asked else asked
    capabilities = TDS_.Capabilities()  # a tds element of type tt:Capabilities
    if "Device" in wanted:
        capabilities.append(
            TT_.Device(
                TT_.XAddr(device.device_xaddr),
                TT_.Network(TT_.IPFilter("false"), TT_.ZeroConfiguration("false"), TT_.IPVersion6("false")),
                TT_.System(
                    TT_.DiscoveryResolve("false"),
                    TT_.DiscoveryBye("false"),
                    TT_.RemoteDiscovery("false"),
                    TT_.SystemBackup("false"),
                    TT_.SystemLogging("false"),
                    TT_.FirmwareUpgrade("false"),
                    TT_.SupportedVersions(TT_.Major(str(ONVIF_VERSION[0])), TT_.Minor(str(ONVIF_VERSION[1]))),
                ),
            )
        )
    if "Events" in wanted:
        capabilities.append(
            TT_.Events(
                TT_.XAddr(device.base_url + EVENTS_PATH),
                TT_.WSSubscriptionPolicySupport("false"),
                TT_.WSPullPointSupport("true"),
                TT_.WSPausableSubscriptionManagerInterfaceSupport("false"),
            )
        )
    if "Media" in wanted:
        capabilities.append(
            TT_.Media(
                TT_.XAddr(device.base_url + MEDIA_PATH),
                TT_.StreamingCapabilities(TT_.RTPMulticast("false"), TT_.RTP_TCP("true"), TT_.RTP_RTSP_TCP("true")),
            )
        )
    if "PTZ" in wanted:
        capabilities.append(TT_.PTZ(TT_.XAddr(device.base_url + PTZ_PATH)))
    return TDS_.GetCapabilitiesResponse(capabilities)


def _date_time(device: SimDevice) -> etree._Element:
    now = device.clock()
    return TT_.UTCDateTime(
        TT_.Time(TT_.Hour(str(now.hour)), TT_.Minute(str(now.minute)), TT_.Second(str(now.second))),
        TT_.Date(TT_.Year(str(now.year)), TT_.Month(str(now.month)), TT_.Day(str(now.day))),
    )


async def get_system_date_and_time(device: SimDevice, request: etree._Element) -> etree._Element:
    utc = _date_time(device)
    local = etree.fromstring(etree.tostring(utc))
    local.tag = local.tag.replace("UTCDateTime", "LocalDateTime")
    return TDS_.GetSystemDateAndTimeResponse(
        TDS_.SystemDateAndTime(
            TT_.DateTimeType("NTP"), TT_.DaylightSavings("false"), TT_.TimeZone(TT_.TZ("UTC0")), utc, local
        )
    )


async def get_scopes(device: SimDevice, request: etree._Element) -> etree._Element:
    response = TDS_.GetScopesResponse()
    for scope in device.spec.scopes():
        definition = "Configurable" if "/location/" in scope or "/name/" in scope else "Fixed"
        response.append(TDS_.Scopes(TT_.ScopeDef(definition), TT_.ScopeItem(scope)))
    return response


async def get_hostname(device: SimDevice, request: etree._Element) -> etree._Element:
    return TDS_.GetHostnameResponse(TDS_.HostnameInformation(TT_.FromDHCP("false"), TT_.Name(device.spec.name)))


async def get_network_interfaces(device: SimDevice, request: etree._Element) -> etree._Element:
    digest = hashlib.sha256(device.spec.name.encode()).digest()
    mac = ":".join(f"{b:02x}" for b in (0x02, *digest[:5]))  # locally administered, stable per name
    return TDS_.GetNetworkInterfacesResponse(
        TDS_.NetworkInterfaces(
            TT_.Enabled("true"),
            TT_.Info(TT_.Name("eth0"), TT_.HwAddress(mac), TT_.MTU("1500")),
            TT_.IPv4(
                TT_.Enabled("true"),
                TT_.Config(TT_.Manual(TT_.Address(device.host), TT_.PrefixLength("24")), TT_.DHCP("false")),
            ),
            token="eth0",  # noqa: S106 - an ONVIF entity token
        )
    )


OPERATIONS: Final[dict[str, Handler]] = {
    "GetDeviceInformation": get_device_information,
    "GetServices": get_services,
    "GetServiceCapabilities": get_service_capabilities,
    "GetCapabilities": get_capabilities,
    "GetSystemDateAndTime": get_system_date_and_time,
    "GetScopes": get_scopes,
    "GetHostname": get_hostname,
    "GetNetworkInterfaces": get_network_interfaces,
}

UNAUTHENTICATED: Final = frozenset({"GetSystemDateAndTime"})
"""Operations the ONVIF core specification lets a client call without credentials (to learn the device clock
before signing its first UsernameToken)."""
