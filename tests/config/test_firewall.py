"""``vigie deploy firewall`` (issue 23, L16): the nftables ruleset opens what the configuration uses and nothing
else, says which configuration item each rule comes from, checks the cameras against the camera network, never
prints a password, and is a ruleset the real ``nft`` accepts."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from tests.support.nft import nft_check, nft_load_twice

from vigie.config import load_config_text
from vigie.config.firewall import (
    FirewallError,
    FirewallOptions,
    FirewallPlan,
    Outbound,
    database_endpoints,
    plan_firewall,
    sip_endpoint,
)
from vigie.config.models import VigieConfig
from vigie.config.nftables import render_nftables

DB_PASSWORD = "Db-S3cret-Passw0rd"
CAMERA_PASSWORD = "Cam-S3cret-Passw0rd"
AUTHORISED = (
    "authorisation: {reference: 2024-DS-0142, valid_from: 2024-03-01, valid_until: 2029-02-28, "
    "purposes: [crime_prevention], retention_days: 15}"
)


def camera(camera_id: str, main: str, extra: str = "") -> str:
    return f"""          - id: {camera_id}
            name: Caméra {camera_id}
            kind: fixed
            main_stream: {main}
            location: {{lat: 45.77, lon: 4.86}}
            {AUTHORISED}
{extra}"""


CAMERAS = (
    camera(
        "cam-001",
        "rtsp://10.20.3.41/stream1",
        "            sub_stream: rtsp://10.20.3.41:8554/stream2\n            credentials: cam-001\n"
        "            onvif: {host: 10.20.3.41, port: 8080}\n",
    )
    + camera("cam-002", "rtsp://10.20.3.41/other")  # a second sensor of the same host: one rule
    + camera("cam-003", "rtsp://10.20.7.9/stream1")
    + camera("cam-009", f"rtsps://viewer:{CAMERA_PASSWORD}@192.168.1.20/stream1")  # outside the camera VLAN
    + camera("cam-010", "rtsp://10.99.0.1/stream1", "            enabled: false\n")  # off: no rule, no warning
)


def config_text(
    *,
    database: str = "sqlite:///var/vigie.db",
    cameras: str = CAMERAS,
    api: str = "{host: 0.0.0.0, port: 8443, tls: {certificate_file: /etc/c.pem, private_key_file: /etc/k.pem}}",
    sections: str = "",
    storage: str = "",
) -> str:
    return f"""version: 1
storage:
  database_url: {database}
{storage}api: {api}
{sections}communes:
  - id: belvedere
    name: Ville de Belvédère
    kind: municipal
    sites:
      - id: mairie
        name: Place de la Mairie
        cameras:
{cameras}"""


def loaded(**parts: str) -> VigieConfig:
    return load_config_text(config_text(**parts), "vigie.yaml")


S3 = '  segments: {kind: s3, endpoint_url: "https://10.30.0.6:8333", bucket: vigie-segments}\n'
INTEGRATIONS = """mqtt: {enabled: true, host: 10.30.0.7, tls: {ca_file: /etc/vigie/mqtt-ca.pem}}
webhooks:
  enabled: true
  endpoints:
    - {name: pc-securite, url: "https://10.40.0.8:9443/hooks/vigie", communes: [belvedere], secret_env: VIGIE_HOOK}
