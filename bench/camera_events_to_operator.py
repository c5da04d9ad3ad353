"""From a camera's tamper event to the operator's camera list, through ``vigie serve`` (issue 19).

The service is built and started as ``vigie serve`` builds it (:class:`vigie.runtime.assembly.service.VigieService`:
its supervisor, sink, camera lists and API), with one camera whose ONVIF services are a simulated camera
(``vigie.sim.onvif.OnvifSimulator``, real HTTP) and whose account is in the credentials store. An operator reads
``GET /api/cameras`` as the console does; ``--cycles`` times the camera reports its picture too dark, then not,
and each transition is timed from the simulator's raise to the list showing it (or no longer showing it).

What the figure is made of: the pull's answer (milliseconds, ``bench/camera_events.py``), the sink's next routing
of camera events (every 0.5 s), the health store's cache of the API process (1 s) and the shared camera list's
(2 s, rebuilt in the background: ``vigie.api.camera_lists``).

    .venv/bin/python bench/camera_events_to_operator.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "Cam-acc0unt-pw-bench"
LOGIN = "correct horse battery staple 1"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=10)
    args = parser.parse_args()

    from fastapi.testclient import TestClient
    from tests.support.clocks import T0, FakeClock
    from tests.support.configs import camera_yaml, config_yaml

    from vigie.config import load_config_text
    from vigie.devices.event_listener import SubscriptionState
    from vigie.domain.actor import Actor
    from vigie.domain.clock import legal_day
    from vigie.domain.users import Role
    from vigie.governance.camera_credentials import CameraCredentialStore
    from vigie.runtime.assembly.audit import keys_folder
    from vigie.runtime.assembly.service import VigieService
    from vigie.sim.onvif import OnvifSimulator, SimDeviceSpec, SimProfile, SimTopic

    profile = SimProfile("main", "Main", "rtsp://127.0.0.1:9/cam-a", width=1280, height=720, fps=15)
    spec = SimDeviceSpec(name="cam-a", username="vigie-events", password=PASSWORD, profiles=(profile,))
    with OnvifSimulator([spec]) as sim, tempfile.TemporaryDirectory() as folder:
        clock = FakeClock(T0)
        day = legal_day(clock)
        valid = ((day - timedelta(days=30)).isoformat(), (day + timedelta(days=365)).isoformat())
        url = "rtsp://127.0.0.1:9/cam-a"
        camera = camera_yaml("cam-a", url, valid=valid).replace(
            f"main_stream: {url}\n",
            f"main_stream: {url}\n            credentials: cam-a\n"
            f"            onvif: {{host: 127.0.0.1, port: {sim.address('cam-a')[1]}}}\n",
        )
        config = load_config_text(config_yaml(Path(folder), camera))
        CameraCredentialStore(keys_folder(config)).set("cam-a", "vigie-events", PASSWORD)
        service = VigieService(config, clock=clock)
        service.accounts.add_user(
            Actor.command_line("bench"),
            username="op",
            display_name="Op",
            commune_id="testville",
            roles=[Role.OPERATOR],
            password=LOGIN,
            authorised_until=day + timedelta(days=365),
            trained_on=day,
        )
        api = TestClient(service.app)
        api.post("/api/auth/login", json={"username": "op", "password": LOGIN}).raise_for_status()

        def shown() -> bool:
            cameras = api.get("/api/cameras").json()
            return "image_too_dark" in next(c for c in cameras if c["id"] == "cam-a")["reason"]

        service.start()
        latencies = []
        try:
            started = time.monotonic()
            while service.camera_events.listener.subscriptions()[0].state is not SubscriptionState.SUBSCRIBED:
                if time.monotonic() - started > 60:
                    print("the camera was not subscribed within 60 s", file=sys.stderr)
                    return 1
                time.sleep(0.05)
            subscribed_s = time.monotonic() - started
            for _ in range(args.cycles):
                for active in (True, False):
                    raised = time.monotonic()
                    sim.raise_event("cam-a", SimTopic.IMAGE_TOO_DARK, active)
                    while shown() != active and time.monotonic() - raised < 30:
                        time.sleep(0.02)
                    latencies.append(time.monotonic() - raised)
        finally:
            service.stop()
    latencies.sort()
    print(f"transitions timed: {len(latencies)} (raised and cleared, {args.cycles} times)")
    print(f"subscribed_after_start_s: {subscribed_s:.2f}")
    print(f"event_to_operator_max_s: {latencies[-1]:.2f}")
    print(f"event_to_operator_median_s: {statistics.median(latencies):.2f}")
    return 0 if latencies[-1] < 30 else 1


if __name__ == "__main__":
    sys.exit(main())
