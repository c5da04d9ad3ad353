"""The PTZ service (``tptz``, version 2.0) of a simulated dome, acting on its :class:`PtzDevice`.

Positions, translations, velocities and speeds are in the ONVIF generic spaces (what every dome supports and
what :class:`~vigie.domain.ptz.PtzVector` holds). RelativeMove also accepts the field-of-view translation space
(``TranslationSpaceFov``, the space auto-trackers use): ``x`` and ``y`` in [-1, 1] are a point of the current
picture (1 = its right or top edge) which the move brings to the centre; the dome's optics and the current zoom
turn it into a generic translation. Each request's values are checked against the spaces before the dome moves.
"""

from __future__ import annotations

from typing import Final

from lxml import etree  # type: ignore[import-untyped]  # no stubs in the lock

from vigie.domain.ptz import PresetLimitError, PtzDevice, PtzError, PtzVector, UnknownPresetError, View, unproject
from vigie.sim.onvif.device import PTZ_CONFIGURATION_TOKEN, PTZ_NODE_TOKEN, Handler, SimDevice, tt
from vigie.sim.onvif.device_service import service_capabilities
from vigie.sim.onvif.soap import (
    NSMAP,
    TPTZ,
    TPTZ_,
    TT,
    TT_,
    SoapFault,
    parse_xs_duration,
    receiver_fault,
    required_text,
    sender_fault,
    xs_datetime,
)
from vigie.sim.onvif.spec import SimProfile

_PT: Final = "http://www.onvif.org/ver10/tptz/PanTiltSpaces/"
_Z: Final = "http://www.onvif.org/ver10/tptz/ZoomSpaces/"
PT_POSITION: Final = _PT + "PositionGenericSpace"
PT_TRANSLATION: Final = _PT + "TranslationGenericSpace"
PT_TRANSLATION_FOV: Final = _PT + "TranslationSpaceFov"
PT_VELOCITY: Final = _PT + "VelocityGenericSpace"
PT_SPEED: Final = _PT + "GenericSpeedSpace"
Z_POSITION: Final = _Z + "PositionGenericSpace"
Z_TRANSLATION: Final = _Z + "TranslationGenericSpace"
Z_VELOCITY: Final = _Z + "VelocityGenericSpace"
Z_SPEED: Final = _Z + "ZoomGenericSpeedSpace"

DEFAULT_TIMEOUT_S: Final = 10.0
"""A ContinuousMove without a Timeout stops after this (the configuration's DefaultPTZTimeout)."""
TIMEOUT_RANGE_S: Final = (1.0, 120.0)
"""The ContinuousMove timeouts the configuration options announce; a longer one is shortened to the maximum."""


def _range(tag: str, uri: str, x: tuple[float, float], y: tuple[float, float] | None = None) -> etree._Element:
    element = etree.Element(tt(tag), nsmap=NSMAP)
    element.append(TT_.URI(uri))
    element.append(TT_.XRange(TT_.Min(f"{x[0]:g}"), TT_.Max(f"{x[1]:g}")))
    if y is not None:
        element.append(TT_.YRange(TT_.Min(f"{y[0]:g}"), TT_.Max(f"{y[1]:g}")))
    return element


def _spaces(tag: str) -> etree._Element:
    """The spaces the dome supports (node and configuration options), in the schema's order."""
    full, unit = (-1.0, 1.0), (0.0, 1.0)
    spaces = etree.Element(f"{{{TT}}}{tag}", nsmap=NSMAP)
    spaces.extend(
        [
            _range("AbsolutePanTiltPositionSpace", PT_POSITION, full, full),
            _range("AbsoluteZoomPositionSpace", Z_POSITION, unit),
            _range("RelativePanTiltTranslationSpace", PT_TRANSLATION, full, full),
            _range("RelativePanTiltTranslationSpace", PT_TRANSLATION_FOV, full, full),
            _range("RelativeZoomTranslationSpace", Z_TRANSLATION, full),
            _range("ContinuousPanTiltVelocitySpace", PT_VELOCITY, full, full),
            _range("ContinuousZoomVelocitySpace", Z_VELOCITY, full),
            _range("PanTiltSpeedSpace", PT_SPEED, unit),
            _range("ZoomSpeedSpace", Z_SPEED, unit),
        ]
    )
    return spaces