"""
OPTIONS = FirewallOptions(
    camera_net=ipaddress.ip_network("10.20.0.0/16"),
    management_net=ipaddress.ip_network("10.10.0.0/24"),
    ntp_servers=(ipaddress.ip_address("10.10.0.2"),),
    dns_servers=(ipaddress.ip_address("10.10.0.3"),),
)


def ruleset(config: VigieConfig, options: FirewallOptions = OPTIONS) -> tuple[str, FirewallPlan]:
    plan = plan_firewall(config, options)
    return render_nftables(plan, "vigie.yaml"), plan


def output_rules(text: str) -> list[str]:
    chain = text.split("chain output {", 1)[1].split("}\n\n", 1)[0]
    return [line.strip() for line in chain.splitlines() if " accept comment " in line and "daddr" in line]


def test_cameras_are_reached_by_host_with_their_ports_and_one_outside_the_vlan_is_named() -> None:
    text, plan = ruleset(loaded())
    cameras = [rule for rule in output_rules(text) if "camera" in rule]
    assert cameras == [
        'ip daddr 10.20.3.41 tcp dport { 554, 8080, 8554 } accept comment "cameras cam-001, cam-002 (main_stream, '
        'sub_stream, onvif)"',
        'ip daddr 10.20.7.9 tcp dport 554 accept comment "camera cam-003 (main_stream)"',
        'ip daddr 192.168.1.20 tcp dport 322 accept comment "camera cam-009 (main_stream)"',
    ]
    outside = [w for w in plan.warnings if "outside the camera network" in w]
    assert len(outside) == 1
    assert outside[0].startswith("camera cam-009 (Caméra cam-009): its address 192.168.1.20 (main_stream)")
    assert "10.20.0.0/16" in outside[0]
    assert "10.99.0.1" not in text and "cam-010" not in text  # a disabled camera opens nothing
    assert "1 disabled camera(s) left out" in text
    # Cameras only ever outbound: nothing from the camera network may open a connection to the server.
    assert "10.20." not in text.split("chain output {", 1)[0].split("table inet vigie {", 1)[1]


def test_a_camera_given_by_name_is_limited_to_the_camera_network_and_reported() -> None:
    text, plan = ruleset(loaded(cameras=camera("cam-020", "rtsp://cam-020.ville.example/live")))
    assert output_rules(text)[0] == (
        'ip daddr 10.20.0.0/16 tcp dport 554 accept comment "camera cam-020 (cam-020.ville.example: main_stream)"'
    )
    assert any("camera cam-020" in w and "cannot be checked" in w for w in plan.warnings)


def test_without_a_camera_network_the_cameras_are_not_checked_and_it_says_so() -> None:
    _, plan = ruleset(loaded(), FirewallOptions(ntp_servers=OPTIONS.ntp_servers))
    assert not any("outside the camera network" in w for w in plan.warnings)
    assert any(w.startswith("no --camera-net") for w in plan.warnings)
    assert any(w.startswith("no --management-net") for w in plan.warnings)


def test_the_database_password_never_appears_and_its_server_is_reached() -> None:
    url = f"postgresql+psycopg://vigie:{DB_PASSWORD}@10.30.0.5:5433/vigie?sslmode=require"
    text, plan = ruleset(loaded(database=url))
    assert 'ip daddr 10.30.0.5 tcp dport 5433 accept comment "storage.database_url (PostgreSQL)"' in output_rules(text)
    everything = text + "\n".join(plan.warnings + plan.notes)
    assert DB_PASSWORD not in everything and CAMERA_PASSWORD not in everything
    assert "viewer" not in everything and "vigie:" not in everything


def test_a_local_or_sqlite_database_opens_nothing() -> None:
    for database in ("sqlite:///var/vigie.db", f"postgresql+psycopg://vigie:{DB_PASSWORD}@127.0.0.1/vigie"):
        text, _ = ruleset(loaded(database=database))
        assert "storage.database_url" not in "\n".join(output_rules(text))
    assert database_endpoints("postgresql+psycopg:///vigie?host=/var/run/postgresql") == []
    assert database_endpoints(f"postgresql://u:{DB_PASSWORD}@db1:5432,[2001:db8::5]:5433/v") == [
        ("db1", 5432),
        ("2001:db8::5", 5433),
    ]
    assert database_endpoints("postgresql:///v?host=10.0.0.4,10.0.0.5&port=5433,5434") == [
        ("10.0.0.4", 5433),
        ("10.0.0.5", 5434),
    ]


def test_s3_mqtt_and_webhooks_are_opened_only_when_configured() -> None:
    bare, _ = ruleset(loaded())
    assert not any(what in bare for what in ("S3", "MQTT", "webhooks"))
    text, _ = ruleset(loaded(storage=S3, sections=INTEGRATIONS))
    rules = output_rules(text)
    assert 'ip daddr 10.30.0.6 tcp dport 8333 accept comment "storage.segments.endpoint_url (S3)"' in rules
    assert 'ip daddr 10.30.0.7 tcp dport 8883 accept comment "mqtt.host (MQTT broker)"' in rules
    assert 'ip daddr 10.40.0.8 tcp dport 9443 accept comment "webhooks.endpoints pc-securite"' in rules
    switched_off = INTEGRATIONS.replace("enabled: true", "enabled: false")
    text, _ = ruleset(loaded(sections=switched_off))
    assert "MQTT" not in text and "webhooks" not in text


def test_the_console_is_open_to_the_management_network_only_and_plain_http_is_reported() -> None:
    text, plan = ruleset(loaded())
    console = 'tcp dport 8443 accept comment "console and API: api.port 8443 (HTTPS, api.tls)"'
    assert f"ip saddr 10.10.0.0/24 {console}" in text
    assert 'ip saddr 10.10.0.0/24 tcp dport 22 accept comment "SSH (--ssh-port 22)"' in text
    assert not any("plain HTTP" in w for w in plan.warnings)
    text, plan = ruleset(loaded(api="{host: 10.10.0.1, port: 8080}"))
    assert "ip saddr 10.10.0.0/24 ip daddr 10.10.0.1 tcp dport 8080 accept" in text
    assert any("plain HTTP on 10.10.0.1:8080" in w for w in plan.warnings)


def test_a_console_on_loopback_behind_a_proxy_opens_only_the_proxy() -> None:
    options = FirewallOptions(management_net=OPTIONS.management_net, proxy_ports=(443,), ssh_port=2222)
    text, plan = ruleset(loaded(api="{host: 127.0.0.1, port: 8080}"), options)
    assert "8080" not in text.split("table inet vigie {", 1)[1].split("chain output {", 1)[0]
    assert 'ip saddr 10.10.0.0/24 tcp dport 443 accept comment "reverse proxy (--proxy-port 443)"' in text
    assert "tcp dport 2222" in text and "tcp dport 22 " not in text
    assert "api: listens on 127.0.0.1 only" in text
    assert not any("plain HTTP" in w for w in plan.warnings)


def test_a_cluster_needs_its_network_and_opens_ray_and_the_live_relays_there() -> None:
    cluster = "cluster: {address: '10.0.1.10:6379', live_port: 7460, live_ports: 16}\n"
    config = loaded(database="postgresql+psycopg://vigie@10.30.0.5/vigie", storage=S3, sections=cluster)
    with pytest.raises(FirewallError, match="--cluster-net"):
        plan_firewall(config, OPTIONS)
    no_cluster, _ = ruleset(loaded())
    assert "Ray" not in no_cluster and "7460" not in no_cluster
    options = replace(OPTIONS, cluster_net=ipaddress.ip_network("10.0.1.0/24"))
    text, _ = ruleset(config, options)
    assert "ip saddr 10.0.1.0/24 meta l4proto tcp accept" in text
    assert 'ip daddr 10.0.1.0/24 tcp dport 7460-7475 accept comment "cluster.live_port: live relays"' in text


def test_speakers_ntp_dns_and_other_peers() -> None:
    speakers = """speakers:
  devices:
    - {id: spk-parvis, commune: belvedere, name: P, zone: P, driver: {kind: http, url: "https://10.12.0.40", username: v, password_env: VIGIE_SPK}}
    - {id: spk-dome, commune: belvedere, name: D, zone: D, driver: {kind: sip, uri: "sip:speaker-12@10.12.0.41"}}
