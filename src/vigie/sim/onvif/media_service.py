"""The Media service (``trt``, ONVIF Profile S): profiles, stream and snapshot URIs, video sources and encoders.

Media (version 1.0) names only JPEG, MPEG4 and H264 encodings; an H.265 profile is announced as ``H265``, as the
H.265 cameras on the market do in this service (the Media2 service, which names it properly, is not in the WSDLs
onvif-zeep-async ships), so a client must be ready for it.
"""

from __future__ import annotations

from typing import Final

from lxml import etree  # type: ignore[import-untyped]  # no stubs in the lock

from vigie.sim.onvif.device import Handler, SimDevice, source_configuration_token
from vigie.sim.onvif.device_service import service_capabilities
from vigie.sim.onvif.ptz_service import ptz_configuration
from vigie.sim.onvif.soap import NSMAP, TRT, TRT_, TT, TT_, receiver_fault, sender_fault
from vigie.sim.onvif.spec import SimProfile, SimVideoSource

STREAM_URI_TIMEOUT: Final = "PT60S"
"""How long a stream URI stays valid once handed out without being used (the device re-issues the same one)."""


def _sensor(source: SimVideoSource) -> tuple[int, int, int]:
    """A video source's width, height and frame rate: those of its largest profile."""
    largest = source.largest
    return largest.width, largest.height, max(p.fps for p in source.profiles)


def _video_source_configuration(device: SimDevice, source: SimVideoSource) -> etree._Element:
    width, height, _ = _sensor(source)
    return TT_.VideoSourceConfiguration(
        TT_.Name(f"VideoSourceConfig {source.token}"),
        TT_.UseCount(str(len(source.profiles))),
        TT_.SourceToken(source.token),
        TT_.Bounds(x="0", y="0", width=str(width), height=str(height)),
        token=source_configuration_token(device.spec, source),
    )


def encoder_token(profile: SimProfile) -> str:
    return f"VideoEncoder_{profile.token}"


def _video_encoder_configuration(
    profile: SimProfile, tag: str = f"{{{TT}}}VideoEncoderConfiguration"
) -> etree._Element:
    element = etree.Element(tag, token=encoder_token(profile), nsmap=NSMAP)
    element.extend(
        [
            TT_.Name(f"{profile.name} encoder"),
            TT_.UseCount("1"),
            TT_.Encoding(profile.encoding),
            TT_.Resolution(TT_.Width(str(profile.width)), TT_.Height(str(profile.height))),
            TT_.Quality("5"),
            TT_.RateControl(
                TT_.FrameRateLimit(str(profile.fps)),
                TT_.EncodingInterval("1"),
                TT_.BitrateLimit(str(profile.bitrate_kbps)),
            ),
        ]
    )
    if profile.encoding == "H264":
        element.append(TT_.H264(TT_.GovLength(str(profile.gov_length)), TT_.H264Profile("Main")))
    element.extend(
        [
            TT_.Multicast(
                TT_.Address(TT_.Type("IPv4"), TT_.IPv4Address("0.0.0.0")),  # noqa: S104 - no multicast group
                TT_.Port("0"),
                TT_.TTL("1"),
                TT_.AutoStart("false"),
            ),
            TT_.SessionTimeout(STREAM_URI_TIMEOUT),
        ]
    )
    return element


def _profile(device: SimDevice, profile: SimProfile, tag: str) -> etree._Element:
    source = device.spec.source_of(profile)
    element = etree.Element(f"{{{TRT}}}{tag}", token=profile.token, fixed="true", nsmap=NSMAP)
    element.extend(
        [
            TT_.Name(profile.name),
            _video_source_configuration(device, source),
            _video_encoder_configuration(profile, f"{{{TT}}}VideoEncoderConfiguration"),
        ]
    )
    if device.ptz is not None and source.ptz:  # a multi-sensor device's fixed sensors have no PTZ configuration
        element.append(ptz_configuration(device, f"{{{TT}}}PTZConfiguration"))
    return element


async def get_profiles(device: SimDevice, request: etree._Element) -> etree._Element:
    return TRT_.GetProfilesResponse(*(_profile(device, p, "Profiles") for p in device.spec.profiles))


async def get_profile(device: SimDevice, request: etree._Element) -> etree._Element:
    return TRT_.GetProfileResponse(_profile(device, device.profile_of(request), "Profile"))


def _media_uri(uri: str) -> etree._Element:
    return TRT_.MediaUri(
        TT_.Uri(uri),
        TT_.InvalidAfterConnect("false"),
        TT_.InvalidAfterReboot("false"),
        TT_.Timeout(STREAM_URI_TIMEOUT),
    )


async def get_stream_uri(device: SimDevice, request: etree._Element) -> etree._Element:
    profile = device.profile_of(request)
    stream = request.findtext(f"{{{TRT}}}StreamSetup/{{{TT}}}Stream")
    protocol = request.findtext(f"{{{TRT}}}StreamSetup/{{{TT}}}Transport/{{{TT}}}Protocol")
    if stream is not None and stream.strip() != "RTP-Unicast":
        raise sender_fault("InvalidArgVal", "InvalidStreamSetup", reason=f"stream type {stream!r}: unicast only")
    if protocol is not None and protocol.strip() not in ("RTSP", "UDP", "TCP", "HTTP"):
        raise sender_fault("InvalidArgVal", "InvalidStreamSetup", reason=f"transport {protocol!r} is unknown")
    return TRT_.GetStreamUriResponse(_media_uri(profile.stream_uri))


async def get_snapshot_uri(device: SimDevice, request: etree._Element) -> etree._Element:
    profile = device.profile_of(request)
    if profile.snapshot_uri is None:
        raise receiver_fault("ActionNotSupported", reason=f"profile {profile.token} has no snapshot URI")
    return TRT_.GetSnapshotUriResponse(_media_uri(profile.snapshot_uri))


def _video_source(source: SimVideoSource) -> etree._Element:
    width, height, fps = _sensor(source)
    return TRT_.VideoSources(
        TT_.Framerate(str(fps)),
        TT_.Resolution(TT_.Width(str(width)), TT_.Height(str(height))),
        token=source.token,
    )


async def get_video_sources(device: SimDevice, request: etree._Element) -> etree._Element:
    return TRT_.GetVideoSourcesResponse(*(_video_source(source) for source in device.spec.sources))


async def get_video_encoder_configurations(device: SimDevice, request: etree._Element) -> etree._Element:
    return TRT_.GetVideoEncoderConfigurationsResponse(
        *(_video_encoder_configuration(p, f"{{{TRT}}}Configurations") for p in device.spec.profiles)
    )


async def get_service_capabilities(device: SimDevice, request: etree._Element) -> etree._Element:
    return TRT_.GetServiceCapabilitiesResponse(service_capabilities(device, TRT))


OPERATIONS: Final[dict[str, Handler]] = {
    "GetProfiles": get_profiles,
    "GetProfile": get_profile,
    "GetStreamUri": get_stream_uri,
    "GetSnapshotUri": get_snapshot_uri,
    "GetVideoSources": get_video_sources,
    "GetVideoEncoderConfigurations": get_video_encoder_configurations,
    "GetServiceCapabilities": get_service_capabilities,
}
