"""The simulated dome's PTZ service, driven by the real client: every command moves the simulated dome (its clock
moved by the test), status reports where it is and whether it moves, presets and home are kept."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import zeep.exceptions

from tests.sim.onvif_rig import Seconds, camera_spec, connect, dome
from vigie.sim.dome import SimulatedDome
from vigie.sim.onvif import OnvifSimulator

FOV_SPACE = "http://www.onvif.org/ver10/tptz/PanTiltSpaces/TranslationSpaceFov"


class Rig:
    def __init__(self, sim: OnvifSimulator, clock: Seconds, dome: SimulatedDome) -> None:
        self.sim, self.clock, self.dome = sim, clock, dome

    def run(self, scenario: Callable[[Any], Awaitable[Any]]) -> Any:
        """Run ``scenario(ptz_service)`` with the real client connected to the dome."""

        async def main() -> Any:
            camera = await connect(self.sim, "dome-1")
            try:
                return await scenario(await camera.create_ptz_service())
            finally:
                await camera.close()

        return asyncio.run(main())


@pytest.fixture
def rig() -> Iterator[Rig]:
    clock = Seconds()
    head = dome(clock)
    with OnvifSimulator([camera_spec("dome-1", ptz=head)]) as sim:
        yield Rig(sim, clock, head)


def position(status: Any) -> tuple[float, float, float]:
    return (status.Position.PanTilt.x, status.Position.PanTilt.y, status.Position.Zoom.x)


def test_absolute_move_reports_moving_then_arrives(rig: Rig) -> None:
    async def scenario(ptz: Any) -> tuple[Any, Any]:
        target = {"PanTilt": {"x": 0.5, "y": 0.2}, "Zoom": {"x": 0.3}}
        await ptz.AbsoluteMove({"ProfileToken": "main", "Position": target})
        rig.clock.advance(0.1)
        during = await ptz.GetStatus({"ProfileToken": "main"})
        rig.clock.advance(10.0)
        return during, await ptz.GetStatus({"ProfileToken": "main"})

    during, after = rig.run(scenario)

    assert during.MoveStatus.PanTilt == "MOVING"
    assert after.MoveStatus.PanTilt == "IDLE"
    assert position(after) == pytest.approx((0.5, 0.2, 0.3), abs=1e-5)
    at = rig.dome.status().position
    assert (at.pan, at.tilt, at.zoom) == pytest.approx(position(after), abs=1e-5)  # what ONVIF says is the dome's


def test_relative_and_continuous_moves_with_timeout_and_stop(rig: Rig) -> None:
    top_pan = rig.dome.optics.pan_speed_generic()  # generic units per second at velocity 1

    async def scenario(ptz: Any) -> tuple[float, float, float]:
        start = rig.dome.status().position.pan
        await ptz.RelativeMove({"ProfileToken": "main", "Translation": {"PanTilt": {"x": 0.25, "y": 0.0}}})
        rig.clock.advance(10.0)
        relative = (await ptz.GetStatus({"ProfileToken": "main"})).Position.PanTilt.x - start

        before = rig.dome.status().position.pan
        velocity = {"PanTilt": {"x": 0.5, "y": 0.0}}
        await ptz.ContinuousMove({"ProfileToken": "main", "Velocity": velocity, "Timeout": timedelta(seconds=1)})
        rig.clock.advance(5.0)  # the move stopped by itself after its 1 s timeout
        timed = rig.dome.status().position.pan - before

        before = rig.dome.status().position.pan
        await ptz.ContinuousMove({"ProfileToken": "main", "Velocity": velocity})
        rig.clock.advance(0.5)
        await ptz.Stop({"ProfileToken": "main", "PanTilt": True, "Zoom": True})
        rig.clock.advance(5.0)
        stopped = rig.dome.status().position.pan - before
        return relative, timed, stopped

    relative, timed, stopped = rig.run(scenario)

    assert relative == pytest.approx(0.25, abs=1e-6)
    assert timed == pytest.approx(0.5 * top_pan * 1.0, abs=1e-6)
    assert stopped == pytest.approx(0.5 * top_pan * 0.5, abs=1e-6)
    assert not rig.dome.status().moving


def test_relative_move_in_the_field_of_view_space_centres_the_edge_point(rig: Rig) -> None:
    optics = rig.dome.optics
    home_pan, home_tilt, hfov = optics.to_angles(rig.dome.status().position)

    async def scenario(ptz: Any) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
        right_edge = {"PanTilt": {"x": 1.0, "y": 0.0, "space": FOV_SPACE}}
        await ptz.RelativeMove({"ProfileToken": "main", "Translation": right_edge})
        rig.clock.advance(10.0)
        after_pan = optics.to_angles(rig.dome.status().position)
        bottom_edge = {"PanTilt": {"x": 0.0, "y": -1.0, "space": FOV_SPACE}}
        await ptz.RelativeMove({"ProfileToken": "main", "Translation": bottom_edge})
        rig.clock.advance(10.0)
        return after_pan, optics.to_angles(rig.dome.status().position)

    after_pan, after_tilt = rig.run(scenario)

    # x = 1 is the right edge of the picture: the dome turns by half its horizontal field of view.
    assert after_pan[0] - home_pan == pytest.approx(hfov / 2.0, abs=0.01)
    assert after_pan[1] == pytest.approx(home_tilt, abs=0.01)
    # y = -1 is the bottom edge: it tilts down by half the vertical field of view of the 16:9 main profile.
    vfov = rig.dome.view(1920, 1080).vfov_deg
    assert after_tilt[1] - home_tilt == pytest.approx(-vfov / 2.0, abs=0.01)


def test_presets_and_home_are_stored_recalled_and_removed(rig: Rig) -> None:
    async def settle_status(ptz: Any) -> tuple[float, float, float]:
        rig.clock.advance(10.0)
        return position(await ptz.GetStatus({"ProfileToken": "main"}))

    async def scenario(ptz: Any) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        gate = {"PanTilt": {"x": -0.4, "y": -0.3}, "Zoom": {"x": 0.5}}
        await ptz.AbsoluteMove({"ProfileToken": "main", "Position": gate})
        await settle_status(ptz)
        token = await ptz.SetPreset({"ProfileToken": "main", "PresetName": "gate"})
        await ptz.AbsoluteMove({"ProfileToken": "main", "Position": {"PanTilt": {"x": 0.6, "y": 0.6}}})
        await settle_status(ptz)
        await ptz.GotoPreset({"ProfileToken": "main", "PresetToken": token})
        seen["recalled"] = await settle_status(ptz)
        seen["presets"] = [(p.token, p.Name, p.PTZPosition.PanTilt.x) for p in await ptz.GetPresets("main")]
        await ptz.SetHomePosition({"ProfileToken": "main"})
        await ptz.AbsoluteMove({"ProfileToken": "main", "Position": {"PanTilt": {"x": 0.1, "y": 0.1}}})
        await settle_status(ptz)
        await ptz.GotoHomePosition({"ProfileToken": "main"})
        seen["home"] = await settle_status(ptz)
        await ptz.RemovePreset({"ProfileToken": "main", "PresetToken": token})
        seen["after_remove"] = await ptz.GetPresets("main")
        try:
            await ptz.GotoPreset({"ProfileToken": "main", "PresetToken": token})
        except zeep.exceptions.Fault as fault:
            seen["unknown"] = [q.localname for q in fault.subcodes]
        seen["token"] = token
        return seen

    seen = rig.run(scenario)

    assert seen["recalled"] == pytest.approx((-0.4, -0.3, 0.5), abs=1e-5)
    assert seen["presets"] == [(seen["token"], "gate", pytest.approx(-0.4, abs=1e-5))]
    assert seen["home"] == pytest.approx((-0.4, -0.3, 0.5), abs=1e-5)
    assert seen["after_remove"] == []
    assert seen["unknown"] == ["InvalidArgVal", "NoToken"]


def test_node_and_configuration_describe_the_spaces_and_bad_values_are_refused(rig: Rig) -> None:
    home = rig.dome.status().position

    async def scenario(ptz: Any) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        nodes = await ptz.GetNodes()
        seen["node"] = nodes[0]
        seen["options"] = await ptz.GetConfigurationOptions({"ConfigurationToken": "PTZConfig_1"})
        seen["configuration"] = (await ptz.GetConfigurations())[0]
        try:
            await ptz.AbsoluteMove({"ProfileToken": "main", "Position": {"PanTilt": {"x": 1.5, "y": 0.0}}})
        except zeep.exceptions.Fault as fault:
            seen["out_of_range"] = [q.localname for q in fault.subcodes]
        try:
            await ptz.GetStatus({"ProfileToken": "no-such-profile"})
        except zeep.exceptions.Fault as fault:
            seen["no_profile"] = [q.localname for q in fault.subcodes]
        return seen

    seen = rig.run(scenario)

    spaces = seen["node"].SupportedPTZSpaces
    assert FOV_SPACE in [s.URI for s in spaces.RelativePanTiltTranslationSpace]
    assert spaces.AbsolutePanTiltPositionSpace[0].XRange.Min == -1.0
    assert spaces.AbsoluteZoomPositionSpace[0].XRange.Max == 1.0
    assert seen["node"].MaximumNumberOfPresets == 64
    assert seen["node"].HomeSupported is True
    assert seen["options"].PTZTimeout.Max == timedelta(seconds=120)
    assert seen["configuration"].NodeToken == seen["node"].token
    assert seen["out_of_range"] == ["InvalidArgVal", "InvalidPosition"]
    assert seen["no_profile"] == ["InvalidArgVal", "NoProfile"]
    assert rig.dome.status().position == home  # the refused move left the dome where it was
    assert not rig.dome.status().moving
