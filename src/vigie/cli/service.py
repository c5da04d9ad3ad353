"""``vigie serve``, ``vigie demo`` and ``vigie config check``: run the service, or check its configuration."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vigie.cli.arguments import Subparsers, with_config


def register(commands: Subparsers) -> None:
    demo_parser = commands.add_parser("demo", help="run the service on simulated cameras (SQLite, local storage)")
    demo_parser.add_argument("--data-dir", type=Path, default=Path("var/demo"), help="where the demo keeps its data")
    demo_parser.add_argument("--host", default="127.0.0.1", help="address of the web console and API")
    demo_parser.add_argument("--port", type=int, default=8080, help="port of the web console and API")
    demo_parser.add_argument(
        "--cameras", type=int, default=2, choices=range(1, 9), metavar="N", help="simulated cameras (1-8)"
    )
    demo_parser.add_argument("--rtsp-port", type=int, default=8554, help="port of the simulated cameras' RTSP server")
    demo_parser.add_argument(
        "--photoreal",
        type=Path,
        metavar="DATA_DIR",
        help="photo-real scenes: people and vehicles cut out of the public footage in DATA_DIR (TUD-Campus, the "
        "plate photos; pinned by SHA-256), which an installed COCO model sees, instead of drawn sprites",
    )
    demo_parser.add_argument(
        "--no-rtsp", action="store_true", help="replay the simulated footage from files instead of RTSP"
    )
    broker = demo_parser.add_mutually_exclusive_group()
    broker.add_argument(
        "--mqtt",
        type=_local_broker,
        metavar="HOST:PORT",
        help="publish to this MQTT broker already running on this machine (anonymous, plain MQTT) instead of "
        "starting the demo's own",
    )
    broker.add_argument(
        "--no-mqtt",
        action="store_true",
        help="run without MQTT: no broker, no MQTT messages, no simulated radar",
    )
    demo_parser.add_argument(
        "--mosquitto",
        metavar="BINARY",
        help="the Mosquitto binary for the demo's own broker (default: mosquitto on PATH, else /usr/sbin/mosquitto). "
        "By default the demo starts its own broker on a free port of 127.0.0.1 (data in DATA_DIR/mqtt), publishes "
        "confirmed alerts, camera states and health there (topics vigie/demo/..., docs/integrations.md) and runs a "
        "simulated radar publishing traffic there, which the demo reads; without Mosquitto it runs without MQTT",
    )
    demo_parser.add_argument(
        "--webhook",
        type=_demo_webhook_url,
        metavar="URL",
        help="POST confirmed alerts and health events to this URL (https, or http on this machine), signed with the "
        "whsec_ secret in the environment variable VIGIE_DEMO_WEBHOOK_SECRET (docs/integrations.md#webhooks)",
    )
    demo_parser.set_defaults(handler=demo)

    serve_parser = with_config(commands.add_parser("serve", help="run the service from a configuration file"))
    serve_parser.add_argument(
        "--new-database",
        action="store_true",
        help="start on an empty database even though the data folder shows a previous life (audit keys, "
        "recordings, published heads): a new audit chain, whose first entry names the previous one's last head",
    )
    serve_parser.set_defaults(handler=serve)

    api_parser = with_config(
        commands.add_parser(
            "api",
            help="run one more API process (no cameras, no periodic jobs) beside `vigie serve`, behind a load balancer",
        )
    )
    api_parser.add_argument("--port", type=int, help="listen on this port instead of the configuration's api.port")
    api_parser.set_defaults(handler=api)

    config = commands.add_parser("config", help="configuration tools").add_subparsers(metavar="COMMAND", required=True)
    check = config.add_parser("check", help="validate a configuration file and report every error")
    check.add_argument("file", type=Path, metavar="FILE")
    check.set_defaults(handler=config_check)


def serve(args: argparse.Namespace) -> int:
    return _run(args, api_only=False)


def api(args: argparse.Namespace) -> int:
    """One of several stateless API processes: the database, the keys folder and the exports folder are shared
    with `vigie serve` (docs/deployment.md, "several API processes behind a load balancer")."""
    return _run(args, api_only=True)


def _run(args: argparse.Namespace, *, api_only: bool) -> int:
    from vigie.config import ConfigError, format_issues, load_config
    from vigie.governance.keys_folder import KeyStorageError
    from vigie.runtime.assembly.module_settings import check_module_settings
    from vigie.runtime.assembly.service import ServiceError, VigieService

    try:
        config = load_config(args.config, [check_module_settings])
    except ConfigError as err:
        print(format_issues(err.issues), file=sys.stderr)
        print("vigie: the configuration is invalid; nothing was started", file=sys.stderr)
        return 2
    if api_only and args.port is not None:
        config = config.model_copy(update={"api": config.api.model_copy(update={"port": args.port})})
    try:
        service = VigieService(config, new_database=getattr(args, "new_database", False))
    except (ServiceError, KeyStorageError) as err:  # KeyStorageError: the private keys as stored or given (L15)
        print(f"vigie: {err}; nothing was started", file=sys.stderr)
        return 2
    return service.run(api_only=api_only)


def demo(args: argparse.Namespace) -> int:
    from vigie.runtime.assembly.demo_scenes import demo_renders

    # The footage's renders first, in processes of their own, while this one imports the platform (seconds on the
    # way to the first event); photo-real scenes need the cut-out bank first: run_demo starts those.
    renders = None if args.photoreal is not None else demo_renders(args.data_dir, args.cameras)
    from vigie.runtime.assembly.demo import run_demo

    return run_demo(
        renders=renders,
        data_dir=args.data_dir,
        host=args.host,
        port=args.port,
        cameras=args.cameras,
        rtsp_port=args.rtsp_port,
        use_rtsp=not args.no_rtsp,
        photoreal=args.photoreal,
        mqtt=args.mqtt,
        own_broker=not args.no_mqtt,
        mosquitto=args.mosquitto,
        webhook=args.webhook,
    )


LOCAL_BROKER_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


def _local_broker(value: str) -> str:
    """``host:port`` of a broker on this machine: the demo speaks plain MQTT, which never leaves the machine."""
    host, _, port = value.rpartition(":")
    if host not in LOCAL_BROKER_HOSTS or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(
            f"{value!r}: give HOST:PORT of a broker on this machine (e.g. 127.0.0.1:1883); a broker elsewhere needs "
            "TLS and an account: use `vigie serve` with an mqtt section (docs/integrations.md)"
        )
    return value


def _demo_webhook_url(value: str) -> str:
    """A URL the ``webhooks`` section accepts: https, or plain http to this machine only (L15)."""
    from pydantic import ValidationError

    from vigie.config.models import WebhookEndpoint
    from vigie.runtime.assembly.demo import DEMO_WEBHOOK_SECRET_ENV

    try:
        WebhookEndpoint(name="demo", url=value, communes=("demo",), secret_env=DEMO_WEBHOOK_SECRET_ENV)
    except ValidationError as err:
        problem = err.errors()[0]
        hint = (problem.get("ctx") or {}).get("hint", "")
        raise argparse.ArgumentTypeError(f"{problem['msg']}{f' ({hint})' if hint else ''}") from None
    return value


def config_check(args: argparse.Namespace) -> int:
    from vigie.config.check_command import check_command
    from vigie.runtime.assembly.map import check_map
    from vigie.runtime.assembly.module_settings import check_module_settings

    return check_command(args.file, checks=[check_module_settings, check_map])
