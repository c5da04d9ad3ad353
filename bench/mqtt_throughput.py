"""MQTT delivery at 5,000 messages a second from one ``vigie serve`` process, through a real Mosquitto (issue 21).

The service is built as ``vigie serve`` builds it (:class:`vigie.runtime.assembly.service.VigieService`, a
configuration with an ``mqtt`` section, SQLite), with ``--cameras`` cameras over 15 communes. Two producers write
what the service publishes:

- **health events** the way ``vigie serve``'s recording monitor writes them each round: through its gap ledger
  (the recording-gap table of the health views, then ``MqttBridge.gaps_written``: the outbox), every ``--tick-ms`` a
  batch of recording gaps opened or closed — one transaction for the gaps, one for their messages — at ``--rate``
  messages a second in all (``--producer bridge``: the bridge's part only, the messages without their gap rows — the
  messaging path's cost told from the gap table's);
- **confirmed alerts** through the alert service (``AlertService.confirm``: verdict, audit entry and outbox message in
  one transaction), ``--confirm-rate`` a second — people confirm, they do not confirm thousands a second.

A consumer in **another process** (MQTT v5, fixed client id, persistent session, QoS 1: what a commune's system
should be) subscribes to ``vigie/#`` and notes each message's id and arrival time: by default a light one framed by
hand (a commune's system runs on its own machine; here it would share the 2 cores with Vigie: paho's took half a
core at 2,500 messages a second), ``--consumer paho`` for paho's. Delivery delay = arrival minus the payload's
``written_at`` (the moment the message was made, before its transaction), one clock.

Phases (``--phases``): ``client`` — CPU per QoS-1 message of paho's client vs the publisher's framed session, same
broker, same run; ``drain`` — the publisher alone emptying ``--drain`` waiting messages (its ceiling, CPU per
message); ``steady`` — ``--seconds`` of steady load: delay p50/p95/p99, rate reached, lost, CPU per thread and per
message, time in the garbage collector; ``broker-restart`` — the same load, the broker stopped (SIGTERM, it saves its
database) at ``--restart-at`` s and started again 1 s later: lost (goal 0; an id written to the outbox that never
arrived), duplicates (allowed: at least once), the longest delay. The headline figures come last, ``name: value``.

    .venv/bin/python bench/mqtt_throughput.py [--rate 5000] [--seconds 10] [--cameras 600] [--inflight 1000]
        [--phases client,drain,steady,broker-restart] [--consumer framed|paho] [--producer ledger|bridge]

Needs Debian's mosquitto (``scripts/setup.sh --with-mqtt``). The machine's cores are shared by the broker, the
service (producers and publisher) and the consumer: on 2 cores every figure includes that contention.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVICE_PASSWORD = "bench-service-password"
COMMUNES = 15


def consume_framed(port: int, password: str, out: Path) -> int:
    """The consumer process, light (the default): a persistent session (v5, clean start off, QoS 1), framed with
    the publisher's helpers, a PUBACK per message written a read at a time; reconnects after a broker restart. On 2
    shared cores paho's consumer took half a core at 2,500 messages a second, CPU that a commune's own machine would
    spend, not Vigie's. Writes ``<id> <written_at> <arrival epoch s>`` per message at SIGTERM."""
    import socket
    import struct

    arrivals: list[tuple[bytes, float]] = []
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def text(value: bytes) -> bytes:
        return struct.pack("!H", len(value)) + value

    def packet(header: int, body: bytes) -> bytes:  # bodies here are shorter than 128 bytes: a one-byte length
        return bytes([header, len(body)]) + body

    # no import of vigie here: the same consumer measures another checkout's publisher
    client_id = f"bench-consumer-{out.parent.name}".encode()
    expiry = b"\x05\x11" + struct.pack("!I", 3600)  # properties: session expiry an hour
    connect = packet(
        0x10,
        text(b"MQTT")
        + b"\x05\xc0"
        + struct.pack("!H", 30)
        + expiry
        + text(client_id)
        + text(b"vigie")
        + text(password.encode()),
    )  # v5, username and password, clean start off
    subscribe = packet(0x82, b"\x00\x01\x00" + text(b"vigie/#") + b"\x01")  # id 1, no property, QoS 1
    count = out.parent / "consumer.count"

    def session() -> None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(connect + subscribe)
        sock.settimeout(0.25)
        buffer, last_count = bytearray(), 0.0
        while not stop.is_set():
            try:
                data = sock.recv(262_144)
            except TimeoutError:
                data = None
            if data == b"":
                raise ConnectionError("closed")
            now = time.time()
            if data:
                buffer += data
            acks, pos, end = [], 0, len(buffer)
            while pos + 2 <= end:
                length, multiplier, at = 0, 1, pos + 1
                while at < end:
                    length += (buffer[at] & 0x7F) * multiplier
                    multiplier *= 128
                    at += 1
                    if not buffer[at - 1] & 0x80:
                        break
                else:
                    break
                if at + length > end:
                    break
                if buffer[pos] & 0xF0 == 0x30:  # PUBLISH, QoS 1: topic, packet id, properties, payload
                    tlen = struct.unpack_from("!H", buffer, at)[0]
                    mid_at = at + 2 + tlen
                    props, props_at = 0, mid_at + 2
                    multiplier = 1
                    while True:
                        props += (buffer[props_at] & 0x7F) * multiplier
                        props_at += 1
                        if not buffer[props_at - 1] & 0x80:
                            break
                        multiplier *= 128
                    arrivals.append((bytes(buffer[props_at + props : at + length]), now))
                    acks.append(b"\x40\x02" + bytes(buffer[mid_at : mid_at + 2]))
                elif buffer[pos] & 0xF0 == 0x90:  # SUBACK: subscribed
                    (out.parent / "consumer.ready").write_text("1")
                pos = at + length
            del buffer[:pos]
            if acks:
                sock.sendall(b"".join(acks))
            if now - last_count > 0.25:
                count.write_text(str(len(arrivals)))
                last_count = now
        sock.sendall(b"\xe0\x00")
        sock.close()

    while not stop.is_set():
        try:
            session()
        except OSError:
            time.sleep(0.5)  # the broker restarting
    write_arrivals(out, arrivals)
    return 0


