"""Bulk onboarding as an integrator runs it: a CSV names where passwords are (never a password), factory accounts
are refused before any connection (L17), a device that fails is reported and does not stop the others."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import yaml

from tests.support.clocks import Ticks
from tests.support.configs import authorised_around, config_yaml
from tests.support.onvif_sim import PASSWORD as SIM_PASSWORD
from tests.support.onvif_sim import USERNAME, device_specs
from vigie.config.camera import Authorisation
from vigie.config.loader import load_config_text
from vigie.devices.discovery import DiscoveredDevice, DiscoveryResult, probe
from vigie.devices.onboarding import (
    OnboardingInputError,
    OnboardingTemplate,
    load_template,
    merge_into,
    onboard,
    parse_csv,
    rows_from_discovery,
)
from vigie.domain.camera import Purpose
from vigie.sim.onvif import OnvifSimulator

TEMPLATE = OnboardingTemplate(
    commune="belvedere",
    site="gare",
    authorisation=Authorisation(
        reference="2024-DS-0142",
        valid_from=date(2024, 3, 1),
        valid_until=date(2029, 2, 28),
        purposes=(Purpose.CRIME_PREVENTION,),
        retention_days=15,
    ),
)


def run_vigie(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vigie.cli", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_csv_names_where_each_password_is() -> None:
    rows = parse_csv(
        "host,port,username,password_env,password_file,name,commune\n"
        "192.0.2.1,8080,vigie,CAM1_PASSWORD,,Gare nord,lyon\n"
        "192.0.2.2,,vigie,,/etc/vigie/cam2.pass,,\n"
    )
    assert [(r.host, r.port, r.password_env, r.password_file) for r in rows] == [
        ("192.0.2.1", 8080, "CAM1_PASSWORD", None),
        ("192.0.2.2", 80, None, Path("/etc/vigie/cam2.pass")),
    ]
    assert rows[0].get("name") == "Gare nord" and rows[1].get("name") == ""


def test_a_csv_with_passwords_in_clear_is_refused_whole() -> None:
    with pytest.raises(OnboardingInputError, match="holds passwords in clear"):
        parse_csv("host,username,password\n192.0.2.1,vigie,hunter2\n")


def test_every_bad_row_is_reported_with_its_line() -> None:
    with pytest.raises(OnboardingInputError) as caught:
        parse_csv(
            "host,port,username,password_env,password_file,lat,lon\n"
            "192.0.2.1,80,vigie,A,,45.7,4.8\n"
            ",80,vigie,A,,,\n"
            "192.0.2.3,99999,vigie,A,,,\n"
            "192.0.2.4,80,vigie,A,/tmp/p,,\n"
            "192.0.2.5,80,,A,,north,4.8\n"
            "192.0.2.6,80,vigie,A,,45.7,\n"
        )
    message = str(caught.value)
    assert "line 3: no host" in message
    assert "line 4: port '99999' is not a TCP port" in message
    assert "line 5: give exactly one of password_env" in message
    assert "line 6: no username" in message and "line 6: lat 'north' is not a number" in message
    assert "line 7: give both lat and lon, or neither" in message
    assert "line 2" not in message


def test_an_unknown_column_is_named() -> None:
    with pytest.raises(OnboardingInputError, match="unknown column"):
        parse_csv("host,username,password_env,colour\n192.0.2.1,vigie,A,blue\n")


def test_factory_accounts_are_refused_before_any_connection_and_others_go_on() -> None:
    port = closed_port()
    rows = parse_csv(
        "host,port,username,password_env\n"
        f"127.0.0.1,{port},admin,FACTORY\n"
        f"127.0.0.1,{port + 0},vigie,MISSING\n"
        f"127.0.0.1,{port},vigie,GOOD\n"
    )
    environ = {"FACTORY": "12345", "GOOD": "a-long-unique-password"}
    report = asyncio.run(onboard(rows, TEMPLATE, environ=environ, timeout_s=2))
    assert report.cameras == ()
    device = f"127.0.0.1:{port}"
    assert report.failures == (
        (device, "refused: 'admin' with that password is a factory account (L17); set a unique account and "
         "password on the camera, then onboard it"),
        (device, "environment variable MISSING is not set or empty"),
        (device, "unreachable (connection refused)"),
    )  # fmt: skip
    assert all("12345" not in reason and "a-long-unique" not in reason for _, reason in report.failures)


def test_discovered_devices_take_the_account_the_template_names() -> None:
    found = DiscoveryResult(
        devices=(
            DiscoveredDevice("urn:uuid:a", ("http://192.0.2.9:8000/onvif/device_service",), name="Quai 1"),
            DiscoveredDevice("urn:uuid:b", ("urn:not-http",)),
        )
    )
    with pytest.raises(OnboardingInputError, match="username"):
        rows_from_discovery(found, TEMPLATE)
    template = TEMPLATE.model_copy(update={"username": "vigie", "password_env": "ONVIF_PASSWORD"})
    row, odd = rows_from_discovery(found, template)
    assert (odd.device, odd.problem) == ("urn:uuid:b", "no http(s) address among its XAddrs (urn:not-http)")
    assert (row.host, row.port, row.username, row.password_env, row.discovered_name) == (
        "192.0.2.9",
        8000,
        "vigie",
        "ONVIF_PASSWORD",
        "Quai 1",
    )


# --- against simulated ONVIF cameras


@pytest.fixture
def twenty() -> Iterator[OnvifSimulator]:
    with OnvifSimulator(device_specs(20, dome_every=5, clock=Ticks()), discovery_port=0) as sim:
        yield sim


def template_yaml(tmp_path: Path) -> Path:
    valid_from, valid_until = authorised_around()
    path = tmp_path / "template.yaml"
    path.write_text(
        f"""commune: testville