def _dome_profiles(device: SimDevice) -> tuple[SimProfile, ...]:
    """The profiles of the source behind the head (all of a single-sensor dome's)."""
    source = device.spec.ptz_source
    return source.profiles if source is not None else device.spec.profiles


def ptz_configuration(device: SimDevice, tag: str) -> etree._Element:
    """The dome's one PTZ configuration (shared by all its profiles), as ``tag``."""
    element = etree.Element(tag, token=PTZ_CONFIGURATION_TOKEN, nsmap=NSMAP)
    element.extend(
        [
            TT_.Name("PTZConfig"),
            TT_.UseCount(str(len(_dome_profiles(device)))),
            TT_.NodeToken(PTZ_NODE_TOKEN),
            # "Pant" is the schema's own spelling of this element (ONVIF 2.4 onvif.xsd).
            TT_.DefaultAbsolutePantTiltPositionSpace(PT_POSITION),
            TT_.DefaultAbsoluteZoomPositionSpace(Z_POSITION),
            TT_.DefaultRelativePanTiltTranslationSpace(PT_TRANSLATION),
            TT_.DefaultRelativeZoomTranslationSpace(Z_TRANSLATION),
            TT_.DefaultContinuousPanTiltVelocitySpace(PT_VELOCITY),
            TT_.DefaultContinuousZoomVelocitySpace(Z_VELOCITY),
            TT_.DefaultPTZSpeed(TT_.PanTilt(x="1", y="1", space=PT_SPEED), TT_.Zoom(x="1", space=Z_SPEED)),
            TT_.DefaultPTZTimeout(f"PT{DEFAULT_TIMEOUT_S:g}S"),
            TT_.PanTiltLimits(_range("Range", PT_POSITION, (-1.0, 1.0), (-1.0, 1.0))),
            TT_.ZoomLimits(_range("Range", Z_POSITION, (0.0, 1.0))),
        ]
    )
    return element


def _node(device: SimDevice, tag: str) -> etree._Element:
    element = etree.Element(tag, token=PTZ_NODE_TOKEN, FixedHomePosition="false", nsmap=NSMAP)
    element.extend(
        [
            TT_.Name("Dome"),
            _spaces("SupportedPTZSpaces"),
            TT_.MaximumNumberOfPresets(str(device.spec.max_presets)),
            TT_.HomeSupported("true"),
        ]
    )
    return element


def _float(element: etree._Element, name: str) -> float:
    value = element.get(name)
    try:
        return float(value) if value is not None else 0.0
    except ValueError:
        raise sender_fault("InvalidArgVal", reason=f"{etree.QName(element).localname} {name}={value!r}") from None


def _vector_parts(
    request: etree._Element, name: str, pan_tilt_spaces: tuple[str, ...], zoom_spaces: tuple[str, ...]
) -> tuple[tuple[float, float, str] | None, float | None]:
    """The request's ``name`` vector: ``((x, y, space) or None, zoom x or None)``; a space the dome does not know
    for this operation is the ``ter:SpaceNotSupported`` fault."""
    vector = request.find(f"{{{TPTZ}}}{name}")
    if vector is None:
        return None, None
    pan_tilt = vector.find(f"{{{TT}}}PanTilt")
    zoom = vector.find(f"{{{TT}}}Zoom")
    pt: tuple[float, float, str] | None = None
    z: float | None = None
    if pan_tilt is not None:
        space = pan_tilt.get("space", pan_tilt_spaces[0])
        if space not in pan_tilt_spaces:
            raise sender_fault("InvalidArgVal", "SpaceNotSupported", reason=f"pan/tilt space {space} not supported")
        pt = (_float(pan_tilt, "x"), _float(pan_tilt, "y"), space)
    if zoom is not None:
        space = zoom.get("space", zoom_spaces[0])
        if space not in zoom_spaces:
            raise sender_fault("InvalidArgVal", "SpaceNotSupported", reason=f"zoom space {space} not supported")
        z = _float(zoom, "x")
    return pt, z


