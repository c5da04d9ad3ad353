"""``vigie demo``: the whole platform on simulated cameras, with zero set-up.

Scenes from ``vigie.sim`` are rendered into the data folder, published through the real RTSP server (or
replayed from files with ``--no-rtsp``), and the service runs with embedded SQLite. Because the footage is
generated, analysis may run on it (see :class:`vigie.runtime.assembly.gates.SimulatedFootageRules`); on real cameras
nothing runs until an activation exists.

That exemption holds only for footage proven simulated: at every start each scene is rendered again, by this start
(:func:`vigie.sim.rtsp.proven_render`, in processes it spawns: :mod:`~vigie.runtime.assembly.demo_scenes`), and that
render is what the cameras show. A file found in the scene cache that is not byte-identical to it (another video
copied there) is discarded, with a warning; it is never analysed. Rendering is deterministic, so a warm start costs
what a first start costs (the scenes render in parallel). The PTZ dome the demo adds over RTSP
(:mod:`~vigie.runtime.assembly.demo_dome`) is rendered live, not a proven render: it is not exempted, and nothing
analyses it without an activation.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from collections.abc import Callable
from concurrent.futures import Future
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from vigie.config.models import VigieConfig
from vigie.devices.sensors.simulated import RadarFeed, SimulatedRadar
from vigie.domain.actor import Actor
from vigie.domain.clock import legal_day
from vigie.domain.users import Role
from vigie.governance.keys_folder import KeyStorageError
from vigie.runtime.assembly.demo_broker import demo_broker_address
from vigie.runtime.assembly.demo_dome import DOME_CAMERA, DemoDome, draw_panorama
from vigie.runtime.assembly.demo_lapi import (
    ACCOUNTS,
    LAPI_TENANT,
    WANTED_PLATE,
    ensure_hit_list,
    ensure_lapi_accounts,
    ensure_lapi_activation,
    lapi_commune,
)
from vigie.runtime.assembly.demo_scenes import (
    LAPI_CAMERA,
    DemoRenders,
    demo_photo_bank,
    demo_renders,
    demo_scene_names,
)
from vigie.runtime.assembly.governance import open_governance
from vigie.runtime.assembly.models import installed_models
from vigie.runtime.assembly.module_settings import PIXEL_MODULES
from vigie.runtime.assembly.service import ServiceError, VigieService
from vigie.services.auth import AuthService
from vigie.sim.builtin import module_settings_path
from vigie.sim.panorama import Panorama
from vigie.sim.rtsp import RtspSimServer, RtspUnavailableError, free_udp_ports, rtsp_unavailable_reason
from vigie.storage.database import create_engine_for

log = logging.getLogger(__name__)


def start_lapi(service: VigieService, config: VigieConfig, data_dir: Path) -> None:
    """The state tenant's accounts, its activation of plate reading (through the governance service, like any
    installation's) and its hit list; a refusal is logged and the demo runs on without plate reading."""
    login = ensure_lapi_accounts(service.accounts, data_dir, legal_day(service.clock))
    engine = create_engine_for(config.storage.database_url)
    try:
        governance = open_governance(config, engine, service.audit, service.clock).service
        activation = ensure_lapi_activation(governance, service.clock())
        ensure_hit_list(service.plates, service.accounts, data_dir)
    except RuntimeError as err:
        log.error("%s; the demo runs without plate reading", err)
        return
    finally:
        engine.dispose()
    log.info(
        "plate reading (LAPI) on %s under activation #%d for the state tenant %s; its matches are visible to %s "
        "(password in %s); the car %s of the scene is on its hit list",
        LAPI_CAMERA,
        activation,
        LAPI_TENANT,
        ACCOUNTS.supervisor,
        login,
        WANTED_PLATE,
    )


def demo_modules(scenes: dict[str, str], detector: str | None) -> dict[str, dict[str, Any]]:
    """Event module settings of the demo cameras, from the settings drawn for each built-in scene
    (``sim/scenes/modules/<scene>.yaml``: the situations scene's zones and flows, the street's bin fire); without a
    detection model only the modules that read pixels."""
    out: dict[str, dict[str, Any]] = {}
    for camera, scene in scenes.items():
        path = module_settings_path(scene)
        settings: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}
        usable = {m: s for m, s in settings.items() if detector is not None or m in PIXEL_MODULES}
        if usable:
            out[camera] = usable
    return out


