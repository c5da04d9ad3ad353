"""A simulated multi-sensor housing (four fixed sensors around a PTZ dome) and a thermal one (three visible sensors
beside a thermal sensor), read with the real client and raw SOAP: one video source per sensor with its own
profiles, the PTZ configuration only on the dome's, the head refusing a fixed sensor's profile, and the Thermal
service (listed by GetServices only) naming the thermal source."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import zeep.exceptions

from tests.sim.onvif_rig import PASSWORD, USERNAME, Seconds, connect, dome, element, envelope, fault, payload, post
from vigie.sim.onvif import OnvifSimulator, SimDeviceSpec, SimProfile, SimVideoSource

TTH = "http://www.onvif.org/ver10/thermal/wsdl"
TDS = "http://www.onvif.org/ver10/device/wsdl"


def sensor(token: str, **marks: bool) -> SimVideoSource:
    return SimVideoSource(
        token,
        (
            SimProfile(f"{token}-main", "Main", f"rtsp://127.0.0.1:8554/{token}"),
            SimProfile(f"{token}-sub", "Sub", f"rtsp://127.0.0.1:8554/{token}-sub", width=640, height=360),
        ),
        **marks,
    )


@pytest.fixture(scope="module")
def sim() -> Iterator[OnvifSimulator]:
    clock = Seconds()
    specs = [
        SimDeviceSpec(
            name="quai",
            username=USERNAME,
            password=PASSWORD,
            sources=(*(sensor(f"Sensor{i}") for i in range(1, 5)), sensor("Dome", ptz=True)),
            ptz=dome(clock),
        ),
        SimDeviceSpec(
            name="parking",
            username=USERNAME,
            password=PASSWORD,
            sources=(sensor("Sensor1"), sensor("Sensor2"), sensor("Sensor3"), sensor("Thermal", thermal=True)),
        ),
    ]
    with OnvifSimulator(specs) as simulator:
        yield simulator


def run(sim: OnvifSimulator, name: str, scenario: Any) -> Any:
    async def main() -> Any:
        camera = await connect(sim, name)
        try:
            return await scenario(camera)
        finally:
            await camera.close()

    return asyncio.run(main())


def test_each_sensor_is_a_video_source_with_its_profiles_and_only_the_domes_have_ptz(sim: OnvifSimulator) -> None:
    async def scenario(camera: Any) -> tuple[Any, Any]:
        media = await camera.create_media_service()
        return await media.GetVideoSources(), await media.GetProfiles()

    sources, profiles = run(sim, "quai", scenario)
    assert [s.token for s in sources] == ["Sensor1", "Sensor2", "Sensor3", "Sensor4", "Dome"]
    by_source: dict[str, list[str]] = {}
    for profile in profiles:
        by_source.setdefault(profile.VideoSourceConfiguration.SourceToken, []).append(profile.token)
    assert by_source["Sensor3"] == ["Sensor3-main", "Sensor3-sub"] and by_source["Dome"] == ["Dome-main", "Dome-sub"]
    assert [p.token for p in profiles if p.PTZConfiguration is not None] == ["Dome-main", "Dome-sub"]
    configurations = {p.VideoSourceConfiguration.token for p in profiles}
    assert len(configurations) == 5  # one video source configuration per sensor


def test_the_head_moves_through_the_domes_profile_and_refuses_a_fixed_sensors(sim: OnvifSimulator) -> None:
    async def scenario(camera: Any) -> Any:
        ptz = await camera.create_ptz_service()
        await ptz.AbsoluteMove({"ProfileToken": "Dome-main", "Position": {"PanTilt": {"x": 0.5, "y": 0.0}}})
        await ptz.GetStatus({"ProfileToken": "Dome-sub"})
        return await ptz.AbsoluteMove({"ProfileToken": "Sensor2-main", "Position": {"PanTilt": {"x": 0.5, "y": 0.0}}})

    with pytest.raises(zeep.exceptions.Fault) as caught:
        run(sim, "quai", scenario)
    assert "{http://www.onvif.org/ver10/error}NoPTZProfile" in [str(code) for code in caught.value.subcodes or []]


def test_the_thermal_service_is_listed_by_getservices_and_names_the_thermal_source(sim: OnvifSimulator) -> None:
    parking = run(sim, "parking", lambda camera: asyncio.sleep(0, result=dict(camera.xaddrs)))
    quai = run(sim, "quai", lambda camera: asyncio.sleep(0, result=dict(camera.xaddrs)))
    assert TTH in parking and TTH not in quai
    thermal_url = parking[TTH]
    status, reply = post(thermal_url, envelope(element(TTH, "GetConfigurations")))
    assert status == 200
    listed = payload(reply).findall(f"{{{TTH}}}Configurations")
    assert [c.get("token") for c in listed] == ["Thermal"]
    assert listed[0].findtext(f"{{{TTH}}}Configuration/{{{TTH}}}Polarity") == "WhiteHot"
    status, reply = post(thermal_url, envelope(element(TTH, "GetConfiguration", VideoSourceToken="Sensor1")))
    assert (status, fault(reply)) == (400, ("env:Sender", ["ter:InvalidArgVal", "ter:NoSource"]))
    status, reply = post(thermal_url, envelope(element(TTH, "GetConfigurations"), password="wrong-password"))
    assert (status, fault(reply)[1]) == (400, ["ter:NotAuthorized"])


def test_a_housing_with_a_head_needs_exactly_one_dome_source() -> None:
    with pytest.raises(ValueError, match="exactly one source marked ptz"):
        SimDeviceSpec(name="x", username=USERNAME, password=PASSWORD, sources=(sensor("A"),), ptz=dome(Seconds()))
    with pytest.raises(ValueError, match="not both"):
        SimDeviceSpec(
            name="x", username=USERNAME, password=PASSWORD, sources=(sensor("A"),), profiles=sensor("B").profiles
        )