def _speed(request: etree._Element) -> PtzVector | None:
    pt, z = _vector_parts(request, "Speed", (PT_SPEED,), (Z_SPEED,))
    if pt is None and z is None:
        return None
    speed = PtzVector(1.0 if pt is None else pt[0], 1.0 if pt is None else pt[0], 1.0 if z is None else z)
    for value in (speed.pan, speed.zoom):
        if not 0.0 <= value <= 1.0:
            raise sender_fault("InvalidArgVal", "InvalidSpeed", reason=f"speed {value} is outside [0, 1]")
    return speed


def _ptz_fault(error: PtzError, subcode: str) -> SoapFault:
    if isinstance(error, UnknownPresetError):
        return sender_fault("InvalidArgVal", "NoToken", reason=str(error))
    if isinstance(error, PresetLimitError):
        return receiver_fault("Action", "TooManyPresets", reason=str(error))
    return sender_fault("InvalidArgVal", subcode, reason=str(error))


def _dome(device: SimDevice, request: etree._Element) -> PtzDevice:
    ptz = device.require_ptz()
    device.ptz_profile_of(request)
    return ptz


async def continuous_move(device: SimDevice, request: etree._Element) -> etree._Element:
    ptz = _dome(device, request)
    pt, z = _vector_parts(request, "Velocity", (PT_VELOCITY,), (Z_VELOCITY,))
    timeout_text = request.findtext(f"{{{TPTZ}}}Timeout")
    timeout = DEFAULT_TIMEOUT_S if timeout_text is None else parse_xs_duration(timeout_text.strip()).total_seconds()
    if timeout <= 0:
        raise sender_fault("InvalidArgVal", "InvalidTimeout", reason=f"timeout {timeout_text} must be positive")
    velocity = PtzVector(pt[0] if pt else 0.0, pt[1] if pt else 0.0, z or 0.0)
    try:
        ptz.continuous_move(velocity, min(timeout, TIMEOUT_RANGE_S[1]))
    except PtzError as error:
        raise _ptz_fault(error, "InvalidVelocity") from None
    return TPTZ_.ContinuousMoveResponse()


async def absolute_move(device: SimDevice, request: etree._Element) -> etree._Element:
    ptz = _dome(device, request)
    pt, z = _vector_parts(request, "Position", (PT_POSITION,), (Z_POSITION,))
    current = ptz.status().position
    position = PtzVector(pt[0] if pt else current.pan, pt[1] if pt else current.tilt, current.zoom if z is None else z)
    try:
        ptz.absolute_move(position, _speed(request))
    except PtzError as error:
        raise _ptz_fault(error, "InvalidPosition") from None
    return TPTZ_.AbsoluteMoveResponse()


def fov_translation(device: SimDevice, current: PtzVector, x: float, y: float) -> tuple[float, float]:
    """The generic pan and tilt translation that brings the point ``(x, y)`` of the current picture (each in
    [-1, 1], 1 = right or top edge) to its centre."""
    if not (-1.0 <= x <= 1.0 and -1.0 <= y <= 1.0):
        raise sender_fault("InvalidArgVal", "InvalidTranslation", reason=f"FOV translation ({x}, {y}) not in [-1, 1]")
    optics = device.spec.optics
    largest = max(_dome_profiles(device), key=lambda p: p.width * p.height)
    pan_deg, tilt_deg, hfov = optics.to_angles(current)
    view = View(pan_deg, tilt_deg, hfov, largest.width, largest.height)
    target_pan, target_tilt = unproject(view, largest.width / 2.0 * (1.0 + x), largest.height / 2.0 * (1.0 - y))
    target = optics.from_angles(float(target_pan), float(target_tilt), hfov)
    d_pan = target.pan - current.pan
    if optics.endless_pan:  # the short way round: a generic pan of ±1 is the same direction
        d_pan = (d_pan + 1.0) % 2.0 - 1.0
    return d_pan, target.tilt - current.tilt


