"""After ``kill -9`` of the service nothing writes ``gate.closed``: the next start closes what the dead run left open,
at the last time it was seen alive, and says so (``service.unclean_stop``). The compliance report then shows the
module stopping there, not running through the outage.

The service runs for real in a child process (tests/runtime/service_child.py) on a clock far from the host's day;
it is killed with SIGKILL, then started again here on a FakeClock two hours later."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from tests.support.clocks import T0, FakeClock
from tests.support.configs import camera_yaml, config_yaml
from tests.support.waiting import wait_for
from vigie.config import load_config, load_config_text
from vigie.domain.audit import GENESIS_HASH, AuditAction, AuditEvent, AuditRecord, seal
from vigie.governance.gate import GATE_ACTOR
from vigie.governance.report import RESTART_WITHOUT_STOP, UNCLEAN_STOP, build_report, open_gates, unclean_stop
from vigie.runtime.assembly.service import ALIVE_FILE, SERVICE_ACTOR, VigieService, read_alive
from vigie.storage import SqlAuditStore, create_engine_for

ROOT = Path(__file__).resolve().parents[2]


def _records(store: SqlAuditStore, action: AuditAction, target: str = "") -> list[AuditRecord]:
    try:
        return [r for r in store.records() if r.action == action and target in r.target]
    except Exception:  # the child has not created the database yet
        return []


def _transitions(store: SqlAuditStore) -> list[AuditRecord]:
    """The gate's openings and closings of motion on cam-1, in the chain's order."""
    both = _records(store, AuditAction.GATE_OPENED, "motion@cam-1") + _records(store, AuditAction.GATE_CLOSED)
    return sorted((r for r in both if "motion@cam-1" in r.target), key=lambda r: r.seq)


def _motion_running(store: SqlAuditStore) -> AuditRecord | None:
    """The gate's last opening of motion on cam-1 when its last transition is an opening; None otherwise."""
    transitions = _transitions(store)
    return transitions[-1] if transitions and transitions[-1].action == AuditAction.GATE_OPENED else None


def test_gates_left_open_by_a_killed_service_are_closed_at_its_last_sign_of_life(
    tmp_path: Path, moving_square_video: Path
) -> None:
    valid = ((T0 - timedelta(days=365)).date().isoformat(), (T0 + timedelta(days=5 * 365)).date().isoformat())
    config_path = tmp_path / "vigie.yaml"
    config_path.write_text(config_yaml(tmp_path, camera_yaml("cam-1", moving_square_video.as_uri(), valid=valid)))
    config = load_config(config_path)
    store = SqlAuditStore(create_engine_for(config.storage.database_url))
    alive = config.storage.data_dir / ALIVE_FILE
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.runtime.service_child", str(config_path), T0.isoformat(), "cam-1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        running = wait_for(lambda: _motion_running(store), 90, "motion running")
        assert running is not None
        opened_at = running.at
        wait_for(lambda: (read_alive(alive) or T0) > opened_at, 60, "a heartbeat after the gate opened")
        running = wait_for(lambda: _motion_running(store), 30, "motion running at the kill")
        assert running is not None
    finally:
        child.kill()  # SIGKILL: no clean stop, nothing more written by that run
        output, _ = child.communicate(timeout=30)
    # On a loaded host the gate may have closed for a moment, when a rules read failed or outlived its deadline, and
    # opened again (fail closed: reason rules_unavailable; tests/governance/test_gate_push.py); nothing else closed it.
    killed_run = [r.details["reason"] for r in _records(store, AuditAction.GATE_CLOSED)]
    assert set(killed_run) <= {"rules_unavailable"}, f"the killed run closed nothing:\n{output[-2000:]}"
    assert _transitions(store)[-1].seq == running.seq, "motion was running when the service was killed"
    heartbeat = read_alive(alive)
    assert heartbeat is not None
    assert open_gates(store.records(from_seq=running.seq)), "before the restart the chain shows motion running"

    restart = T0 + timedelta(hours=2)
    service = VigieService(config, clock=FakeClock(restart))
    service.start()
    service.stop()

    closed = _records(store, AuditAction.GATE_CLOSED, "motion@cam-1")[-1]
    notice = _records(store, AuditAction.SERVICE_UNCLEAN_STOP)[0]
    second_start = _records(store, AuditAction.SERVICE_STARTED)[1]
    assert closed.details["reason"] == UNCLEAN_STOP and closed.seq < notice.seq < second_start.seq
    last_seen = datetime.fromisoformat(notice.details["last_seen"])
    assert closed.at == last_seen and heartbeat <= last_seen < restart
    assert notice.details["gates_closed"] == ["motion@cam-1"] and notice.at == restart
    assert notice.details["previous_start_seq"] == _records(store, AuditAction.SERVICE_STARTED)[0].seq

    report = build_report(store.records(), ["motion"], T0 - timedelta(hours=1), T0 + timedelta(hours=3), restart)
    *before, interval = report.by_module["motion"]
    assert all(earlier.closed_because == "rules_unavailable" for earlier in before), before
    assert interval.start == running.at and interval.end == last_seen, "stopped at the last sign of life"
    assert interval.closed_because == UNCLEAN_STOP
    assert service.close_unclean_run() is None, "a clean stop leaves nothing to close at the next start"


