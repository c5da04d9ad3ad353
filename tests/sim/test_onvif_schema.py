"""The simulated camera's replies (a dome's, and a multi-sensor housing's) validated against the ONVIF
specification's own schemas (the WSDLs and onvif.xsd that onvif-zeep-async ships), not against the client that
reads them: every required element present, in order, with values of the declared types. The one known departure
is an H.265 profile's ``Encoding`` (outside Media 1.0's enumeration, as on real H.265 cameras), so the device here
streams H.264."""

from __future__ import annotations

import io
from collections.abc import Iterator
from functools import cache

import pytest
from lxml import etree  # type: ignore[import-untyped]

from tests.sim.onvif_rig import PASSWORD, USERNAME, WSDL_DIR, Seconds, dome, element, envelope, payload, post
from vigie.sim.onvif import OnvifSimulator, SimDeviceSpec, SimProfile, SimTopic, SimVideoSource

TDS = "http://www.onvif.org/ver10/device/wsdl"
TRT = "http://www.onvif.org/ver10/media/wsdl"
TPTZ = "http://www.onvif.org/ver20/ptz/wsdl"
TEV = "http://www.onvif.org/ver10/events/wsdl"
TT = "http://www.onvif.org/ver10/schema"
WSNT = "http://docs.oasis-open.org/wsn/b-2"
XS = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
SCHEMA_OF = {TDS: "devicemgmt.wsdl", TRT: "media.wsdl", TPTZ: "ptz.wsdl", TEV: "events.wsdl", WSNT: "b-2.xsd"}


@cache
def schema(namespace: str) -> etree.XMLSchema:
    """The schema of a service: the one embedded in its WSDL (imports resolved next to it), or an XSD."""
    path = WSDL_DIR / SCHEMA_OF[namespace]
    if path.suffix == ".xsd":
        return etree.XMLSchema(etree.parse(str(path)))
    embedded = etree.parse(str(path)).getroot().find(f"{{{WSDL}}}types/{{{XS}}}schema")
    return etree.XMLSchema(etree.parse(io.BytesIO(etree.tostring(embedded)), base_url=str(path)))


def assert_valid(reply: etree._Element) -> None:
    body = payload(reply)
    checker = schema(etree.QName(body).namespace)
    document = etree.ElementTree(etree.fromstring(etree.tostring(body)))
    assert checker.validate(document), f"{etree.QName(body).localname}: {checker.error_log}"


@pytest.fixture(scope="module")
def sim() -> Iterator[OnvifSimulator]:
    spec = SimDeviceSpec(
        name="dome-1",
        username=USERNAME,
        password=PASSWORD,
        profiles=(
            SimProfile("main", "Main", "rtsp://127.0.0.1:8554/dome-1", snapshot_uri="http://127.0.0.1/snap.jpg"),
            SimProfile("sub", "Sub", "rtsp://127.0.0.1:8554/dome-1-sub", width=640, height=360, fps=10),
        ),
        ptz=dome(Seconds()),
    )
    with OnvifSimulator([spec]) as simulator:
        yield simulator


def call(sim: OnvifSimulator, path: str, body: etree._Element) -> etree._Element:
    url = sim.device_url("dome-1").replace("/onvif/device_service", path)
    status, reply = post(url, envelope(body))
    assert status == 200, etree.tostring(reply)
    return reply


STREAM_SETUP = element(
    TRT,
    "GetStreamUri",
    element(TRT, "StreamSetup", element(TT, "Stream"), element(TT, "Transport", element(TT, "Protocol"))),
    ProfileToken="main",
)
STREAM_SETUP.find(f"{{{TRT}}}StreamSetup/{{{TT}}}Stream").text = "RTP-Unicast"
STREAM_SETUP.find(f"{{{TRT}}}StreamSetup/{{{TT}}}Transport/{{{TT}}}Protocol").text = "RTSP"


