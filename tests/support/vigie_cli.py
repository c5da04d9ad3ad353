"""Vigie run as a user runs it: the ``vigie`` command in a child process, and a logged-in HTTP client of the
server it starts."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

TEST_PASSWORD = "test operator passphrase"


def start_vigie(*args: str, open_files: int | None = None) -> subprocess.Popen[str]:
    """Start the ``vigie`` command as a user would, output captured (stdout and stderr together); ``open_files``:
    started with that soft limit on open files, as systemd starts services (1,024)."""

    def limited() -> None:
        if open_files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

    return subprocess.Popen(
        [sys.executable, "-m", "vigie.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=limited if open_files is not None else None,  # noqa: PLW1509 (setrlimit only, before exec)
    )


def open_file_limits(pid: int) -> tuple[int, int]:
    """(soft, hard) limit on open files of a running process (Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError(f"no open-file limit in /proc/{pid}/limits")


def stop_vigie(proc: subprocess.Popen[str], sig: signal.Signals, timeout: float = 30) -> str:
    """Stop it the way an operator or a service manager does; return everything it printed."""
    proc.send_signal(sig)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
    return output


def add_operator(config: Path, commune: str = "testville", username: str = "t.operator") -> str:
    """Create an operator (and supervisor) account on the configuration's database, authorised for a year and
    trained a month ago by the host's clock (what ``vigie serve`` reads); return its name."""
    from tests.support.cli_accounts import create_account
    from vigie.runtime.clock import system_clock

    account = create_account(
        config,
        username,
        ["operator", "supervisor"],
        folder=config.parent / "sessions",
        clock=system_clock,
        commune=commune,
        password=TEST_PASSWORD,
    )
    return account.username


def get_json(url: str) -> Any:
    """GET a JSON document from a server the test started on loopback."""
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


class ApiSession:
    """A logged-in client of a running Vigie (real HTTP, cookie jar, CSRF header), as the console is."""

    def __init__(self, base: str) -> None:
        import http.cookiejar

        self.base = base.rstrip("/")
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.csrf = ""

    def login(self, username: str, password: str, timeout: float = 30) -> ApiSession:
        """Log in, retrying while the server is still starting (connection refused); the last error is raised
        after ``timeout`` seconds."""
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


def read_login(path: Path) -> tuple[str, str]:
    """The user name and password of a demo's login file (``username: …`` / ``password: …`` lines)."""
    fields = dict(line.split(": ", 1) for line in path.read_text(encoding="utf-8").splitlines())
    return fields["username"], fields["password"]


def demo_session(port: int, login: Path) -> ApiSession | None:
    """A session of the demo's account once its login file is written (None before)."""
    if not login.is_file():
        return None
    return ApiSession(f"http://127.0.0.1:{port}").login(*read_login(login), 0)