DEMO_SIGNAGE: dict[str, Any] = {
    "pictogram": True,
    "controller": "Ville de Démonstration",
    "contact": "dpo@ville-demonstration.example",
    "panel": "PAN-DEMO-CENTRE-01",
    # put up the day the cameras' authorisation starts (DEMO-SIMULATION): commissioned whenever that is in force
    "posted_on": "2026-01-01",
}
"""The panel of the demo's town centre (L7): without it none of its cameras would be commissioned."""


def demo_config(
    data_dir: Path,
    host: str,
    port: int,
    urls: dict[str, str],
    *,
    detector: str | None = None,
    modules: dict[str, dict[str, Any]] | None = None,
    secrets_key_file: Path | None = None,
    lapi_url: str | None = None,
    dome: dict[str, Any] | None = None,
    mqtt: str | None = None,
    webhook: str | None = None,
) -> VigieConfig:
    """The demo's configuration: one commune, one site, the simulated cameras (with ``detector`` when a model is
    installed in the demo's data folder, else motion detection; ``modules``: event module settings per camera;
    ``secrets_key_file``: the passphrase file encrypting the demo's private keys, :func:`demo_secrets_key`); with
    ``lapi_url``, a state tenant and its plate-reading camera showing it (:mod:`~vigie.runtime.assembly.demo_lapi`);
    ``dome``: the PTZ dome's entry on the site (:mod:`~vigie.runtime.assembly.demo_dome`); ``mqtt``: ``host:port``
    of a broker on this machine to publish to (:func:`demo_mqtt`), off when None; ``webhook``: a URL to POST the
    demo's confirmed alerts and health events to (:func:`demo_webhooks`), off when None."""
    modules = modules or {}
    cameras: list[dict[str, Any]] = [
        {
            "id": camera_id,
            "name": f"Simulated camera {index + 1}",
            "kind": "fixed",
            "main_stream": url,
            "location": {"lat": 45.764 + index * 0.001, "lon": 4.8357, "address": "Demo street"},
            "authorisation": {
                "reference": "DEMO-SIMULATION",
                "valid_from": "2026-01-01",
                "valid_until": "2030-12-31",
                # the demo's radar ties its speeds to the first camera's pictures: a traffic purpose (L2)
                "purposes": ["crime_prevention", "traffic_regulation"],
                "retention_days": 7,
            },
            "analysis": {"fps": 5, "detector": detector, "modules": modules.get(camera_id, {})},
        }
        for index, (camera_id, url) in enumerate(urls.items())
    ]
    if dome is not None:
        cameras.append(dome)
    return VigieConfig.model_validate(
        {
            "version": 1,
            "storage": {
                "database_url": f"sqlite:///{(data_dir / 'vigie.db').resolve()}",
                "data_dir": str(data_dir.resolve()),
            },
            "api": {"host": host, "port": port},
            "security": {"secrets_key_file": None if secrets_key_file is None else str(secrets_key_file.resolve())},
            "mqtt": {} if mqtt is None else demo_mqtt(mqtt),
            "webhooks": {} if webhook is None else demo_webhooks(webhook),
            "speakers": demo_speakers([c["id"] for c in cameras]),
            "sensors": {} if mqtt is None or not urls else demo_sensors(next(iter(urls))),
            "communes": [
                {
                    "id": "demo",
                    "name": "Commune de démonstration",
                    "kind": "municipal",
                    "sites": [{"id": "centre", "name": "Centre-ville", "signage": DEMO_SIGNAGE, "cameras": cameras}],
                },
                *([] if lapi_url is None else [lapi_commune(lapi_url)]),
            ],
        }
    )


