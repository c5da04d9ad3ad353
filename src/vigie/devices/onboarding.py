"""Bulk onboarding: devices from a discovery result or a CSV file become camera entries of the configuration.

Each device is described over ONVIF (:func:`vigie.devices.onvif.describe`, at most :data:`CONCURRENCY` at once):
its largest profile is the main stream (recorded), its smallest the sub stream (analysis, thumbnails), and a PTZ
node makes it a ``ptz`` camera with ``onvif:`` settings (its address and the profile driving the dome: what
``vigie serve`` opens it with). A multi-sensor device (several video sources) becomes one camera per sensor,
``<id>-s1``, ``-s2``…, each ``fixed``, ``ptz`` (the sensor behind the head) or ``thermal`` (listed by the device's
Thermal service; written with the ``hot_blob`` detector) and naming the housing as its ``device``. A device that
fails is reported with its cause and does not stop the others.

Passwords never reach the YAML, nor the CSV: a row names the environment variable or the file holding its
password (``password_env``, ``password_file``), the password is read to describe the device and forgotten, stream
URLs are written without an account, and each camera names its account in the credentials store
(``credentials: NAME``); the output's header lists the accounts to add with ``vigie cameras credentials set``.
Factory accounts are refused before any connection (L17).

What the CSV and the discovery result do not say (the commune and site, the prefectoral authorisation, a default
location) comes from a template file (:class:`OnboardingTemplate`); a CSV row may override the commune, site,
setting, name, id, location and account name.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError

from vigie.config.camera import DEFAULT_CREDENTIALS, Authorisation, Camera, CameraSetting
from vigie.config.fields import ConfigModel, Slug
from vigie.devices.discovery import DiscoveryResult
from vigie.devices.onvif import DeviceDescription, OnvifError, VideoSource, describe, prepare
from vigie.domain.camera import CameraKind

CONCURRENCY = 16
"""Devices described at once: enough to onboard hundreds in seconds, few enough for a camera network's switches
and for the devices themselves (some answer slowly to parallel SOAP sessions)."""

MAX_ROWS = 20_000
CSV_COLUMNS = frozenset(
    {
        "host",
        "port",
        "username",
        "password_env",
        "password_file",
        "id",
        "name",
        "commune",
        "site",
        "setting",
        "lat",
        "lon",
        "address",
        "credentials",
    }
)
_SLUG_CHARS = re.compile(r"[^a-z0-9]+")


class OnboardingInputError(ValueError):
    """A CSV, template or discovery file that cannot be used: every problem, each with its line and what to do."""


class TemplateLocation(ConfigModel):
    lat: float = Field(ge=-90.0, le=90.0, title="Latitude", description="Default WGS84 latitude.")
    lon: float = Field(ge=-180.0, le=180.0, title="Longitude", description="Default WGS84 longitude.")


class OnboardingTemplate(ConfigModel):
    """What every onboarded camera shares unless its CSV row says otherwise."""

    commune: Slug = Field(title="Commune", description="Id of the commune (tenant) the cameras belong to.")
    site: Slug = Field(title="Site", description="Id of the site, within the commune, the cameras belong to.")
    authorisation: Authorisation = Field(
        title="Prefectoral authorisation", description="The authorisation the onboarded cameras run under (L1)."
    )
    setting: CameraSetting = Field(
        default=CameraSetting.PUBLIC_STREET, title="Setting", description="What the cameras film."
    )
    location: TemplateLocation | None = Field(
        default=None,
        title="Default location",
        description="Where a camera is when its row gives no lat/lon (discovered devices): correct it afterwards.",
    )
    username: str | None = Field(
        default=None, title="Username", description="ONVIF account of discovered devices (a CSV row gives its own)."
    )
    password_env: str | None = Field(
        default=None, title="Password variable", description="Environment variable holding that account's password."
    )
    password_file: Path | None = Field(
        default=None, title="Password file", description="File holding that account's password (one line)."
    )
    credentials: Slug | None = Field(
        default=None,
        title="Account name",
        description="Name of the account in the credentials store for every camera (default: each camera's id).",
    )


@dataclass(frozen=True, slots=True)
class DeviceRow:
    """One device to onboard: where it answers, its account (the password by reference only) and what the CSV
    row says of the camera (empty strings: not said)."""

    line: int
    host: str
    port: int
    username: str
    password_env: str | None = None
    password_file: Path | None = None
    fields: tuple[tuple[str, str], ...] = ()
    discovered_name: str | None = None
    problem: str | None = None
    """Why this device cannot be onboarded, known before connecting (reported as its failure)."""

    @property
    def device(self) -> str:
        return f"{self.host}:{self.port}" if self.port else self.host

    def get(self, name: str) -> str:
        return dict(self.fields).get(name, "")


@dataclass(frozen=True, slots=True)
class Onboarded:
    commune: str
    site: str
    camera: dict[str, Any]
    account: str
    username: str
    password_from: str


@dataclass(frozen=True, slots=True)
class OnboardingReport:
    """Cameras made, and each device that could not be onboarded with the reason (no password in any)."""

    cameras: tuple[Onboarded, ...]
    failures: tuple[tuple[str, str], ...]

    def fragment(self) -> dict[str, Any]:
        """``communes: [{id, sites: [{id, cameras: [...]}]}]``: merge each site's cameras into the configuration
        (:func:`merge_into` does it)."""
        communes: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for item in self.cameras:
            communes.setdefault(item.commune, {}).setdefault(item.site, []).append(item.camera)
        return {
            "communes": [
                {"id": commune, "sites": [{"id": site, "cameras": cameras} for site, cameras in sites.items()]}
                for commune, sites in communes.items()
            ]
        }

    def to_yaml(self) -> str:
        accounts: dict[str, tuple[str, str]] = {}
        for item in self.cameras:
            accounts.setdefault(item.account, (item.username, item.password_from))
        header = [
            f"# Written by `vigie devices onboard`: {len(self.cameras)} camera(s); merge each site's cameras into "
            "the same commune and site of your configuration.",
            "# Stream URLs carry no account: each camera names one in the credentials store. Add them before starting:",
        ]
        header += [
            f"#   vigie cameras credentials set {name} --username {username} --config FILE   # password: {source}"
            for name, (username, source) in accounts.items()
        ]
        body = yaml.safe_dump(self.fragment(), sort_keys=False, allow_unicode=True, width=120)
        return "\n".join(header) + "\n" + body


def _problem(line: int, message: str) -> str:
    return f"line {line}: {message}"


def _check_row(line: int, row: Mapping[str, str]) -> tuple[DeviceRow | None, list[str]]:
    problems: list[str] = []
    host = row.get("host", "").strip()
    username = row.get("username", "").strip()
    password_env = row.get("password_env", "").strip() or None
    password_file = row.get("password_file", "").strip() or None
    if not host:
        problems.append(_problem(line, "no host"))
    if not username:
        problems.append(_problem(line, "no username: give the ONVIF account Vigie uses on this camera"))
    if (password_env is None) == (password_file is None):
        problems.append(
            _problem(line, "give exactly one of password_env (a variable's name) or password_file (a file's path)")
        )
    port_text = row.get("port", "").strip() or "80"
    port = int(port_text) if port_text.isdigit() else 0
    if not 0 < port < 65536:
        problems.append(_problem(line, f"port {port_text!r} is not a TCP port (1..65535)"))
    if bool(row.get("lat", "").strip()) != bool(row.get("lon", "").strip()):
        problems.append(_problem(line, "give both lat and lon, or neither (the template's location is used)"))
    for axis in ("lat", "lon"):
        value = row.get(axis, "").strip()
        if value:
            try:
                float(value)
            except ValueError:
                problems.append(_problem(line, f"{axis} {value!r} is not a number (decimal degrees, WGS84)"))
    if problems:
        return None, problems
    fields = tuple((key, value.strip()) for key, value in row.items() if key and value and value.strip())
    return (
        DeviceRow(
            line=line,
            host=host,
            port=port,
            username=username,
            password_env=password_env,
            password_file=Path(password_file) if password_file else None,
            fields=fields,
        ),
        [],
    )


def parse_csv(text: str, source: str = "<csv>") -> list[DeviceRow]:
    """The devices of a CSV file (header line first); OnboardingInputError listing every bad row. A column named
    like a password is refused outright: the CSV names where passwords are, it never holds one."""
    reader = csv.DictReader(io.StringIO(text))
    columns = [name.strip() for name in reader.fieldnames or []]
    if not columns:
        raise OnboardingInputError(f"{source}: empty; the first line names the columns, e.g. {_EXAMPLE_HEADER}")
    if any("password" in c and c not in ("password_env", "password_file") for c in columns):
        raise OnboardingInputError(
            f"{source}: a column holds passwords in clear; name where each password is instead: password_env (an "
            "environment variable) or password_file (a file readable only by you)"
        )
    unknown = sorted(set(columns) - CSV_COLUMNS)
    if unknown:
        raise OnboardingInputError(
            f"{source}: unknown column(s) {', '.join(unknown)}; the columns are {', '.join(sorted(CSV_COLUMNS))}"
        )
    reader.fieldnames = columns
    devices: list[DeviceRow] = []
    problems: list[str] = []
    for index, row in enumerate(reader):
        if index >= MAX_ROWS:
            problems.append(f"more than {MAX_ROWS} rows: split the file")
            break
        device, found = _check_row(reader.line_num, {k: v or "" for k, v in row.items() if k is not None})
        problems += found
        if device is not None:
            devices.append(device)
    if problems:
        raise OnboardingInputError(f"{source}:\n  " + "\n  ".join(problems))
    return devices


_EXAMPLE_HEADER = "host,port,username,password_env,name,commune,site,lat,lon"


def rows_from_discovery(result: DiscoveryResult, template: OnboardingTemplate) -> list[DeviceRow]:
    """Each discovered device, with the template's account (a discovery says nothing of accounts)."""
    if not template.username or (template.password_env is None) == (template.password_file is None):
        raise OnboardingInputError(
            "onboarding from a discovery result: the template gives the devices' account, `username` and one of "
            "`password_env` or `password_file`"
        )
    rows: list[DeviceRow] = []
    for index, device in enumerate(result.devices, start=1):
        address = device.host_port
        if address is None:
            rows.append(
                DeviceRow(
                    line=index,
                    host=device.endpoint,
                    port=0,
                    username=template.username,
                    problem=f"no http(s) address among its XAddrs ({' '.join(device.xaddrs)[:200]})",
                )
            )
            continue
        rows.append(
            DeviceRow(
                line=index,
                host=address[0],
                port=address[1],
                username=template.username,
                password_env=template.password_env,
                password_file=template.password_file,
                discovered_name=device.name,
            )
        )
    return rows