def write_arrivals(out: Path, arrivals: list[tuple[bytes, float]]) -> None:
    with out.open("w") as f:
        for payload, arrived in arrivals:
            message = json.loads(payload)
            f.write(f"{message['id']} {message['written_at']} {arrived:.6f}\n")


def consume(port: int, password: str, out: Path) -> int:
    """The consumer process with paho (``--consumer paho``): what a commune's system would run; writes ``<id>
    <written_at> <arrival epoch s>`` per message at SIGTERM."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    arrivals: list[tuple[bytes, float]] = []
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def on_connect(client: mqtt.Client, userdata: object, flags: object, reason: object, props: object) -> None:
        client.subscribe([("vigie/#", 1)])

    def on_message(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        arrivals.append((message.payload, time.time()))  # read after the run: the consumer shares the 2 cores

    # a client id per phase: a phase's consumer never resumes the session (and the backlog) of the phase before
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-consumer-{out.parent.name}", protocol=mqtt.MQTTv5
    )
    client.username_pw_set("vigie", password)
    client.on_connect = on_connect
    client.on_message = on_message
    client.reconnect_delay_set(1, 2)
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = 3600
    client.connect("127.0.0.1", port, keepalive=30, clean_start=False, properties=properties)
    client.loop_start()
    (out.parent / "consumer.ready").write_text("1")
    count = out.parent / "consumer.count"
    while not stop.wait(0.25):
        count.write_text(str(len(arrivals)))
    time.sleep(0.2)
    client.loop_stop()
    write_arrivals(out, list(arrivals))
    return 0


def consumer_caught_up(phase: Path, expected: int) -> None:
    """Wait until the consumer has received at least ``expected`` messages and nothing more for 1.5 s (duplicates
    count: it may still be behind), or nothing at all for 5 s (then what it lacks is lost)."""
    count, last, still_since = phase / "consumer.count", -1, time.monotonic()
    while True:
        try:
            received = int(count.read_text() or 0)
        except (OSError, ValueError):
            received = 0
        if received != last:
            last, still_since = received, time.monotonic()
        still = time.monotonic() - still_since
        if (received >= expected and still > 1.5) or still > 5.0:
            return
        time.sleep(0.25)


def config_text(folder: Path, cameras: int, port: int, inflight: int) -> str:
    from tests.support.configs import camera_yaml

    per_commune = max(1, cameras // COMMUNES)
    communes = []
    for c in range(COMMUNES):
        block = "".join(
            camera_yaml(f"c{c:02d}-{i:04d}", f"rtsp://127.0.0.1:9/c{c}-{i}", enabled=False) for i in range(per_commune)
        )
        communes.append(
            f"  - id: commune-{c:02d}\n    name: Commune {c}\n    kind: municipal\n    sites:\n"
            f"      - id: centre\n        name: Centre\n        cameras:\n{block}"
        )
    return f"""version: 1
