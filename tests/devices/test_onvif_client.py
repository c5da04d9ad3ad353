"""The ONVIF client as an integrator meets it: a device that cannot be described says which one and why, in words
a person can act on, and never with its password."""

from __future__ import annotations

import asyncio
import http.server
import socket
import threading
from collections.abc import Iterator

import pytest

from tests.support.clocks import Ticks
from tests.support.onvif_sim import PASSWORD as SIM_PASSWORD
from tests.support.onvif_sim import USERNAME, device_specs
from tests.support.servers import free_port
from vigie.devices.onvif import OnvifError, OnvifPtz, describe, without_credentials
from vigie.devices.onvif_events import CameraEvent, camera_events, event_kind
from vigie.domain.ptz import PtzVector, UnknownPresetError
from vigie.sim.onvif import OnvifSimulator, SimTopic

PASSWORD = "Tr0ub4dor&3-not-for-logs"


@pytest.fixture
def web_server() -> Iterator[int]:
    """A web server that is no ONVIF device (it refuses POST, as a camera's web page or a router would)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def describe_error(port: int, timeout_s: float = 3.0) -> OnvifError:
    with pytest.raises(OnvifError) as caught:
        asyncio.run(describe("127.0.0.1", port, "vigie", PASSWORD, timeout_s=timeout_s))
    return caught.value


def test_an_unreachable_device_is_named_with_the_cause() -> None:
    port = free_port()
    error = describe_error(port)
    assert str(error) == f"127.0.0.1:{port}: unreachable (connection refused)"


def test_a_web_server_that_is_not_onvif_is_said_so(web_server: int) -> None:
    error = describe_error(web_server)
    assert str(error).startswith(f"127.0.0.1:{web_server}: not an ONVIF device service")
    assert PASSWORD not in str(error)


def test_a_device_that_never_answers_times_out_in_the_time_given() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = int(silent.getsockname()[1])
        error = describe_error(port, timeout_s=0.5)
    assert str(error) == (
        f"127.0.0.1:{port}: no answer within 0.5 s (is it an ONVIF device, and is this its ONVIF port?)"
    )


def test_stream_uris_lose_the_account_a_device_put_in_them() -> None:
    uri = f"rtsp://admin:{PASSWORD}@192.0.2.4:554/Streaming/Channels/101?transportmode=unicast"
    assert without_credentials(uri) == "rtsp://192.0.2.4:554/Streaming/Channels/101?transportmode=unicast"
    assert without_credentials("rtsp://192.0.2.4/live") == "rtsp://192.0.2.4/live"


@pytest.mark.parametrize(
    ("topic", "kind"),
    [
        ("tns1:RuleEngine/CellMotionDetector/Motion", "motion"),
        ("tns1:VideoSource/MotionAlarm", "motion"),
        ("tns1:VideoSource/GlobalSceneChange/ImagingService", "scene_change"),
        ("tns1:VideoSource/ImageTooBlurry/AnalyticsService", "image_too_blurry"),
        ("tns1:VideoSource/ImageTooDark/ImagingService", "image_too_dark"),
        ("tns1:Monitoring/ProcessorUsage", None),
    ],
)
def test_camera_side_topics_map_to_the_kinds_vigie_listens_to(topic: str, kind: str | None) -> None:
    assert event_kind(topic) == kind


# --- against the simulated ONVIF camera (vigie.sim.onvif): a real HTTP/SOAP exchange with digest authentication


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def simulator(ticks: Ticks) -> Iterator[OnvifSimulator]:
    with OnvifSimulator(device_specs(2, dome_every=2, clock=ticks)) as sim:
        yield sim


def test_describe_gives_identity_profiles_and_stream_uris(simulator: OnvifSimulator) -> None:
    host, port = simulator.address("cam-000")
    found = asyncio.run(describe(host, port, USERNAME, SIM_PASSWORD))
    assert (found.manufacturer, found.model, found.firmware) == ("Vigie", "SimCam", "1.0.0")
    assert found.serial.startswith("SIM-") and found.hardware_id == "vigie-sim"
    assert [(p.token, p.encoding, p.width, p.height, p.fps, p.stream_uri) for p in found.profiles] == [
        ("sub", "H264", 640, 360, 10.0, "rtsp://127.0.0.1:8554/cam-000-sub"),
        ("main", "H264", 1920, 1080, 25.0, "rtsp://127.0.0.1:8554/cam-000"),
    ]
    assert found.main_profile is not None and found.main_profile.token == "main"  # the largest, not the first
    assert found.sub_profile is not None and found.sub_profile.token == "sub"
    assert found.ptz is None  # a fixed camera


def test_describe_reads_a_domes_ptz_node(simulator: OnvifSimulator) -> None:
    found = asyncio.run(describe(*simulator.address("cam-001"), USERNAME, SIM_PASSWORD))
    assert found.ptz is not None
    assert found.ptz.node_token == "PTZNode_1" and found.ptz.max_presets == 64 and found.ptz.home_supported
    generic = "http://www.onvif.org/ver10/tptz/PanTiltSpaces/"
    assert {f"{generic}PositionGenericSpace", f"{generic}VelocityGenericSpace"} <= set(found.ptz.spaces)
    assert all(p.ptz_configuration == "PTZConfig_1" for p in found.profiles)


def test_a_wrong_password_is_said_without_the_password(simulator: OnvifSimulator) -> None:
    host, port = simulator.address("cam-000")
    with pytest.raises(OnvifError) as caught:
        asyncio.run(describe(host, port, USERNAME, PASSWORD))
    assert str(caught.value) == f"{host}:{port}: wrong username or password (the device refused them: NotAuthorized)"
    assert PASSWORD not in repr(caught.value.args) and PASSWORD not in str(caught.value)


def test_the_ptz_controller_moves_the_simulated_dome(simulator: OnvifSimulator, ticks: Ticks) -> None:
    with OnvifPtz(*simulator.address("cam-001"), USERNAME, SIM_PASSWORD) as ptz:
        start = ptz.status()
        target = PtzVector(pan=0.5, tilt=-0.2, zoom=0.4)
        ptz.absolute_move(target)
        assert ptz.status().moving
        ticks.advance(30.0)  # the dome's own clock: long enough for any move
        arrived = ptz.status()
        assert not arrived.moving and arrived.position != start.position
        assert arrived.position == pytest.approx(target, abs=1e-3)
        token = ptz.set_preset("parvis")
        ptz.goto_home()
        ticks.advance(30.0)
        assert ptz.status().position != pytest.approx(target, abs=1e-3)
        assert [(p.token, p.name) for p in ptz.presets()] == [(token, "parvis")]
        ptz.goto_preset(token)
        ticks.advance(30.0)
        assert ptz.status().position == pytest.approx(target, abs=1e-3)
        ptz.continuous_move(PtzVector(pan=-0.5, tilt=0.0, zoom=0.0))
        ticks.advance(0.5)
        ptz.stop()
        assert ptz.status().position.pan < target.pan
        ptz.remove_preset(token)
        with pytest.raises(UnknownPresetError):
            ptz.goto_preset(token)


def test_a_fixed_camera_is_no_dome(simulator: OnvifSimulator) -> None:
    host, port = simulator.address("cam-000")
    with pytest.raises(OnvifError, match="has no PTZ service"):
        OnvifPtz(host, port, USERNAME, SIM_PASSWORD)


def test_camera_side_events_arrive_through_pullpoint(simulator: OnvifSimulator) -> None:
    async def first_change() -> list[CameraEvent]:
        seen: list[CameraEvent] = []
        events = camera_events(*simulator.address("cam-000"), USERNAME, SIM_PASSWORD, pull_timeout_s=1.0)
        try:
            async for event in events:
                seen.append(event)
                if len(seen) == 4:  # each property's initial state, then what the device raises
                    await asyncio.to_thread(simulator.raise_event, "cam-000", SimTopic.GLOBAL_SCENE_CHANGE, True)
                if event.active:
                    return seen
        finally:
            await events.aclose()
        return seen

    seen = asyncio.run(asyncio.wait_for(first_change(), 20))
    assert sorted((e.kind, e.active) for e in seen[:4]) == [
        ("image_too_blurry", False), ("image_too_dark", False), ("motion", False), ("scene_change", False)
    ]  # fmt: skip
    assert (seen[-1].kind, seen[-1].active) == ("scene_change", True)