def read_password(row: DeviceRow, environ: Mapping[str, str]) -> tuple[str, str]:
    """The row's password and a description of where it came from (never the password); ValueError naming the
    variable or file when it cannot be read."""
    if row.password_env is not None:
        password = environ.get(row.password_env, "")
        if not password:
            raise ValueError(f"environment variable {row.password_env} is not set or empty")
        return password, f"${row.password_env}"
    if row.password_file is None:
        raise ValueError("no password_env nor password_file: name where its password is")
    try:
        password = row.password_file.read_text(encoding="utf-8").strip("\r\n")
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"cannot read password file {row.password_file}: {type(err).__name__}") from None
    if not password:
        raise ValueError(f"password file {row.password_file} is empty")
    return password, f"file {row.password_file}"


def _slug(text: str) -> str:
    return _SLUG_CHARS.sub("-", text.lower()).strip("-")[:64].strip("-")


def _kind(description: DeviceDescription, source: VideoSource, single: bool) -> CameraKind:
    """What a sensor is for Vigie: ``thermal`` when the Thermal service lists it (its detector reads heat, even on
    a head), ``ptz`` when it is behind the PTZ head (a single-sensor device with a PTZ node, or the source whose
    profiles carry the PTZ configuration), ``fixed`` otherwise."""
    if source.thermal:
        return CameraKind.THERMAL
    if description.ptz is not None and (single or source.ptz_profile is not None):
        return CameraKind.PTZ
    return CameraKind.FIXED