storage:
  database_url: sqlite:///{folder / "vigie.db"}
  data_dir: {folder / "data"}
api: {{host: 127.0.0.1, port: 8080}}
mqtt:
  enabled: true
  host: 127.0.0.1
  port: {port}
  username: vigie
  password_env: VIGIE_BENCH_MQTT_PASSWORD
  client_id: vigie-bench
  max_inflight: {inflight}
communes:
{"".join(communes)}"""


class Producers:
    """The two producers of module docstring, running until :meth:`stop`."""

    def __init__(
        self, service: object, camera_ids: list[str], rate: int, tick_s: float, confirm_rate: float, *, ledger: bool
    ) -> None:
        self.service, self.camera_ids, self.ledger = service, camera_ids, ledger
        self.rate, self.tick_s, self.confirm_rate = rate, tick_s, confirm_rate
        self.written = 0
        self.confirmed = 0
        self.late_ticks = 0
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._health, name="bench-health", daemon=True),
            threading.Thread(target=self._alerts, name="bench-alerts", daemon=True),
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def _health(self) -> None:
        from vigie.domain.recording import RecordingGap

        # What ``vigie serve``'s recording monitor writes each round: its gap ledger (the health views' table), which
        # then reports the changes to the MQTT bridge (the outbox) — the monitor's own ledger object, so that the
        # health messages cost here what they cost there (two transactions: the gaps, then the outbox).
        ledger = self.service.monitor._ledger  # type: ignore[attr-defined]
        bridge = self.service.mqtt  # type: ignore[attr-defined]
        per_tick = max(1, round(self.rate * self.tick_s))
        opened: dict[str, datetime] = {}
        cursor = 0
        next_at = time.monotonic()
        while not self._stop.is_set():
            now = datetime.now(UTC)
            gaps = []
            for _ in range(per_tick):
                camera = self.camera_ids[cursor % len(self.camera_ids)]
                cursor += 1
                start = opened.pop(camera, None)
                if start is None:
                    opened[camera] = now - timedelta(seconds=12)
                    gaps.append(RecordingGap(camera, now - timedelta(seconds=12), None, now))
                else:
                    gaps.append(RecordingGap(camera, start, now, now))
            if self.ledger:
                ledger.write(gaps, [], now)
            else:  # --producer bridge: what the ledger reports to the MQTT bridge once its gaps are written
                bridge.gaps_written(gaps, [])
            self.written += len(gaps)
            next_at += self.tick_s
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                self.late_ticks += 1

    def _alerts(self) -> None:
        from vigie.domain.actor import Actor
        from vigie.domain.geometry import Box
        from vigie.domain.observation import Observation

        if self.confirm_rate <= 0:
            return
        alerts = self.service.alerts  # type: ignore[attr-defined]
        period = 1.0 / self.confirm_rate
        next_at = time.monotonic()
        n = 0
        while not self._stop.is_set():
            camera = self.camera_ids[n % len(self.camera_ids)]
            commune = camera.split("-")[0].replace("c", "commune-")
            at = datetime.now(UTC) - timedelta(seconds=5)
            box = Box(0.2, 0.3, 0.1, 0.1)
            alert = alerts.raise_alert(Observation(camera, "intrusion", "intrusion", at, (box,), 0.9, "bench"))
            alerts.confirm(alert.id, by=Actor("agent.bench", "operator", commune))
            self.confirmed += 1
            n += 1
            next_at += period
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)


def client_cost(port: int, n: int, window: int = 1000) -> dict[str, float]:
    """CPU µs per QoS-1 message of the two ways to publish, on one broker, in this run, alternated twice: paho's
    client driven from one thread (no window of its own, its network calls made by the caller: its cheapest use) and
    the publisher's hand-framed session (:mod:`vigie.devices.mqtt.session`). No database, no consumer."""
    import paho.mqtt.client as mqtt

    from vigie.devices.mqtt.session import PublishSession, connect_packet

    topic, payload = "vigie/commune-00/health", b"x" * 450

    def with_paho(round_no: int) -> float:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-paho-{round_no}", protocol=mqtt.MQTTv5)
        client.username_pw_set("vigie", SERVICE_PASSWORD)
        client.max_inflight_messages_set(0)
        acks: list[int] = []
        up: list[bool] = []
        client.on_publish = lambda *a: acks.append(a[2])
        client.on_connect = lambda *a: up.append(True)
        client.on_socket_register_write = lambda *a: None  # publish() only queues: written by loop_write()
        client.connect("127.0.0.1", port)
        while not up:
            client.loop_write()
            client.loop_read()
            time.sleep(0.01)
        cpu = time.thread_time()
        sent = done = 0
        while done < n:
            client.loop_read()
            done += len(acks)
            acks.clear()
            while sent - done < window and sent < n:
                client.publish(topic, payload, qos=1)
                sent += 1
            client.loop_write()
            time.sleep(0.005)
        cpu = time.thread_time() - cpu
        client.disconnect()
        client.loop_write()
        return cpu / n * 1e6

    def with_session(round_no: int) -> float:
        connect = connect_packet(f"bench-session-{round_no}", 30, 0, "vigie", SERVICE_PASSWORD)
        session = PublishSession.open("127.0.0.1", port, connect, 30, tls=None)
        encoded = topic.encode()
        cpu = time.thread_time()
        sent = done = 0
        while done < n:
            done += len(session.acknowledgements())
            while sent - done < window and sent < n:
                sent += 1
                session.publish(encoded, payload, sent % 0xFFFF + 1, retain=False)
            session.flush()
            time.sleep(0.005)
        cpu = time.thread_time() - cpu
        session.close(disconnect=True)
        return cpu / n * 1e6

    paho_us = [with_paho(0), with_paho(1)]
    session_us = [with_session(0), with_session(1)]
    result = {"paho_us": min(paho_us), "session_us": min(session_us)}
    print(
        f"client: CPU µs per QoS-1 message, {n} messages, window {window}: paho one thread "
        f"{' / '.join(f'{v:.1f}' for v in paho_us)}, hand-framed session {' / '.join(f'{v:.1f}' for v in session_us)}"
        f" (ratio {result['paho_us'] / result['session_us']:.0f}×, best of two each)",
        flush=True,
    )
    return result


