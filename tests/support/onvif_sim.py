"""Simulated ONVIF cameras for the client's tests and the onboarding bench: fixed cameras, domes (every
``dome_every``-th device a :class:`vigie.sim.dome.SimulatedDome` on the clock given) and multi-sensor housings
(fixed sensors around a dome, or visible sensors beside a thermal one), one account for all."""

from __future__ import annotations

from collections.abc import Callable

from vigie.domain.ptz import DomeOptics
from vigie.sim.dome import SimulatedDome
from vigie.sim.onvif import SimDeviceSpec, SimProfile, SimVideoSource
from vigie.sim.panorama import PanoramaSpec, panorama

USERNAME = "vigie-onvif"
PASSWORD = "Str0ng-pass-42-never-logged"
SMALL_PANORAMA = PanoramaSpec(width=1024, height=384)
"""The domes' view in these tests: their PTZ is what is tested, not the picture."""


def _sensor(token: str, url: str, *, width: int = 1920, height: int = 1080, **marks: bool) -> SimVideoSource:
    """A video source with a main (``width``x``height``) and a 640x360 sub profile; profile tokens ``<token>-main``
    and ``<token>-sub``, as multi-sensor cameras name them per sensor."""
    return SimVideoSource(
        token,
        (
            SimProfile(f"{token}-main", f"{token} main", url, width=width, height=height, fps=25),
            SimProfile(f"{token}-sub", f"{token} sub", f"{url}-sub", width=640, height=360, fps=10, bitrate_kbps=512),
        ),
        **marks,
    )


def multisensor_spec(
    name: str,
    *,
    fixed: int = 4,
    dome_clock: Callable[[], float] | None = None,
    thermal: bool = False,
    rtsp: str = "rtsp://127.0.0.1:8554",
) -> SimDeviceSpec:
    """One housing, one address, one account: ``fixed`` fixed sensors (``Sensor1``…), then a thermal sensor
    (640x512, ``Thermal``) when asked, then a PTZ dome (``Dome``) when ``dome_clock`` is given."""
    sources = [_sensor(f"Sensor{i}", f"{rtsp}/{name}/s{i}") for i in range(1, fixed + 1)]
    if thermal:
        sources.append(_sensor("Thermal", f"{rtsp}/{name}/thermal", width=640, height=512, thermal=True))
    dome = None
    if dome_clock is not None:
        dome = SimulatedDome(DomeOptics(), panorama(SMALL_PANORAMA), dome_clock, walkers=False)
        sources.append(_sensor("Dome", f"{rtsp}/{name}/dome", ptz=True))
    return SimDeviceSpec(
        name=name,
        username=USERNAME,
        password=PASSWORD,
        sources=tuple(sources),
        model="SimMulti",
        ptz=dome,
    )


def device_specs(
    count: int,
    *,
    dome_every: int = 0,
    multisensor_every: int = 0,
    clock: Callable[[], float] | None = None,
    rtsp: str = "rtsp://127.0.0.1:8554",
) -> list[SimDeviceSpec]:
    """``count`` devices ``cam-000``… with a 1920x1080 main and a 640x360 sub profile; device ``i`` is a dome when
    ``dome_every`` divides ``i + 1``, else a multi-sensor housing when ``multisensor_every`` does (alternately 4
    fixed sensors around a dome, and 3 visible sensors beside a thermal one)."""
    specs = []
    housings = 0
    for index in range(count):
        name = f"cam-{index:03d}"
        if (
            multisensor_every > 0
            and (index + 1) % multisensor_every == 0
            and not (dome_every > 0 and (index + 1) % dome_every == 0)
        ):
            with_dome = housings % 2 == 0
            housings += 1
            if with_dome and clock is None:
                raise ValueError("domes need a clock")
            specs.append(
                multisensor_spec(name, dome_clock=clock if with_dome else None, fixed=4 if with_dome else 3,
                                 thermal=not with_dome, rtsp=rtsp)
            )  # fmt: skip
            continue
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
