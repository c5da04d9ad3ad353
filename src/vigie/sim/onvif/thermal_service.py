"""The Thermal service (``tth``, ONVIF Thermal Service Specification): which video sources are thermal sensors,
and their colour palette and polarity.

A device with thermal sensors lists this service in GetServices (namespace ``http://www.onvif.org/ver10/thermal/
wsdl``); ``GetConfigurations`` answers one ``tth:Configurations`` per thermal video source, its ``token`` the
source's token: that is how a client tells a thermal sensor from a visible one (the Media service does not say).
onvif-zeep-async ships no thermal WSDL, so these replies are built from the specification's schema (thermal.wsdl,
ver10) and are not validated by the schema tests that cover the other services.
"""

from __future__ import annotations

from typing import Final

from lxml import etree  # type: ignore[import-untyped]  # no stubs in the lock
from lxml.builder import ElementMaker  # type: ignore[import-untyped]

from vigie.sim.onvif.device import Handler, SimDevice
from vigie.sim.onvif.soap import TTH, sender_fault
from vigie.sim.onvif.spec import SimVideoSource

TTH_: Final = ElementMaker(namespace=TTH, nsmap={"tth": TTH})
PALETTES: Final = (("palette-white-hot", "WhiteHot"), ("palette-iron", "Iron"))
"""The palettes a simulated thermal sensor offers (token, ``ColorPaletteType``); the first is in use."""


def capabilities() -> etree._Element:
    """``tth:Capabilities``: no radiometry (the simulated sensors give pictures, not temperatures)."""
    return TTH_.Capabilities(Radiometry="false")


def _palette(token: str, kind: str) -> etree._Element:
    return TTH_.ColorPalette(TTH_.Name(kind), token=token, Type=kind)


def _configuration() -> etree._Element:
    return TTH_.Configuration(_palette(*PALETTES[0]), TTH_.Polarity("WhiteHot"))


def _thermal_source(device: SimDevice, request: etree._Element) -> SimVideoSource:
    token = (request.findtext(f"{{{TTH}}}VideoSourceToken") or "").strip()
    for source in device.spec.sources:
        if source.token == token and source.thermal:
            return source
    raise sender_fault("InvalidArgVal", "NoSource", reason=f"no thermal video source {token!r} on {device.spec.name}")


async def get_service_capabilities(device: SimDevice, request: etree._Element) -> etree._Element:
    return TTH_.GetServiceCapabilitiesResponse(capabilities())


async def get_configurations(device: SimDevice, request: etree._Element) -> etree._Element:
    return TTH_.GetConfigurationsResponse(
        *(TTH_.Configurations(_configuration(), token=s.token) for s in device.spec.sources if s.thermal)
    )


async def get_configuration(device: SimDevice, request: etree._Element) -> etree._Element:
    _thermal_source(device, request)
    return TTH_.GetConfigurationResponse(_configuration())


async def get_configuration_options(device: SimDevice, request: etree._Element) -> etree._Element:
    _thermal_source(device, request)
    return TTH_.GetConfigurationOptionsResponse(
        TTH_.ConfigurationOptions(*(_palette(token, kind) for token, kind in PALETTES))
    )


OPERATIONS: Final[dict[str, Handler]] = {
    "GetServiceCapabilities": get_service_capabilities,
    "GetConfigurations": get_configurations,
    "GetConfiguration": get_configuration,
    "GetConfigurationOptions": get_configuration_options,
}