async def relative_move(device: SimDevice, request: etree._Element) -> etree._Element:
    ptz = _dome(device, request)
    pt, z = _vector_parts(request, "Translation", (PT_TRANSLATION, PT_TRANSLATION_FOV), (Z_TRANSLATION,))
    d_pan, d_tilt = (pt[0], pt[1]) if pt else (0.0, 0.0)
    if pt is not None and pt[2] == PT_TRANSLATION_FOV:
        d_pan, d_tilt = fov_translation(device, ptz.status().position, pt[0], pt[1])
    try:
        ptz.relative_move(PtzVector(d_pan, d_tilt, z or 0.0), _speed(request))
    except PtzError as error:
        raise _ptz_fault(error, "InvalidTranslation") from None
    return TPTZ_.RelativeMoveResponse()


async def stop(device: SimDevice, request: etree._Element) -> etree._Element:
    ptz = _dome(device, request)
    flags = [request.findtext(f"{{{TPTZ}}}{axis}") for axis in ("PanTilt", "Zoom")]
    # The dome stops both axes together (PtzDevice has one stop); a request naming neither axis stops both.
    if any(flag is None or flag.strip() in ("true", "1") for flag in flags):
        ptz.stop()
    return TPTZ_.StopResponse()


def _position(tag: str, position: PtzVector) -> etree._Element:
    element = etree.Element(tag, nsmap=NSMAP)
    element.append(TT_.PanTilt(x=f"{position.pan:.6f}", y=f"{position.tilt:.6f}", space=PT_POSITION))
    element.append(TT_.Zoom(x=f"{position.zoom:.6f}", space=Z_POSITION))
    return element


async def get_status(device: SimDevice, request: etree._Element) -> etree._Element:
    status = _dome(device, request).status()
    move = "MOVING" if status.moving else "IDLE"
    return TPTZ_.GetStatusResponse(
        TPTZ_.PTZStatus(
            _position(tt("Position"), status.position),
            TT_.MoveStatus(TT_.PanTilt(move), TT_.Zoom(move)),
            TT_.UtcTime(xs_datetime(device.clock())),
        )
    )


async def get_presets(device: SimDevice, request: etree._Element) -> etree._Element:
    response = TPTZ_.GetPresetsResponse()
    for preset in _dome(device, request).presets():
        element = TPTZ_.Preset(TT_.Name(preset.name), token=preset.token)
        element.append(_position(tt("PTZPosition"), preset.position))
        response.append(element)
    return response


async def set_preset(device: SimDevice, request: etree._Element) -> etree._Element:
    ptz = _dome(device, request)
    name = (request.findtext(f"{{{TPTZ}}}PresetName") or "").strip()
    token = (request.findtext(f"{{{TPTZ}}}PresetToken") or "").strip() or None
    if token is not None and token not in {p.token for p in ptz.presets()}:
        raise sender_fault("InvalidArgVal", "NoToken", reason=f"no preset {token!r} to overwrite")
    if len(ptz.presets()) >= device.spec.max_presets and token is None:
        raise receiver_fault("Action", "TooManyPresets", reason=f"the dome holds {device.spec.max_presets} presets")
    try:
        stored = ptz.set_preset(name, token)
    except PtzError as error:
        raise _ptz_fault(error, "InvalidPresetName") from None
    return TPTZ_.SetPresetResponse(TPTZ_.PresetToken(stored))


