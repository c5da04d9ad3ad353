"""``vigie demo`` as a new user runs it: motion events from simulated cameras in ``GET /api/events`` within 30 s
of start (scene rendering included), through the real RTSP server or from files."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.rtsp import rtsp_stack_missing
from tests.support.servers import free_port
from tests.support.vigie_cli import ApiSession, start_vigie, stop_vigie
from tests.support.waiting import wait_for

DEADLINE_S = 30.0


def run_demo_until_events(tmp_path: Path, *extra: str) -> tuple[float, list[dict[str, Any]], list[dict[str, Any]]]:
    port = free_port()
    started = time.monotonic()
    proc = start_vigie("demo", "--data-dir", str(tmp_path / "demo"), "--port", str(port), *extra)
    cameras: list[dict[str, Any]] = []
    api: ApiSession | None = None
    login = tmp_path / "demo" / "demo-login.txt"

    def first_events() -> list[dict[str, Any]]:
        nonlocal api, cameras
        assert proc.poll() is None, "the demo stopped by itself"
        try:
            if api is None:
                if not login.is_file():
                    return []
                fields = dict(line.split(": ", 1) for line in login.read_text(encoding="utf-8").splitlines())
                api = ApiSession(f"http://127.0.0.1:{port}").login(fields["username"], fields["password"], 0)
            events: list[dict[str, Any]] = api.get("/api/events")["items"]
            cameras = api.get("/api/cameras")
        except OSError:
            return []
        # the camera list is shared by the process and a few seconds old at most (vigie.api.camera_lists)
        return events if any(c["state"] == "online" for c in cameras) else []

    try:
        events = wait_for(first_events, DEADLINE_S + 30, "a motion event and a camera online", every=0.5)
        elapsed = time.monotonic() - started
        assert proc.poll() is None, "the demo stopped by itself"
    finally:
        output = stop_vigie(proc, signal.SIGINT)
    assert proc.returncode == 0, output[-3000:]
    password = login.read_text(encoding="utf-8").split("password: ")[1].strip()
    assert "demo-login.txt" in output and password not in output, "the demo password is in its file, never in logs"
    assert login.stat().st_mode & 0o077 == 0, "the password file is readable by its owner only"
    return elapsed, events, cameras


def check(
    elapsed: float, events: list[dict[str, Any]], cameras: list[dict[str, Any]], dome: frozenset[str] = frozenset()
) -> None:
    """``dome``: the PTZ dome the demo adds over RTSP (no analysis on it: it is not in the simulated-footage
    exemption, its picture being rendered live)."""
    assert events, "no motion event reached the API"
    print(f"first event after {elapsed:.1f} s")
    assert elapsed <= DEADLINE_S, f"first event after {elapsed:.1f} s (promised within {DEADLINE_S:.0f} s)"
    assert {e["camera_id"] for e in events} <= {"sim1", "sim2"}
    assert all(e["kind"] == "motion" and e["module"] == "motion" for e in events)
    assert all(0 <= e["region"]["x"] <= 1 and 0 < e["region"]["w"] <= 1 for e in events)
    assert {c["id"] for c in cameras} == {"sim1", "sim2"} | dome
    assert any(c["state"] == "online" for c in cameras)


@pytest.mark.rtsp
@pytest.mark.slow
def test_demo_over_rtsp_shows_motion_events_within_30_s(tmp_path: Path) -> None:
    missing = rtsp_stack_missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must have the RTSP stack: {missing}")
        pytest.skip(missing)
    check(*run_demo_until_events(tmp_path, "--rtsp-port", str(free_port())), dome=frozenset({"dome1"}))


@pytest.mark.slow
def test_demo_from_files_shows_motion_events_within_30_s(tmp_path: Path) -> None:
    check(*run_demo_until_events(tmp_path, "--no-rtsp"))
