"""`vigie serve` drives the domes of its configuration over ONVIF: a camera with `onvif:` settings and an account
in the credentials store is a dome of the API's PTZ routes (here the simulated ONVIF camera with the simulated
dome); a dome that does not answer is a 503 naming it, and never stops the service."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.clocks import FakeClock
from tests.support.configs import camera_yaml, config_yaml
from tests.support.operators import operator_client
from tests.support.servers import free_port
from vigie.config import load_config_text
from vigie.domain.audit import AuditAction
from vigie.domain.clock import legal_day
from vigie.domain.ptz import DomeOptics
from vigie.governance.camera_credentials import CameraCredentialStore
from vigie.runtime.assembly.audit import keys_folder
from vigie.runtime.assembly.service import VigieService
from vigie.runtime.workers.analysis import WorkerSpec
from vigie.runtime.workers.recorder import RecorderSpec
from vigie.sim.dome import SimulatedDome
from vigie.sim.onvif import OnvifSimulator, SimDeviceSpec, SimProfile
from vigie.sim.panorama import PanoramaSpec, panorama

PASSWORD = "correct horse battery staple 1"
DOME_PASSWORD = "Dome-acc0unt-pw"


class Seconds:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def ptz_camera(camera_id: str, port: int, valid: tuple[str, str]) -> str:
    url = f"rtsp://127.0.0.1:9/{camera_id}"
    text = camera_yaml(camera_id, url, valid=valid).replace("kind: fixed", "kind: ptz")
    return text.replace(
        f"main_stream: {url}\n",
        f"main_stream: {url}\n            credentials: {camera_id}\n"
        f"            onvif: {{host: 127.0.0.1, port: {port}, home_after_s: 60}}\n",
    )


def camera_id(spec: RecorderSpec | WorkerSpec) -> str:
    return spec.camera_id if isinstance(spec, RecorderSpec) else spec.stream.camera_id


@pytest.fixture
def dome_clock() -> Seconds:
    return Seconds()


@pytest.fixture
def simulator(dome_clock: Seconds) -> Iterator[OnvifSimulator]:
    dome = SimulatedDome(DomeOptics(), panorama(PanoramaSpec(width=1024, height=384)), dome_clock, walkers=False)
    spec = SimDeviceSpec(
        name="dome-1",
        username="vigie-ptz",
        password=DOME_PASSWORD,
        profiles=(SimProfile("main", "Main", "rtsp://127.0.0.1:9/dome-1", width=1280, height=720, fps=15),),
        ptz=dome,
    )
    with OnvifSimulator([spec], host="127.0.0.1") as sim:
        yield sim


def test_the_service_drives_its_domes_over_onvif(
    tmp_path: Path, simulator: OnvifSimulator, dome_clock: Seconds
) -> None:
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    day = legal_day(clock)
    valid = ((day - timedelta(days=30)).isoformat(), (day + timedelta(days=365)).isoformat())
    _, port = simulator.address("dome-1")
    cameras = ptz_camera("dome-1", port, valid) + ptz_camera("dome-2", free_port(), valid)  # dome-2 answers nothing
    config = load_config_text(config_yaml(tmp_path, cameras))
    store = CameraCredentialStore(keys_folder(config))
    store.set("dome-1", "vigie-ptz", DOME_PASSWORD)
    store.set("dome-2", "vigie-ptz", "another-pw-2")
    service = VigieService(config, clock=clock)
    assert service.ptz is service.api_services.ptz and service.ptz.cameras == ["dome-1", "dome-2"]
    api = operator_client(service, clock, PASSWORD)
    moved = api.post(
        "/api/cameras/dome-1/ptz/move", json={"kind": "absolute", "vector": {"pan": -0.4, "tilt": -0.1, "zoom": 0.2}}
    )
    assert moved.status_code == 200, moved.text
    dome_clock.now += 10
    position = api.get("/api/cameras/dome-1/ptz").json()["status"]["position"]
    assert position == pytest.approx({"pan": -0.4, "tilt": -0.1, "zoom": 0.2}, abs=1e-3)
    unreachable = api.post("/api/cameras/dome-2/ptz/stop")
    assert unreachable.status_code == 503 and "camera dome-2" in unreachable.json()["error"]["message"]
    assert "another-pw-2" not in unreachable.text
    # auto-tracking is wired on every dome, behind the database's gate: no activation, no tracking (nor a look)
    assert sorted(service.tracking.domes) == ["dome-1", "dome-2"]
    follow = api.post("/api/cameras/dome-1/ptz/track", json={"x": 0.4, "y": 0.4, "w": 0.1, "h": 0.2})
    assert follow.status_code == 403 and follow.json()["error"]["code"] == "not_activated", follow.text
    assert "ptz_autotracking needs an activation covering this camera" in follow.json()["error"]["message"]
    assert api.get("/api/cameras/dome-1/ptz").json()["tracking"]["active"] is False
    service.close_domes()
    with sqlite3.connect(tmp_path / "vigie.db") as db:
        query = "SELECT actor, target, details FROM audit_entries WHERE action = ?"
        moves = db.execute(query, (AuditAction.PTZ_MOVED.value,))
        (actor, target, details), *_ = list(moves)
    assert (actor, target) == ("op", "camera:dome-1") and json.loads(details)["command"] == "absolute"


def test_a_dome_whose_masks_cannot_follow_it_is_not_recorded_nor_shown(tmp_path: Path) -> None:
    """Masks in pan/tilt need the dome's position on every frame: a dome with masks and no ONVIF device to read it
    from is refused — no recording, no live view, no analysis — rather than shown or stored unmasked (L6); a dome
    with one records, is shown and analysed with its masks following it, its position read by the recorder and
    the analysis with its account."""
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    day = legal_day(clock)
    valid = ((day - timedelta(days=30)).isoformat(), (day + timedelta(days=365)).isoformat())
    masks = (
        "            ptz_privacy_masks:\n"
        "              - {id: fenetres, points: [[-10.0, 5.0], [10.0, 5.0], [10.0, -5.0], [-10.0, -5.0]]}\n"
    )
    blind = camera_yaml("dome-0", "rtsp://127.0.0.1:9/dome-0", valid=valid).replace("kind: fixed", "kind: ptz")
    followed = ptz_camera("dome-1", free_port(), valid) + masks
    config = load_config_text(
        config_yaml(tmp_path, blind + masks + followed + ptz_camera("dome-2", free_port(), valid))
    )
    store = CameraCredentialStore(keys_folder(config))
    store.set("dome-1", "vigie-ptz", DOME_PASSWORD)
    store.set("dome-2", "vigie-ptz", DOME_PASSWORD)
    service = VigieService(config, clock=clock)
    reason = service.camera_refusal("dome-0")
    assert reason is not None and "privacy mask(s) on a PTZ dome that does not report its position" in reason
    assert service.authorisations.refusal("dome-0") == reason  # what live view, the wall and the camera list ask
    assert service.live.refusal("dome-0") == reason
    assert service.camera_refusal("dome-1") is None and service.camera_refusal("dome-2") is None

    hosted = [spec for slot in service.supervisor._slots.values() for spec in slot.spec.cameras]  # type: ignore[union-attr]
    specs = {(type(spec).__name__, camera_id(spec)): spec for spec in hosted}
    recorder, analysis = specs["RecorderSpec", "dome-1"], specs["WorkerSpec", "dome-1"]
    assert recorder.dome is not None and recorder.dome == analysis.dome
    assert [m.name for m in recorder.dome.masks] == ["fenetres"]
    assert (recorder.dome.username, recorder.dome.password) == ("vigie-ptz", DOME_PASSWORD)
    assert DOME_PASSWORD not in repr(recorder.dome)
    assert specs["RecorderSpec", "dome-2"].dome is None, "no masks: remuxed, its position never read"


def test_an_api_process_leaves_the_domes_to_vigie_serve(tmp_path: Path, simulator: OnvifSimulator) -> None:
    """`vigie api` processes run beside `vigie serve` behind a balancer: a dome's lock, tours and auto-tracking live
    in `vigie serve`, so an API process does not drive domes (two processes would fight over one); its PTZ routes
    say where to route them, and nothing moves."""
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    day = legal_day(clock)
    valid = ((day - timedelta(days=30)).isoformat(), (day + timedelta(days=365)).isoformat())
    config = load_config_text(config_yaml(tmp_path, ptz_camera("dome-1", simulator.address("dome-1")[1], valid)))
    CameraCredentialStore(keys_folder(config)).set("dome-1", "vigie-ptz", DOME_PASSWORD)
    service = VigieService(config, clock=clock)
    api = operator_client(service, clock, PASSWORD)
    service.start_api()
    try:
        for answer in (
            api.get("/api/cameras/ptz"),
            api.post("/api/cameras/dome-1/ptz/move", json={"kind": "continuous", "vector": {"pan": 0.5}}),
        ):
            assert answer.status_code == 503, answer.text
            message = answer.json()["error"]["message"]
            assert "driven by `vigie serve` alone" in message and "load balancer" in message
    finally:
        service.stop_api()
    with sqlite3.connect(tmp_path / "vigie.db") as db:
        moves = db.execute("SELECT COUNT(*) FROM audit_entries WHERE action = ?", (AuditAction.PTZ_MOVED.value,))
        assert moves.fetchone() == (0,)