async def goto_preset(device: SimDevice, request: etree._Element) -> etree._Element:
    ptz = _dome(device, request)
    token = required_text(request, TPTZ, "PresetToken")
    try:
        ptz.goto_preset(token, _speed(request))
    except PtzError as error:
        raise _ptz_fault(error, "NoToken") from None
    return TPTZ_.GotoPresetResponse()


async def remove_preset(device: SimDevice, request: etree._Element) -> etree._Element:
    ptz = _dome(device, request)
    token = required_text(request, TPTZ, "PresetToken")
    try:
        ptz.remove_preset(token)
    except PtzError as error:
        raise _ptz_fault(error, "NoToken") from None
    return TPTZ_.RemovePresetResponse()


async def goto_home_position(device: SimDevice, request: etree._Element) -> etree._Element:
    _dome(device, request).goto_home(_speed(request))
    return TPTZ_.GotoHomePositionResponse()


async def set_home_position(device: SimDevice, request: etree._Element) -> etree._Element:
    _dome(device, request).set_home()
    return TPTZ_.SetHomePositionResponse()


async def get_nodes(device: SimDevice, request: etree._Element) -> etree._Element:
    device.require_ptz()
    return TPTZ_.GetNodesResponse(_node(device, f"{{{TPTZ}}}PTZNode"))


async def get_node(device: SimDevice, request: etree._Element) -> etree._Element:
    device.require_ptz()
    token = required_text(request, TPTZ, "NodeToken")
    if token != PTZ_NODE_TOKEN:
        raise sender_fault("InvalidArgVal", "NoEntity", reason=f"no PTZ node {token!r} (the dome has {PTZ_NODE_TOKEN})")
    return TPTZ_.GetNodeResponse(_node(device, f"{{{TPTZ}}}PTZNode"))


def _configuration_token(device: SimDevice, request: etree._Element, name: str) -> None:
    device.require_ptz()
    token = required_text(request, TPTZ, name)
    if token != PTZ_CONFIGURATION_TOKEN:
        raise sender_fault("InvalidArgVal", "NoConfig", reason=f"no PTZ configuration {token!r}")


async def get_configurations(device: SimDevice, request: etree._Element) -> etree._Element:
    device.require_ptz()
    return TPTZ_.GetConfigurationsResponse(ptz_configuration(device, f"{{{TPTZ}}}PTZConfiguration"))


async def get_configuration(device: SimDevice, request: etree._Element) -> etree._Element:
    _configuration_token(device, request, "PTZConfigurationToken")
    return TPTZ_.GetConfigurationResponse(ptz_configuration(device, f"{{{TPTZ}}}PTZConfiguration"))


async def get_configuration_options(device: SimDevice, request: etree._Element) -> etree._Element:
    _configuration_token(device, request, "ConfigurationToken")
    low, high = TIMEOUT_RANGE_S
    return TPTZ_.GetConfigurationOptionsResponse(
        TPTZ_.PTZConfigurationOptions(
            _spaces("Spaces"), TT_.PTZTimeout(TT_.Min(f"PT{low:g}S"), TT_.Max(f"PT{high:g}S"))
        )
    )


async def get_service_capabilities(device: SimDevice, request: etree._Element) -> etree._Element:
    return TPTZ_.GetServiceCapabilitiesResponse(service_capabilities(device, TPTZ))


OPERATIONS: Final[dict[str, Handler]] = {
    "GetNodes": get_nodes,
    "GetNode": get_node,
    "GetConfigurations": get_configurations,
    "GetConfiguration": get_configuration,
    "GetConfigurationOptions": get_configuration_options,
    "GetStatus": get_status,
    "ContinuousMove": continuous_move,
    "AbsoluteMove": absolute_move,
    "RelativeMove": relative_move,
    "Stop": stop,
    "GetPresets": get_presets,
    "SetPreset": set_preset,
    "GotoPreset": goto_preset,
    "RemovePreset": remove_preset,
    "GotoHomePosition": goto_home_position,
    "SetHomePosition": set_home_position,
    "GetServiceCapabilities": get_service_capabilities,
}
