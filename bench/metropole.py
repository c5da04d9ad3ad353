"""The métropole's control plane at full size (issue 17): 4,891 cameras (650 street cameras in 15 communes, 4,241
transit cameras) at the real rates, with the media path replaced by a generator of what the camera workers send.

What runs is the production composition: :class:`~vigie.runtime.assembly.service.VigieService` built from a
generated configuration, its sink (the single writer), database, audit chain and HTTP API (uvicorn, real HTTP,
real accounts logged in with their passwords), and its :class:`~vigie.runtime.workers.supervisor.CameraSupervisor`
— its loop, its refusal checks of every camera, its queue of 10,000 messages — except that it starts one generator
process instead of the recorder and analysis groups. The generator sends, through that queue, the typed messages
real workers send, at their rates:

- every camera: a ``RecordingHealth`` and a ``CameraHealth`` every 5 s (``HEARTBEAT_EVERY_S``: an unchanged
  camera's), sent by its group with its beat once a second (``HealthReports``, put without blocking, as the groups do:
  one lost in a full queue is counted), a domain ``Segment`` every ``segment_seconds`` (put blocking), sized from
  the camera's bitrate (street 1080p H.264 4 Mbit/s, transit 2 Mbit/s, ±10 %), cameras spread over the period;
- the analysed share of cameras (``--analysed``, 10 %): the gate asked for ``motion`` and ``intrusion`` at 5 fps,
  one real :class:`~vigie.runtime.assembly.gates.DatabaseGateFactory` gate per 16 analysed cameras (the production
  grouping; each confirms the governance version 4 times a second, woken by PostgreSQL's notifications); while
  it allows, a motion observation on ``--motion`` of the frames, and an intrusion alert every ``--alert-every``
  seconds per camera on average; the gates' transitions go to the sink as the workers send them (audited). The
  analysed cameras are declared simulated footage (as ``vigie demo`` does), so their gates open under the same
  rules and stop switches without a signed activation per camera; the non-analysed cameras' analysis workers
  (and their gates' version reads) are not generated.

Operators (``--operators``, 20) poll the console's calls at the console's intervals (app.js and views.js): the
live feed (Server-Sent Events) held open, and every 15 s the camera list, the governance banner, the system
health (the alarm count beside the menu) and one view's calls in turn (wall page, alerts, health and events, a
day's timeline of one of their cameras, a commune's sites).

Printed last, ``name: value``: index rows generated and written (equal: none lost), the PostgreSQL write load over
the measured window (transactions, rows and WAL bytes per second), API p50/p95/p99 per console call, the control
plane's RSS at each camera count and the slope per camera, the sink's lag (segment end to its row committed), CPU.

    flock /work/notes/bench.lock .venv/bin/python bench/metropole.py --cameras 500 4891 --minutes 30 \\
        --slope-minutes 4 --database-url "$(bash scripts/postgres.sh)"

Child processes are started with ``spawn`` and re-import this module: only the standard library is imported at
the top.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import queue
import random
import secrets
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

STREET, TRANSIT = 650, 4241
COMMUNES = 15
ROUND_S = 0.2
"""The generator's round: 5 a second, the analysis rate (5 fps) and the supervisor's drain period."""
ANALYSIS_PER_GATE = 16
"""Analysed cameras per analysis process, each process one gate (``workers.analysis_cameras_per_process``)."""
STREET_BPS, TRANSIT_BPS = 4_000_000, 2_000_000
REFRESH_S = 15.0
"""The console's refresh period while its live feed is connected (app.js REFRESH_WITH_FEED_S)."""
TABLES = ("segments", "camera_health_log", "camera_status", "audit_entries", "events", "alerts")
LAG_BIN_S = 0.01
LAG_BINS = 12_000
"""Sink lag histogram: 10 ms bins up to 120 s (the last bin holds everything later)."""


@dataclass(frozen=True)
class CameraPlan:
    id: str
    commune: str
    site: str
    setting: str
    bitrate_bps: int
    analysed: bool


@dataclass(frozen=True)
class Settings:
    cameras: int
    seconds: float
    warmup_s: float
    database_url: str
    data_dir: str
    port: int
    segment_seconds: float = 10.0
    analysed: float = 0.10
    motion: float = 0.30
    alert_every_s: float = 600.0
    operators: int = 20
    feed: bool = True
    refresh_s: float = REFRESH_S
    seed: int = 17
    api_processes: int = 0
    """``vigie api`` processes serving the operators (0: the control plane's own API serves them)."""