def demo_speakers(camera_ids: list[str]) -> dict[str, Any]:
    """The demo commune's loudspeakers (issue 21): one simulated speaker seeing the first cameras, and two messages
    an operator can play from the console (the speaker records what it was asked, and sounds nothing)."""
    return {
        "messages": [
            {
                "id": "park-closing",
                "commune": "demo",
                "titles": {"fr": "Le parc ferme dans dix minutes", "en": "The park closes in ten minutes"},
                "languages": ["fr", "en"],
                "clip": "1",
            },
            {
                "id": "leave-the-track",
                "commune": "demo",
                "titles": {"fr": "Quittez la voie immédiatement", "en": "Leave the track immediately"},
                "languages": ["fr"],
                "roles": ["supervisor"],
                "clip": "2",
            },
        ],
        "devices": [
            {
                "id": "demo-speaker",
                "commune": "demo",
                "name": "Haut-parleur du centre-ville",
                "zone": "Centre-ville",
                "cameras": camera_ids[:2],
                "driver": {"kind": "simulated"},
            }
        ],
    }


def demo_mqtt(address: str) -> dict[str, Any]:
    """The demo's ``mqtt`` section for ``host:port``: its own broker (:mod:`~vigie.runtime.assembly.demo_broker`) or
    one given with ``vigie demo --mqtt``, on this machine, anonymous, plain MQTT; the topics are ``vigie/demo/...``
    (docs/integrations.md)."""
    host, _, port = address.rpartition(":")
    return {"enabled": True, "host": host.strip("[]"), "port": int(port), "client_id": "vigie-demo"}


DEMO_WEBHOOK_SECRET_ENV = "VIGIE_DEMO_WEBHOOK_SECRET"  # noqa: S105 (the name of a variable, not a secret)
"""The variable holding the demo endpoint's signing secret (``whsec_…``), set by whoever starts the demo."""


def demo_webhooks(url: str) -> dict[str, Any]:
    """The demo's ``webhooks`` section for ``url`` (``vigie demo --webhook``): one endpoint taking the demo commune's
    confirmed alerts and health events, signed with the secret in :data:`DEMO_WEBHOOK_SECRET_ENV`, retried at most
    a minute apart (docs/integrations.md#webhooks)."""
    endpoint = {"name": "demo", "url": url, "communes": ["demo"], "secret_env": DEMO_WEBHOOK_SECRET_ENV}
    return {"enabled": True, "endpoints": [{**endpoint, "backoff_max_s": 60}]}


DEMO_RADAR = "radar-1"


def demo_sensors(camera_id: str) -> dict[str, Any]:
    """The demo's ``sensors`` section (with a broker): a simulated radar in front of ``camera_id``, whose fast
    vehicles bookmark the camera's recording (above 70 km/h) and show it on the wall (above 80 km/h)."""
    return {
        "enabled": True,
        "sensors": [
            {
                "id": DEMO_RADAR,
                "commune": "demo",
                "kind": "radar",
                "name": "Radar pédagogique (simulé)",
                "position": {"latitude": 45.764, "longitude": 4.8357},
            }
        ],
        "links": [
            {
                "id": "fast-bookmark",
                "sensor": DEMO_RADAR,
                "when": {"kind": "speed_above", "kmh": 70},
                "then": {"kind": "bookmark", "cameras": [camera_id], "label": "vitesse > 70 km/h"},
                "min_interval_s": 30,
            },
            {
                "id": "fast-wall",
                "sensor": DEMO_RADAR,
                "when": {"kind": "speed_above", "kmh": 80},
                "then": {"kind": "show_on_wall", "cameras": [camera_id]},
                "min_interval_s": 120,
            },
        ],
    }


def demo_radar(config: VigieConfig, clock: Callable[[], datetime]) -> RadarFeed | None:
    """The simulated radar publishing to the demo's broker (its own or ``--mqtt``), or None without one."""
    mqtt = config.mqtt
    if not config.sensors.enabled or mqtt.host is None:
        return None
    radar = SimulatedRadar(DEMO_RADAR, seed=int(clock().timestamp()))
    return RadarFeed(
        radar, clock, host=mqtt.host, port=mqtt.broker_port, topic_prefix=mqtt.topic_prefix, commune="demo"
    )


def write_config(config: VigieConfig, path: Path) -> None:
    """Write the configuration the demo runs with, so the other commands can be pointed at it."""
    header = "# Written by `vigie demo` at each start; edits are overwritten. Cameras are simulated.\n"
    body = yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    partial = path.with_suffix(".yaml.partial")
    partial.write_text(header + body, encoding="utf-8")
    partial.replace(path)