_LABELS = {CameraKind.FIXED: "sensor", CameraKind.PTZ: "dome", CameraKind.THERMAL: "thermal"}


def _source_entry(description: DeviceDescription, source: VideoSource, single: bool, row: DeviceRow) -> dict[str, Any]:
    """The fields one sensor decides: kind, streams, ONVIF settings, detector (id and name are the caller's)."""
    main, sub = source.main_profile, source.sub_profile
    if main is None or main.stream_uri is None:
        what = "any media profile" if single else f"the video source {source.token}"
        raise ValueError(f"the device gives no RTSP stream URI for {what}")
    kind = _kind(description, source, single)
    entry: dict[str, Any] = {"kind": kind.value, "main_stream": main.stream_uri}
    if sub is not None and sub.stream_uri:
        entry["sub_stream"] = sub.stream_uri
    # Every camera names its device's ONVIF services: `vigie serve` listens to its tamper events there, and drives
    # it when it is a dome; every sensor of a multi-sensor device names the housing's address (one subscription for
    # the housing) and its video source (the events about it go to it).
    entry["onvif"] = {"host": row.host, "port": row.port}
    if not single and source.token is not None:
        entry["onvif"]["video_source"] = source.token
    with_ptz = source.ptz_profile if kind is CameraKind.PTZ else None
    if with_ptz is None and kind is CameraKind.PTZ:
        with_ptz = next((p for p in description.profiles if p.ptz_configuration is not None), None)
    if with_ptz is not None:
        entry["onvif"]["ptz_profile"] = with_ptz.token
    if kind is CameraKind.THERMAL:
        # The detector that reads heat; like every detector it runs only under an activation (L22).
        entry["analysis"] = {"detector": {"kind": "hot_blob"}}
    return entry