def metropole(cameras: int, analysed_share: float) -> list[CameraPlan]:
    """``cameras`` cameras in the métropole's proportions: street cameras spread over 15 communes (sites of 10),
    transit cameras in one inter-communal transport tenant (sites of 40: stations, depots); every ``1/share``-th
    camera of each kind analysed."""
    street = round(cameras * STREET / (STREET + TRANSIT))
    every = max(1, round(1 / analysed_share)) if analysed_share > 0 else 0
    plans: list[CameraPlan] = []
    for n in range(cameras):
        is_street = n < street
        k = n if is_street else n - street
        commune = f"commune-{k % COMMUNES + 1:02d}" if is_street else "transports"
        site = f"site-{(k // COMMUNES) // 10:03d}" if is_street else f"station-{k // 40:03d}"
        plans.append(
            CameraPlan(
                f"{'rue' if is_street else 'tc'}-{k:04d}",
                commune,
                site,
                "public_street" if is_street else "transit",
                STREET_BPS if is_street else TRANSIT_BPS,
                bool(every) and k % every == 0,
            )
        )
    return plans


def config_data(plans: list[CameraPlan], settings: Settings, today: date) -> dict[str, Any]:
    """The service's configuration (validated by ``VigieConfig``): tenants, sites, cameras with their prefectoral
    authorisation (valid a year either side of ``today``, the legal day of the run)."""
    tenants: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for index, plan in enumerate(plans):
        camera = {
            "id": plan.id,
            "name": f"Camera {plan.id}",
            "kind": "fixed",
            "setting": plan.setting,
            "main_stream": f"rtsp://10.{index // 65536}.{index // 256 % 256}.{index % 256}/main",
            "location": {"lat": 45.70 + (index % 100) * 0.002, "lon": 4.80 + (index // 100) * 0.002},
            "authorisation": {
                "reference": f"2026-VP-{index:05d}",
                "valid_from": (today - timedelta(days=365)).isoformat(),
                "valid_until": (today + timedelta(days=365)).isoformat(),
                "purposes": ["crime_prevention"],
                "retention_days": 30,
            },
        }
        tenants.setdefault(plan.commune, {}).setdefault(plan.site, []).append(camera)
    communes = [
        {
            "id": tenant,
            "name": "Réseau de transports" if tenant == "transports" else f"Commune {tenant[-2:]}",
            "kind": "municipal",
            "sites": [{"id": site, "name": site, "cameras": cams} for site, cams in sites.items()],
        }
        for tenant, sites in tenants.items()
    ]
    return {
        "version": 1,
        "storage": {
            "database_url": settings.database_url,
            "data_dir": settings.data_dir,
            "segment_seconds": settings.segment_seconds,
        },
        "api": {"host": "127.0.0.1", "port": settings.port, "secure_cookies": False},
        "security": {"secrets_key_file": str(Path(settings.data_dir).parent / "secrets-key")},
        "communes": communes,
    }


def operator_accounts(plans: list[CameraPlan], count: int) -> list[tuple[str, str, str]]:
    """(username, password, tenant) of ``count`` operators: half at the transport network's centre, half in the
    communes' centres."""
    tenants = sorted({p.commune for p in plans if p.commune != "transports"})
    has_transit = any(p.commune == "transports" for p in plans)
    out = []
    for n in range(count):
        tenant = "transports" if (n % 2 == 0 and has_transit) or not tenants else tenants[(n // 2) % len(tenants)]
        out.append((f"operateur{n:02d}", secrets.token_urlsafe(18), tenant))
    return out


# --- the generator: what the camera workers send ------------------------------------------------------------------


@dataclass
class Generated:
    segments: int = 0
    health: int = 0
    health_dropped: int = 0
    observations: int = 0
    observations_dropped: int = 0
    alerts: int = 0
    transitions: int = 0
    rounds: int = 0
    late_rounds: int = 0
    """Rounds that began more than a round late (the generator could not keep the rate)."""
    behind_s: float = 0.0
    """How far behind its schedule the generator was at its end."""
    blocked_s: float = 0.0
    """Time spent waiting for room in the full queue to put a segment, an alert or a gate transition (a
    recorder gives up after 30 s and its process restarts; here the generator waits: nothing is lost, only late)."""


def generate(
    plans: list[CameraPlan],
    settings: Settings,
    gate_factory: Any,
    out: Any,
    stop: Any,
    ready: Any,
    report: Any,
    groups: list[tuple[str, bool, tuple[str, ...]]],
) -> None:
    """The body of the generator process: every round, the messages the cameras' workers would send in it;
    ``ready`` is set once its gates are built. ``groups``: the supervisor's worker groups (name, analysis or not,
    cameras), whose health reports leave together once a second, as a group's do (``HealthReports``)."""
    from vigie.domain.camera import CameraHealth, HealthState
    from vigie.domain.geometry import Box
    from vigie.domain.observation import Observation
    from vigie.domain.recording import Segment, SegmentState
    from vigie.recording.segment_writer import segment_key
    from vigie.runtime.workers.group import HEARTBEAT_EVERY_S, HealthReports
    from vigie.runtime.workers.recorder import RecordingHealth

    rng = random.Random(settings.seed)
    heartbeat_every = round(HEARTBEAT_EVERY_S)
    counts = Generated()
    per_s = round(1 / ROUND_S)
    slots = max(1, round(settings.segment_seconds / ROUND_S))
    by_slot: list[list[CameraPlan]] = [[] for _ in range(slots)]
    for n, plan in enumerate(plans):
        by_slot[n * slots // len(plans)].append(plan)
    written: dict[str, int] = {p.id: 0 for p in plans}
    last_end: dict[str, datetime] = {}
    """Where each camera's last segment ended: a recorder's segments follow one another without a hole, however
    late this process runs."""

    def put_waiting(message: Any) -> None:
        try:
            out.put(message, block=False)
        except queue.Full:
            began = time.monotonic()
            out.put(message, block=True)  # audit entries and segments wait for room, as the workers' do
            counts.blocked_s += time.monotonic() - began

    def transition(message: Any) -> None:
        put_waiting(message)
        counts.transitions += 1

    analysed = [p for p in plans if p.analysed]
    gates = [
        (gate_factory(transition), analysed[at : at + ANALYSIS_PER_GATE])
        for at in range(0, len(analysed), ANALYSIS_PER_GATE)
    ]
    region = (Box(0.42, 0.31, 0.08, 0.22),)
    ready.set()
    start = time.monotonic()
    n_round = 0
    while not stop.is_set():
        due = start + n_round * ROUND_S
        lateness = time.monotonic() - due
        if lateness < 0:
            time.sleep(-lateness)
        elif lateness > ROUND_S:
            counts.late_rounds += 1
        now = datetime.now(UTC)
        beat = (n_round // per_s) % heartbeat_every
        for name, analysis, cameras in groups[n_round % per_s :: per_s]:  # each group's beat, once a second
            reports = tuple(
                CameraHealth(camera, HealthState.ONLINE, now, "", 5.0, 0)
                if analysis
                else RecordingHealth(
                    camera, HealthState.ONLINE, now, packets_per_s=25.0, segments=written[camera], writing=True
                )
                for camera in cameras[beat::heartbeat_every]  # an unchanged camera's heartbeat, every 5 s
            )
            try:
                out.put(HealthReports(name, reports), block=False)
                counts.health += len(reports)
            except queue.Full:
                counts.health_dropped += len(reports)
        for plan in by_slot[n_round % slots]:  # segments finished in this round, each where the last one ended
            begun = last_end.get(plan.id, now - timedelta(seconds=settings.segment_seconds))
            last_end[plan.id] = now
            seconds = (now - begun).total_seconds()
            size = int(plan.bitrate_bps * seconds / 8 * rng.uniform(0.9, 1.1))
            digest = f"{rng.getrandbits(256):064x}"
            segment = Segment(plan.id, segment_key(plan.id, begun), begun, now, size, digest, SegmentState.COMPLETE)
            put_waiting(segment)  # never dropped, as the recorder's
            written[plan.id] += 1
            counts.segments += 1
        for gate, cameras in gates:  # 5 fps analysis: the gate asked for each module on each frame
            for plan in cameras:
                if gate.allows("motion", plan.id, now) and rng.random() < settings.motion:
                    try:
                        out.put(Observation(plan.id, "motion", "motion", now, region, 0.8, "mog2"), block=False)
                        counts.observations += 1
                    except queue.Full:
                        counts.observations_dropped += 1
                alert = rng.random() < ROUND_S / settings.alert_every_s
                if gate.allows("intrusion", plan.id, now) and alert:
                    put_waiting(Observation(plan.id, "intrusion", "person", now, region, 0.9))
                    counts.alerts += 1
        counts.rounds += 1
        n_round += 1
    counts.behind_s = max(0.0, time.monotonic() - (start + n_round * ROUND_S))
    report.put(asdict(counts))


# --- the control plane: the service, its supervisor starting the generator instead of workers ----------------------


def control_plane(settings_json: str, plans_json: str, accounts: list[tuple[str, str, str]], pipe: Any) -> None:
    """The body of the control-plane process: ``VigieService`` and uvicorn, until the orchestrator says stop."""
    import logging

    import uvicorn

    from vigie.config.models import VigieConfig
    from vigie.domain.actor import Actor
    from vigie.domain.clock import legal_day
    from vigie.domain.recording import Segment
    from vigie.domain.users import Role
    from vigie.runtime.assembly.gates import DatabaseGateFactory
    from vigie.runtime.assembly.service import VigieService
    from vigie.runtime.workers.analysis import AnalysisGroupSpec
    from vigie.runtime.workers.supervisor import CameraSupervisor

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings(**json.loads(settings_json))
    plans = [CameraPlan(**p) for p in json.loads(plans_json)]
    lags = [0] * LAG_BINS
    lag_timeline: dict[int, float] = {}
    """Worst sink lag by 10-s period of the run: whether the writer keeps up or falls further behind."""

    class GeneratedWorkers(CameraSupervisor):
        """The production supervisor (queue, loop, refusal checks, sink, tick) whose worker groups are replaced by
        one generator process feeding its queue."""

        generator: Any = None
        generator_stop: Any = None
        generator_report: Any = None
        handled = 0
        _pending: list[float]

        def start(self) -> None:
            config = service.config
            factory = DatabaseGateFactory(config, service.simulated, service.clock)
            self.generator_stop = self._ctx.Event()
            self.generator_report = self._ctx.Queue()
            ready = self._ctx.Event()
            groups = [
                (name, isinstance(self._slots[name].spec, AnalysisGroupSpec), cameras)
                for name, cameras in self.groups().items()
            ]
            self.generator = self._ctx.Process(
                target=generate,
                args=(plans, settings, factory, self._queue, self.generator_stop, ready, self.generator_report, groups),
                name="generator",
                daemon=True,
            )
            self.generator.start()
            if not ready.wait(600):
                raise RuntimeError("the generator did not start within 10 minutes")
            self._pending = []
            sink, tick = self._sink, self._tick
            assert tick is not None

            def noting(message: Any) -> None:
                self.handled += 1
                if isinstance(message, Segment):
                    self._pending.append(message.end.timestamp())
                sink(message)

            def ticking() -> None:
                tick()  # the round's flush: every segment handed over so far is committed
                now = time.time()
                for end in self._pending:
                    lags[min(LAG_BINS - 1, int((now - end) / LAG_BIN_S))] += 1
                if self._pending:
                    period = int((time.monotonic() - began) // 10) * 10
                    lag_timeline[period] = max(lag_timeline.get(period, 0.0), now - min(self._pending))
                self._pending.clear()

            self._sink, self._tick = noting, ticking
            super().start()

        def _spawn(self, slot: Any, now: float, stopped: frozenset[str]) -> None:
            slot.next_start = math.inf  # the generator sends for every camera: no worker process

        def stop(self, timeout_s: float = 15.0) -> None:
            self.generator_stop.set()
            deadline = time.monotonic() + 600.0
            while self.generator.is_alive() and time.monotonic() < deadline:
                time.sleep(0.1)  # the loop drains the queue meanwhile
            super().stop(timeout_s)
            self._drain(0.5)  # what the generator sent last
            if self._tick is not None:
                self._tick()

    data = config_data(plans, settings, date.today())
    config = VigieConfig.model_validate(data)
    config_file = Path(settings.data_dir).parent / "vigie.yaml"  # JSON is YAML: for the `vigie api` processes
    config_file.write_text(json.dumps(data), encoding="utf-8")
    began = time.monotonic()
    built = time.monotonic()
    simulated = frozenset(p.id for p in plans if p.analysed)
    service = VigieService(config, simulated_cameras=simulated, supervisor_type=GeneratedWorkers)
    today = legal_day(service.clock)
    for username, password, tenant in accounts:
        service.accounts.add_user(
            Actor.command_line("bench"),
            username=username,
            display_name=username,
            commune_id=tenant,
            roles=[Role.OPERATOR, Role.SUPERVISOR, Role.INVESTIGATOR],
            password=password,
            authorised_until=today + timedelta(days=30),
            trained_on=today,
        )
    service.start()
    server = uvicorn.Server(
        uvicorn.Config(service.app, host="127.0.0.1", port=settings.port, log_level="warning", access_log=False)
    )
    started_s = time.monotonic() - built

    def until_stopped() -> None:
        pipe.recv()  # "stop"
        server.should_exit = True

    threading.Thread(target=until_stopped, daemon=True).start()
    writer = service.supervisor._thread.native_id  # the supervisor's thread: the sink, the single writer
    pipe.send({"started_s": started_s, "writer_tid": writer, "config_file": str(config_file)})
    server.run()
    supervisor: GeneratedWorkers = service.supervisor  # type: ignore[assignment]
    service.stop()
    generated = supervisor.generator_report.get(timeout=60)
    pipe.send({"generated": generated, "handled": supervisor.handled, "lags": lags, "lag_timeline": lag_timeline})


# --- the operators: the console's calls over HTTP ------------------------------------------------------------------


def operators(
    ports: list[int], accounts: list[tuple[str, str, str]], cameras: dict[str, list[str]], settings: Settings,
    stop: Any, report: Any,
) -> None:  # fmt: skip
    """The body of the operators' process: each operator logs in, keeps the live feed open and refreshes the
    console every ``refresh_s`` (15 s), one view's calls in turn; latencies by call. Operator ``n`` uses the API
    at ``ports[n % len(ports)]`` (a load balancer keeping each person on one process)."""
    feed, refresh_s = settings.feed, settings.refresh_s
    import asyncio

    import httpx

    latencies: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    feed_events = [0]
    failures: list[str] = []
    throttled = [0]

    async def call(client: httpx.AsyncClient, name: str, path: str) -> None:
        began = time.perf_counter()
        try:
            response = await client.get(path)
            ok = response.status_code == 200
        except httpx.HTTPError:
            ok = False
        latencies.setdefault(name, []).append(time.perf_counter() - began)
        if not ok:
            errors[name] = errors.get(name, 0) + 1

    async def pause(seconds: float) -> None:
        until = time.monotonic() + seconds
        while not stop.is_set() and time.monotonic() < until:
            await asyncio.sleep(min(0.25, max(0.0, until - time.monotonic())))

    async def listen(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            try:
                async with client.stream("GET", "/api/feed", timeout=None) as response:
                    async for line in response.aiter_lines():
                        if line.startswith("event:"):
                            feed_events[0] += 1
            except httpx.HTTPError:
                await pause(3.0)  # the console's EventSource retries after 3 s

    async def operator(n: int, username: str, password: str, tenant: str) -> None:
        rng = random.Random(n)
        own = cameras[tenant]
        base = f"http://127.0.0.1:{ports[n % len(ports)]}"
        async with httpx.AsyncClient(base_url=base, timeout=60.0) as client:
            while True:
                began = time.perf_counter()
                response = await client.post("/api/auth/login", json={"username": username, "password": password})
                latencies.setdefault("login", []).append(time.perf_counter() - began)
                if response.status_code == 429 and not stop.is_set():
                    # the per-address login throttle (all operators come from 127.0.0.1): wait as told, as a
                    # person would, and count it
                    throttled[0] += 1
                    await pause(float(response.headers.get("Retry-After", "60")))
                    continue
                break
            if response.status_code != 200:
                errors["login"] = errors.get("login", 0) + 1
                failures.append(f"{username}: {response.status_code} {response.text[:200]}")
                return
            await call(client, "me", "/api/auth/me")
            listener = asyncio.ensure_future(listen(client)) if feed else None
            await pause(rng.uniform(0, refresh_s))
            views = ["wall", "alerts", "health", "timeline", "search"]
            k = n
            while not stop.is_set():
                began = time.monotonic()
                await call(client, "cameras", "/api/cameras")
                await call(client, "governance", "/api/governance")
                await call(client, "system_health", "/api/system/health")  # health.js: the alarm count, every view
                view = views[k % len(views)]
                k += 1
                if view == "wall":
                    await call(client, "wall", "/api/cameras/live.fmp4")
                elif view == "alerts":
                    await asyncio.gather(
                        call(client, "alerts_pending", "/api/alerts?state=pending&limit=50"),
                        call(client, "alerts", "/api/alerts?limit=50"),
                    )
                elif view == "health":
                    await call(client, "events", "/api/events?limit=20")
                    await call(client, "readyz", "/readyz")
                elif view == "timeline":
                    end = datetime.now(UTC)
                    query = httpx.QueryParams(start=(end - timedelta(hours=24)).isoformat(), end=end.isoformat())
                    await call(client, "timeline", f"/api/cameras/{rng.choice(own)}/recordings?{query}")
                else:
                    await call(client, "search", f"/api/sites?commune_id={tenant}")
                await pause(refresh_s - (time.monotonic() - began))
            if listener is not None:
                listener.cancel()

    async def main() -> None:
        tasks = [asyncio.ensure_future(operator(n, *account)) for n, account in enumerate(accounts)]
        while not stop.is_set():
            await asyncio.sleep(0.5)
        await asyncio.wait(tasks, timeout=60)
        for task in tasks:
            task.cancel()

    asyncio.run(main())
    report.put(
        {
            "latencies": latencies,
            "errors": errors,
            "feed_events": feed_events[0],
            "failures": failures[:5],
            "throttled": throttled[0],
        }
    )


# --- the orchestrator: one run, measured from outside ---------------------------------------------------------------


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from Linux's ``/proc/<pid>/status`` (no psutil in the project)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """User + system CPU of a process (``/proc/<pid>/stat``), or of one of its threads."""
    where = f"/proc/{pid}/task/{thread}/stat" if thread is not None else f"/proc/{pid}/stat"
    stat = Path(where).read_text()
    fields = stat[stat.rfind(")") + 2 :].split()
    return sum(int(f) for f in fields[11:13]) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rfind(")") + 2 :].split()[1]) == pid:
                out.append(int(entry.name))
    return out


@dataclass
class PgSample:
    at: float
    xacts: int
    rows: int
    wal: int


def pg_sample(engine: Any) -> PgSample | None:
    from sqlalchemy import text

    if engine is None:
        return None
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        row = conn.execute(
            text(
                "SELECT xact_commit + xact_rollback, tup_inserted + tup_updated + tup_deleted, "
                "pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint FROM pg_stat_database "
                "WHERE datname = current_database()"
            )
        ).one()
    return PgSample(time.monotonic(), int(row[0]), int(row[1]), int(row[2]))


@dataclass
class RunResult:
    cameras: int
    seconds: float
    started_s: float
    generated: dict[str, Any]
    handled: int
    index_rows: int
    alerts_stored: int
    rss: list[tuple[float, int]]
    rss_steady: int
    cpu_control: float
    api_processes: int
    cpu_api: float
    """CPU of the ``vigie api`` processes together (cores), when they serve the operators."""
    rss_api: int
    cpu_generator: float
    cpu_writer: float
    window_s: float
    pg: dict[str, float] = field(default_factory=dict)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    feed_events: int = 0
    failures: list[str] = field(default_factory=list)
    logins_throttled: int = 0
    lags: list[int] = field(default_factory=list)
    lag_timeline: dict[int, float] = field(default_factory=dict)
    tables: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Rows and bytes on disk (PostgreSQL: with indexes and TOAST) of the tables that grow with cameras and time."""


@contextmanager
def database(url: str | None, folder: Path) -> Iterator[tuple[str, Any]]:
    """A fresh database for one run: its own PostgreSQL database (dropped after), or a SQLite file."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if not url:
        yield f"sqlite:///{folder / 'vigie.db'}", None
        return
    base = make_url(url)
    name = f"vigie_metropole_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    own = base.set(database=name)
    engine = create_engine(own, pool_size=1)
    try:
        yield own.render_as_string(hide_password=False), engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(port: int, timeout_s: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the service did not answer on port {port} within {timeout_s:.0f} s")


@contextmanager
def api_processes(config_file: str, count: int, say: Any) -> Iterator[list[Any]]:
    """``count`` ``vigie api`` processes (the production command, docs/deployment.md) on the control plane's
    configuration, each on its own port; ended (SIGTERM, as a service manager does) on leaving."""
    import subprocess

    vigie = Path(sys.executable).with_name("vigie")
    started: list[tuple[Any, int]] = []
    try:
        for _ in range(count):
            port = free_port()
            command = [str(vigie), "api", "--config", config_file, "--port", str(port)]
            started.append((subprocess.Popen(command, stdin=subprocess.DEVNULL), port))
        for process, port in started:
            wait_http(port, 300)
            say(f"  vigie api on port {port} (pid {process.pid})")
        yield [process for process, _ in started]
    finally:
        for process, _ in started:
            process.terminate()
        for process, _ in started:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()


def run_once(
    cameras: int, seconds: float, *, database_url: str | None, warmup_s: float = 60.0, operators_n: int = 20,
    analysed: float = 0.10, feed: bool = True, refresh_s: float = REFRESH_S, segment_seconds: float = 10.0,
    api_n: int = 0, say: Any = print,
) -> RunResult:  # fmt: skip
    """One run at ``cameras`` cameras for ``seconds``: measured over the window after ``warmup_s``."""
    from sqlalchemy import create_engine, text

    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="vigie-metropole-") as tmp, database(database_url, Path(tmp)) as db:
        url, pg = db
        port = free_port()
        settings = Settings(cameras, seconds, warmup_s, url, str(Path(tmp) / "data"), port, analysed=analysed,
                            operators=operators_n, feed=feed, refresh_s=refresh_s,
                            segment_seconds=segment_seconds, api_processes=api_n)  # fmt: skip
        key = Path(tmp) / "secrets-key"  # the private keys encrypted at rest, as an installation's are
        key.write_text(secrets.token_urlsafe(32) + "\n", encoding="utf-8")
        key.chmod(0o600)
        plans = metropole(cameras, analysed)
        accounts = operator_accounts(plans, operators_n)
        ours, theirs = ctx.Pipe()
        plane = ctx.Process(
            target=control_plane,
            args=(json.dumps(asdict(settings)), json.dumps([asdict(p) for p in plans]), accounts, theirs),
            name="control-plane",
        )
        plane.start()
        if not ours.poll(900):
            raise RuntimeError("the control plane did not start within 15 minutes")
        started = ours.recv()
        started_s, writer_tid = started["started_s"], started["writer_tid"]
        wait_http(port, 60)
        say(f"{cameras} cameras: service built and started in {started_s:.1f} s; measuring for {seconds:.0f} s")
        with api_processes(started["config_file"], api_n, say) as apis:
            api_ports = [int(p.args[-1]) for p in apis] or [port]
            stop, report = ctx.Event(), ctx.Queue()
            by_tenant: dict[str, list[str]] = {}
            for plan in plans:
                by_tenant.setdefault(plan.commune, []).append(plan.id)
            console = ctx.Process(
                target=operators, args=(api_ports, accounts, by_tenant, settings, stop, report), name="ops"
            )
            console.start()
            assert plane.pid is not None
            began = time.monotonic()
            rss: list[tuple[float, int]] = []
            api_rss: list[int] = []
            window: tuple[PgSample | None, float, float, float, float] | None = None
            while (elapsed := time.monotonic() - began) < seconds:
                rss.append((elapsed, rss_bytes(plane.pid)))
                if window is None and elapsed >= min(warmup_s, seconds / 2):
                    gen = descendants(plane.pid)
                    api_cpu = sum(cpu_seconds(p.pid) for p in apis)
                    window = (
                        pg_sample(pg),
                        time.monotonic(),
                        cpu_seconds(plane.pid),
                        sum(map(cpu_seconds, gen)),
                        api_cpu,
                    )
                    writer_began = cpu_seconds(plane.pid, writer_tid)
                if window is not None and apis:
                    api_rss.append(sum(rss_bytes(p.pid) for p in apis))
                time.sleep(min(10.0, max(0.5, seconds / 60)))
            assert window is not None
            end_pg, end_at = pg_sample(pg), time.monotonic()
            end_cpu, end_gen = cpu_seconds(plane.pid), sum(map(cpu_seconds, descendants(plane.pid)))
            end_api = sum(cpu_seconds(p.pid) for p in apis)
            writer_cpu = cpu_seconds(plane.pid, writer_tid) - writer_began
            stop.set()
            console_report = report.get(timeout=REFRESH_S + 120)
            console.join(10)
        ours.send("stop")
        final = ours.recv() if ours.poll(900) else None
        plane.join(60)
        if final is None:
            raise RuntimeError("the control plane did not report at its stop")
        count_engine = create_engine(url)
        with count_engine.connect() as conn:
            index_rows = int(conn.execute(text("SELECT count(*) FROM segments")).scalar_one())
            alerts_stored = int(conn.execute(text("SELECT count(*) FROM alerts")).scalar_one())
            tables = {}
            for table in TABLES:
                rows = int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
                size = (
                    int(conn.execute(text(f"SELECT pg_total_relation_size('{table}')")).scalar_one())
                    if pg is not None
                    else 0
                )
                tables[table] = (rows, size)
        count_engine.dispose()
        start_pg, start_at, start_cpu, start_gen, start_api = window
        window_s = end_at - start_at
        pg_rates: dict[str, float] = {}
        if start_pg is not None and end_pg is not None:
            span = end_pg.at - start_pg.at
            pg_rates = {
                "transactions_per_s": (end_pg.xacts - start_pg.xacts) / span,
                "rows_per_s": (end_pg.rows - start_pg.rows) / span,
                "wal_bytes_per_s": (end_pg.wal - start_pg.wal) / span,
            }
        steady = [value for at, value in rss if at >= min(warmup_s, seconds / 2)] or [rss[-1][1]]
        return RunResult(
            cameras=cameras,
            seconds=seconds,
            started_s=started_s,
            generated=final["generated"],
            handled=final["handled"],
            index_rows=index_rows,
            alerts_stored=alerts_stored,
            rss=rss,
            rss_steady=sorted(steady)[len(steady) // 2],
            cpu_control=(end_cpu - start_cpu) / window_s,
            api_processes=api_n,
            cpu_api=(end_api - start_api) / window_s,
            rss_api=sorted(api_rss)[len(api_rss) // 2] if api_rss else 0,
            cpu_generator=(end_gen - start_gen) / window_s,
            cpu_writer=writer_cpu / window_s,
            window_s=window_s,
            pg=pg_rates,
            latencies=console_report["latencies"],
            errors=console_report["errors"],
            feed_events=console_report["feed_events"],
            failures=console_report["failures"],
            logins_throttled=console_report["throttled"],
            lags=final["lags"],
            lag_timeline={int(k): v for k, v in final["lag_timeline"].items()},
            tables=tables,
        )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def lag_percentile(bins: list[int], q: float) -> float:
    total = sum(bins)
    if not total:
        return float("nan")
    seen = 0
    for index, count in enumerate(bins):
        seen += count
        if seen >= q * total:
            return (index + 1) * LAG_BIN_S
    return len(bins) * LAG_BIN_S


def describe(result: RunResult, say: Any = print) -> None:
    g = result.generated
    say(
        f"{result.cameras} cameras, {result.seconds:.0f} s (window {result.window_s:.0f} s): generated "
        f"{g['segments']} segments, {g['health']} health ({g['health_dropped']} dropped in a full queue), "
        f"{g['observations']} motion observations ({g['observations_dropped']} dropped), {g['alerts']} alerts, "
        f"{g['transitions']} gate transitions; late rounds {g['late_rounds']} of {g['rounds']}, "
        f"behind {g['behind_s']:.1f} s at the end, {g['blocked_s']:.1f} s waiting for a full queue; messages "
        f"handled by the sink {result.handled}"
    )
    say(f"  index rows {result.index_rows}, alerts stored {result.alerts_stored}")
    say(
        "  tables (rows, bytes per row): "
        + ", ".join(f"{t} {r} ({b / max(1, r):.0f})" for t, (r, b) in result.tables.items())
    )
    say(
        f"  control plane RSS steady {result.rss_steady / 2**20:.0f} MiB "
        f"(max {max(v for _, v in result.rss) / 2**20:.0f}), CPU {result.cpu_control:.2f} cores "
        f"(of which the supervisor's thread, the sink: {result.cpu_writer:.2f}), "
        f"generator {result.cpu_generator:.2f} cores"
    )
    if result.pg:
        say("  PostgreSQL: " + ", ".join(f"{k} {v:,.0f}" for k, v in result.pg.items()))
    for name, values in sorted(result.latencies.items()):
        say(
            f"  {name:15s} n={len(values):5d} p50 {percentile(values, 0.5) * 1000:7.1f} ms  "
            f"p95 {percentile(values, 0.95) * 1000:7.1f} ms  p99 {percentile(values, 0.99) * 1000:7.1f} ms  "
            f"errors {result.errors.get(name, 0)}"
        )
    say(f"  feed events received {result.feed_events}; logins told to wait (429) {result.logins_throttled}")
    for failure in result.failures:
        say(f"  login refused: {failure}")
    say(
        f"  sink lag (segment end to its row committed): p50 {lag_percentile(result.lags, 0.5):.2f} s, "
        f"p99 {lag_percentile(result.lags, 0.99):.2f} s, max {lag_percentile(result.lags, 1.0):.2f} s"
    )
    timeline = sorted(result.lag_timeline.items())
    step = max(1, len(timeline) // 12)
    say("  worst sink lag by period (s into the run: s): " + ", ".join(f"{t}: {v:.1f}" for t, v in timeline[::step]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, nargs="+", default=[500, 4891], help="camera counts, one run each")
    parser.add_argument("--minutes", type=float, default=30.0, help="length of the run at the largest count")
    parser.add_argument("--slope-minutes", type=float, default=4.0, help="length of the runs at smaller counts")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds before the measured window")
    parser.add_argument("--database-url", default="", help="a PostgreSQL server (a database is created on it)")
    parser.add_argument("--operators", type=int, default=20)
    parser.add_argument("--analysed", type=float, default=0.10, help="share of cameras with analysis modules")
    parser.add_argument("--segment-seconds", type=float, default=10.0)
    parser.add_argument("--no-feed", action="store_true", help="operators without the live feed")
    parser.add_argument(
        "--api-processes",
        type=int,
        default=0,
        help="operators served by this many `vigie api` processes (0: by the control plane's own API)",
    )
    args = parser.parse_args()
    counts = sorted(set(args.cameras))
    print(f"host: {os.cpu_count()} CPUs (shared with other work), load average {os.getloadavg()}", flush=True)
    results = []
    for n in counts:
        minutes = args.minutes if n == counts[-1] else args.slope_minutes
        result = run_once(
            n,
            minutes * 60,
            database_url=args.database_url or None,
            warmup_s=args.warmup,
            operators_n=args.operators,
            analysed=args.analysed,
            feed=not args.no_feed,
            segment_seconds=args.segment_seconds,
            api_n=args.api_processes,
            say=lambda line: print(line, flush=True),
        )
        describe(result, lambda line: print(line, flush=True))
        results.append(result)
    print(f"host load average at the end {os.getloadavg()}")
    big = results[-1]
    lost = big.generated["segments"] - big.index_rows
    print(f"cameras: {big.cameras}")
    print(f"minutes: {big.seconds / 60:.1f}")
    print(f"index_rows_generated: {big.generated['segments']}")
    print(f"index_rows_written: {big.index_rows}")
    print(f"index_rows_lost: {lost}")
    print(f"alerts_generated: {big.generated['alerts']}")
    print(f"alerts_stored: {big.alerts_stored}")
    print(f"health_dropped_in_queue: {big.generated['health_dropped']}")
    print(f"generator_late_rounds: {big.generated['late_rounds']}")
    print(f"generator_blocked_s: {big.generated['blocked_s']:.1f}")
    for key, value in big.pg.items():
        print(f"pg_{key}: {value:.0f}")
    for name, values in sorted(big.latencies.items()):
        for q in (0.5, 0.95, 0.99):
            print(f"api_{name}_p{round(q * 100)}_ms: {percentile(values, q) * 1000:.1f}")
    polled = {name: v for name, v in big.latencies.items() if name not in {"login", "me"} and v}
    worst = max(polled, key=lambda name: percentile(polled[name], 0.95), default="")
    if worst:
        print(f"api_worst_p95: {worst}")
        print(f"api_worst_p95_ms: {percentile(polled[worst], 0.95) * 1000:.1f}")
    print(f"api_errors: {sum(big.errors.values())}")
    for result in results:
        print(f"control_plane_rss_mib_at_{result.cameras}: {result.rss_steady / 2**20:.0f}")
        print(f"control_plane_cpu_cores_at_{result.cameras}: {result.cpu_control:.2f}")
        print(f"sink_thread_cpu_cores_at_{result.cameras}: {result.cpu_writer:.2f}")
        if result.api_processes:
            print(f"api_processes_cpu_cores_at_{result.cameras}: {result.cpu_api:.2f}")
            print(f"api_processes_rss_mib_at_{result.cameras}: {result.rss_api / 2**20:.0f}")
    if len(results) >= 2:
        a, b = results[0], results[-1]
        slope = (b.rss_steady - a.rss_steady) / (b.cameras - a.cameras)
        print(f"control_plane_rss_kib_per_camera: {slope / 1024:.1f}")
        cpu_slope = (b.cpu_control - a.cpu_control) / (b.cameras - a.cameras)
        print(f"control_plane_cpu_millicores_per_camera: {cpu_slope * 1000:.3f}")
    print(f"sink_lag_p50_s: {lag_percentile(big.lags, 0.5):.2f}")
    print(f"sink_lag_p99_s: {lag_percentile(big.lags, 0.99):.2f}")
    print(f"sink_lag_max_s: {lag_percentile(big.lags, 1.0):.2f}")
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
