"""A simulated device while it runs: its spec, its address, its clock, the nonces it saw and its events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

from lxml import etree  # type: ignore[import-untyped]  # no stubs in the lock

from vigie.domain.clock import Clock
from vigie.domain.ptz import PtzDevice
from vigie.sim.onvif.broker import EventBroker
from vigie.sim.onvif.security import NonceCache
from vigie.sim.onvif.soap import TT, sender_fault
from vigie.sim.onvif.spec import SimDeviceSpec, SimProfile, SimVideoSource

DEVICE_PATH: Final = "/onvif/device_service"
MEDIA_PATH: Final = "/onvif/media_service"
PTZ_PATH: Final = "/onvif/ptz_service"
EVENTS_PATH: Final = "/onvif/events_service"
THERMAL_PATH: Final = "/onvif/thermal_service"
SUBSCRIPTION_PATH: Final = "/onvif/subscription/"

PTZ_NODE_TOKEN: Final = "PTZNode_1"  # noqa: S105 - an ONVIF entity token, not a secret
PTZ_CONFIGURATION_TOKEN: Final = "PTZConfig_1"  # noqa: S105 - an ONVIF entity token, not a secret


@dataclass(slots=True)
class SimDevice:
    """One running device: what every operation handler is given."""

    spec: SimDeviceSpec
    host: str
    port: int
    clock: Clock
    broker: EventBroker
    nonces: NonceCache = field(default_factory=NonceCache)

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def device_xaddr(self) -> str:
        return self.base_url + DEVICE_PATH

    @property
    def ptz(self) -> PtzDevice | None:
        return self.spec.ptz

    def require_ptz(self) -> PtzDevice:
        if self.spec.ptz is None:
            raise sender_fault("InvalidArgVal", "NoPTZProfile", reason=f"{self.spec.name} is a fixed camera (no PTZ)")
        return self.spec.ptz

    def ptz_profile_of(self, request: etree._Element) -> SimProfile:
        """The request's profile, which must encode the source behind the PTZ head (``ter:NoPTZProfile`` for a
        fixed sensor's profile of a multi-sensor device)."""
        profile = self.profile_of(request)
        if not self.spec.source_of(profile).ptz:
            raise sender_fault(
                "InvalidArgVal", "NoPTZProfile", reason=f"profile {profile.token} encodes a fixed sensor (no PTZ)"
            )
        return profile

    def profile(self, token: str | None) -> SimProfile:
        """The profile ``token`` or the ``ter:NoProfile`` fault."""
        for profile in self.spec.profiles:
            if profile.token == token:
                return profile
        raise sender_fault("InvalidArgVal", "NoProfile", reason=f"no media profile {token!r} on {self.spec.name}")

    def profile_of(self, request: etree._Element) -> SimProfile:
        """The profile named by the request's ProfileToken (in the service's namespace)."""
        namespace = etree.QName(request).namespace
        token = request.findtext(f"{{{namespace}}}ProfileToken")
        return self.profile(token.strip() if token else None)


def source_configuration_token(spec: SimDeviceSpec, source: SimVideoSource) -> str:
    """The token of a source's one video source configuration (``VideoSourceConfig_1`` for the first source)."""
    return f"VideoSourceConfig_{spec.sources.index(source) + 1}"


def tt(name: str) -> str:
    return f"{{{TT}}}{name}"


Handler = Callable[[SimDevice, etree._Element], Awaitable[etree._Element]]
"""An operation: the device and the request's body element in, the response element out (or a SoapFault)."""