def camera_entries(
    row: DeviceRow, description: DeviceDescription, template: OnboardingTemplate
) -> tuple[str, str, str, list[dict[str, Any]]]:
    """(commune, site, account name, camera mappings) for a described device: one camera per video source (a
    single-sensor device keeps the row's id and name; the sensors of a multi-sensor one are ``<id>-s1``, ``-s2``…
    in the order of its profiles, named after the device, each naming it as ``device``). ValueError when a sensor
    offers no stream or an entry does not validate as a camera."""
    camera_id = row.get("id") or _slug(f"cam-{row.host}-{row.port}")
    name = (
        row.get("name") or row.discovered_name or f"{description.manufacturer} {description.model} ({row.host})".strip()
    )
    account = row.get("credentials") or template.credentials or camera_id
    if row.get("lat") and row.get("lon"):
        location: dict[str, Any] = {"lat": float(row.get("lat")), "lon": float(row.get("lon"))}
    elif template.location is not None:
        location = template.location.model_dump()
    else:
        raise ValueError("no location: give lat and lon in its row, or a default `location` in the template")
    if row.get("address"):
        location["address"] = row.get("address")
    sources = description.sources
    single = len(sources) == 1
    entries: list[dict[str, Any]] = []
    for number, source in enumerate(sources, start=1):
        fields = _source_entry(description, source, single, row)
        entry: dict[str, Any] = {"id": camera_id, "name": name}
        if not single:
            label = _LABELS[CameraKind(fields["kind"])]
            entry = {"id": f"{camera_id}-s{number}", "name": f"{name} · {label} {number}", "device": camera_id}
        onvif, analysis = fields.pop("onvif", None), fields.pop("analysis", None)
        entry |= fields
        entry["credentials"] = account
        if onvif is not None:
            entry["onvif"] = onvif
        entry["location"] = dict(location)
        entry["setting"] = row.get("setting") or template.setting.value
        entry["authorisation"] = template.authorisation.model_dump(mode="json")
        if analysis is not None:
            entry["analysis"] = analysis
        _validate(entry)
        entries.append(entry)
    return row.get("commune") or template.commune, row.get("site") or template.site, account, entries


