"""ONVIF cameras through onvif-zeep-async (the client Home Assistant and Frigate use): what a device is
(:func:`describe`) and a PTZ dome driven over ONVIF (:class:`OnvifPtz`); the camera's own events are in
:mod:`vigie.devices.onvif_events`.

Every failure reaches the caller as one :class:`OnvifError` naming the device (``host:port``) and the cause a
person can act on (unreachable, wrong username or password, not an ONVIF device, no answer in time). The password
is never in a message, a log line or a returned value: stream URIs lose any ``user:password@`` the device put in
them, and the runtime adds the account from the credentials store (``Camera.credentials``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import onvif  # type: ignore[import-untyped]  # the package ships no py.typed
import zeep.exceptions
from onvif import SERVICES, ONVIFCamera, ONVIFService

from vigie.devices.onvif_thermal import thermal_sources
from vigie.domain.ptz import (
    PresetLimitError,
    PtzError,
    PtzPreset,
    PtzStatus,
    PtzVector,
    UnknownPresetError,
    check_position,
    check_velocity,
)
from vigie.domain.redact import redact_text

log = logging.getLogger(__name__)

_T = TypeVar("_T")
_PTZ_NAMESPACE = "http://www.onvif.org/ver20/ptz/wsdl"
WSDL_DIR = str(Path(onvif.__file__).parent / "wsdl")
"""The ONVIF WSDLs onvif-zeep-async ships (its ONVIFCamera's default)."""


class OnvifError(Exception):
    """A device that could not be described or driven: ``str()`` names it and the cause, never its password."""

    def __init__(self, device: str, cause: str) -> None:
        super().__init__(f"{device}: {cause}")
        self.device = device
        self.cause = cause


@dataclass(frozen=True, slots=True)
class MediaProfile:
    """One media profile: its video encoding, resolution and frame rate, and its RTSP stream URI without
    credentials (``None`` when the device gave none)."""

    token: str
    name: str
    encoding: str | None
    width: int | None
    height: int | None
    fps: float | None
    stream_uri: str | None
    ptz_configuration: str | None = None
    video_source: str | None = None
    """The token of the video source (sensor) the profile encodes (its VideoSourceConfiguration's SourceToken)."""

    @property
    def pixels(self) -> int:
        return (self.width or 0) * (self.height or 0)


def main_of(profiles: tuple[MediaProfile, ...]) -> MediaProfile | None:
    """The profile with a stream and the most pixels (the one recorded)."""
    streams = [p for p in profiles if p.stream_uri]
    return max(streams, key=lambda p: p.pixels) if streams else None


def sub_of(profiles: tuple[MediaProfile, ...]) -> MediaProfile | None:
    """The profile with a stream and the fewest pixels (live thumbnails and analysis); ``None`` when there is only
    one stream."""
    streams = [p for p in profiles if p.stream_uri]
    if len(streams) < 2:
        return None
    smallest = min(streams, key=lambda p: p.pixels)
    return None if smallest is main_of(profiles) else smallest


@dataclass(frozen=True, slots=True)
class VideoSource:
    """One sensor of a device and the profiles encoding it: a multi-sensor camera has several, each a camera of
    its own for Vigie. ``thermal``: the device's Thermal service lists it; ``ptz``: its profiles drive the head."""

    token: str | None
    profiles: tuple[MediaProfile, ...]
    thermal: bool = False

    @property
    def ptz_profile(self) -> MediaProfile | None:
        """Its first profile with a PTZ configuration (the main one when it has one), or None for a fixed sensor."""
        main = main_of(self.profiles)
        with_ptz = [p for p in (*((main,) if main else ()), *self.profiles) if p.ptz_configuration is not None]
        return with_ptz[0] if with_ptz else None

    @property
    def main_profile(self) -> MediaProfile | None:
        return main_of(self.profiles)

    @property
    def sub_profile(self) -> MediaProfile | None:
        return sub_of(self.profiles)


@dataclass(frozen=True, slots=True)
class PtzCapabilities:
    """A dome's PTZ node: the coordinate spaces it supports (URIs), how many presets it keeps, whether it has a
    home position."""

    node_token: str
    spaces: tuple[str, ...]
    max_presets: int
    home_supported: bool


@dataclass(frozen=True, slots=True)
class DeviceDescription:
    """What a device says of itself: identity, media profiles and, for a dome, its PTZ capabilities (``None`` for
    a fixed camera)."""

    host: str
    port: int
    manufacturer: str
    model: str
    firmware: str
    serial: str
    hardware_id: str
    profiles: tuple[MediaProfile, ...]
    ptz: PtzCapabilities | None
    thermal_sources: tuple[str, ...] = ()
    """Tokens of the video sources the device's Thermal service lists (``tth:GetConfigurations``)."""

    @property
    def main_profile(self) -> MediaProfile | None:
        """The profile with a stream and the most pixels (the one recorded)."""
        return main_of(self.profiles)

    @property
    def sub_profile(self) -> MediaProfile | None:
        """The profile with a stream and the fewest pixels (live thumbnails and analysis); ``None`` when the
        device has only one stream."""
        return sub_of(self.profiles)

    @property
    def sources(self) -> tuple[VideoSource, ...]:
        """The device's sensors in the order its profiles name them first. A device whose profiles all encode
        one source (or name none) has one; in a multi-sensor device, a profile naming no video source (audio,
        metadata) belongs to no sensor and is left out."""
        tokens = list(dict.fromkeys(p.video_source for p in self.profiles if p.video_source is not None))
        if len(tokens) <= 1:
            token = tokens[0] if tokens else None
            return (VideoSource(token, self.profiles, thermal=token in self.thermal_sources),)
        return tuple(
            VideoSource(t, tuple(p for p in self.profiles if p.video_source == t), thermal=t in self.thermal_sources)
            for t in tokens
        )


def without_credentials(uri: str) -> str:
    """``uri`` without ``user:password@``: some devices put the account in the stream URIs they return."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return redact_text(uri)
    if parts.username is None and parts.password is None:
        return uri
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _fault_names(fault: zeep.exceptions.Fault) -> str:
    codes = [str(fault.code or "")] + [str(code) for code in (fault.subcodes or [])]
    return " ".join(codes) + " " + str(fault.message or "")


def _cause(err: BaseException, timeout_s: float) -> str:  # noqa: PLR0911 - one return per cause
    """What a person can act on, from whatever the library raised (following ``__cause__``)."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, TimeoutError):
            return f"no answer within {timeout_s:g} s (is it an ONVIF device, and is this its ONVIF port?)"
        if isinstance(seen, zeep.exceptions.Fault):
            names = _fault_names(seen)
            if "NotAuthorized" in names or "FailedAuthentication" in names:
                return "wrong username or password (the device refused them: NotAuthorized)"
            if seen.code is None:  # zeep's reading of an error answer with no SOAP fault in it
                return "not an ONVIF device service (an HTTP error without a SOAP fault at /onvif/device_service)"
            return f"the device answered a SOAP fault: {seen.message or names.strip()}"
        if isinstance(seen, zeep.exceptions.TransportError):
            if seen.status_code == 401:
                return "wrong username or password (HTTP 401)"
            return f"not an ONVIF device service (HTTP {seen.status_code} at /onvif/device_service)"
        if isinstance(seen, zeep.exceptions.XMLSyntaxError | zeep.exceptions.XMLParseError):
            return "not an ONVIF device (its answer is not SOAP)"
        if isinstance(seen, aiohttp.ClientConnectorError):
            error = seen.os_error
            return f"unreachable ({os.strerror(error.errno).lower() if error.errno else error})"
        if isinstance(seen, ConnectionError):
            return f"unreachable ({seen.strerror or seen})"
        if isinstance(seen, aiohttp.ClientError | OSError):
            return f"unreachable ({seen})"
        seen = seen.__cause__ or seen.__context__
    return f"{type(err).__name__}: {err}"


def _scrub(text: str, password: str | None) -> str:
    """Defence in depth: nothing from a device's answer or a library message may carry the password."""
    text = redact_text(text)
    return text.replace(password, "***") if password else text


def error_for(host: str, port: int, err: BaseException, timeout_s: float, password: str | None) -> OnvifError:
    """The OnvifError for whatever the library raised while talking to ``host:port``, with the password scrubbed."""
    return OnvifError(f"{host}:{port}", _scrub(_cause(err, timeout_s), password))


def onvif_camera(host: str, port: int, username: str, password: str) -> ONVIFCamera:
    """The library's device object (no request yet): WS-Security digests, the WSDLs it ships."""
    # no_cache: the WSDLs are the package's own files; zeep's SQLite cache would only add a file in $HOME.
    return ONVIFCamera(host, port, username, password, no_cache=True)


def value_at(obj: Any, *path: str) -> Any:
    """``obj.a.b.c`` or ``None`` where any step is missing (devices leave out optional elements)."""
    for name in path:
        if obj is None:
            return None
        obj = getattr(obj, name, None)
    return obj


def _text_or_none(value: Any) -> str | None:
    return str(value) if value is not None and str(value) else None


async def _profiles(camera: ONVIFCamera) -> tuple[MediaProfile, ...]:
    media = await camera.create_media_service()
    profiles: list[MediaProfile] = []
    for profile in await media.GetProfiles():
        uri = await media.GetStreamUri(
            {
                "StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}},
                "ProfileToken": profile.token,
            }
        )
        encoder = profile.VideoEncoderConfiguration
        rate = value_at(encoder, "RateControl", "FrameRateLimit")
        stream = value_at(uri, "Uri")
        profiles.append(
            MediaProfile(
                token=str(profile.token),
                name=str(profile.Name or profile.token),
                encoding=str(value_at(encoder, "Encoding")) if value_at(encoder, "Encoding") else None,
                width=value_at(encoder, "Resolution", "Width"),
                height=value_at(encoder, "Resolution", "Height"),
                fps=float(rate) if rate is not None else None,
                stream_uri=without_credentials(str(stream)) if stream else None,
                ptz_configuration=value_at(profile, "PTZConfiguration", "token"),
                video_source=_text_or_none(value_at(profile, "VideoSourceConfiguration", "SourceToken")),
            )
        )
    return tuple(profiles)


async def _ptz_capabilities(camera: ONVIFCamera) -> PtzCapabilities | None:
    if _PTZ_NAMESPACE not in camera.xaddrs:
        return None
    ptz = await camera.create_ptz_service()
    nodes = await ptz.GetNodes()
    if not nodes:
        return None
    node = nodes[0]
    spaces = value_at(node, "SupportedPTZSpaces")
    uris: list[str] = []
    if spaces is not None:
        for name in spaces:
            for space in spaces[name] or []:
                uri = value_at(space, "URI")
                if uri:
                    uris.append(str(uri))
    return PtzCapabilities(
        node_token=str(node.token),
        spaces=tuple(dict.fromkeys(uris)),
        max_presets=int(value_at(node, "MaximumNumberOfPresets") or 0),
        home_supported=bool(value_at(node, "HomeSupported")),
    )


def thermal_error(host: str, port: int, err: BaseException, password: str | None) -> OnvifError:
    """The OnvifError for a Thermal service that did not say which sources are thermal (the device is not
    onboarded rather than onboarded with a thermal sensor taken for a visible one)."""
    if isinstance(err, zeep.exceptions.TransportError) and err.status_code != 401:
        cause = f"HTTP {err.status_code} without a SOAP fault"
    else:
        cause = _cause(err, 0.0)
    return OnvifError(
        f"{host}:{port}",
        f"its Thermal service (listed by GetServices) did not say which sources are thermal: {_scrub(cause, password)}",
    )


async def _thermal_sources(camera: ONVIFCamera, host: str, port: int, username: str, password: str) -> tuple[str, ...]:
    try:
        return await thermal_sources(camera, username, password)
    except (zeep.exceptions.Error, aiohttp.ClientError, OSError) as err:
        raise thermal_error(host, port, err, password) from None


async def _describe(host: str, port: int, username: str, password: str) -> DeviceDescription:
    camera = onvif_camera(host, port, username, password)
    try:
        await camera.update_xaddrs()
        device = await camera.create_devicemgmt_service()
        info = await device.GetDeviceInformation()
        return DeviceDescription(
            host=host,
            port=port,
            manufacturer=str(info.Manufacturer or ""),
            model=str(info.Model or ""),
            firmware=str(info.FirmwareVersion or ""),
            serial=str(info.SerialNumber or ""),
            hardware_id=str(info.HardwareId or ""),
            profiles=await _profiles(camera),
            ptz=await _ptz_capabilities(camera),
            thermal_sources=await _thermal_sources(camera, host, port, username, password),
        )
    finally:
        await camera.close()


async def prepare(services: tuple[str, ...] = ("devicemgmt", "media", "ptz")) -> None:
    """Parse the WSDLs of ``services`` once, before describing many devices at once: onvif-zeep-async caches a
    parsed WSDL per process, but N first calls at the same moment each parse it (0.1-0.15 s of CPU apiece, 16 at
    once made a cold onboarding of 100 cameras 3x slower). No device is contacted."""
    for name in services:
        definition = SERVICES[name]
        service = ONVIFService(
            "http://127.0.0.1/onvif/prepare", None, None, str(Path(WSDL_DIR) / definition["wsdl"]), no_cache=True,
            binding_name=f"{{{definition['ns']}}}{definition['binding']}",
        )  # fmt: skip
        try:
            await service.setup()
        finally:
            await service.close()


async def describe(host: str, port: int, username: str, password: str, *, timeout_s: float = 10.0) -> DeviceDescription:
    """Read a device's identity, media profiles (with their RTSP URIs) and PTZ node, in at most ``timeout_s``."""
    try:
        async with asyncio.timeout(timeout_s):
            return await _describe(host, port, username, password)
    except OnvifError:
        raise
    except (Exception, TimeoutError) as err:
        raise error_for(host, port, err, timeout_s, password) from None


class OnvifPtz:
    """A dome driven over ONVIF, as a :class:`vigie.domain.ptz.PtzDevice`.

    ``PtzDevice`` is synchronous (the API's handlers and the auto-tracker call it from threads) and the ONVIF
    client is asyncio: each controller owns one event loop in a daemon thread, where its ONVIF session lives, and
    each method submits a coroutine there and waits for it (``timeout_s`` at most). One session per dome keeps its
    HTTP connections warm (a move costs one round trip). :meth:`close` ends the session and the thread.
    Positions and speeds are in the generic spaces, which every ONVIF dome supports and uses when a request names
    no space.
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        password: str,
        *,
        profile_token: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        """Open the dome's PTZ service; ``profile_token`` defaults to the first profile with a PTZ configuration.
        OnvifError when the device cannot be reached or has no PTZ."""
        self._host, self._port = host, port
        self._device = f"{host}:{port}"
        self._timeout_s = timeout_s
        self._password = password
        self._camera: ONVIFCamera | None = None
        self._ptz: Any = None
        self._profile = profile_token or ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"onvif-ptz {host}:{port}", daemon=True)
        self._thread.start()
        try:
            self._run(self._open(username, profile_token))
        except BaseException:
            self.close()
            raise

    async def _open(self, username: str, profile_token: str | None) -> None:
        # The client's aiohttp sessions belong to the loop they were made in: made here, in the controller's.
        self._camera = camera = onvif_camera(self._host, self._port, username, self._password)
        await camera.update_xaddrs()
        if _PTZ_NAMESPACE not in camera.xaddrs:
            raise OnvifError(self._device, "the device has no PTZ service (a fixed camera?)")
        if profile_token is None:
            media = await camera.create_media_service()
            with_ptz = [p for p in await media.GetProfiles() if value_at(p, "PTZConfiguration") is not None]
            if not with_ptz:
                raise OnvifError(self._device, "no media profile has a PTZ configuration")
            self._profile = str(with_ptz[0].token)
        self._ptz = await camera.create_ptz_service()

    def _run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        future = asyncio.run_coroutine_threadsafe(self._guard(coroutine), self._loop)
        return future.result()

    async def _guard(self, coroutine: Awaitable[_T]) -> _T:
        try:
            async with asyncio.timeout(self._timeout_s):
                return await coroutine
        except (OnvifError, PtzError):
            raise
        except zeep.exceptions.Fault as fault:
            names = _fault_names(fault)
            if "NoToken" in names:
                raise UnknownPresetError(f"no preset with this token on {self._device}") from None
            if "TooManyPresets" in names:
                raise PresetLimitError(f"{self._device} holds as many presets as it can") from None
            if "InvalidPosition" in names or "InvalidSpeed" in names or "InvalidTranslation" in names:
                raise PtzError(
                    f"{self._device} refused the move: {_scrub(str(fault.message), self._password)}"
                ) from None
            raise error_for(self._host, self._port, fault, self._timeout_s, self._password) from None
        except (Exception, TimeoutError) as err:
            raise error_for(self._host, self._port, err, self._timeout_s, self._password) from None

    def _call(self, operation: str, request: dict[str, Any]) -> Any:
        async def call() -> Any:
            return await getattr(self._ptz, operation)({"ProfileToken": self._profile, **request})

        return self._run(call())

    @staticmethod
    def _vector(vector: PtzVector) -> dict[str, Any]:
        return {"PanTilt": {"x": vector.pan, "y": vector.tilt}, "Zoom": {"x": vector.zoom}}

    def _speed(self, speed: PtzVector | None) -> dict[str, Any]:
        return {} if speed is None else {"Speed": self._vector(speed)}

    def continuous_move(self, velocity: PtzVector, timeout_s: float | None = None) -> None:
        check_velocity(velocity)
        request: dict[str, Any] = {"Velocity": self._vector(velocity)}
        if timeout_s is not None:
            request["Timeout"] = dt.timedelta(seconds=timeout_s)
        self._call("ContinuousMove", request)

    def absolute_move(self, position: PtzVector, speed: PtzVector | None = None) -> None:
        check_position(position)
        self._call("AbsoluteMove", {"Position": self._vector(position), **self._speed(speed)})

    def relative_move(self, translation: PtzVector, speed: PtzVector | None = None) -> None:
        self._call("RelativeMove", {"Translation": self._vector(translation), **self._speed(speed)})

    def stop(self) -> None:
        self._call("Stop", {"PanTilt": True, "Zoom": True})

    def status(self) -> PtzStatus:
        status = self._call("GetStatus", {})
        moving = {str(value_at(status, "MoveStatus", "PanTilt")), str(value_at(status, "MoveStatus", "Zoom"))}
        when = value_at(status, "UtcTime")
        return PtzStatus(
            position=_position(value_at(status, "Position")),
            moving="MOVING" in moving,
            # The dome's UtcTime when it gives one (its clock, as PtzStatus asks); else this host's, in the same scale.
            at=when.timestamp() if isinstance(when, dt.datetime) else time.time(),
        )

    def presets(self) -> list[PtzPreset]:
        return [
            PtzPreset(token=str(p.token), name=str(p.Name or p.token), position=_position(value_at(p, "PTZPosition")))
            for p in self._call("GetPresets", {}) or []
        ]

    def set_preset(self, name: str, token: str | None = None) -> str:
        request: dict[str, Any] = {"PresetName": name}
        if token is not None:
            request["PresetToken"] = token
        return str(self._call("SetPreset", request))

    def goto_preset(self, token: str, speed: PtzVector | None = None) -> None:
        self._call("GotoPreset", {"PresetToken": token, **self._speed(speed)})

    def remove_preset(self, token: str) -> None:
        self._call("RemovePreset", {"PresetToken": token})

    def goto_home(self, speed: PtzVector | None = None) -> None:
        self._call("GotoHomePosition", self._speed(speed))

    def set_home(self) -> None:
        self._call("SetHomePosition", {})

    def close(self) -> None:
        """End the ONVIF session and the controller's thread (idempotent)."""
        if self._loop.is_closed():
            return
        if self._camera is not None and self._loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(self._camera.close(), self._loop).result(timeout=self._timeout_s)
            except Exception as err:  # closing is best effort: the session dies with the loop anyway
                log.debug("closing the ONVIF session of %s: %s", self._device, type(err).__name__)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=self._timeout_s)
        self._loop.close()

    def __enter__(self) -> OnvifPtz:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _position(vector: Any) -> PtzVector:
    return PtzVector(
        pan=float(value_at(vector, "PanTilt", "x") or 0.0),
        tilt=float(value_at(vector, "PanTilt", "y") or 0.0),
        zoom=float(value_at(vector, "Zoom", "x") or 0.0),
    )
