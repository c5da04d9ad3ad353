"""Bulk onboarding as an integrator runs it: a CSV names where passwords are (never a password), factory accounts
are refused before any connection (L17), a device that fails is reported and does not stop the others."""

from __future__ import annotations

import asyncio
import socket
from datetime import date
from pathlib import Path

import pytest

from vigie.config.camera import Authorisation
from vigie.devices.discovery import DiscoveredDevice, DiscoveryResult
from vigie.devices.onboarding import (
    OnboardingInputError,
    OnboardingTemplate,
    onboard,
    parse_csv,
    rows_from_discovery,
)
from vigie.domain.camera import Purpose

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
            "host,port,username,password_env,password_file,lat\n"
            "192.0.2.1,80,vigie,A,,45.7\n"
            ",80,vigie,A,,\n"
            "192.0.2.3,99999,vigie,A,,\n"
            "192.0.2.4,80,vigie,A,/tmp/p,\n"
            "192.0.2.5,80,,A,,north\n"
        )
    message = str(caught.value)
    assert "line 3: no host" in message
    assert "line 4: port '99999' is not a TCP port" in message
    assert "line 5: give exactly one of password_env" in message
    assert "line 6: no username" in message and "line 6: lat 'north' is not a number" in message
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
    [row] = rows_from_discovery(found, template)
    assert (row.host, row.port, row.username, row.password_env, row.discovered_name) == (
        "192.0.2.9",
        8000,
        "vigie",
        "ONVIF_PASSWORD",
        "Quai 1",
    )
