"""Shared fixtures: small real videos made with PyAV, free ports."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_json(url: str) -> Any:
    """GET a JSON document from a server the test started on loopback."""
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def camera_yaml(
    camera_id: str, url: str, *, setting: str = "public_street", valid: tuple[str, str] = ("2026-01-01", "2030-12-31")
) -> str:
    """One camera of a test configuration (under ``communes[0].sites[0].cameras``)."""
    return f"""          - id: {camera_id}
            name: Camera {camera_id}
            kind: fixed
            setting: {setting}
            main_stream: {url}
            location: {{lat: 45.76, lon: 4.83}}
            authorisation:
              reference: 2026-TEST-001
              valid_from: {valid[0]}
              valid_until: {valid[1]}
              purposes: [crime_prevention]
              retention_days: 15
"""


def config_yaml(tmp_path: Path, cameras: str, *, port: int = 8080, storage: str = "") -> str:
    """A whole test configuration: SQLite and data under ``tmp_path``, one municipal commune, the given cameras;
    ``storage`` adds lines to the storage section (indented by two spaces)."""
    return f"""version: 1
storage:
  database_url: sqlite:///{tmp_path / "vigie.db"}
  data_dir: {tmp_path / "data"}
{storage}api: {{host: 127.0.0.1, port: {port}}}
communes:
  - id: testville
    name: Testville
    kind: municipal
    sites:
      - id: centre
        name: Centre
        cameras:{" []" if not cameras else ""}
{cameras}"""


def start_vigie(*args: str) -> subprocess.Popen[str]:
    """Start the ``vigie`` command as a user would, output captured (stdout and stderr together)."""
    return subprocess.Popen(
        [sys.executable, "-m", "vigie.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def stop_vigie(proc: subprocess.Popen[str], sig: signal.Signals, timeout: float = 30) -> str:
    """Stop it the way an operator or a service manager does; return everything it printed."""
    proc.send_signal(sig)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
    return output


def write_moving_square_video(
    path: Path, seconds: float = 4.0, fps: int = 10, size: tuple[int, int] = (320, 180), moving: bool = True
) -> Path:
    """A static textured background with a bright square crossing it: motion with a known position."""
    width, height = size
    rng = np.random.default_rng(7)
    bg = rng.integers(50, 110, size=(height, width, 3), dtype=np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        stream.options = {"g": str(fps * 2), "preset": "ultrafast"}
        frames = int(seconds * fps)
        for i in range(frames):
            img = bg.copy()
            x = int(10 + (width - 50) * i / frames) if moving else 10
            img[70:110, x : x + 30] = 240
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture(scope="session")
def moving_square_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_moving_square_video(tmp_path_factory.mktemp("video") / "square.mp4")


class ApiSession:
    """A logged-in client of a running Vigie (real HTTP, cookie jar, CSRF header), as the console is."""

    def __init__(self, base: str) -> None:
        import http.cookiejar

        self.base = base.rstrip("/")
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.csrf = ""

    def login(self, username: str, password: str, timeout: float = 30) -> ApiSession:
        """Log in, retrying while the server is still starting."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.csrf = self.send("POST", "/api/auth/login", {"username": username, "password": password})[
                    "csrf_token"
                ]
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def get(self, path: str) -> Any:
        return self.send("GET", path)

    def send(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.base}{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.csrf:
            request.add_header("X-CSRF-Token", self.csrf)
        with self.opener.open(request, timeout=5) as response:
            text = response.read()
            return json.loads(text) if text else None


TEST_PASSWORD = "test operator passphrase"


def add_operator(config: Path, commune: str = "testville", username: str = "t.operator") -> str:
    """Create an operator account on the configuration's database with ``vigie users add``; return its name."""
    result = subprocess.run(
        [
            sys.executable, "-m", "vigie.cli", "users", "add", "--config", str(config), "--username", username,
            "--name", "Test Operator", "--commune", commune, "--roles", "operator,supervisor",
            "--authorised-until", "2099-12-31", "--trained-on", "2026-01-01", "--by", "test", "--password-stdin",
        ],
        input=TEST_PASSWORD + "\n", capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return username


@pytest.fixture(autouse=True)
def _close_live_feeds() -> Iterator[None]:
    """Live views opened by a test stop with it: a frame-reading thread left running at interpreter exit can abort
    the process (OpenCV's encoder in a daemon thread during finalisation)."""
    yield
    from tests.api.live_world import close_all

    close_all()