site: gare
authorisation:
  reference: 2026-DS-0042
  valid_from: {valid_from}
  valid_until: {valid_until}
  purposes: [crime_prevention, traffic_regulation]
  retention_days: 15
setting: transit
location: {{lat: 45.7601, lon: 4.8590}}
username: {USERNAME}
password_env: VIGIE_TEST_ONVIF_PASSWORD
credentials: onvif-gare
""",
        encoding="utf-8",
    )
    return path


def test_twenty_discovered_cameras_become_entries_the_configuration_accepts(
    twenty: OnvifSimulator, tmp_path: Path
) -> None:
    found = probe(target=twenty.discovery_address, timeout_s=1.0)
    template = load_template(template_yaml(tmp_path))
    rows = rows_from_discovery(found, template)
    report = asyncio.run(onboard(rows, template, environ={"VIGIE_TEST_ONVIF_PASSWORD": SIM_PASSWORD}))
    assert report.failures == ()
    text = report.to_yaml()
    assert SIM_PASSWORD not in text
    assert "vigie cameras credentials set onvif-gare --username vigie-onvif" in text
    config = yaml.safe_load(config_yaml(tmp_path, ""))
    loaded = load_config_text(yaml.safe_dump(merge_into(config, yaml.safe_load(text))), "merged.yaml")
    cameras = {p.camera.name: p.camera for p in loaded.placements() if p.site.id == "gare"}
    assert sorted(cameras) == [f"cam-{i:03d}" for i in range(20)]
    domes = {name for name, camera in cameras.items() if camera.kind == "ptz"}
    assert domes == {"cam-004", "cam-009", "cam-014", "cam-019"}
    first = cameras["cam-000"]
    assert (first.main_stream, first.sub_stream) == (
        "rtsp://127.0.0.1:8554/cam-000",
        "rtsp://127.0.0.1:8554/cam-000-sub",
    )
    assert first.credentials == "onvif-gare" and first.setting == "transit"
    # a fixed camera names its ONVIF services too: `vigie serve` listens to its tamper events there
    assert first.onvif is not None and (first.onvif.host, first.onvif.port) == twenty.address("cam-000")
    assert first.onvif.ptz_profile is None and first.onvif.video_source is None and first.onvif.events
    dome = cameras["cam-004"].onvif
    assert dome is not None and (dome.host, dome.port, dome.ptz_profile) == (*twenty.address("cam-004"), "main")
    assert first.authorisation.reference == "2026-DS-0042"


def test_the_cli_discovers_then_onboards_into_a_configuration(twenty: OnvifSimulator, tmp_path: Path) -> None:
    found = tmp_path / "found.json"
    host, port = twenty.discovery_address
    discover = run_vigie("devices", "discover", "--to", f"{host}:{port}", "--timeout", "1", "--json", str(found))
    assert discover.returncode == 0, discover.stderr
    assert "20 device(s) answered" in discover.stdout
    config = tmp_path / "vigie.yaml"
    config.write_text(config_yaml(tmp_path, ""), encoding="utf-8")
    out = tmp_path / "cameras.yaml"
    onboard_run = run_vigie(
        "devices", "onboard", "--discovery", str(found), "--template", str(template_yaml(tmp_path)),
        "-o", str(out), "--config", str(config),
        env={"VIGIE_TEST_ONVIF_PASSWORD": SIM_PASSWORD},
    )  # fmt: skip
    assert onboard_run.returncode == 0, onboard_run.stderr
    assert f"wrote {out}: 20 camera(s); 0 device(s) failed" in onboard_run.stdout
    assert SIM_PASSWORD not in out.read_text(encoding="utf-8") + onboard_run.stdout + onboard_run.stderr
    device = "{}:{}".format(*twenty.address("cam-000"))
    wrong = run_vigie(
        "devices", "describe", device, "--username", USERNAME, "--password-env", "VIGIE_TEST_ONVIF_PASSWORD",
        env={"VIGIE_TEST_ONVIF_PASSWORD": "nope-nope"},
    )  # fmt: skip
    assert wrong.returncode == 1 and "wrong username or password" in wrong.stderr


def test_a_csv_of_simulated_cameras_keeps_its_names_and_places_and_reports_who_failed(
    twenty: OnvifSimulator, tmp_path: Path
) -> None:
    secret = tmp_path / "onvif.pass"
    secret.write_text(SIM_PASSWORD + "\n", encoding="utf-8")
    secret.chmod(0o600)
    (h0, p0), (h1, p1), (h4, p4) = (twenty.address(n) for n in ("cam-000", "cam-001", "cam-004"))
    rows = parse_csv(
        "host,port,username,password_env,password_file,id,name,site,lat,lon,credentials\n"
        f"{h0},{p0},{USERNAME},,{secret},parvis-nord,Parvis nord,mairie,45.7790,4.8610,onvif-mairie\n"
        f"{h1},{p1},{USERNAME},WRONG_PASSWORD,,,,,,,\n"
        f"{h4},{p4},{USERNAME},,{secret},dome-rue,Dôme rue Centrale,mairie,45.7794,4.8618,onvif-mairie\n"
        f"127.0.0.1,{closed_port()},{USERNAME},,{secret},,,,,,\n"
    )
    report = asyncio.run(onboard(rows, TEMPLATE, environ={"WRONG_PASSWORD": "not-the-one"}, timeout_s=5))
    assert [(c.camera["id"], c.camera["name"], c.camera["kind"], c.site) for c in report.cameras] == [
        ("parvis-nord", "Parvis nord", "fixed", "mairie"),
        ("dome-rue", "Dôme rue Centrale", "ptz", "mairie"),
    ]
    assert report.cameras[1].camera["location"] == {"lat": 45.7794, "lon": 4.8618}
    assert [reason for _, reason in report.failures] == [
        "wrong username or password (the device refused them: NotAuthorized)",
        "unreachable (connection refused)",
    ]
    text = report.to_yaml()
    assert SIM_PASSWORD not in text and "not-the-one" not in text
    assert text.count("vigie cameras credentials set onvif-mairie") == 1


def test_the_cli_reads_a_spreadsheets_csv_export(twenty: OnvifSimulator, tmp_path: Path) -> None:
    host, port = twenty.address("cam-004")
    table = tmp_path / "cameras.csv"
    table.write_text(  # "CSV UTF-8" as spreadsheets export it: a byte-order mark, CRLF line ends
        f"host,port,username,password_env,id,name,lat,lon\r\n{host},{port},{USERNAME},ONVIF_PW,dome-1,Dôme,45.7,4.8\r\n",
        encoding="utf-8-sig",
    )
    out = tmp_path / "cameras.yaml"
    result = run_vigie(
        "devices", "onboard", "--csv", str(table), "--template", str(template_yaml(tmp_path)), "-o", str(out),
        env={"ONVIF_PW": SIM_PASSWORD},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [camera] = yaml.safe_load(out.read_text(encoding="utf-8"))["communes"][0]["sites"][0]["cameras"]
    assert (camera["id"], camera["name"], camera["kind"]) == ("dome-1", "Dôme", "ptz")
