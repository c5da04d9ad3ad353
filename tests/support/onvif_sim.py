"""Simulated ONVIF cameras for the client's tests and the onboarding bench: fixed cameras and domes (every
``dome_every``-th device a :class:`vigie.sim.dome.SimulatedDome` on the clock given), one account for all."""

from __future__ import annotations

from collections.abc import Callable

from vigie.domain.ptz import DomeOptics
from vigie.sim.dome import SimulatedDome
from vigie.sim.onvif import SimDeviceSpec, SimProfile
from vigie.sim.panorama import PanoramaSpec, panorama

USERNAME = "vigie-onvif"
PASSWORD = "Str0ng-pass-42-never-logged"
SMALL_PANORAMA = PanoramaSpec(width=1024, height=384)
"""The domes' view in these tests: their PTZ is what is tested, not the picture."""


def device_specs(
    count: int, *, dome_every: int = 0, clock: Callable[[], float] | None = None, rtsp: str = "rtsp://127.0.0.1:8554"
) -> list[SimDeviceSpec]:
    """``count`` devices ``cam-000``… with a 1920x1080 main and a 640x360 sub profile; device ``i`` is a dome when
    ``dome_every`` divides ``i + 1``."""
    specs = []
    for index in range(count):
        name = f"cam-{index:03d}"
        is_dome = dome_every > 0 and (index + 1) % dome_every == 0
        dome = None
        if is_dome:
            if clock is None:
                raise ValueError("domes need a clock")
            dome = SimulatedDome(DomeOptics(), panorama(SMALL_PANORAMA), clock, walkers=False)
        specs.append(
            SimDeviceSpec(
                name=name,
                username=USERNAME,
                password=PASSWORD,
                profiles=(
                    SimProfile("sub", "Sub", f"{rtsp}/{name}-sub", width=640, height=360, fps=10, bitrate_kbps=512),
                    SimProfile("main", "Main", f"{rtsp}/{name}", width=1920, height=1080, fps=25),
                ),
                model="SimDome" if is_dome else "SimCam",
                ptz=dome,
            )
        )
    return specs
