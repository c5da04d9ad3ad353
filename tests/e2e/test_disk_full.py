"""Disk full while recording from a real RTSP camera: the oldest unheld segments are destroyed early, an alarm is
raised, the held segment is never touched, the destruction register says what went, and recording goes on."""

from __future__ import annotations

import csv
import io
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.recording.media import write_h264
from tests.support.cli_accounts import create_account, login_env
from tests.support.configs import camera_yaml, config_yaml
from tests.support.rtsp import rtsp_cameras
from tests.support.servers import free_port
from tests.support.vigie_cli import start_vigie, stop_vigie
from tests.support.waiting import wait_for
from vigie.recording.segment_writer import start_from_key
from vigie.runtime.clock import system_clock


def vigie(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vigie.cli", *args], capture_output=True, text=True, check=False, env=env
    )


def segments(root: Path) -> list[Path]:
    return sorted(root.glob("cam/**/*.ts"))


@pytest.fixture
def rtsp_camera(tmp_path: Path) -> Iterator[str]:
    clip = write_h264(tmp_path / "clip.mp4", seconds=6, fmt="mp4")
    with rtsp_cameras({"cam": clip}) as urls:
        yield urls["cam"]


@pytest.mark.rtsp
@pytest.mark.slow
def test_disk_full_purges_oldest_unheld_never_the_held_one(tmp_path: Path, rtsp_camera: str) -> None:
    config = tmp_path / "vigie.yaml"
    storage = "  min_free_mb: 100000000\n  segment_seconds: 2\n"  # ~95 TB "needed": the disk is always full
    config.write_text(
        config_yaml(tmp_path, camera_yaml("cam", rtsp_camera), port=free_port(), storage=storage), encoding="utf-8"
    )
    cfg = str(config)
    root = tmp_path / "data" / "segments"
    investigator = create_account(config, "agent.martin", ["investigator"], folder=tmp_path, clock=system_clock)
    as_investigator = login_env(config, investigator)  # the child processes read the host's clock
    proc = start_vigie("serve", "--config", cfg)
    try:
        wait_for(lambda: len(segments(root)) >= 4, 40, "four segments of the camera recorded", every=0.3)
        time.sleep(1)  # the writer indexes what the recorder reported
        first = segments(root)[0]
        start = start_from_key(first.relative_to(root).as_posix())
        held = vigie(
            "hold", "place", "--config", cfg, "--camera", "cam", "--from", start.isoformat(),
            "--to", (start + timedelta(seconds=1)).isoformat(), "--requisition", "REQ-2026-118",
            "--case", "PV 2026/00042", "--officer", "OPJ Durand", env=as_investigator,
        )  # fmt: skip
        assert held.returncode == 0, held.stderr
        before = segments(root)

        purged = vigie("recording", "purge", "--config", cfg)
        assert purged.returncode == 0, purged.stderr
        assert "ALARM" in purged.stderr and "disk full" in purged.stderr.lower(), purged.stderr
        assert first.exists(), "a held segment is never destroyed"
        gone = [p for p in before if not p.exists()]
        assert len(gone) >= 2, "the oldest unheld segments are destroyed"
        wait_for(lambda: any(p not in before for p in segments(root)), 15, "recording to go on", every=0.3)
        assert proc.poll() is None, "the service keeps running"

        register = vigie("recording", "register", "--config", cfg)
        rows = list(csv.DictReader(io.StringIO(register.stdout)))
        destroyed = {r["key"] for r in rows if r["destroyed_at"]}
        # segments finished after the `before` snapshot may have been purged too: compare by key
        assert {p.relative_to(root).as_posix() for p in gone} <= destroyed, register.stdout
        assert not any((root / key).exists() for key in destroyed), "the register names only destroyed segments"
    finally:
        output = stop_vigie(proc, signal.SIGTERM)
    assert proc.returncode == 0, output[-2000:]
