"""Multi-sensor and thermal cameras onboarded as an integrator runs it, against simulated ONVIF devices over real
HTTP: one housing with four fixed sensors around a PTZ dome, one with three visible sensors beside a thermal one,
and a plain fixed camera, each becoming one Vigie camera per video source that the configuration loads."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
import zeep.exceptions

from tests.support.clocks import Ticks
from tests.support.configs import config_yaml
from tests.support.onvif_sim import PASSWORD, USERNAME, device_specs, multisensor_spec
from vigie.config.detectors import HotBlobDetectorSettings
from vigie.config.loader import load_config_text
from vigie.devices.onboarding import OnboardingTemplate, merge_into, onboard, parse_csv
from vigie.devices.onvif import describe, thermal_error
from vigie.devices.onvif_thermal import read_reply
from vigie.domain.camera import CameraKind
from vigie.sim.onvif import OnvifSimulator

TEMPLATE_FIELDS = {
    "commune": "testville",
    "site": "gare",
    "authorisation": {
        "reference": "2024-DS-0142",
        "valid_from": "2024-03-01",
        "valid_until": "2029-02-28",
        "purposes": ["crime_prevention"],
        "retention_days": 15,
    },
    "setting": "transit",
    "credentials": "onvif-gare",
}


@pytest.fixture(scope="module")
def housings() -> Iterator[OnvifSimulator]:
    specs = [
        multisensor_spec("quai", fixed=4, dome_clock=Ticks()),
        multisensor_spec("parking", fixed=3, thermal=True),
        *device_specs(1),
    ]
    with OnvifSimulator(specs) as sim:
        yield sim


def onboard_three(sim: OnvifSimulator) -> list[dict[str, object]]:
    (hq, pq), (hp, pp), (hc, pc) = (sim.address(n) for n in ("quai", "parking", "cam-000"))
    rows = parse_csv(
        "host,port,username,password_env,id,name,lat,lon\n"
        f"{hq},{pq},{USERNAME},ONVIF_PW,quai-1,Quai 1,45.7601,4.8590\n"
        f"{hp},{pp},{USERNAME},ONVIF_PW,parking,Parking relais,45.7610,4.8601\n"
        f"{hc},{pc},{USERNAME},ONVIF_PW,parvis,Parvis,45.7620,4.8612\n"
    )
    template = OnboardingTemplate.model_validate(TEMPLATE_FIELDS)
    report = asyncio.run(onboard(rows, template, environ={"ONVIF_PW": PASSWORD}))
    assert report.failures == ()
    text = report.to_yaml()
    assert PASSWORD not in text
    return list(yaml.safe_load(text)["communes"][0]["sites"][0]["cameras"])


def test_describe_groups_the_profiles_by_sensor_and_reads_which_is_thermal(housings: OnvifSimulator) -> None:
    quai = asyncio.run(describe(*housings.address("quai"), USERNAME, PASSWORD))
    parking = asyncio.run(describe(*housings.address("parking"), USERNAME, PASSWORD))
    assert [s.token for s in quai.sources] == ["Sensor1", "Sensor2", "Sensor3", "Sensor4", "Dome"]
    assert [s.ptz_profile.token if s.ptz_profile else None for s in quai.sources] == [None] * 4 + ["Dome-main"]
    assert quai.thermal_sources == () and quai.ptz is not None
    assert parking.thermal_sources == ("Thermal",) and parking.ptz is None
    assert [s.thermal for s in parking.sources] == [False, False, False, True]
    thermal = parking.sources[3]
    assert (thermal.main_profile, thermal.sub_profile) != (None, None)
    assert thermal.main_profile is not None and (thermal.main_profile.width, thermal.main_profile.height) == (640, 512)


def test_a_housing_becomes_one_camera_per_sensor_with_its_kind_streams_and_detector(housings: OnvifSimulator) -> None:
    cameras = {c["id"]: c for c in onboard_three(housings)}
    assert list(cameras) == [
        *(f"quai-1-s{n}" for n in range(1, 6)),
        *(f"parking-s{n}" for n in range(1, 5)),
        "parvis",
    ]
    assert [cameras[f"quai-1-s{n}"]["kind"] for n in range(1, 6)] == ["fixed"] * 4 + ["ptz"]
    assert [cameras[f"parking-s{n}"]["kind"] for n in range(1, 5)] == ["fixed"] * 3 + ["thermal"]
    assert cameras["quai-1-s2"]["name"] == "Quai 1 · sensor 2"
    assert cameras["quai-1-s5"]["name"] == "Quai 1 · dome 5"
    assert cameras["parking-s4"]["name"] == "Parking relais · thermal 4"
    assert (cameras["quai-1-s3"]["main_stream"], cameras["quai-1-s3"]["sub_stream"]) == (
        "rtsp://127.0.0.1:8554/quai/s3",
        "rtsp://127.0.0.1:8554/quai/s3-sub",
    )
    assert cameras["parking-s4"]["main_stream"] == "rtsp://127.0.0.1:8554/parking/thermal"
    # One housing: one address and one account for every sensor; the head is driven through the dome's profile only.
    host, port = housings.address("quai")
    for n in range(1, 6):
        camera = cameras[f"quai-1-s{n}"]
        assert (camera["device"], camera["credentials"]) == ("quai-1", "onvif-gare")
        assert (camera["onvif"]["host"], camera["onvif"]["port"]) == (host, port)
        assert ("ptz_profile" in camera["onvif"]) == (n == 5)
        assert camera["onvif"]["video_source"] == ["Sensor1", "Sensor2", "Sensor3", "Sensor4", "Dome"][n - 1]
    assert cameras["quai-1-s5"]["onvif"]["ptz_profile"] == "Dome-main"
    # The thermal sensor reads heat; the others keep the default (motion) detector.
    assert cameras["parking-s4"]["analysis"] == {"detector": {"kind": "hot_blob"}}
    assert all("analysis" not in c for i, c in cameras.items() if i != "parking-s4")
    # A single-sensor camera: its own id, no device; its ONVIF services named for its events, no video source.
    parvis = cameras["parvis"]
    assert (parvis["kind"], parvis["name"], "device" in parvis) == ("fixed", "Parvis", False)
    assert parvis["onvif"] == dict(zip(("host", "port"), housings.address("cam-000"), strict=True))


def test_the_written_cameras_load_into_the_configuration(housings: OnvifSimulator, tmp_path: Path) -> None:
    fragment = {"communes": [{"id": "testville", "sites": [{"id": "gare", "cameras": onboard_three(housings)}]}]}
    merged = merge_into(yaml.safe_load(config_yaml(tmp_path, "")), fragment)
    config = load_config_text(yaml.safe_dump(merged, sort_keys=False, allow_unicode=True), "merged.yaml")
    cameras = {p.camera.id: p.camera for p in config.placements() if p.site.id == "gare"}
    assert len(cameras) == 10
    thermal = cameras["parking-s4"]
    assert thermal.kind is CameraKind.THERMAL and isinstance(thermal.analysis.detector, HotBlobDetectorSettings)
    domes = [c.id for c in cameras.values() if c.kind is CameraKind.PTZ]
    assert domes == ["quai-1-s5"]
    assert {c.device for c in cameras.values()} == {"quai-1", "parking", None}


THERMAL_REPLY = (
    b'<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" '
    b'xmlns:tth="http://www.onvif.org/ver10/thermal/wsdl"><env:Body>%s</env:Body></env:Envelope>'
)


@pytest.mark.parametrize(
    ("status", "body", "cause"),
    [
        (
            400,
            THERMAL_REPLY % b"<env:Fault><env:Code><env:Value>env:Sender</env:Value><env:Subcode><env:Value>"
            b"ter:NotAuthorized</env:Value></env:Subcode></env:Code><env:Reason><env:Text>no</env:Text></env:Reason>"
            b"</env:Fault>",
            "wrong username or password (the device refused them: NotAuthorized)",
        ),
        (500, b"<html>Internal error</html>", "HTTP 500 without a SOAP fault"),
        (200, b"not xml at all", "not an ONVIF device (its answer is not SOAP)"),
        (200, THERMAL_REPLY % b"<tth:Other/>", "not an ONVIF device (its answer is not SOAP)"),
        (
            200,
            THERMAL_REPLY % (b"<tth:GetConfigurationsResponse>" + b" " * 300_000 + b"</tth:GetConfigurationsResponse>"),
            "not an ONVIF device (its answer is not SOAP)",
        ),
    ],
    ids=["fault", "http-error", "not-xml", "other-reply", "oversized"],
)
def test_a_thermal_service_that_does_not_answer_is_reported_as_the_other_services_are(
    status: int, body: bytes, cause: str
) -> None:
    with pytest.raises(zeep.exceptions.Error) as caught:  # what the client library raises, mapped below
        read_reply(status, body)
    error = thermal_error("10.20.3.41", 80, caught.value, PASSWORD)
    assert (
        str(error)
        == f"10.20.3.41:80: its Thermal service (listed by GetServices) did not say which sources are thermal: {cause}"
    )


def test_the_thermal_reply_names_each_thermal_source_once() -> None:
    body = THERMAL_REPLY % (
        b'<tth:GetConfigurationsResponse><tth:Configurations token="Thermal"/><tth:Configurations token="IR2"/>'
        b'<tth:Configurations token="Thermal"/></tth:GetConfigurationsResponse>'
    )
    assert read_reply(200, body) == ("Thermal", "IR2")


def vigie(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "vigie.cli", *args]
    return subprocess.run(
        command, check=False, capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )


def test_the_cli_shows_the_sensors_and_onboards_them_into_a_file_config_check_accepts(
    housings: OnvifSimulator, tmp_path: Path
) -> None:
    env = {"ONVIF_PW": PASSWORD}
    address = "{}:{}".format(*housings.address("parking"))
    described = vigie("devices", "describe", address, "--username", USERNAME, "--password-env", "ONVIF_PW", env=env)
    assert described.returncode == 0, described.stderr
    assert "4 video source(s), one camera each when onboarded:" in described.stdout
    assert "    Thermal (thermal): Thermal-main, Thermal-sub" in described.stdout
    host, port = housings.address("quai")
    table = tmp_path / "cameras.csv"
    table.write_text(f"host,port,username,password_env,id,name\n{host},{port},{USERNAME},ONVIF_PW,quai-1,Quai 1\n")
    template = tmp_path / "template.yaml"
    template.write_text(yaml.safe_dump(TEMPLATE_FIELDS | {"location": {"lat": 45.76, "lon": 4.86}}))
    config = tmp_path / "vigie.yaml"
    config.write_text(config_yaml(tmp_path, ""), encoding="utf-8")
    out = tmp_path / "new.yaml"
    made = vigie(
        "devices", "onboard", "--csv", str(table), "--template", str(template), "-o", str(out), "--config", str(config),
        env=env,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert f"wrote {out}: 5 camera(s); 0 device(s) failed" in made.stdout
    assert out.read_text(encoding="utf-8").count("vigie cameras credentials set onvif-gare") == 1
    merged = tmp_path / "merged.yaml"
    fragment = yaml.safe_load(out.read_text(encoding="utf-8"))
    merged.write_text(yaml.safe_dump(merge_into(yaml.safe_load(config.read_text()), fragment), allow_unicode=True))
    checked = vigie("config", "check", str(merged))
    assert checked.returncode == 0, checked.stdout + checked.stderr
