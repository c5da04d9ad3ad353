"""``vigie serve --config FILE`` as an integrator runs it: a real process, real HTTP, real cameras (a file
replayed as a live source, and one unreachable camera with credentials in its URL)."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

from tests.conftest import (
    TEST_PASSWORD,
    ApiSession,
    add_operator,
    camera_yaml,
    config_yaml,
    free_port,
    get_json,
    start_vigie,
    stop_vigie,
)


def test_serve_runs_cameras_keeps_going_with_a_broken_one_and_runs_no_analysis(
    tmp_path: Path, moving_square_video: Path
) -> None:
    port = free_port()
    config = tmp_path / "vigie.yaml"
    cameras = (
        camera_yaml("replay", moving_square_video.as_uri(), setting="transit")
        + camera_yaml("broken", f"rtsp://admin:hunter2@127.0.0.1:{free_port()}/live")
        + camera_yaml("expired", moving_square_video.as_uri(), valid=("2020-01-01", "2024-12-31"))
    )
    config.write_text(config_yaml(tmp_path, cameras, port=port), encoding="utf-8")
    operator = add_operator(config)
    proc = start_vigie("serve", "--config", str(config))
    try:
        api = ApiSession(f"http://127.0.0.1:{port}").login(operator, TEST_PASSWORD, timeout=40)
        deadline = time.monotonic() + 40
        states: dict[str, dict[str, Any]] = {}
        while time.monotonic() < deadline:
            time.sleep(0.5)
            if proc.poll() is not None:
                break
            try:
                states = {c["id"]: c for c in api.get("/api/cameras")}
            except OSError:
                continue
            if states.get("replay", {}).get("state") == "online" and states.get("broken", {}).get("state") == "offline":
                break
        assert proc.poll() is None, "the service must keep running with a broken camera"
        assert states["replay"]["state"] == "online"
        assert states["broken"]["state"] == "offline"
        assert states["expired"]["state"] == "offline"
        assert "expired on 2024-12-31" in states["expired"]["reason"]
        assert "hunter2" not in states["broken"]["reason"] and "127.0.0.1" in states["broken"]["reason"]
        time.sleep(3)
        # real cameras and no activation: motion analysis must not have run (L22)
        assert api.get("/api/events")["items"] == []
        public = get_json(f"http://127.0.0.1:{port}/api/public/cameras")  # the public page needs no login (L36)
        assert {c["id"] for c in public} == {"replay", "broken", "expired"}
    finally:
        output = stop_vigie(proc, signal.SIGTERM)
    assert "hunter2" not in output, "credentials must never reach the logs"
    assert proc.returncode == 0
