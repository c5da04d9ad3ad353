"""What a simulated ONVIF device is: its identity, credentials, video sources with their media profiles and, for a
dome, its PTZ head."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote

from vigie.domain.ptz import DomeOptics, PtzDevice

Encoding = Literal["H264", "H265"]


@dataclass(frozen=True, slots=True)
class SimProfile:
    """One media profile (the main or the sub stream): what GetProfiles and GetStreamUri answer."""

    token: str
    name: str
    stream_uri: str
    encoding: Encoding = "H264"
    width: int = 1920
    height: int = 1080
    fps: int = 25
    bitrate_kbps: int = 4096
    gov_length: int = 50
    snapshot_uri: str | None = None

    def __post_init__(self) -> None:
        if not self.token or any(c.isspace() for c in self.token):
            raise ValueError(f"profile token {self.token!r} must be non-empty without spaces")
        if self.width <= 0 or self.height <= 0 or self.fps <= 0 or self.bitrate_kbps <= 0:
            raise ValueError(f"profile {self.token}: width, height, fps and bitrate_kbps must be positive")
        if not self.stream_uri.startswith(("rtsp://", "rtsps://")):
            raise ValueError(f"profile {self.token}: stream_uri {self.stream_uri!r} must be an rtsp:// URI")


DEFAULT_VIDEO_SOURCE = "VideoSource_1"
"""The token of a single-sensor device's one video source."""


@dataclass(frozen=True, slots=True)
class SimVideoSource:
    """One sensor of a device (an ONVIF VideoSource) and the profiles encoding it. ``ptz``: the sensor behind the
    device's PTZ head (its profiles carry the PTZ configuration; one such source at most); ``thermal``: a thermal
    sensor, listed by the Thermal service (``tth:GetConfigurations``) as real thermal cameras do."""

    token: str
    profiles: tuple[SimProfile, ...]
    ptz: bool = False
    thermal: bool = False

    def __post_init__(self) -> None:
        if not self.token or any(c.isspace() for c in self.token):
            raise ValueError(f"video source token {self.token!r} must be non-empty without spaces")
        if not self.profiles:
            raise ValueError(f"video source {self.token}: at least one media profile is needed")

    @property
    def largest(self) -> SimProfile:
        return max(self.profiles, key=lambda p: p.width * p.height)


@dataclass(frozen=True, slots=True)
class SimDeviceSpec:
    """A simulated device. ``ptz`` is the dome's head (None for a fixed camera: no PTZ service is advertised);
    ``optics`` turns field-of-view translations (RelativeMove in ``TranslationSpaceFov``) into generic ones.
    ``port`` 0 lets the system choose a free port (read it back from :meth:`OnvifSimulator.address`).

    A single-sensor device gives its ``profiles`` (all of one video source, ``VideoSource_1``); a multi-sensor
    device gives its ``sources`` instead (``profiles`` then lists theirs, in order), a dome among them marked
    ``ptz=True`` when the device has a head."""

    name: str
    username: str
    password: str = field(repr=False)
    profiles: tuple[SimProfile, ...] = ()
    sources: tuple[SimVideoSource, ...] = ()
    manufacturer: str = "Vigie"
    model: str = "SimCam"
    firmware: str = "1.0.0"
    serial: str = ""
    hardware_id: str = "vigie-sim"
    location: str = "france/metropole"
    ptz: PtzDevice | None = None
    optics: DomeOptics = field(default_factory=DomeOptics)
    max_presets: int = 64
    extra_scopes: tuple[str, ...] = ()
    port: int = 0

    def __post_init__(self) -> None:
        if not self.name or any(c.isspace() or c == "/" for c in self.name):
            raise ValueError(f"device name {self.name!r} must be non-empty, without spaces or '/'")
        self._check_sources()
        if not self.profiles:
            raise ValueError(f"device {self.name}: at least one media profile is needed")
        tokens = [p.token for p in self.profiles]
        if len(set(tokens)) != len(tokens):
            raise ValueError(f"device {self.name}: profile tokens {tokens} must be distinct")
        if not self.username or not self.password:
            raise ValueError(f"device {self.name}: a username and a password are needed")
        if not 0 <= self.port < 65536:
            raise ValueError(f"device {self.name}: port {self.port} is not a TCP port")

    def _check_sources(self) -> None:
        if not self.sources:
            single = (
                SimVideoSource(DEFAULT_VIDEO_SOURCE, self.profiles, ptz=self.ptz is not None) if self.profiles else None
            )
            object.__setattr__(self, "sources", (single,) if single else ())
            return
        if self.profiles:
            raise ValueError(f"device {self.name}: give its profiles or its sources' profiles, not both")
        tokens = [s.token for s in self.sources]
        if len(set(tokens)) != len(tokens):
            raise ValueError(f"device {self.name}: video source tokens {tokens} must be distinct")
        domes = [s.token for s in self.sources if s.ptz]
        if len(domes) > 1 or bool(domes) != (self.ptz is not None):
            raise ValueError(f"device {self.name}: a PTZ head needs exactly one source marked ptz (marked: {domes})")
        object.__setattr__(self, "profiles", tuple(p for s in self.sources for p in s.profiles))

    def source_of(self, profile: SimProfile) -> SimVideoSource:
        """The video source a profile encodes."""
        return next(s for s in self.sources if profile in s.profiles)

    @property
    def ptz_source(self) -> SimVideoSource | None:
        return next((s for s in self.sources if s.ptz), None)

    @property
    def thermal(self) -> bool:
        """Whether the device has a thermal sensor (and so a Thermal service)."""
        return any(s.thermal for s in self.sources)

    @property
    def endpoint_uuid(self) -> str:
        """The device's WS-Discovery endpoint reference (stable for a name: ``urn:uuid:…``)."""
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'vigie-sim-onvif:{self.name}')}"

    @property
    def serial_number(self) -> str:
        return self.serial or f"SIM-{uuid.uuid5(uuid.NAMESPACE_URL, self.name).hex[:12].upper()}"

    def scopes(self) -> tuple[str, ...]:
        """The device's ONVIF scopes (fixed ones first), as GetScopes and WS-Discovery announce them."""
        fixed = [
            "onvif://www.onvif.org/type/video_encoder",
            "onvif://www.onvif.org/Profile/Streaming",
            f"onvif://www.onvif.org/hardware/{quote(self.model, safe='')}",
            f"onvif://www.onvif.org/name/{self.name}",
            f"onvif://www.onvif.org/location/{quote(self.location, safe='/')}",
        ]
        if self.ptz is not None:
            fixed.insert(1, "onvif://www.onvif.org/type/ptz")
        return (*fixed, *self.extra_scopes)
