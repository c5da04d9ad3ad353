"""A simulated ONVIF camera (Device, Media, PTZ, Events PullPoint, Thermal, WS-Discovery) for tests and the demo.

No conformant ONVIF simulator is packaged on PyPI, npm or Debian, so Vigie has its own: SOAP 1.2 over HTTP,
WS-Security UsernameToken digests checked, responses shaped by the ONVIF WSDLs and schema that onvif-zeep-async
ships, PTZ commands carried out by a :class:`vigie.domain.ptz.PtzDevice` (the simulated dome). See
docs/devices.md, "The simulated ONVIF camera".
"""

from vigie.sim.onvif.broker import SimTopic
from vigie.sim.onvif.server import OnvifSimulator
from vigie.sim.onvif.spec import SimDeviceSpec, SimProfile, SimVideoSource

__all__ = ["OnvifSimulator", "SimDeviceSpec", "SimProfile", "SimTopic", "SimVideoSource"]
