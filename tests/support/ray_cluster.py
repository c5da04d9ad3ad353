"""A real Ray cluster on this machine for tests: ``ray start --head`` and worker nodes started with their own
``--resources``, each its own ``ray start --block`` process group, so one node can be killed (``kill -9`` of the
group: its raylet and its actors' processes) while the others go on.

The head is started with health checks every second, three failures declaring a node dead (Ray's defaults take
about 15 s), as ``docs/cluster.md`` recommends for a VMS; worker nodes get the environment given (the S3
credentials a node needs to upload its segments come from its own environment, never through Ray).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.servers import free_port

HEALTH_CHECKS = {
    "RAY_health_check_initial_delay_ms": "1000",
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_timeout_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
}
OBJECT_STORE = str(80 * 1024 * 1024)


def ray_command() -> Path:
    return Path(sys.executable).with_name("ray")


@dataclass
class RayCluster:
    address: str
    log_dir: Path
    env: dict[str, str]
    nodes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    head: subprocess.Popen[bytes] | None = None

    def add_node(
        self, name: str, cpus: int, resources: Mapping[str, float] | None = None, env: Mapping[str, str] | None = None
    ) -> None:
        """Start a worker node ``name`` (with ``env`` added to its environment) and wait until the cluster lists it."""
        before = self.alive_nodes()
        log = (self.log_dir / f"node-{name}.log").open("wb")
        self.nodes[name] = subprocess.Popen(
            [
                str(ray_command()),
                "start",
                "--block",
                "--address",
                self.address,
                "--num-cpus",
                str(cpus),
                "--object-store-memory",
                OBJECT_STORE,
                "--resources",
                json.dumps({f"test_node_{name}": 1, **(resources or {})}),
                "--disable-usage-stats",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**self.env, **(env or {})},
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while len(self.alive_nodes()) <= len(before):
            if time.monotonic() > deadline or self.nodes[name].poll() is not None:
                raise RuntimeError(f"ray node {name} did not join; see {log.name}")
            time.sleep(0.5)

    def kill_node(self, name: str) -> None:
        """``kill -9`` of the node's whole process group: raylet, object store, the actors' processes."""
        proc = self.nodes.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def node_id(self, name: str) -> str:
        """Ray's node id of the worker node ``name`` (its resource ``test_node_<name>``)."""
        for node in self._ray_nodes():
            if node["Alive"] and f"test_node_{name}" in node["Resources"]:
                return str(node["NodeID"])
        raise KeyError(name)

    def alive_nodes(self) -> list[str]:
        return [str(n["NodeID"]) for n in self._ray_nodes() if n["Alive"]]

    def _ray_nodes(self) -> list[dict[str, object]]:
        """The cluster's node table, read by a separate driver process (a test process must not stay a Ray driver:
        the service under test is the driver)."""
        code = "import json, ray; ray.init(address=%r, logging_level='ERROR'); print(json.dumps(ray.nodes()))"
        out = subprocess.run(
            [sys.executable, "-c", code % self.address],
            capture_output=True,
            text=True,
            timeout=60,
            env=self.env,
            check=True,
        ).stdout
        return list(json.loads(out.strip().splitlines()[-1]))

    def close(self) -> None:
        for name in list(self.nodes):
            self.kill_node(name)
        if self.head is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.head.pid, signal.SIGKILL)
            self.head.wait(10)


@contextlib.contextmanager
def running_ray_cluster(log_dir: Path, env: Mapping[str, str] | None = None) -> Iterator[RayCluster]:
    """A head node (no CPU: it hosts no camera group) on a free port; add worker nodes with ``add_node``."""
    port = free_port()
    node_env = {**os.environ, **HEALTH_CHECKS, **(env or {})}
    log_dir.mkdir(parents=True, exist_ok=True)
    cluster = RayCluster(f"127.0.0.1:{port}", log_dir, node_env)
    log = (log_dir / "head.log").open("wb")
    cluster.head = subprocess.Popen(
        [
            str(ray_command()),
            "start",
            "--head",
            "--block",
            "--port",
            str(port),
            "--num-cpus",
            "0",
            "--object-store-memory",
            OBJECT_STORE,
            "--include-dashboard",
            "false",
            "--disable-usage-stats",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=node_env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if cluster.alive_nodes():
                    break
            except subprocess.SubprocessError:
                pass
            if time.monotonic() > deadline or cluster.head.poll() is not None:
                raise RuntimeError(f"the ray head did not start; see {log.name}")
            time.sleep(1)
        yield cluster
    finally:
        cluster.close()