@pytest.mark.parametrize(
    ("path", "request_body"),
    [
        ("/onvif/device_service", element(TDS, "GetDeviceInformation")),
        ("/onvif/device_service", element(TDS, "GetServices", IncludeCapability="true")),
        ("/onvif/device_service", element(TDS, "GetServiceCapabilities")),
        ("/onvif/device_service", element(TDS, "GetCapabilities", Category="All")),
        ("/onvif/device_service", element(TDS, "GetSystemDateAndTime")),
        ("/onvif/device_service", element(TDS, "GetScopes")),
        ("/onvif/device_service", element(TDS, "GetHostname")),
        ("/onvif/device_service", element(TDS, "GetNetworkInterfaces")),
        ("/onvif/media_service", element(TRT, "GetProfiles")),
        ("/onvif/media_service", element(TRT, "GetProfile", ProfileToken="sub")),
        ("/onvif/media_service", element(TRT, "GetSnapshotUri", ProfileToken="main")),
        ("/onvif/media_service", element(TRT, "GetVideoSources")),
        ("/onvif/media_service", element(TRT, "GetVideoEncoderConfigurations")),
        ("/onvif/media_service", element(TRT, "GetServiceCapabilities")),
        ("/onvif/ptz_service", element(TPTZ, "GetNodes")),
        ("/onvif/ptz_service", element(TPTZ, "GetNode", NodeToken="PTZNode_1")),
        ("/onvif/ptz_service", element(TPTZ, "GetConfigurations")),
        ("/onvif/ptz_service", element(TPTZ, "GetConfigurationOptions", ConfigurationToken="PTZConfig_1")),
        ("/onvif/ptz_service", element(TPTZ, "GetStatus", ProfileToken="main")),
        ("/onvif/ptz_service", element(TPTZ, "GetServiceCapabilities")),
        ("/onvif/events_service", element(TEV, "GetEventProperties")),
        ("/onvif/events_service", element(TEV, "GetServiceCapabilities")),
    ],
    ids=lambda value: etree.QName(value).localname if isinstance(value, etree._Element) else value.split("/")[-1],
)
def test_reply_is_valid_against_the_onvif_schema(sim: OnvifSimulator, path: str, request_body: etree._Element) -> None:
    assert_valid(call(sim, path, request_body))


def test_stream_uri_presets_and_pullpoint_replies_are_valid(sim: OnvifSimulator) -> None:
    stream = call(sim, "/onvif/media_service", STREAM_SETUP)
    stored = call(sim, "/onvif/ptz_service", element(TPTZ, "SetPreset", ProfileToken="main", PresetName="gate"))
    presets = call(sim, "/onvif/ptz_service", element(TPTZ, "GetPresets", ProfileToken="main"))
    created = call(
        sim, "/onvif/events_service", element(TEV, "CreatePullPointSubscription", InitialTerminationTime="PT60S")
    )
    address = payload(created).findtext(".//{http://www.w3.org/2005/08/addressing}Address")
    path = address.split(str(sim.address("dome-1")[1]), 1)[1]
    sim.raise_event("dome-1", SimTopic.MOTION, True)
    pulled = call(sim, path, element(TEV, "PullMessages", Timeout="PT1S", MessageLimit="10"))
    renewed = call(sim, path, element(WSNT, "Renew", TerminationTime="PT120S"))

    for reply in (stream, stored, presets, created, pulled, renewed):
        assert_valid(reply)
    assert len(payload(pulled).findall(f"{{{WSNT}}}NotificationMessage")) == 5  # 4 initial states + the motion


def test_a_multi_sensor_housings_replies_are_valid(sim: OnvifSimulator) -> None:
    """Several video sources, a PTZ configuration on the dome's profiles only, a Thermal service in GetServices
    (its own replies are not validated: onvif-zeep-async ships no thermal schema)."""
    dome_head = dome(Seconds())
    sources = tuple(
        SimVideoSource(
            token,
            (
                SimProfile(f"{token}-main", "Main", f"rtsp://127.0.0.1:8554/{token}"),
                SimProfile(f"{token}-sub", "Sub", f"rtsp://127.0.0.1:8554/{token}-sub", width=640, height=360),
            ),
            ptz=token == "Dome",
            thermal=token == "Thermal",
        )
        for token in ("Sensor1", "Sensor2", "Thermal", "Dome")
    )
    spec = SimDeviceSpec(name="multi", username=USERNAME, password=PASSWORD, sources=sources, ptz=dome_head)
    with OnvifSimulator([spec]) as multi:
        base = multi.device_url("multi").removesuffix("/onvif/device_service")
        replies = [
            post(base + path, envelope(body))
            for path, body in (
                ("/onvif/media_service", element(TRT, "GetProfiles")),
                ("/onvif/media_service", element(TRT, "GetProfile", ProfileToken="Thermal-sub")),
                ("/onvif/media_service", element(TRT, "GetVideoSources")),
                ("/onvif/device_service", element(TDS, "GetServices", IncludeCapability="true")),
                ("/onvif/ptz_service", element(TPTZ, "GetConfigurations")),
            )
        ]
    for status, reply in replies:
        assert status == 200
        assert_valid(reply)
    profiles = payload(replies[0][1]).findall(f"{{{TRT}}}Profiles")
    assert [p.findtext(f"{{{TT}}}VideoSourceConfiguration/{{{TT}}}SourceToken") for p in profiles] == [
        "Sensor1", "Sensor1", "Sensor2", "Sensor2", "Thermal", "Thermal", "Dome", "Dome"
    ]  # fmt: skip
    assert [p.get("token") for p in profiles if p.find(f"{{{TT}}}PTZConfiguration") is not None] == [
        "Dome-main",
        "Dome-sub",
    ]
    namespaces = [s.findtext(f"{{{TDS}}}Namespace") for s in payload(replies[3][1]).findall(f"{{{TDS}}}Service")]
    assert "http://www.onvif.org/ver10/thermal/wsdl" in namespaces
