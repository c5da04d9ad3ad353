"""``vigie serve --config FILE`` as an integrator runs it: a real process, real HTTP, real cameras (a file
replayed as a live source, and one unreachable camera with credentials in its URL)."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

from tests.conftest import free_port, get_json, start_vigie, stop_vigie

AUTH = """    authorisation:
              reference: 2026-TEST-001
              valid_from: {valid_from}
              valid_until: {valid_until}
              purposes: [crime_prevention]
              retention_days: 15
"""


def camera(camera_id: str, url: str, valid: tuple[str, str] = ("2026-01-01", "2030-12-31")) -> str:
    auth = AUTH.format(valid_from=valid[0], valid_until=valid[1])
    return f"""          - id: {camera_id}
            name: Camera {camera_id}
            kind: fixed
            main_stream: {url}
            location: {{lat: 45.76, lon: 4.83}}
        {auth}"""


def test_serve_runs_cameras_keeps_going_with_a_broken_one_and_runs_no_analysis(
    tmp_path: Path, moving_square_video: Path
) -> None:
    port = free_port()
    config = tmp_path / "vigie.yaml"
    config.write_text(
        f"""version: 1
storage:
  database_url: sqlite:///{tmp_path / "vigie.db"}
  data_dir: {tmp_path / "data"}
api: {{host: 127.0.0.1, port: {port}}}
communes:
  - id: testville
    name: Testville
    kind: municipal
    sites:
      - id: centre
        name: Centre
        cameras:
{camera("replay", moving_square_video.as_uri())}
{camera("broken", f"rtsp://admin:hunter2@127.0.0.1:{free_port()}/live")}
{camera("expired", moving_square_video.as_uri(), ("2020-01-01", "2024-12-31"))}
""",
        encoding="utf-8",
    )
    proc = start_vigie("serve", "--config", str(config))
    try:
        deadline = time.monotonic() + 40
        states: dict[str, dict[str, Any]] = {}
        while time.monotonic() < deadline:
            time.sleep(0.5)
            if proc.poll() is not None:
                break
            try:
                states = {c["id"]: c for c in get_json(f"http://127.0.0.1:{port}/api/cameras")}
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
        assert get_json(f"http://127.0.0.1:{port}/api/events")["items"] == []
    finally:
        output = stop_vigie(proc, signal.SIGTERM)
    assert "hunter2" not in output, "credentials must never reach the logs"
    assert proc.returncode == 0
