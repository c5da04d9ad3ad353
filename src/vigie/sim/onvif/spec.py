"""What a simulated ONVIF device is: its identity, credentials, media profiles and, for a dome, its PTZ head."""

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


@dataclass(frozen=True, slots=True)
class SimDeviceSpec:
    """A simulated device. ``ptz`` is the dome's head (None for a fixed camera: no PTZ service is advertised);
    ``optics`` turns field-of-view translations (RelativeMove in ``TranslationSpaceFov``) into generic ones.
    ``port`` 0 lets the system choose a free port (read it back from :meth:`OnvifSimulator.address`)."""

    name: str
    username: str
    password: str = field(repr=False)
    profiles: tuple[SimProfile, ...]
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
        if not self.profiles:
            raise ValueError(f"device {self.name}: at least one media profile is needed")
        tokens = [p.token for p in self.profiles]
        if len(set(tokens)) != len(tokens):
            raise ValueError(f"device {self.name}: profile tokens {tokens} must be distinct")
        if not self.username or not self.password:
            raise ValueError(f"device {self.name}: a username and a password are needed")
        if not 0 <= self.port < 65536:
            raise ValueError(f"device {self.name}: port {self.port} is not a TCP port")

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