def read_arrivals(path: Path) -> list[tuple[str, float, float]]:
    rows = []
    for line in path.read_text().splitlines():
        message_id, written, arrived = line.split(" ")
        rows.append((message_id, datetime.fromisoformat(written.replace("Z", "+00:00")).timestamp(), float(arrived)))
    return rows


def written_ids(database: Path) -> list[str]:
    """Every message the service wrote to its outbox (sent ones are kept 7 days)."""
    from sqlalchemy import text

    from vigie.storage import create_engine_for

    engine = create_engine_for(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            return [row[0] for row in connection.execute(text("SELECT message_id FROM mqtt_outbox"))]
    finally:
        engine.dispose()


def thread_cpu() -> dict[tuple[str, int], float]:
    """CPU seconds of each live thread of this process since it started, by (thread name, native id) (Linux
    ``/proc``)."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[tuple[str, int], float] = {}
    for thread in threading.enumerate():
        if thread.native_id is None:
            continue
        try:
            fields = Path(f"/proc/self/task/{thread.native_id}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        name = "paho" if thread.name.startswith("paho") else thread.name
        out[(name, thread.native_id)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def process_cpu(pid: int | None) -> float:
    """CPU seconds another process (the broker, the consumer) has used since it started; 0 when it is gone."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def others_cpu(broker: object, consumer: subprocess.Popen[bytes]) -> dict[int, float]:
    """CPU seconds so far of the broker and the consumer, by pid (a restarted broker is another pid)."""
    process = broker.process  # type: ignore[attr-defined]
    pids = [consumer.pid] if process is None else [process.pid, consumer.pid]
    return {pid: process_cpu(pid) for pid in pids}


def others_between(before: dict[int, float], after: dict[int, float], consumer: int) -> list[float]:
    """[broker, consumer] CPU seconds between two readings (a broker that restarted in between: its new run only)."""
    broker = sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items() if pid != consumer)
    return [broker, after.get(consumer, 0.0) - before.get(consumer, 0.0)]


