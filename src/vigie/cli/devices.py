"""``vigie devices discover | describe | onboard``: find ONVIF cameras on a network, read what one says of itself,
and turn many into camera entries of the configuration (:mod:`vigie.devices`). These talk to cameras only: they
need no configuration, database or signed-in account, and never print or write a password.

Exit codes: 0 success; 1 a device (or, for ``onboard``, at least one device) failed, the others written; 2 bad
input (the message names the file, line and what to do).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vigie.cli.arguments import Subparsers

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


def register(commands: Subparsers) -> None:
    devices = commands.add_parser("devices", help="ONVIF cameras: discover, describe, onboard")
    sub = devices.add_subparsers(metavar="COMMAND", required=True)
    discover = sub.add_parser("discover", help="find ONVIF cameras with a WS-Discovery probe")
    where = discover.add_mutually_exclusive_group()
    where.add_argument(
        "--interface", metavar="IP", help="this host's IPv4 address on the camera network (the probe leaves there)"
    )
    where.add_argument("--to", metavar="HOST:PORT", help="probe one address instead of the multicast group")
    discover.add_argument("--timeout", type=float, default=3.0, metavar="S", help="seconds to collect replies")
    discover.add_argument("--json", type=Path, metavar="OUT", help="write the result here (for `onboard`)")
    discover.set_defaults(handler=discover_command)
    describe = sub.add_parser("describe", help="identity, media profiles and PTZ of one ONVIF device")
    describe.add_argument("address", metavar="HOST[:PORT]", help="the device (port 80 by default)")
    _account(describe, required=True)
    describe.add_argument("--timeout", type=float, default=10.0, metavar="S")
    describe.set_defaults(handler=describe_command)
    onboard = sub.add_parser("onboard", help="describe many devices and write their camera entries (YAML)")
    source = onboard.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--csv",
        type=Path,
        metavar="FILE",
        help="columns host, port, username, password_env or password_file; optional id, name, commune, site, "
        "setting, lat, lon, address, credentials",
    )
    source.add_argument(
        "--discovery", type=Path, metavar="FILE.json", help="what `vigie devices discover --json` wrote"
    )
    onboard.add_argument(
        "--template",
        type=Path,
        required=True,
        metavar="FILE.yaml",
        help="commune, site, authorisation (and for discovered devices: username, password_env or password_file, "
        "location) the cameras share",
    )
    onboard.add_argument("-o", "--output", type=Path, required=True, metavar="cameras.yaml")
    onboard.add_argument(
        "--config", type=Path, metavar="FILE", help="also check the entries merged into this configuration validate"
    )
    onboard.add_argument("--timeout", type=float, default=10.0, metavar="S", help="per device")
    onboard.add_argument("--concurrency", type=int, default=16, metavar="N", help="devices described at once")
    onboard.set_defaults(handler=onboard_command)


def _account(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--username", required=required, help="the ONVIF account (never a factory one: L17)")
    secret = parser.add_mutually_exclusive_group(required=required)
    secret.add_argument("--password-env", metavar="VAR", help="environment variable holding the password")
    secret.add_argument("--password-file", type=Path, metavar="FILE", help="file holding the password (one line)")


def _error(command: str, message: object) -> None:
    print(f"vigie devices {command}: error: {message}", file=sys.stderr)


def _address(text: str, default_port: int) -> tuple[str, int]:
    host, _, port = text.rpartition(":") if text.count(":") == 1 else (text, "", "")
    if not port:
        return text, default_port
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r}: the port must be a number 1..65535 (HOST:PORT)")
    return host, int(port)


def discover_command(args: argparse.Namespace) -> int:
    from vigie.devices.discovery import DiscoveryError, probe

    try:
        target = _address(args.to, 3702) if args.to else None
        result = probe(interface=args.interface, target=target, timeout_s=args.timeout)
    except ValueError as err:
        _error("discover", err)
        return EXIT_BAD_INPUT
    except DiscoveryError as err:
        _error("discover", err)
        return EXIT_FAILURE
    for device in result.devices:
        address = device.host_port
        shown = f"{address[0]}:{address[1]}" if address else " ".join(device.xaddrs)
        print(f"{shown:<24} {device.name or '-':<32} {device.hardware or '-':<20} {device.endpoint}")
    print(
        f"{len(result.devices)} device(s) answered {result.target} in {result.duration_s:.1f} s"
        + (f"; {result.malformed} unreadable repl(ies) ignored" if result.malformed else "")
    )
    if args.json is not None:
        args.json.write_text(result.to_json() + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return EXIT_OK


def describe_command(args: argparse.Namespace) -> int:
    import asyncio
    import os

    from vigie.config.camera import DEFAULT_CREDENTIALS
    from vigie.devices.onboarding import DeviceRow, read_password
    from vigie.devices.onvif import OnvifError, describe

    try:
        host, port = _address(args.address, 80)
        row = DeviceRow(0, host, port, args.username, args.password_env, args.password_file)
        password, _ = read_password(row, os.environ)
    except ValueError as err:
        _error("describe", err)
        return EXIT_BAD_INPUT
    if (args.username, password) in DEFAULT_CREDENTIALS:
        print(
            f"vigie devices describe: warning: {args.username!r} with that password is a factory account; "
            "`vigie devices onboard` refuses this camera until it has a unique account (L17)",
            file=sys.stderr,
        )
    try:
        found = asyncio.run(describe(host, port, args.username, password, timeout_s=args.timeout))
    except OnvifError as err:
        _error("describe", err)
        return EXIT_FAILURE
    print(f"{found.manufacturer} {found.model} (firmware {found.firmware}, serial {found.serial})")
    for profile in found.profiles:
        size = f"{profile.width}x{profile.height}" if profile.width else "?"
        print(
            f"  profile {profile.token}: {profile.encoding or '?'} {size} {profile.fps or '?'} fps {profile.stream_uri}"
        )
    if len(found.sources) > 1 or found.thermal_sources:  # a multi-sensor or thermal device: what onboarding makes
        print(f"  {len(found.sources)} video source(s), one camera each when onboarded:")
        for source in found.sources:
            marks = [m for m, on in (("thermal", source.thermal), ("PTZ", source.ptz_profile)) if on]
            profiles = ", ".join(p.token for p in source.profiles)
            print(f"    {source.token}{' (' + ', '.join(marks) + ')' if marks else ''}: {profiles}")
    if found.ptz is None:
        print("  no PTZ")
    else:
        ptz = found.ptz
        print(f"  PTZ node {ptz.node_token}: {ptz.max_presets} presets, home {'yes' if ptz.home_supported else 'no'}")
        for space in ptz.spaces:
            print(f"    {space}")
    return EXIT_OK


def onboard_command(args: argparse.Namespace) -> int:
    import asyncio

    from vigie.devices.discovery import load_result
    from vigie.devices.onboarding import OnboardingInputError, load_template, onboard, parse_csv, rows_from_discovery

    try:
        template = load_template(args.template)
        if args.csv is not None:
            # utf-8-sig: a spreadsheet's "CSV UTF-8" export starts with a byte-order mark
            rows = parse_csv(args.csv.read_text(encoding="utf-8-sig"), str(args.csv))
        else:
            rows = rows_from_discovery(load_result(args.discovery), template)
    except (OnboardingInputError, ValueError, OSError) as err:
        _error("onboard", err)
        return EXIT_BAD_INPUT
    report = asyncio.run(onboard(rows, template, timeout_s=args.timeout, concurrency=args.concurrency))
    for device, reason in report.failures:
        _error("onboard", f"{device}: {reason}")
    if args.config is not None and report.cameras and not _fits(args.config, report.fragment()):
        return EXIT_BAD_INPUT
    args.output.write_text(report.to_yaml(), encoding="utf-8")
    print(f"wrote {args.output}: {len(report.cameras)} camera(s); {len(report.failures)} device(s) failed")
    return EXIT_FAILURE if report.failures else EXIT_OK


def _fits(config_path: Path, fragment: dict[str, object]) -> bool:
    """Whether the configuration with the new cameras merged in still validates (nothing is written to it)."""
    import yaml

    from vigie.config.issues import ConfigError
    from vigie.config.loader import load_config_text
    from vigie.devices.onboarding import merge_into

    try:
        merged = merge_into(yaml.safe_load(config_path.read_text(encoding="utf-8")), fragment)
        load_config_text(yaml.safe_dump(merged, sort_keys=False, allow_unicode=True), f"{config_path} + new cameras")
    except (OSError, yaml.YAMLError, KeyError) as err:
        _error("onboard", f"{config_path}: {err}")
        return False
    except ConfigError as err:
        _error("onboard", f"the entries do not fit {config_path}:\n{err}")
        return False
    return True
