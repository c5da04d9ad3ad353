"""Several API processes behind a load balancer (issue 17): whatever one process begins, another finishes.

Two services built by the production composition (``VigieService``, as ``vigie serve`` and ``vigie api`` build
it) on one database and one data folder, each served by its own uvicorn; one of them, where a process must die,
is a real ``vigie api`` process. A person's requests alternate between them as a load balancer would send them: a
single sign-on begun on one is finished on the other, an export asked on one is followed, cancelled and downloaded
on the other, a playback URL signed by one plays on the other, a recording-gap alarm the cameras' process raises
shows and clears on the other. On PostgreSQL (the cluster's control plane) and on
SQLite (one host).
"""

from __future__ import annotations

import hashlib
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.recording.export_samples import record
from tests.support.clocks import FakeClock
from tests.support.configs import camera_yaml, config_yaml
from tests.support.databases import fresh_database
from tests.support.held_segments import held, release
from tests.support.servers import free_port, serving
from tests.support.sign_on import LABEL, SECRET, Stack
from tests.support.vigie_cli import start_vigie, stop_vigie
from tests.support.waiting import wait_for
from vigie.config import load_config_text
from vigie.domain.actor import Actor
from vigie.domain.audit import AuditAction
from vigie.domain.clock import legal_day
from vigie.domain.recording import Segment
from vigie.domain.users import Role
from vigie.runtime.assembly.service import VigieService
from vigie.services.exports import STALE_AFTER
from vigie.storage import SqlAuditStore

PASSWORD = "correct horse battery staple 17"
CAMERA = "cam-1"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def clock() -> FakeClock:
    # The host's time: a real `vigie api` process (system clock) shares the database with these services.
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


def configuration(tmp_path: Path, database_url: str, clock: FakeClock, extra: str = "") -> Path:
    day = legal_day(clock)
    valid = ((day - timedelta(days=30)).isoformat(), (day + timedelta(days=365)).isoformat())
    text = config_yaml(tmp_path, camera_yaml(CAMERA, f"rtsp://127.0.0.1:9/{CAMERA}", valid=valid))
    text = text.replace(f"database_url: sqlite:///{tmp_path / 'vigie.db'}", f"database_url: {database_url}")
    path = tmp_path / "vigie.yaml"
    path.write_text(extra + text, encoding="utf-8")
    return path


@dataclass
class Installation:
    config: Path
    first: VigieService
    second: VigieService
    clock: FakeClock
    footage: list[Path]
    """The camera's segment files, in order."""


def build(config: Path, clock: FakeClock) -> VigieService:
    return VigieService(load_config_text(config.read_text(encoding="utf-8")), clock=clock)


@pytest.fixture
def installation(tmp_path: Path, database_url: str, clock: FakeClock) -> Iterator[Installation]:
    config = configuration(tmp_path, database_url, clock)
    first = build(config, clock)
    day = legal_day(clock)
    first.accounts.add_user(
        Actor.command_line("setup"),
        username="inv.test",
        display_name="Inv Test",
        commune_id="testville",
        roles=[Role.INVESTIGATOR, Role.OPERATOR],
        password=PASSWORD,
        authorised_until=day + timedelta(days=365),
        trained_on=day - timedelta(days=30),
    )
    second = build(config, clock)  # after an audit entry: an empty chain beside existing keys is refused (D10)
    segments = record(first.segments_root, CAMERA, [(clock() - timedelta(hours=1), 6)])  # 3 segments of 2 s
    for segment in segments:
        first.segments.add(segment)
    yield Installation(config, first, second, clock, [first.segments_root / s.key for s in segments])
    for service in (first, second):
        service.exports.close(timeout=10)
        service.watch.engine.dispose()


@pytest.fixture
def servers(installation: Installation) -> Iterator[tuple[str, str]]:
    with serving(installation.first.app) as one, serving(installation.second.app) as two:
        yield one, two