class GcClock:
    """Time this process spent in the cyclic garbage collector (``gc.callbacks``), by generation: a full
    collection stops every thread of the process."""

    def __init__(self) -> None:
        import gc

        self.seconds = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]
        self._started = 0.0
        gc.callbacks.append(self._note)

    def _note(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds[info["generation"]] += time.perf_counter() - self._started
            self.count[info["generation"]] += 1

    def reading(self) -> tuple[list[float], list[int]]:
        return list(self.seconds), list(self.count)


GC = GcClock()


def gc_between(before: tuple[list[float], list[int]]) -> str:
    seconds, count = GC.reading()
    return ", ".join(f"gen{g} {count[g] - before[1][g]}× {1000 * (seconds[g] - before[0][g]):.0f} ms" for g in range(3))


def cpu_between(before: dict[tuple[str, int], float], after: dict[tuple[str, int], float]) -> dict[str, float]:
    """CPU seconds each thread name spent between two :func:`thread_cpu` readings (a thread started in between
    counts from zero)."""
    out: dict[str, float] = {}
    for key, seconds in after.items():
        out[key[0]] = out.get(key[0], 0.0) + seconds - before.get(key, 0.0)
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_phase(
    name: str, args: argparse.Namespace, folder: Path, broker: object, restart_at: float | None
) -> dict[str, float]:
    phase = folder / name
    phase.mkdir()
    port = broker.port  # type: ignore[attr-defined]
    out = phase / "arrivals.txt"
    consumer = subprocess.Popen(
        [sys.executable, __file__, "--consume", str(port), str(out), "--consumer", args.consumer],
        env={**os.environ, "VIGIE_BENCH_MQTT_PASSWORD": SERVICE_PASSWORD},
    )
    try:
        return _measure(name, args, phase, broker, restart_at, consumer, out)
    finally:
        if consumer.poll() is None:
            consumer.kill()


def _measure(
    name: str,
    args: argparse.Namespace,
    phase: Path,
    broker: object,
    restart_at: float | None,
    consumer: subprocess.Popen[bytes],
    out: Path,
) -> dict[str, float]:
    from tests.support.waiting import wait_for

    from vigie.config import load_config_text
    from vigie.runtime.assembly.service import VigieService

    port = broker.port  # type: ignore[attr-defined]
    wait_for((phase / "consumer.ready").exists, 20, "the consumer connected")
    time.sleep(0.5)
    os.environ["VIGIE_BENCH_MQTT_PASSWORD"] = SERVICE_PASSWORD
    service = VigieService(load_config_text(config_text(phase, args.cameras, port, args.inflight)))
    assert service.mqtt is not None
    camera_ids = [p.camera.id for p in service.config.placements()]
    if name == "drain":
        return _drain(args, phase, service, broker, camera_ids, consumer, out)
    service.mqtt.start()
    wait_for(service.mqtt.publisher.connected.is_set, 20, "vigie connected to the broker")
    producers = Producers(
        service, camera_ids, args.rate, args.tick_ms / 1000, args.confirm_rate, ledger=args.producer == "ledger"
    )
    threads0, others0, gc0 = thread_cpu(), others_cpu(broker, consumer), GC.reading()
    cpu0, t0 = time.process_time(), time.monotonic()
    producers.start()
    restarted = False
    while time.monotonic() - t0 < args.seconds:
        if restart_at is not None and not restarted and time.monotonic() - t0 >= restart_at:
            broker.stop(signal.SIGTERM)  # type: ignore[attr-defined]
            time.sleep(1.0)
            broker.start()  # type: ignore[attr-defined]
            restarted = True
        time.sleep(0.05)
    threads = cpu_between(threads0, thread_cpu())
    others = others_between(others0, others_cpu(broker, consumer), consumer.pid)
    collected = gc_between(gc0)
    producers.stop()
    elapsed = time.monotonic() - t0
    cpu = time.process_time() - cpu0
    wait_for(lambda: service.mqtt.outbox.count_unsent() == 0, 120, "the outbox emptied", every=0.2)  # type: ignore[union-attr]
    service.mqtt.stop()
    ids = written_ids(phase / "vigie.db")
    consumer_caught_up(phase, len(ids))
    consumer.send_signal(signal.SIGTERM)
    consumer.wait(60)
    arrivals = read_arrivals(out)
    seen: dict[str, float] = {}
    duplicates = 0
    for message_id, written, arrived in arrivals:
        if message_id in seen:
            duplicates += 1
            continue
        seen[message_id] = arrived - written
    lost = len(set(ids) - set(seen))
    delays_ms = [d * 1000 for d in seen.values()]
    sent = len(ids)
    result = {
        "written": float(sent),
        "rate": sent / elapsed,
        "confirmed": float(producers.confirmed),
        "late_ticks": float(producers.late_ticks),
        "p50": percentile(delays_ms, 0.50) if delays_ms else float("nan"),
        "p95": percentile(delays_ms, 0.95) if delays_ms else float("nan"),
        "p99": percentile(delays_ms, 0.99) if delays_ms else float("nan"),
        "max": max(delays_ms) if delays_ms else float("nan"),
        "lost": float(lost),
        "duplicates": float(duplicates),
        "cpu_per_s": cpu / elapsed,
        "cpu_us": cpu / max(1, sent) * 1e6,
        "publisher_cpu_us": (threads.get("mqtt-publisher", 0.0) + threads.get("paho", 0.0)) / max(1, sent) * 1e6,
        "producer_cpu_us": threads.get("bench-health", 0.0) / max(1, producers.written) * 1e6,
        "confirm_cpu_ms": threads.get("bench-alerts", 0.0) / max(1, producers.confirmed) * 1e3,
    }
    print(
        f"{name}: {sent} messages in {elapsed:.1f} s ({result['rate']:.0f}/s; {producers.confirmed} confirmed alerts, "
        f"{producers.late_ticks} producer ticks late), delay ms p50 {result['p50']:.1f} p95 {result['p95']:.1f} "
        f"p99 {result['p99']:.1f} max {result['max']:.1f}, lost {lost}, duplicates {duplicates}, "
        f"vigie process CPU {result['cpu_per_s']:.2f} s/s ({result['cpu_us']:.0f} µs per message; publisher + paho "
        f"threads {result['publisher_cpu_us']:.0f} µs, health producer "
        f"{result['producer_cpu_us']:.0f} µs per health message written, "
        f"{result['confirm_cpu_ms']:.1f} ms per confirmation)",
        flush=True,
    )
    print_cpu(threads, others, elapsed)
    print(f"  garbage collector (all threads stopped): {collected}", flush=True)
    return result


def print_cpu(threads: dict[str, float], others: list[float], elapsed: float) -> None:
    busiest = sorted(threads.items(), key=lambda kv: -kv[1])[:6]
    print(
        "  CPU s/s by thread: "
        + ", ".join(f"{name} {cpu / elapsed:.2f}" for name, cpu in busiest)
        + f"; other processes: mosquitto {others[0] / elapsed:.2f}, consumer {others[1] / elapsed:.2f}",
        flush=True,
    )


def _drain(
    args: argparse.Namespace,
    phase: Path,
    service: object,
    broker: object,
    camera_ids: list[str],
    consumer: subprocess.Popen[bytes],
    out: Path,
) -> dict[str, float]:
    """The publisher alone: ``--drain`` health messages written to the outbox before it starts, then published as
    fast as it can (nothing else runs in the process): its ceiling, and its CPU per message."""
    from tests.support.waiting import wait_for

    from vigie.domain.recording import RecordingGap

    bridge = service.mqtt  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    for start in range(0, args.drain, 500):
        gaps = [
            RecordingGap(camera_ids[i % len(camera_ids)], now - timedelta(seconds=100 + i), None, now)
            for i in range(start, min(args.drain, start + 500))
        ]
        bridge.gaps_written(gaps, [])
    threads0, others0, gc0 = thread_cpu(), others_cpu(broker, consumer), GC.reading()
    t0 = time.monotonic()
    bridge.start()
    wait_for(lambda: bridge.outbox.count_unsent() == 0, 300, "the outbox emptied", every=0.2)
    elapsed = time.monotonic() - t0
    threads = cpu_between(threads0, thread_cpu())
    others = others_between(others0, others_cpu(broker, consumer), consumer.pid)
    collected = gc_between(gc0)
    bridge.stop()
    consumer_caught_up(phase, args.drain)
    consumer.send_signal(signal.SIGTERM)
    consumer.wait(60)
    received = {message_id for message_id, _, _ in read_arrivals(out)}
    lost = len(set(written_ids(phase / "vigie.db")) - received)
    publisher_cpu = threads.get("mqtt-publisher", 0.0) + threads.get("paho", 0.0)
    rate = args.drain / elapsed
    print(
        f"drain: {args.drain} messages published in {elapsed:.2f} s ({rate:.0f}/s), lost {lost}; publisher + paho "
        f"threads {publisher_cpu / args.drain * 1e6:.0f} µs CPU per message",
        flush=True,
    )
    print_cpu(threads, others, elapsed)
    print(f"  garbage collector (all threads stopped): {collected}", flush=True)
    return {"rate": rate, "lost": float(lost), "cpu_us": publisher_cpu / args.drain * 1e6}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=5000, help="health messages a second")
    parser.add_argument("--confirm-rate", type=float, default=20.0, help="alerts confirmed a second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--restart-at", type=float, default=4.0, help="second of phase 2 when the broker stops")
    parser.add_argument("--cameras", type=int, default=600)
    parser.add_argument("--tick-ms", type=float, default=20.0)
    parser.add_argument("--inflight", type=int, default=1000, help="mqtt.max_inflight")
    parser.add_argument("--drain", type=int, default=20000, help="messages of the drain phase (0: none)")
    parser.add_argument(
        "--phases",
        default="client,drain,steady,broker-restart",
        help="which phases to run, comma-separated (default all: client,drain,steady,broker-restart)",
    )
    parser.add_argument(
        "--consumer",
        choices=("framed", "paho"),
        default="framed",
        help="the subscriber process: framed (light, the default) or paho (what a commune's system would run; on this "
        "machine it shares the cores with Vigie)",
    )
    parser.add_argument(
        "--producer",
        choices=("ledger", "bridge"),
        default="ledger",
        help="how health messages are written: ledger (the default: as vigie serve's recording monitor writes a gap — "
        "the gap table, then the outbox) or bridge (the MQTT part only: the bridge writes the gaps' messages to the "
        "outbox, no gap row), to tell the messaging path's cost from the gap table's",
    )
    parser.add_argument("--consume", nargs=2, metavar=("PORT", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.consume:
        consumer = consume if args.consumer == "paho" else consume_framed
        return consumer(int(args.consume[0]), os.environ["VIGIE_BENCH_MQTT_PASSWORD"], Path(args.consume[1]))
    phases = {p.strip() for p in args.phases.split(",") if p.strip()}
    unknown = phases - {"client", "drain", "steady", "broker-restart"}
    if unknown:
        parser.error(
            f"--phases: unknown phase(s) {', '.join(sorted(unknown))}; "
            "choose among client, drain, steady, broker-restart"
        )

    import logging

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("vigie.governance.keys_folder").setLevel(logging.ERROR)  # the bench's keys are throwaway
    from tests.support.mosquitto import mosquitto

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with mosquitto(folder / "broker", {"vigie": SERVICE_PASSWORD}) as broker:
            client = client_cost(broker.port, args.drain or 20_000) if "client" in phases else None
            drain = run_phase("drain", args, folder, broker, None) if args.drain and "drain" in phases else None
            steady = run_phase("steady", args, folder, broker, None) if "steady" in phases else None
            restart = (
                run_phase("broker-restart", args, folder, broker, args.restart_at)
                if "broker-restart" in phases
                else None
            )
    # the headline figures, last, one `name: value` a line
    if client is not None:
        print(f"mqtt_paho_cpu_us_per_msg: {client['paho_us']:.1f}")
        print(f"mqtt_session_cpu_us_per_msg: {client['session_us']:.1f}")
        print(f"mqtt_paho_over_session_cpu_ratio: {client['paho_us'] / client['session_us']:.1f}")
    if drain is not None:
        print(f"mqtt_publisher_ceiling_msgs_per_s: {drain['rate']:.0f}")
        print(f"mqtt_publisher_cpu_us_per_msg: {drain['cpu_us']:.0f}")
    if steady is not None:
        print(f"mqtt_target_rate_msgs_per_s: {args.rate + args.confirm_rate:.0f}")
        print(f"mqtt_rate_msgs_per_s: {steady['rate']:.0f}")
        print(f"mqtt_delivery_p50_ms: {steady['p50']:.1f}")
        print(f"mqtt_delivery_p95_ms: {steady['p95']:.1f}")
        print(f"mqtt_delivery_p99_ms: {steady['p99']:.1f}")
        print(f"mqtt_lost_steady: {steady['lost']:.0f}")
        print(f"mqtt_steady_publisher_cpu_us_per_msg: {steady['publisher_cpu_us']:.0f}")
        print(f"mqtt_steady_producer_cpu_us_per_msg: {steady['producer_cpu_us']:.0f}")
        print(f"mqtt_steady_confirm_cpu_ms: {steady['confirm_cpu_ms']:.1f}")
        print(f"mqtt_steady_process_cpu_us_per_msg: {steady['cpu_us']:.0f}")
    if restart is not None:
        print(f"mqtt_restart_rate_msgs_per_s: {restart['rate']:.0f}")
        print(f"mqtt_restart_delivery_max_ms: {restart['max']:.0f}")
        print(f"mqtt_restart_duplicates: {restart['duplicates']:.0f}")
        print(f"mqtt_lost_across_broker_restart: {restart['lost']:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
