"""``vigie demo`` shows plate reading (LAPI) end to end: the state tenant's lane camera reads every simulated car under
the activation the demo recorded through the governance service; only the car on the tenant's hit list is ever
visible (a match, with a pending alert), the others are only counted (L35); the commune's operator sees nothing of
it (L34)."""

from __future__ import annotations

import signal
import urllib.error
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import free_port
from tests.support.vigie_cli import ApiSession, read_login, start_vigie, stop_vigie
from tests.support.waiting import wait_for

DEADLINE_S = 150.0
"""Scenes rendered, then the scripted car passes 12 s into each 30-s loop of the lane scene."""


@pytest.mark.slow
def test_the_demo_reads_plates_and_shows_only_the_listed_one(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "demo"
    proc = start_vigie("demo", "--data-dir", str(data), "--port", str(port), "--no-rtsp")
    officer: ApiSession | None = None

    def a_match() -> list[dict[str, Any]]:
        nonlocal officer
        assert proc.poll() is None, "the demo stopped by itself"
        login = data / "demo-lapi-login.txt"
        try:
            if officer is None:
                if not login.is_file():
                    return []
                officer = ApiSession(f"http://127.0.0.1:{port}").login(*read_login(login), 0)
            matches: list[dict[str, Any]] = officer.get("/api/plates/matches")
        except OSError:
            return []
        return matches

    try:
        matches = wait_for(a_match, DEADLINE_S, "a plate match on the demo's LAPI camera", every=1.0)
        assert officer is not None
        counts = wait_for(
            lambda: [c for c in officer.get("/api/plates/counts") if c["reads"] > c["matches"]],
            60,
            "a car not on the list read and counted",
            every=1.0,
        )
        matches = officer.get("/api/plates/matches")
        alerts = officer.get("/api/alerts")
        commune = ApiSession(f"http://127.0.0.1:{port}").login(*read_login(data / "demo-login.txt"))
        with pytest.raises(urllib.error.HTTPError) as refused:
            commune.get("/api/plates/matches")
        commune_cameras = {c["id"] for c in commune.get("/api/cameras")}
    finally:
        output = stop_vigie(proc, signal.SIGINT)
    assert proc.returncode == 0, output[-3000:]

    assert {m["plate"] for m in matches} == {"GE042ZR"}, "only the listed car is visible"
    assert all(m["camera_id"] == "lapi1" and m["list_name"] == "voles" for m in matches)
    assert [c["camera_id"] for c in counts] == ["lapi1"]
    pending = [a for a in alerts["items"] if a["module"] == "plate_reading"]
    assert pending and all(a["state"] == "pending" for a in pending), "a match waits for a person"
    assert refused.value.code in (403, 404), "a commune's operator has no plate reads to see"
    assert "lapi1" not in commune_cameras
    assert "activation #" in output and "GE-042-ZR" in output
    password = read_login(data / "demo-lapi-login.txt")[1]
    assert password not in output, "the password is in its file, never in the logs"
    assert (data / "demo-lapi-login.txt").stat().st_mode & 0o077 == 0