"""  # noqa: E501
    options = replace(OPTIONS, allow_out=(Outbound(ipaddress.ip_network("10.10.0.7"), 514, "udp"),))
    text, _ = ruleset(loaded(sections=speakers), options)
    rules = output_rules(text)
    assert 'ip daddr 10.12.0.40 tcp dport 443 accept comment "speakers.devices spk-parvis (HTTP)"' in rules
    assert 'ip daddr 10.12.0.41 udp dport 5060 accept comment "speakers.devices spk-dome (SIP)"' in rules
    assert 'ip daddr 10.12.0.41 meta l4proto udp accept comment "speakers.devices spk-dome (SIP audio, RTP)"' in rules
    assert 'ip daddr 10.10.0.2 udp dport 123 accept comment "NTP (--ntp-server)"' in rules
    assert 'ip daddr 10.10.0.3 tcp dport 53 accept comment "DNS"' in rules
    assert 'ip daddr 10.10.0.7 udp dport 514 accept comment "--allow-out"' in rules
    assert sip_endpoint("sips:4012@[2001:db8::9]:5071;transport=tls") == ("2001:db8::9", 5071, ("tcp",))


def test_the_real_nft_accepts_the_ruleset_and_refuses_a_broken_one(tmp_path: Path) -> None:
    """Everything at once (IPv6 management, cluster, names, integrations, speakers), checked by Debian's nft."""
    sections = INTEGRATIONS + "cluster: {address: '10.0.1.10:6379'}\n"
    config = loaded(
        database=f"postgresql+psycopg://vigie:{DB_PASSWORD}@db.ville.example/vigie",
        storage=S3,
        sections=sections,
        cameras=CAMERAS + camera("cam-030", "rtsp://[2001:db8:20::30]/live"),
    )
    options = FirewallOptions(
        camera_net=ipaddress.ip_network("10.20.0.0/16"),
        management_net=ipaddress.ip_network("2001:db8:10::/64"),
        cluster_net=ipaddress.ip_network("10.0.1.0/24"),
        proxy_ports=(443, 80),
        ntp_servers=(ipaddress.ip_address("2001:db8:10::2"), ipaddress.ip_address("10.10.0.2")),
        allow_out=(Outbound(ipaddress.ip_network("10.10.0.0/28"), 3128),),
    )
    text, plan = ruleset(config, options)
    assert "ip6 daddr 2001:db8:20::30 tcp dport 554" in text
    assert any("cam-030" in w and "outside the camera network" in w for w in plan.warnings)
    good = tmp_path / "vigie.nft"
    good.write_text(text, encoding="utf-8")
    checked = nft_check(good)
    assert checked.returncode == 0, checked.stderr
    broken = tmp_path / "broken.nft"
    broken.write_text(text.replace("tcp dport 8333", "tcp dport 83333"), encoding="utf-8")
    refused = nft_check(broken)
    assert refused.returncode != 0 and "83333" in refused.stderr
    loaded_twice = nft_load_twice(good)  # a reload replaces the table: one table, each rule once
    assert loaded_twice.returncode == 0, loaded_twice.stderr
    listed = loaded_twice.stdout
    assert listed.count("table inet vigie {") == 1 and listed.count("table ") == 1
    assert listed.count('comment "storage.segments.endpoint_url (S3)"') == 1
    assert "policy drop;" in listed and "ip6 saddr 2001:db8:10::/64 tcp dport 22 accept" in listed