def log_in(base: str) -> httpx.Client:
    """A browser logged in through ``base``; its cookies go to every process on the host, as behind a balancer."""
    client = httpx.Client(timeout=10)
    answer = client.post(f"{base}/api/auth/login", json={"username": "inv.test", "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return client


def export_body(clock: FakeClock) -> dict[str, Any]:
    start = clock() - timedelta(hours=1)
    return {
        "camera_ids": [CAMERA],
        "start": start.isoformat(),
        "end": (start + timedelta(seconds=6)).isoformat(),
        "reason": "rixe place Lazare-Goujon",
        "requisition_ref": "PV 2026/001717",
    }


def job(client: httpx.Client, base: str, export_id: str) -> dict[str, Any]:
    answer = client.get(f"{base}/api/exports/{export_id}")
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def ended(client: httpx.Client, base: str, export_id: str) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        now = job(client, base, export_id)
        return now if now["state"] in {"done", "failed"} else None

    return wait_for(finished, 60, f"export {export_id} to end", every=0.05)


def audited(service: VigieService, action: AuditAction) -> list[dict[str, Any]]:
    return [dict(r.details) for r in SqlAuditStore(service.watch.engine).records() if r.action == action.value]


# --- exports --------------------------------------------------------------------------------------------------


def test_an_export_asked_on_one_process_is_followed_and_downloaded_on_the_other(
    installation: Installation, servers: tuple[str, str]
) -> None:
    one, two = servers
    browser = log_in(one)
    asked = browser.post(f"{one}/api/exports", json=export_body(installation.clock))
    assert asked.status_code == 202, asked.text
    export_id = asked.json()["id"]

    done = ended(browser, two, export_id)
    assert done["state"] == "done", done
    listed = browser.get(f"{two}/api/exports").json()["items"]
    assert [j["id"] for j in listed] == [export_id]
    package = browser.get(f"{two}{done['package']['url']}")
    assert package.status_code == 200, package.text
    assert hashlib.sha256(package.content).hexdigest() == done["package"]["sha256"]
    assert len(package.content) == done["package"]["bytes"]
    downloads = audited(installation.second, AuditAction.EXPORT_DOWNLOADED)
    assert [d["export"] for d in downloads] == [export_id], "the download is audited by the process that served it"


def test_an_export_running_on_one_process_is_cancelled_from_the_other(
    installation: Installation, servers: tuple[str, str]
) -> None:
    one, two = servers
    second_segment = installation.footage[1]
    data = held(second_segment)
    browser = log_in(one)
    export_id = browser.post(f"{one}/api/exports", json=export_body(installation.clock)).json()["id"]
    running = wait_for(
        lambda: (j := job(browser, two, export_id))["progress"] > 0 and j, 30, "the first segment to be exported"
    )
    assert running["state"] == "running"

    cancelled = browser.post(f"{two}/api/exports/{export_id}/cancel")
    assert cancelled.status_code == 202, cancelled.text
    assert cancelled.json()["cancel_requested"] is True
    writer = release(second_segment, data)
    failed = ended(browser, one, export_id)
    writer.join(10)
    assert failed["state"] == "failed" and failed["package"] is None
    assert "cancelled by its owner" in failed["error"]
    assert not (installation.first.config.storage.data_dir / "exports" / export_id).exists(), (
        "nothing of a cancelled export is left"
    )
    outcomes = [d["outcome"] for d in audited(installation.first, AuditAction.EXPORT) if d.get("export") == export_id]
    assert outcomes == ["queued", "cancel_requested", "cancelled"]
    again = browser.post(f"{two}/api/exports/{export_id}/cancel")
    assert again.status_code == 409 and "failed" in again.text


def test_an_export_whose_process_died_is_failed_with_the_reason_on_the_next_look(
    tmp_path: Path, database_url: str, clock: FakeClock, installation: Installation
) -> None:
    data = held(installation.footage[1])
    port = free_port()
    process = start_vigie("api", "--config", str(installation.config), "--port", str(port))
    try:
        one = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(one), 60, "`vigie api` to serve")
        assert httpx.get(f"{one}/readyz", timeout=5).status_code == 200, "its database and storage are usable"
        with serving(installation.second.app) as two:
            browser = log_in(one)
            export_id = browser.post(f"{one}/api/exports", json=export_body(clock)).json()["id"]
            wait_for(lambda: job(browser, two, export_id)["progress"] > 0, 30, "the export to start on `vigie api`")
            process.send_signal(signal.SIGKILL)  # the process dies with the export in its hands
            process.wait(10)
            assert job(browser, two, export_id)["state"] == "running", "a process is not given up at once"

            # a minute later (the dead process beat on the host's clock, which this one follows)
            clock.advance(datetime.now(UTC) - clock() + STALE_AFTER + timedelta(seconds=5))
            failed = job(browser, two, export_id)
            assert failed["state"] == "failed"
            assert "stopped before it finished" in failed["error"] and "ask again" in failed["error"]
            assert browser.get(f"{two}/api/exports").json()["items"][0]["state"] == "failed"
            outcomes = [d["outcome"] for d in audited(installation.second, AuditAction.EXPORT)]
            assert outcomes[-1] == "failed", "the failure is audited once, by the process that found it"
        # an API process runs none of the installation's own duties: no start recorded, no heartbeat file
        assert audited(installation.second, AuditAction.SERVICE_STARTED) == []
        assert not (installation.first.alive_path).exists()
    finally:
        if process.poll() is None:
            stop_vigie(process, signal.SIGTERM)
        release(installation.footage[1], data)  # nobody reads it any more: the writer thread just waits


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code < 500
    except httpx.HTTPError:
        return False


# --- playback ---------------------------------------------------------------------------------------------------


def test_a_playback_url_signed_by_one_process_plays_on_the_other(
    installation: Installation, servers: tuple[str, str]
) -> None:
    one, two = servers
    browser = log_in(one)
    start = installation.clock() - timedelta(hours=1)
    playlist = browser.get(
        f"{one}/api/cameras/{CAMERA}/playback.m3u8",
        params={"start": start.isoformat(), "end": (start + timedelta(seconds=60)).isoformat()},
    )
    assert playlist.status_code == 200, playlist.text
    uris = [line for line in playlist.text.splitlines() if line and not line.startswith("#")]
    assert len(uris) == 3
    for uri, path in zip(uris, installation.footage, strict=True):
        served = browser.get(f"{two}{uri}")
        assert served.status_code == 200, served.text
        assert served.content == path.read_bytes()
    key = parse_qs(urlsplit(uris[0]).query)["k"][0]
    forged = uris[0].replace(parse_qs(urlsplit(uris[0]).query)["s"][0], "0" * 32)
    assert browser.get(f"{two}{forged}").status_code == 403, f"an altered URL for {key} is refused everywhere"


# --- single sign-on ---------------------------------------------------------------------------------------------


def test_a_sign_on_begun_on_one_process_is_finished_on_the_other(
    tmp_path: Path, database_url: str, clock: FakeClock, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIE_OIDC_CLIENT_SECRET", SECRET)
    issuer = stack.provider.issuer
    sign_on = f"""auth:
  oidc:
    issuer: {issuer}
    client_id: vigie
    display_name: {LABEL}
    redirect_uri: {stack.base}/api/auth/oidc/callback
"""
    config = configuration(tmp_path, database_url, clock, sign_on)
    first = build(config, clock)
    day = legal_day(clock)
    first.accounts.add_user(
        Actor.command_line("setup"),
        username="op.vil",
        display_name="Op Vil",
        commune_id="testville",
        roles=[Role.OPERATOR],
        password=PASSWORD,
        authorised_until=day + timedelta(days=365),
        trained_on=day - timedelta(days=30),
    )
    second = build(config, clock)
    try:
        # the provider sends the browser back to the registered callback: the second process's port
        with serving(first.app) as one, serving(second.app, stack.vigie_port) as two:
            browser = httpx.Client(timeout=10, follow_redirects=True)
            page = browser.get(f"{one}/api/auth/oidc/login")
            assert page.status_code == 200 and str(page.url).startswith(issuer), page.text
            page = browser.post(f"{issuer}{page.url.path}/login", data={"login": "op.vil"})
            final = browser.post(f"{issuer}{page.url.path}/confirm")
            (callback,) = [r for r in final.history if r.url.path == "/api/auth/oidc/callback"]
            assert str(callback.url).startswith(two), "the answer reached the other process"
            assert callback.headers["location"] == "/", callback.headers["location"]
            for base in (one, two):
                me = browser.get(f"{base}/api/auth/me")
                assert me.status_code == 200 and me.json()["username"] == "op.vil", me.text
            replayed = browser.get(str(callback.url), follow_redirects=False)
            assert replayed.headers["location"] == "/#/login?error=expired", "the answer is used once, anywhere"
        succeeded = audited(second, AuditAction.LOGIN_SUCCEEDED)
        assert [d["method"] for d in succeeded] == ["oidc"]
    finally:
        for service in (first, second):
            service.watch.engine.dispose()


# --- login throttle ---------------------------------------------------------------------------------------------


def test_failed_logins_are_counted_across_processes_for_accounts_and_unknown_names_alike(
    installation: Installation, servers: tuple[str, str]
) -> None:
    one, two = servers
    browser = httpx.Client(timeout=10)
    for name in ("inv.test", "nobody.here"):  # an account, and a name that is none
        for attempt in range(5):  # the load balancer alternates
            base = (one, two)[attempt % 2]
            refused = browser.post(f"{base}/api/auth/login", json={"username": name, "password": "wrong guess 1"})
            assert refused.status_code == 401, (name, attempt, refused.text)
        for base in (one, two):
            delayed = browser.post(f"{base}/api/auth/login", json={"username": name, "password": "wrong guess 2"})
            assert delayed.status_code == 429, (name, base, delayed.text)
            assert delayed.headers["retry-after"] == "30"


def test_a_recording_gap_alarm_raised_by_the_service_shows_and_clears_in_an_api_process(
    installation: Installation, servers: tuple[str, str]
) -> None:
    """The operators of a large installation are on `vigie api` processes (docs/sizing.md): the alarm the cameras'
    process raises must reach them, and clear there when recording resumes."""
    _, two = servers
    serve, clock = installation.first.sink, installation.clock
    seconds = installation.first.config.storage.segment_seconds
    operator = log_in(two)

    def health() -> dict[str, Any]:
        answer = operator.get(f"{two}/api/system/health")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    assert health()["watching"] is False, "`vigie serve` has not checked the recordings yet"
    serve.tick()  # its first round
    start = clock()
    clock.advance(seconds=seconds)
    serve(recorded_segment(start, seconds))
    serve.tick()
    view = health()
    assert view["watching"] is True and view["alarms"] == []

    clock.advance(seconds=2 * seconds + 1)  # no segment for more than two segment lengths
    serve.tick()
    [alarm] = health()["alarms"]
    assert (alarm["camera_id"], alarm["end"], alarm["seconds"]) == (CAMERA, None, 2 * seconds + 1)

    resumed = clock() + timedelta(seconds=3)  # the recorder reconnects
    clock.advance(seconds=3 + seconds)
    serve(recorded_segment(resumed, seconds))
    serve.tick()
    view = health()
    assert view["alarms"] == [] and view["watching"] is True, "cleared in the API process too"
    [gap] = [g for g in view["gaps"] if g["camera_id"] == CAMERA]
    assert gap["end"] is not None and gap["seconds"] == 2 * seconds + 1 + 3
    assert (view["gap_count"], view["gap_seconds"]) == (1, gap["seconds"])

    clock.advance(seconds=16)  # the service stopped or stuck: its rounds no longer come
    assert health()["watching"] is False, "no all-clear once nothing watches the recordings"


def recorded_segment(start: datetime, seconds: float) -> Segment:
    end = start + timedelta(seconds=seconds)
    return Segment(CAMERA, f"{CAMERA}/{start.timestamp():.0f}.ts", start, end, 100_000, "0" * 64)