def _chain(events: list[AuditEvent]) -> list[AuditRecord]:
    records: list[AuditRecord] = []
    for event in events:
        assert event.at is not None
        records.append(seal(len(records) + 1, event, event.at, records[-1].hash if records else GENESIS_HASH))
    return records


def _gate(opened: bool, at: datetime) -> AuditEvent:
    action = AuditAction.GATE_OPENED if opened else AuditAction.GATE_CLOSED
    details = {"module": "motion", "camera_id": "cam-1", "activation_id": "7", "reason": "started"}
    return AuditEvent(GATE_ACTOR, action, "motion@cam-1", details, at)


def _service(action: AuditAction, at: datetime) -> AuditEvent:
    return AuditEvent(SERVICE_ACTOR, action, "service", {}, at)


def test_the_last_sign_of_life_is_the_later_of_the_heartbeat_and_the_runs_own_entries() -> None:
    t = T0
    run = _chain(
        [
            _service(AuditAction.SERVICE_STARTED, t),
            _gate(True, t + timedelta(seconds=5)),
            AuditEvent("cli:root", AuditAction.AUDIT_READ, "audit", {}, t + timedelta(hours=5)),  # service down
        ]
    )
    found = unclean_stop(run, heartbeat=t + timedelta(minutes=3))
    assert found is not None and found.last_seen == t + timedelta(minutes=3) and found.last_seen_from == "heartbeat"
    assert [(g.module, g.camera_id, g.activation_id) for g in found.gates] == [("motion", "cam-1", "7")]
    stale = unclean_stop(run, heartbeat=t - timedelta(days=1))  # an older run's heartbeat proves nothing
    assert stale is not None and stale.last_seen == t + timedelta(seconds=5) and stale.last_seen_from == "audit entry"
    clean = _chain([_service(AuditAction.SERVICE_STARTED, t), _service(AuditAction.SERVICE_STOPPED, t)])
    assert unclean_stop(clean, heartbeat=None) is None


def test_a_chain_from_before_the_fix_does_not_show_a_module_running_through_the_outage() -> None:
    t = T0
    records = _chain(
        [
            _service(AuditAction.SERVICE_STARTED, t),
            _gate(True, t + timedelta(seconds=5)),
            AuditEvent("system:stream", AuditAction.STREAM_ALARM, "camera:cam-1", {}, t + timedelta(minutes=10)),
            _service(AuditAction.SERVICE_STARTED, t + timedelta(hours=6)),  # killed, restarted with no repair
        ]
    )
    report = build_report(records, ["motion"], t, t + timedelta(days=1), t + timedelta(days=1))
    (interval,) = report.by_module["motion"]
    assert interval.end == t + timedelta(minutes=10) and interval.closed_because == RESTART_WITHOUT_STOP
    assert open_gates(records) == []


def test_a_run_that_is_still_alive_is_not_closed_by_a_second_start(tmp_path: Path) -> None:
    """Two services on one data folder (an operator starting it twice): the second must not write that the first
    stopped. Alive means a fresh heartbeat naming a process that exists."""
    clock = FakeClock(T0)
    service = VigieService(load_config_text(config_yaml(tmp_path, "")), clock=clock)
    service.audit.append(_service(AuditAction.SERVICE_STARTED, T0))
    service.audit.append(_gate(True, T0))
    beat = {"at": T0.isoformat(), "pid": os.getppid()}  # a process that exists, not this one
    service.alive_path.write_text(json.dumps(beat), encoding="utf-8")
    assert service.close_unclean_run() is None
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    service.alive_path.write_text(json.dumps({**beat, "pid": int(gone.stdout)}), encoding="utf-8")
    found = service.close_unclean_run()
    assert found is not None and [g.module for g in found.gates] == ["motion"]
