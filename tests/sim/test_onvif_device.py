"""The simulated ONVIF camera's Device and Media services, driven by the real client (onvif-zeep-async), and its
refusals: wrong or replayed credentials, a clock too far off, oversized or malformed bodies, unknown operations."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
import zeep.exceptions

from tests.sim.onvif_rig import (
    PASSWORD,
    Seconds,
    camera_spec,
    connect,
    dome,
    element,
    envelope,
    fault,
    payload,
    post,
)
from tests.support.clocks import T0, FakeClock
from vigie.sim.onvif import OnvifSimulator

TDS = "http://www.onvif.org/ver10/device/wsdl"
TRT = "http://www.onvif.org/ver10/media/wsdl"
TPTZ = "http://www.onvif.org/ver20/ptz/wsdl"
TT = "http://www.onvif.org/ver10/schema"


def test_the_client_reads_identity_services_profiles_and_stream_uris() -> None:
    specs = [
        camera_spec("fixed-1", manufacturer="Acme", model="Fixed 4K", firmware="2.1", serial="SN-1", hardware_id="F1"),
        camera_spec("dome-1", model="SimDome", ptz=dome(Seconds())),
    ]

    async def scenario() -> tuple[object, ...]:
        fixed = await connect(sim, "fixed-1")
        domed = await connect(sim, "dome-1")
        try:
            devicemgmt = await fixed.create_devicemgmt_service()
            info = await devicemgmt.GetDeviceInformation()
            scopes = [s.ScopeItem for s in await devicemgmt.GetScopes()]
            hostname = await devicemgmt.GetHostname()
            media = await fixed.create_media_service()
            found = await media.GetProfiles()
            uris = {}
            for profile in found:
                request = {"ProfileToken": profile.token, "StreamSetup": {"Stream": "RTP-Unicast"}}
                request["StreamSetup"]["Transport"] = {"Protocol": "RTSP"}
                uris[profile.token] = (await media.GetStreamUri(request)).Uri
            capabilities = await domed.get_capabilities()
            return info, scopes, hostname, found, uris, dict(fixed.xaddrs), dict(domed.xaddrs), capabilities
        finally:
            await fixed.close()
            await domed.close()

    with OnvifSimulator(specs) as sim:
        info, scopes, hostname, found, uris, fixed_xaddrs, dome_xaddrs, capabilities = asyncio.run(scenario())
        host, port = sim.address("fixed-1")
        dome_host, dome_port = sim.address("dome-1")

    assert (info.Manufacturer, info.Model, info.FirmwareVersion, info.SerialNumber, info.HardwareId) == (
        "Acme", "Fixed 4K", "2.1", "SN-1", "F1",
    )  # fmt: skip
    assert "onvif://www.onvif.org/name/fixed-1" in scopes
    assert "onvif://www.onvif.org/hardware/Fixed%204K" in scopes
    assert hostname.Name == "fixed-1"
    assert [(p.token, p.VideoEncoderConfiguration.Encoding) for p in found] == [("main", "H264"), ("sub", "H265")]
    main = found[0].VideoEncoderConfiguration
    assert (main.Resolution.Width, main.Resolution.Height, main.RateControl.FrameRateLimit) == (1920, 1080, 25)
    assert found[0].PTZConfiguration is None  # a fixed camera has no PTZ
    assert uris == {"main": "rtsp://127.0.0.1:8554/fixed-1", "sub": "rtsp://127.0.0.1:8554/fixed-1-sub"}
    # Each device on its own port; a fixed camera advertises no PTZ service, a dome does.
    assert port != dome_port
    assert fixed_xaddrs[TRT] == f"http://{host}:{port}/onvif/media_service"
    assert TPTZ not in fixed_xaddrs
    assert dome_xaddrs[TPTZ] == f"http://{dome_host}:{dome_port}/onvif/ptz_service"
    assert capabilities is not None
    assert capabilities["PTZ"]["XAddr"] == dome_xaddrs[TPTZ]


def test_a_wrong_or_missing_password_is_refused_with_not_authorized_but_the_clock_is_public() -> None:
    with OnvifSimulator([camera_spec("cam-1")]) as sim:
        url = sim.device_url("cam-1")

        async def wrong_password() -> None:
            await connect(sim, "cam-1", password="not-the-password")

        with pytest.raises(zeep.exceptions.Fault) as refused:
            asyncio.run(wrong_password())
        wrong_status, wrong_reply = post(url, envelope(element(TDS, "GetDeviceInformation"), password="nope"))
        missing_status, missing_reply = post(url, envelope(element(TDS, "GetDeviceInformation"), password=None))
        clock_status, clock_reply = post(url, envelope(element(TDS, "GetSystemDateAndTime"), password=None))

    assert [q.localname for q in refused.value.subcodes] == ["NotAuthorized"]
    assert refused.value.code == "env:Sender"
    # HTTP 400 for a sender fault (SOAP 1.2 HTTP binding, ONVIF core): the client library raises a Fault from it.
    assert (wrong_status, fault(wrong_reply)) == (400, ("env:Sender", ["ter:NotAuthorized"]))
    assert (missing_status, fault(missing_reply)) == (400, ("env:Sender", ["ter:NotAuthorized"]))
    assert PASSWORD not in str(refused.value)
    assert clock_status == 200
    assert payload(clock_reply).tag == f"{{{TDS}}}GetSystemDateAndTimeResponse"


def test_a_replayed_request_and_a_token_created_far_from_the_device_clock_are_refused() -> None:
    clock = FakeClock(T0)  # the device believes it is T0; the client signs with the host's time
    with OnvifSimulator([camera_spec("cam-1")], clock=clock) as sim:
        url = sim.device_url("cam-1")

        async def naive() -> None:
            await connect(sim, "cam-1")

        with pytest.raises(zeep.exceptions.Fault) as skewed:
            asyncio.run(naive())

        async def adjusted() -> str:
            camera = await connect(sim, "cam-1", adjust_time=True)  # reads GetSystemDateAndTime, signs in its time
            try:
                devicemgmt = await camera.create_devicemgmt_service()
                return str((await devicemgmt.GetDeviceInformation()).Model)
            finally:
                await camera.close()

        model = asyncio.run(adjusted())
        clock.now = datetime.now(UTC)
        signed = envelope(element(TDS, "GetDeviceInformation"))
        first, _ = post(url, signed)
        second, replayed = post(url, signed)
        clock.now += timedelta(minutes=10)
        late, _ = post(url, envelope(element(TDS, "GetDeviceInformation")))

    assert [q.localname for q in skewed.value.subcodes] == ["NotAuthorized"]
    assert model == "SimCam"
    assert first == 200
    assert (second, fault(replayed)) == (400, ("env:Sender", ["ter:NotAuthorized"]))
    assert late == 400


def test_oversized_malformed_and_unknown_requests_get_the_spec_faults() -> None:
    with OnvifSimulator([camera_spec("cam-1")]) as sim:
        url = sim.device_url("cam-1")
        big = envelope(element(TDS, "GetDeviceInformation", element(TDS, "Padding", Filler="x" * 70_000)))
        big_status, big_reply = post(url, big)
        bad_status, bad_reply = post(url, b"<env:Envelope xmlns:env='http://www.w3.org/2003/05/soap-envelope'><oops>")
        unknown_status, unknown_reply = post(url, envelope(element(TDS, "SystemReboot")))
        wrong_service_status, wrong_service = post(url, envelope(element(TRT, "GetProfiles")))

        async def not_implemented() -> None:
            camera = await connect(sim, "cam-1")
            try:
                devicemgmt = await camera.create_devicemgmt_service()
                await devicemgmt.SetHostname({"Name": "renamed"})
            finally:
                await camera.close()

        with pytest.raises(zeep.exceptions.Fault) as unsupported:
            asyncio.run(not_implemented())

    assert big_status == 413
    assert "65536 bytes" in big_reply.findtext(".//{http://www.w3.org/2003/05/soap-envelope}Text")
    assert (bad_status, fault(bad_reply)) == (400, ("env:Sender", ["ter:WellFormed"]))
    assert (unknown_status, fault(unknown_reply)) == (500, ("env:Receiver", ["ter:ActionNotSupported"]))
    assert fault(wrong_service) == ("env:Receiver", ["ter:ActionNotSupported"])
    assert wrong_service_status == 500
    assert [q.localname for q in unsupported.value.subcodes] == ["ActionNotSupported"]


def test_a_hundred_devices_start_in_a_moment_and_answer_concurrently() -> None:
    specs = [camera_spec(f"cam-{i:03d}", serial=f"SN-{i:03d}") for i in range(100)]

    async def describe_all() -> list[str]:
        async def one(name: str) -> str:
            camera = await connect(sim, name)
            try:
                devicemgmt = await camera.create_devicemgmt_service()
                return str((await devicemgmt.GetDeviceInformation()).SerialNumber)
            finally:
                await camera.close()

        return await asyncio.gather(*(one(s.name) for s in specs))

    started = time.perf_counter()
    with OnvifSimulator(specs) as sim:
        start_s = time.perf_counter() - started
        ports = {sim.address(s.name)[1] for s in specs}
        described = time.perf_counter()
        serials = asyncio.run(describe_all())
        describe_s = time.perf_counter() - described
    print(f"100 simulated devices: started in {start_s:.3f} s, described concurrently in {describe_s:.2f} s")

    # a hang guard, not a performance claim (timed unit tests fail on a loaded machine: 4 s on CI once)
    assert start_s < 30.0, "100 simulated devices should start in seconds; a serial start with waits would not"
    assert len(ports) == 100
    assert serials == [f"SN-{i:03d}" for i in range(100)]


def test_snapshot_uri_only_where_the_profile_has_one() -> None:
    with OnvifSimulator([camera_spec("cam-1")]) as sim:
        url = sim.device_url("cam-1").replace("device_service", "media_service")
        status, reply = post(url, envelope(element(TRT, "GetSnapshotUri", ProfileToken="main")))
        missing_status, missing = post(url, envelope(element(TRT, "GetStreamUri", ProfileToken="nope")))

    assert (status, fault(reply)) == (500, ("env:Receiver", ["ter:ActionNotSupported"]))
    assert (missing_status, fault(missing)) == (400, ("env:Sender", ["ter:InvalidArgVal", "ter:NoProfile"]))