VIGIE = [sys.executable, "-m", "vigie.cli", "deploy", "firewall"]


def test_the_command_prints_the_ruleset_and_warns_or_refuses_with_strict(tmp_path: Path) -> None:
    path = tmp_path / "vigie.yaml"
    url = f"postgresql+psycopg://vigie:{DB_PASSWORD}@10.30.0.5/vigie"
    path.write_text(config_text(database=url, storage=S3, sections=INTEGRATIONS), encoding="utf-8")
    common = ["--config", str(path), "--camera-net", "10.20.0.0/16", "--management-net", "10.10.0.0/24"]
    common += ["--ntp-server", "10.10.0.2"]
    result = subprocess.run([*VIGIE, *common], check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("#!/usr/sbin/nft -f") and "table inet vigie {" in result.stdout
    assert "vigie deploy firewall: warning: camera cam-009" in result.stderr
    assert DB_PASSWORD not in result.stdout + result.stderr
    assert CAMERA_PASSWORD not in result.stdout + result.stderr
    strict = subprocess.run([*VIGIE, *common, "--strict"], check=False, capture_output=True, text=True, timeout=120)
    assert strict.returncode == 1 and strict.stdout == ""
    assert "vigie deploy firewall: error: camera cam-009" in strict.stderr
    wrong = subprocess.run([*VIGIE, *common, "--camera-net", "10.20.0.1/16"], check=False, capture_output=True,
                           text=True, timeout=120)  # fmt: skip
    assert wrong.returncode == 2 and "host bits zero" in wrong.stderr
