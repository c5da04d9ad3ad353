"""Onboarding 100 ONVIF cameras from a discovery result (issue 19; goal: under 60 s on this machine).

The cameras are simulated (``vigie.sim.onvif.OnvifSimulator``: one HTTP port per device, SOAP 1.2, WS-Security
digests checked, a WS-Discovery responder on a UDP port), every ``--dome-every``-th a PTZ dome
(``vigie.sim.dome.SimulatedDome``) and, with ``--multisensor-every``, every N-th other one a multi-sensor housing
(alternately four fixed sensors around a dome, and three visible sensors beside a thermal one, each sensor a camera),
served by a separate ``spawn``-ed process so that the client's time is its own.
The client side is the production path of ``vigie devices discover`` then ``vigie devices onboard --discovery``:

1. **discover**: one WS-Discovery probe to the responder, replies collected for ``--discovery-timeout`` s (the whole
   window counts: a probe cannot know the last camera has answered);
2. **onboard**: every discovered device described over ONVIF (GetServices, GetDeviceInformation, GetProfiles,
   GetStreamUri per profile, GetNodes for domes, the Thermal service's GetConfigurations for thermal housings)
   ``--concurrency`` at once, its camera entries (one per video source) made and validated;
3. **check**: the entries merged into a configuration and loaded by ``vigie.config`` (what ``--config`` does).

``onboarded_100_s`` = discover + onboard + check, cold (the first onboarding of the process parses the ONVIF WSDLs,
as a ``vigie devices onboard`` run does). The onboarding is then timed again warm, concurrently and one device at a
time, for the ratio the concurrency buys (on loopback, where a device answers in well under a millisecond of
network, little: it is there for real cameras' round trips).

    .venv/bin/python bench/onvif_onboarding.py
    .venv/bin/python bench/onvif_onboarding.py --cameras 200 --concurrency 32
    .venv/bin/python bench/onvif_onboarding.py --multisensor-every 3    # a mixed set: domes, housings, fixed
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def serve(count: int, dome_every: int, multisensor_every: int, conn: Connection) -> None:
    """The simulated cameras, in their own process until told to stop."""
    from tests.support.onvif_sim import device_specs

    from vigie.sim.onvif import OnvifSimulator

    specs = device_specs(count, dome_every=dome_every, multisensor_every=multisensor_every, clock=time.monotonic)
    with OnvifSimulator(specs, discovery_port=0) as sim:
        conn.send(sim.discovery_address)
        conn.recv()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=100)
    parser.add_argument("--dome-every", type=int, default=4, help="every N-th device is a PTZ dome")
    parser.add_argument(
        "--multisensor-every",
        type=int,
        default=0,
        help="every N-th other device is a multi-sensor housing (4 fixed + a dome, or 3 visible + a thermal)",
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--discovery-timeout", type=float, default=2.0)
    args = parser.parse_args()

    import yaml
    from tests.support.configs import authorised_around, config_yaml
    from tests.support.onvif_sim import PASSWORD, USERNAME

    from vigie.config.loader import load_config_text
    from vigie.devices.discovery import probe
    from vigie.devices.onboarding import OnboardingTemplate, merge_into, onboard, rows_from_discovery

    valid_from, valid_until = authorised_around()
    template = OnboardingTemplate.model_validate(
        {
            "commune": "testville",
            "site": "gare",
            "authorisation": {
                "reference": "2026-DS-0042",
                "valid_from": valid_from,
                "valid_until": valid_until,
                "purposes": ["crime_prevention"],
                "retention_days": 15,
            },
            "location": {"lat": 45.76, "lon": 4.86},
            "username": USERNAME,
            "password_env": "BENCH_ONVIF_PASSWORD",
            "credentials": "onvif-gare",
        }
    )
    environ = {"BENCH_ONVIF_PASSWORD": PASSWORD}
    context = mp.get_context("spawn")
    here, there = context.Pipe()
    server = context.Process(
        target=serve, args=(args.cameras, args.dome_every, args.multisensor_every, there), daemon=True
    )
    server.start()
    try:
        if not here.poll(120):
            print("the simulated cameras did not start", file=sys.stderr)
            return 1
        discovery_address = here.recv()
        started = time.perf_counter()
        found = probe(target=discovery_address, timeout_s=args.discovery_timeout)
        discovered = time.perf_counter()
        rows = rows_from_discovery(found, template)
        report = asyncio.run(onboard(rows, template, environ=environ, concurrency=args.concurrency))
        onboarded = time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            base = yaml.safe_load(config_yaml(Path(folder), ""))
            merged = merge_into(base, yaml.safe_load(report.to_yaml()))
            config = load_config_text(yaml.safe_dump(merged), "merged.yaml")
        checked = time.perf_counter()
        # Warm (the WSDLs parsed once per process, as above): the same devices again, concurrently and one by one.
        warm = time.perf_counter()
        asyncio.run(onboard(rows, template, environ=environ, concurrency=args.concurrency))
        warm = time.perf_counter() - warm
        one_by_one = time.perf_counter()
        sequential = asyncio.run(onboard(rows, template, environ=environ, concurrency=1))
        one_by_one = time.perf_counter() - one_by_one
    finally:
        here.send("stop")
        server.join(30)
    from tests.support.onvif_sim import device_specs

    specs = device_specs(
        args.cameras, dome_every=args.dome_every, multisensor_every=args.multisensor_every, clock=time.monotonic
    )  # what the server serves, for the counts expected
    expected = {
        "cameras": sum(len(spec.sources) for spec in specs),
        "ptz": sum(1 for spec in specs if spec.ptz is not None),
        "thermal": sum(1 for spec in specs for source in spec.sources if source.thermal),
        "housings": sum(1 for spec in specs if len(spec.sources) > 1),
    }
    cameras = [p.camera for p in config.placements() if p.site.id == "gare"]
    got = {
        "cameras": len(cameras),
        "ptz": sum(1 for camera in cameras if camera.kind == "ptz"),
        "thermal": sum(1 for c in cameras if c.kind == "thermal" and c.analysis.detector is not None),
        "housings": len({camera.device for camera in cameras if camera.device is not None}),
    }
    print(f"discovered {len(found.devices)}/{args.cameras} devices ({found.malformed} unreadable replies)")
    print(
        f"onboarded {got['cameras']} cameras from {args.cameras} devices: {got['ptz']} ptz, {got['thermal']} thermal "
        f"with hot_blob, {got['housings']} multi-sensor housings (expected {expected})"
    )
    print(f"failed: {len(report.failures)} device(s)")
    for device, reason in report.failures[:5]:
        print(f"  {device}: {reason}")
    total = checked - started
    print(f"discover_s: {discovered - started:.2f}")
    print(f"onboard_s (concurrency {args.concurrency}): {onboarded - discovered:.2f}")
    print(f"config_check_s: {checked - onboarded:.2f}")
    print(f"onboard_again_s (warm, concurrency {args.concurrency}): {warm:.2f}")
    print(f"onboard_again_one_at_a_time_s: {one_by_one:.2f} ({len(sequential.cameras)} cameras)")
    print(f"concurrency_speedup_warm: {one_by_one / warm:.2f}")
    ok = got == expected and not report.failures
    print(f"all_right: {ok}")
    print(f"onboarded_{args.cameras}_s: {total:.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
