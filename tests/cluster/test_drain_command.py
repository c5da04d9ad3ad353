"""``vigie cluster drain | undrain | stop-recording`` as an integrator runs them on the control plane's host: the
drain file the control plane reads every second, refusals that say what to do, and a damaged file that never stops
the loop."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from tests.cluster.test_placement import cluster_config
from vigie.cluster.drains import drain_path, is_draining, read_drains
from vigie.runtime.assembly.service import ALIVE_FILE, write_alive
from vigie.runtime.clock import system_clock


def vigie(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vigie.cli", *args], capture_output=True, text=True, check=False)


def write(tmp_path: Path, cluster: bool = True) -> Path:
    data = cluster_config(tmp_path).model_dump(mode="json", exclude_none=True)
    if not cluster:
        data.pop("cluster")
        data["storage"] = {"data_dir": str(tmp_path / "data")}
    path = tmp_path / "vigie.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_drain_and_undrain_edit_the_file_the_control_plane_reads(tmp_path: Path) -> None:
    config = write(tmp_path)
    drains = drain_path(tmp_path / "data")
    first = vigie("cluster", "drain", "8be1d4c09a31", "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert "cluster nodes" in first.stdout, "says how to see when the node holds nothing"
    assert read_drains(drains) == {"8be1d4c09a31"}
    assert is_draining("8be1d4c09a31ffee00", read_drains(drains)), "a prefix names the node"
    again = vigie("cluster", "drain", "8be1d4c09a31", "--config", str(config))
    assert again.returncode == 0 and "already" in again.stdout
    assert vigie("cluster", "drain", "3f9c0a12be77", "--config", str(config)).returncode == 0
    assert read_drains(drains) == {"8be1d4c09a31", "3f9c0a12be77"}
    undrain = vigie("cluster", "undrain", "8be1d4c09a31", "--config", str(config))
    assert undrain.returncode == 0 and read_drains(drains) == {"3f9c0a12be77"}


def test_refusals_name_what_to_do(tmp_path: Path) -> None:
    short = vigie("cluster", "drain", "8be", "--config", str(write(tmp_path)))
    assert short.returncode == 2 and "6 characters" in short.stderr
    single = vigie("cluster", "drain", "8be1d4c09a31", "--config", str(write(tmp_path / "one", cluster=False)))
    assert single.returncode == 2 and "no `cluster` section" in single.stderr


def test_a_damaged_drain_file_drains_nothing(tmp_path: Path) -> None:
    path = tmp_path / "cluster-drain.json"
    path.write_text("{not json", encoding="utf-8")
    assert read_drains(path) == frozenset()
    path.write_text('{"nodes": ["ab", 3, "abcdef12"]}', encoding="utf-8")
    assert read_drains(path) == {"abcdef12"}, "too short or not text: ignored"
    assert read_drains(tmp_path / "missing.json") == frozenset()


def test_recording_is_not_stopped_behind_a_running_control_plane(tmp_path: Path) -> None:
    config = write(tmp_path)
    write_alive(tmp_path / "data" / ALIVE_FILE, system_clock())  # this process: a `vigie serve` alive right now
    refused = vigie("cluster", "stop-recording", "--config", str(config))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "`vigie serve` is running" in refused.stderr and "Stop it first" in refused.stderr
    single = vigie("cluster", "stop-recording", "--config", str(write(tmp_path / "one", cluster=False)))
    assert single.returncode == 2 and "no `cluster` section" in single.stderr