def run_demo(
    *,
    data_dir: Path,
    host: str,
    port: int,
    cameras: int,
    rtsp_port: int,
    use_rtsp: bool,
    photoreal: Path | None = None,
    mqtt: str | None = None,
    own_broker: bool = True,
    mosquitto: str | None = None,
    webhook: str | None = None,
    renders: DemoRenders | None = None,
) -> int:
    """Run the demo until Ctrl-C. ``renders``: its footage's renders when the caller started them
    (:func:`~vigie.runtime.assembly.demo_scenes.demo_renders` with the same folder and cameras, before importing
    this module), else they start here. MQTT: ``mqtt`` (``host:port``) publishes to a broker already running on this
    machine; else with ``own_broker`` the demo starts its own Mosquitto (``mosquitto``: that binary instead of the
    installed one) and runs without MQTT when there is none; ``own_broker=False`` (``--no-mqtt``): no MQTT."""
    data_dir.mkdir(parents=True, exist_ok=True)
    photo = None if photoreal is None else demo_photo_bank(photoreal)
    if photoreal is not None and photo is None:
        if renders is not None:
            renders.cancel()
        return 2
    if renders is None:
        renders = demo_renders(data_dir, cameras, photo)
    drawn = draw_panorama() if use_rtsp else None  # the dome's, while the scenes render
    with contextlib.ExitStack() as stack:
        stack.callback(renders.cancel)  # Ctrl-C or a failure before the renders end
        dome: DemoDome | None = None
        starting: RtspSimServer | None = None
        if use_rtsp:
            urls, dome, starting = _simulated_cameras(stack, renders, drawn, rtsp_port)
        else:
            urls = _files(renders.footage())
            log.info("no PTZ dome without RTSP: its picture is a live stream, not a file (start without --no-rtsp)")
        for cid, url in urls.items():
            log.info("simulated camera %s: %s", cid, url)
        mqtt = demo_broker_address(stack, data_dir / "mqtt", given=mqtt, own=own_broker, binary=mosquitto)
        models = installed_models(data_dir / "models")
        detector = models[0].name if models else None
        log.info("analysis: %s", f"model {detector}" if detector else "motion detection (no model installed)")
        if detector is not None and photo is None:
            log.warning(
                "the COCO model barely sees the drawn scenes' people and cars (docs/simulator.md): start with "
                "--photoreal DATA_DIR (the folder holding tracking/tud-campus and the plate photos) for scenes it sees"
            )
        scenes = {f"sim{index + 1}": name for index, name in enumerate(demo_scene_names(cameras, photo is not None))}
        street = {cid: url for cid, url in urls.items() if cid != LAPI_CAMERA}
        config = demo_config(
            data_dir,
            host,
            port,
            street,
            detector=detector,
            modules=demo_modules(scenes, detector),
            secrets_key_file=demo_secrets_key(data_dir),
            lapi_url=urls[LAPI_CAMERA],
            dome=dome.camera() if dome is not None else None,
            mqtt=mqtt,
            webhook=webhook,
        )
        if dome is not None:
            dome.store_account(config)
        config_path = data_dir / "vigie.yaml"
        write_config(config, config_path)
        log.info("demo configuration written to %s (use it with vigie audit/compliance --config)", config_path)
        try:
            service = VigieService(config, simulated_cameras=frozenset(urls))
        except (KeyStorageError, ServiceError) as err:  # ServiceError: e.g. --webhook without its secret
            log.error("%s; the demo was not started", err)
            return 2
        login = ensure_demo_account(service.accounts, data_dir, legal_day(service.clock))
        start_lapi(service, config, data_dir)
        radar = demo_radar(config, service.clock)
        if radar is not None:
            stack.enter_context(radar)  # a sensor of its own: it publishes to the broker, vigie serve reads it
        if starting is not None:
            starting.wait_ready()  # the simulated cameras' RTSP server ready (its errors raised here)
        log.info(
            "console: http://%s:%d/ — log in as %r with the password in %s (created for this demo folder only)",
            host,
            port,
            DEMO_USERNAME,
            login,
        )
        return service.run()