def _validate(entry: dict[str, Any]) -> None:
    try:
        Camera.model_validate(entry)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValueError(f"the camera entry {entry['id']} does not validate: {where}: {first['msg']}") from None


async def onboard(
    rows: Sequence[DeviceRow],
    template: OnboardingTemplate,
    *,
    environ: Mapping[str, str] | None = None,
    timeout_s: float = 10.0,
    concurrency: int = CONCURRENCY,
) -> OnboardingReport:
    """Describe every device (``concurrency`` at once) and make its camera entry; failures are collected, in the
    rows' order, never raised."""
    env = os.environ if environ is None else environ
    gate = asyncio.Semaphore(concurrency)

    async def one(row: DeviceRow) -> list[Onboarded] | str:
        if row.problem is not None:
            return row.problem
        try:
            password, source = read_password(row, env)
        except ValueError as err:
            return str(err)
        if (row.username, password) in DEFAULT_CREDENTIALS:
            return (
                f"refused: {row.username!r} with that password is a factory account (L17); set a unique account "
                "and password on the camera, then onboard it"
            )
        async with gate:
            try:
                description = await describe(row.host, row.port, row.username, password, timeout_s=timeout_s)
            except OnvifError as err:
                return err.cause
        try:
            commune, site, account, entries = camera_entries(row, description, template)
        except ValueError as err:
            return str(err)
        return [Onboarded(commune, site, entry, account, row.username, source) for entry in entries]

    if len(rows) > 1:
        await prepare()
    outcomes = await asyncio.gather(*(one(row) for row in rows))
    cameras = [camera for o in outcomes if isinstance(o, list) for camera in o]
    failures = [(row.device, o) for row, o in zip(rows, outcomes, strict=True) if isinstance(o, str)]
    duplicates = _duplicate_ids(cameras)
    if duplicates:
        failures += [
            (f"camera id {camera_id}", "given to several devices: give each row its own id") for camera_id in duplicates
        ]
        cameras = [c for c in cameras if c.camera["id"] not in duplicates]
    return OnboardingReport(cameras=tuple(cameras), failures=tuple(failures))


def _duplicate_ids(cameras: Sequence[Onboarded]) -> set[str]:
    seen: set[str] = set()
    repeated: set[str] = set()
    for item in cameras:
        camera_id = item.camera["id"]
        (repeated if camera_id in seen else seen).add(camera_id)
    return repeated


def load_template(path: Path) -> OnboardingTemplate:
    """The template file; OnboardingInputError naming each wrong field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise OnboardingInputError(f"{path}: cannot read the template ({type(err).__name__}: {err})") from None
    try:
        return OnboardingTemplate.model_validate(data)
    except ValidationError as err:
        problems = [f"{'.'.join(str(p) for p in e['loc']) or '(file)'}: {e['msg']}" for e in err.errors()]
        raise OnboardingInputError(f"{path}:\n  " + "\n  ".join(problems)) from None


def merge_into(config: Mapping[str, Any], fragment: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a configuration document (as loaded from YAML) with the fragment's cameras added to their
    commune's site (the site is created when the commune has none of that id); KeyError naming a commune the
    configuration lacks."""
    merged = dict(config)
    communes = [dict(c) for c in merged.get("communes") or []]
    for part in fragment["communes"]:
        commune = next((c for c in communes if c.get("id") == part["id"]), None)
        if commune is None:
            raise KeyError(f"commune {part['id']!r} is not in the configuration: add it, or fix the template")
        sites = [dict(s) for s in commune.get("sites") or []]
        for site_part in part["sites"]:
            site = next((s for s in sites if s.get("id") == site_part["id"]), None)
            if site is None:
                site = {"id": site_part["id"], "name": site_part["id"]}
                sites.append(site)
            site["cameras"] = [*(site.get("cameras") or []), *site_part["cameras"]]
        commune["sites"] = sites
    merged["communes"] = communes
    return merged
