"""``vigie serve --config FILE`` as an integrator runs it: a real process, real HTTP, real cameras (a file
replayed as a live source, and one unreachable camera with credentials in its URL)."""

from __future__ import annotations

import signal
import time
import urllib.error
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.configs import camera_yaml, config_yaml
from tests.support.servers import free_port
from tests.support.vigie_cli import (
    TEST_PASSWORD,
    ApiSession,
    add_operator,
    get_json,
    open_file_limits,
    start_vigie,
    stop_vigie,
)
from tests.support.waiting import wait_for


def test_serve_runs_cameras_keeps_going_with_a_broken_one_and_runs_no_analysis(
    tmp_path: Path, moving_square_video: Path
) -> None:
    port = free_port()
    config = tmp_path / "vigie.yaml"
    today = datetime.now(UTC).date()  # the service reads the host's day
    expired_on = (today - timedelta(days=30)).isoformat()
    cameras = (
        camera_yaml("replay", moving_square_video.as_uri(), setting="transit")
        + camera_yaml("broken", f"rtsp://admin:hunter2@127.0.0.1:{free_port()}/live")
        + camera_yaml(
            "expired", moving_square_video.as_uri(), valid=((today - timedelta(days=730)).isoformat(), expired_on)
        )
    )
    config.write_text(config_yaml(tmp_path, cameras, port=port), encoding="utf-8")
    operator = add_operator(config)
    proc = start_vigie("serve", "--config", str(config), open_files=1024)  # systemd's default soft limit
    try:
        api = ApiSession(f"http://127.0.0.1:{port}").login(operator, TEST_PASSWORD, timeout=40)
        soft, hard = open_file_limits(proc.pid)
        assert soft >= min(hard, 4096), "a socket per camera: serve raises its soft limit on open files"

        def settled() -> dict[str, dict[str, Any]]:
            assert proc.poll() is None, "the service must keep running with a broken camera"
            try:
                states = {c["id"]: c for c in api.get("/api/cameras")}
            except OSError:
                return {}
            replay, broken = states.get("replay", {}), states.get("broken", {})
            return states if replay.get("state") == "online" and broken.get("state") == "offline" else {}

        states = wait_for(settled, 40, "the replayed camera online and the broken one offline", every=0.5)
        assert proc.poll() is None, "the service must keep running with a broken camera"
        assert states["replay"]["state"] == "online"
        assert states["broken"]["state"] == "offline"
        assert states["expired"]["state"] == "offline"
        assert f"expired on {expired_on}" in states["expired"]["reason"]
        assert "hunter2" not in states["broken"]["reason"] and "127.0.0.1" in states["broken"]["reason"]
        time.sleep(3)
        # real cameras and no activation: motion analysis must not have run (L22)
        assert api.get("/api/events")["items"] == []
        public = get_json(f"http://127.0.0.1:{port}/api/public/cameras")  # the public page needs no login (L36)
        assert {c["id"] for c in public} == {"replay", "broken", "expired"}
        # an expired prefectoral authorisation: listed as such, and no live image of it (L1)
        listed = {c["id"]: c["authorisation"] for c in public}
        assert listed["expired"] == "expired" and listed["replay"] in {"valid", "expiring"}
        with pytest.raises(urllib.error.HTTPError) as refused:
            api.get("/api/cameras/expired/live.jpg")
        assert refused.value.code == 403 and b"camera_not_authorised" in refused.value.read()
    finally:
        output = stop_vigie(proc, signal.SIGTERM)
    assert "hunter2" not in output, "credentials must never reach the logs"
    assert proc.returncode == 0