def _simulated_cameras(
    stack: contextlib.ExitStack[bool | None], renders: DemoRenders, drawn: Future[Panorama] | None, rtsp_port: int
) -> tuple[dict[str, str], DemoDome | None, RtspSimServer | None]:
    """The cameras' RTSP server and the PTZ dome, once the scenes are rendered: their URLs, the dome, and the server
    when it was launched but not yet waited for (:meth:`RtspSimServer.wait_ready`); the files' URLs and no dome
    where GStreamer's RTSP server is not installed."""
    dome: DemoDome | None = None
    try:
        [dome_port] = free_udp_ports(1)
        # a minute for the mounts to be ready: the demo starts on laptops and loaded test machines, where a feeder
        # can take tens of seconds to send its first keyframe (a demo that gave up would show no camera at all)
        server = RtspSimServer({**renders.planned(), DOME_CAMERA: dome_port}, port=rtsp_port, start_timeout_s=60.0)
        if rtsp_port and rtsp_unavailable_reason() is None:
            # The server's port is known: it starts (GStreamer, seconds) while the scenes render, its feeders once
            # they are, and every mount gets ready while the service is built, on the path to the first event; it
            # is waited for before the service runs.
            server.launch_server()
            stack.callback(server.stop)
            footage = renders.footage()
            server.launch_feeders()
            dome = stack.enter_context(DemoDome(drawn, dome_port))
            dome.start_device(server.planned_url(DOME_CAMERA))
            return {cid: server.planned_url(cid) for cid in footage}, dome, server
        footage = renders.footage()
        dome = stack.enter_context(DemoDome(drawn, dome_port))  # its live feed must flow before the server prepares
        stack.enter_context(server)
        dome.start_device(server.url(DOME_CAMERA))
        return {cid: server.url(cid) for cid in footage}, dome, None
    except RtspUnavailableError as err:
        log.warning("RTSP server unavailable (%s); replaying the footage from files instead, no PTZ dome", err)
        if dome is not None:
            dome.close()
        return _files(renders.footage()), None, None


def _files(footage: dict[str, Path]) -> dict[str, str]:
    return {cid: path.resolve().as_uri() for cid, path in footage.items()}


DEMO_USERNAME = "demo"
DEMO_SECRETS_SUFFIX = ".secrets-key"


def demo_secrets_key(data_dir: Path) -> Path:
    """The demo's secrets key file, created once with a random passphrase (mode 0600) beside its data folder, never
    inside it: ``var/demo`` has ``var/demo.secrets-key``. The demo's private keys (audit signing key, accounts key)
    are encrypted at rest with it, as an installation's are with its own (docs/deployment.md); losing it means a new
    demo folder."""
    folder = data_dir.resolve()
    path = folder.with_name(folder.name + DEMO_SECRETS_SUFFIX)
    if path.exists():
        return path
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another demo start made it meanwhile
        return path
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secrets.token_urlsafe(32) + "\n")
    log.info("created the demo's secrets key file %s (it encrypts the demo's private keys)", path)
    return path


DEMO_LOGIN_FILE = "demo-login.txt"
DEMO_ACTOR = Actor.command_line("demo")


def ensure_demo_account(accounts: AuthService, data_dir: Path, today: date) -> Path:
    """The demo's own operator account (operator, supervisor, investigator): no default password — a random one,
    made for this demo folder and written only to ``demo-login.txt`` (mode 0600), never to the logs."""
    path = data_dir / DEMO_LOGIN_FILE
    password = secrets.token_urlsafe(12)
    if accounts.principal_exists(DEMO_USERNAME):
        if path.is_file():
            accounts.update_user(DEMO_ACTOR, DEMO_USERNAME, authorised_until=today + timedelta(days=365))
            return path
        accounts.reset_password(DEMO_ACTOR, DEMO_USERNAME, password)
    else:
        accounts.add_user(
            DEMO_ACTOR,
            username=DEMO_USERNAME,
            display_name="Opératrice de démonstration",
            commune_id="demo",
            roles=[Role.OPERATOR, Role.SUPERVISOR, Role.INVESTIGATOR],
            password=password,
            authorised_until=today + timedelta(days=365),
            trained_on=today,
        )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(f"username: {DEMO_USERNAME}\npassword: {password}\n")
    return path
