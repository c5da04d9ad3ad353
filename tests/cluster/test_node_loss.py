"""``vigie serve`` as a cluster's control plane on a real Ray cluster (a head and two worker nodes started with their
own ``--resources``), real PostgreSQL, real SeaweedFS, cameras from the real RTSP server: a worker node is killed
(``kill -9`` of its raylet and actors) and its cameras must record again on the other node within 30 s, losing at
most the segment being written on the lost node and that time; the move of analysis is audited. Then the control
plane itself restarts: the cameras record on through it, and the next ``vigie serve`` adopts their groups.
"""

# ruff: noqa: F811 - the seaweedfs fixture is imported, then named as an argument

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.exc import ProgrammingError

from tests.recording.media import write_h264
from tests.storage.conftest_seaweedfs import BUCKET, seaweedfs  # noqa: F401 - fixture
from tests.storage.seaweedfs import SeaweedS3
from tests.support.configs import camera_yaml, cluster_yaml
from tests.support.databases import fresh_database
from tests.support.ray_cluster import RayCluster, running_ray_cluster
from tests.support.rtsp import rtsp_cameras
from tests.support.servers import free_port
from tests.support.vigie_cli import TEST_PASSWORD, ApiSession, add_operator, start_vigie, stop_vigie
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.rtsp, pytest.mark.slow, pytest.mark.timeout(900)]

CAMERAS = ("c1", "c2", "c3", "c4")
SEGMENT_S = 10.0
"""The default segment length. A camera on the lost node loses the segment being written there and the time until
it records again elsewhere (docs/cluster.md): at most ``SEGMENT_S + REPLACED_WITHIN_S`` (and a GOP). The test once
ran with 30-s segments, where that bound is "one segment beyond the one being written"; it took 5 minutes of CI,
most of them waiting for segments to end."""
REPLACED_WITHIN_S = 30.0
RECONNECT_S = 10.0
"""A group moved by a drain is loaded on its new node first, then stopped and started there: a camera loses only
the stop and its reconnection (a keyframe every second here)."""


@pytest.fixture
def postgres_db(tmp_path: Path) -> Iterator[str]:
    with fresh_database("postgres", tmp_path) as url:
        yield url


@pytest.fixture
def cameras(tmp_path: Path) -> Iterator[dict[str, str]]:
    clip = write_h264(tmp_path / "clip.mp4", seconds=6, fmt="mp4")
    with rtsp_cameras(dict.fromkeys(CAMERAS, clip)) as urls:
        yield urls


def cluster_config(tmp_path: Path, database_url: str, s3: SeaweedS3, address: str, urls: dict[str, str]) -> Path:
    cameras = "".join(camera_yaml(camera, url) for camera, url in urls.items())
    config = tmp_path / "vigie.yaml"
    config.write_text(
        cluster_yaml(
            tmp_path,
            database_url,
            s3.endpoint_url,
            BUCKET,
            address,
            cameras,
            port=free_port(),
            segment_seconds=SEGMENT_S,
            cluster="  poll_s: 0.25\n",
            workers="  recording_cameras_per_process: 1\n  analysis_cameras_per_process: 4\n",
        ),
        encoding="utf-8",
    )
    return config


def segments(database_url: str) -> dict[str, list[tuple[datetime, datetime]]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text('SELECT camera_id, start, "end" FROM segments ORDER BY start')).all()
    except ProgrammingError:  # the service has not created its tables yet
        return {}
    finally:
        engine.dispose()
    found: dict[str, list[tuple[datetime, datetime]]] = {}
    for camera, start, end in rows:
        found.setdefault(camera, []).append((_utc(start), _utc(end)))
    return found


def run_vigie(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vigie.cli", *args], capture_output=True, text=True, timeout=120, check=False
    )


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def actor_table(cluster: RayCluster, namespace: str) -> list[tuple[str, str, str, int]]:
    """(actor name, group, node id, process id) of each live group actor of the namespace, asked of the actors
    themselves (``drain(0)`` acknowledges nothing), from a separate driver process."""
    code = f"""
import json, ray
ray.init(address={cluster.address!r}, namespace={namespace!r}, logging_level="ERROR")
found = []
for entry in ray.util.list_named_actors(all_namespaces=False):
    try:
        drained = ray.get(ray.get_actor(entry).drain.remote(0), timeout=20)
    except Exception:
        continue
    if hasattr(drained, "group"):
        found.append((entry, drained.group, drained.node_id, drained.pid))
print(json.dumps(found))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=90, env=cluster.env, check=True
    ).stdout
    return [(name, g, n, p) for name, g, n, p in json.loads(out.strip().splitlines()[-1])]


def actor_nodes(cluster: RayCluster, namespace: str) -> dict[str, tuple[str, int]]:
    """Group name → (node id, process id) of each live actor of the namespace."""
    return {group: (node, pid) for _, group, node, pid in actor_table(cluster, namespace)}


def test_a_joining_node_takes_a_share_a_lost_node_s_cameras_record_again_within_30_s_a_drain_loses_no_segment(
    tmp_path: Path, postgres_db: str, seaweedfs: SeaweedS3, cameras: dict[str, str]
) -> None:
    credentials = {"VIGIE_TEST_S3_KEY": seaweedfs.access_key, "VIGIE_TEST_S3_SECRET": seaweedfs.secret_key}
    with running_ray_cluster(tmp_path / "ray", env=credentials) as cluster:
        # each node its own spool, as each has its own disk: the lost node's unfinished segment is lost with it
        cluster.add_node("a", cpus=2, env={"VIGIE_NODE_SPOOL": str(tmp_path / "spool-a")})
        config = cluster_config(tmp_path, postgres_db, seaweedfs, cluster.address, cameras)
        namespace = next(line.split()[-1] for line in config.read_text().splitlines() if "namespace:" in line)
        os.environ.update(credentials)  # the control plane reads (plays back) the same bucket
        operator = add_operator(config)
        port = int(yaml.safe_load(config.read_text())["api"]["port"])
        proc = start_vigie("serve", "--config", str(config))
        try:

            def recording() -> bool:
                if proc.poll() is not None:
                    raise AssertionError(f"vigie serve ended: {proc.communicate()[0][-3000:]}")
                return all(len(segments(postgres_db).get(c, [])) >= 1 for c in CAMERAS)

            wait_for(recording, 120, "every camera recording through the cluster (a segment each)", every=1.0)
            node_a = cluster.node_id("a")
            alone = actor_nodes(cluster, namespace)
            assert {node for node, _ in alone.values()} == {node_a}, "no group on the head (it declares no CPU)"

            # a node joins: groups beyond a fair share move to it; the others are not restarted
            cluster.add_node("b", cpus=2, env={"VIGIE_NODE_SPOOL": str(tmp_path / "spool-b")})
            node_b = cluster.node_id("b")

            def on_both() -> dict[str, tuple[str, int]]:
                placed = actor_nodes(cluster, namespace)
                moved = [g for g, (node, _) in placed.items() if node == node_b]
                return placed if len(placed) == len(alone) and len(moved) == len(alone) // 2 else {}

            shared = wait_for(on_both, 90, "a fair share of the groups moved onto the new node (2 of 5)")
            stayed = [g for g, (node, _) in shared.items() if node == node_a]
            assert all(shared[g][1] == alone[g][1] for g in stayed), "groups that need not move keep their process"

            on_a = sorted(g for g in stayed if g.startswith("recorder"))
            assert on_a, f"no recorder left on node a: {shared}"
            moved_cameras = {f"c{int(g.rsplit('-', 1)[1]) + 1}" for g in on_a}
            killed_at = datetime.now(UTC)
            cluster.kill_node("a")

            def recording_again() -> dict[str, datetime]:
                assert proc.poll() is None, "the control plane must survive a node's loss"
                firsts = {}
                for camera, spans in segments(postgres_db).items():
                    after = [start for start, _ in spans if start > killed_at]
                    if after:
                        firsts[camera] = min(after)
                return firsts if set(firsts) >= set(CAMERAS) else {}

            firsts = wait_for(recording_again, REPLACED_WITHIN_S + SEGMENT_S + 40, "every camera recording again")
            replaced = actor_nodes(cluster, namespace)
            assert set(replaced) == set(alone), "every group runs again"
            assert {node for node, _ in replaced.values()} == {node_b}, "the lost node's groups run on the other"
            spans = segments(postgres_db)
            for camera in sorted(moved_cameras):
                resumed_s = (firsts[camera] - killed_at).total_seconds()
                before = [end for _, end in spans[camera] if end <= firsts[camera]]
                gap_s = (firsts[camera] - max(before)).total_seconds()
                print(f"{camera}: recording again {resumed_s:.1f} s after the kill; gap {gap_s:.1f} s")
                assert resumed_s <= REPLACED_WITHIN_S, f"{camera} recorded again only {resumed_s:.1f} s after"
                # lost: the segment being written on the lost node (up to a segment and a GOP) + the re-placement
                assert gap_s <= SEGMENT_S + REPLACED_WITHIN_S + 1.0, f"{camera}: {gap_s:.1f} s not recorded"
            audit = _audit_actions(postgres_db)
            placed_analysis = [d for a, d in audit if a == "analysis.placed"]
            assert {d["camera_id"] for d in placed_analysis} == set(CAMERAS), "where analysis runs is audited"
            if any(g.startswith("analysis") for g in on_a):
                assert any(d["reason"] in {"node lost", "restarted elsewhere"} for d in placed_analysis)

            # a rolling restart's step: a new node takes a share, then node b is drained (`vigie cluster drain`):
            # each of its groups stops cleanly (the segment being written is finished and kept) and starts on c
            cluster.add_node("c", cpus=2, env={"VIGIE_NODE_SPOOL": str(tmp_path / "spool-c")})
            node_c = cluster.node_id("c")
            wait_for(
                lambda: [n for n, _ in actor_nodes(cluster, namespace).values()].count(node_c) == len(alone) // 2,
                90,
                "a fair share of the groups moved onto node c (2 of 5)",
            )
            on_b = {
                f"c{int(g.rsplit('-', 1)[1]) + 1}"
                for g, (node, _) in actor_nodes(cluster, namespace).items()
                if node == node_b and g.startswith("recorder")
            }
            assert on_b, "node b records cameras before its drain"
            drained_at = datetime.now(UTC)
            drain = run_vigie("cluster", "drain", node_b[:12], "--config", str(config))
            assert drain.returncode == 0, drain.stdout + drain.stderr
            wait_for(
                lambda: {n for n, _ in actor_nodes(cluster, namespace).values()} == {node_c},
                90,
                "every group moved off the drained node",
            )
            listing = run_vigie("cluster", "nodes", "--config", str(config))
            assert listing.returncode == 0, listing.stderr
            rows = {line.split()[0]: line for line in listing.stdout.splitlines()[1:] if line.strip()}
            assert "draining" in rows[node_b[:12]] and rows[node_b[:12]].rstrip().endswith("-"), listing.stdout
            assert "recorder-0" in rows[node_c[:12]], listing.stdout

            moved_at = datetime.now(UTC)  # every group answers from node c: the drain's moves are done

            def after_drain() -> dict[str, list[tuple[datetime, datetime]]]:
                spans = segments(postgres_db)
                done = all(any(start > moved_at for start, _ in spans.get(c, [])) for c in on_b)
                return spans if done else {}

            spans = wait_for(after_drain, SEGMENT_S + 60, "every drained camera recording past its move on node c")
            for camera in sorted(on_b):
                # the largest hole in the camera's recording from the drain's request to past its move
                around = sorted(span for span in spans[camera] if span[1] > drained_at)
                holes = [(nxt[0] - prev[1]).total_seconds() for prev, nxt in pairwise(around)]
                gap_s = max([0.0, *holes])
                print(f"{camera}: drained to node c, {gap_s:.1f} s not recorded")
                assert gap_s <= RECONNECT_S, f"{camera}: a drain lost {gap_s:.1f} s (more than a reconnect)"

            # the console's health view: the cluster's nodes, the lost one down, the drained one empty
            api = ApiSession(f"http://127.0.0.1:{port}").login(operator, TEST_PASSWORD, timeout=40)
            nodes = {n["node_id"]: n for n in api.get("/api/system/health")["nodes"]}
            assert not nodes[node_a]["alive"], "the lost node is shown down"
            assert nodes[node_b]["alive"] and nodes[node_b]["draining"] and nodes[node_b]["groups"] == []
            assert nodes[node_c]["alive"] and set(nodes[node_c]["groups"]) == set(alone)
            assert nodes[node_c]["cameras"] == len(CAMERAS), "each camera (recorded and analysed) counted once"

            # the control plane restarts (an upgrade): its cameras record on through it, the next start adopts them
            recorders = {g: v for g, v in actor_nodes(cluster, namespace).items() if g.startswith("recorder")}
            stopped_at = datetime.now(UTC)
            output = stop_vigie(proc, signal.SIGTERM, timeout=60)
            print(output[-6000:])  # the service's account of the moves (shown with pytest -s)
            assert proc.returncode == 0, output[-3000:]
            assert seaweedfs.secret_key not in output, "credentials never in the logs"
            assert "recording goes on on the nodes" in output, output[-3000:]
            away = actor_table(cluster, namespace)
            assert {g: (n, p) for _, g, n, p in away} == recorders, "recording goes on, analysis ended with it"
            spool_c = tmp_path / "spool-c"
            wait_for(
                lambda: all(
                    any(f.stat().st_mtime > stopped_at.timestamp() + 1 for f in (spool_c / c).rglob("*") if f.is_file())
                    for c in CAMERAS
                ),
                20,
                "every camera writing on node c while no control plane runs",
            )
            restarted_at = datetime.now(UTC)
            proc = start_vigie("serve", "--config", str(config))

            def through_restart() -> dict[str, list[tuple[datetime, datetime]]]:
                if proc.poll() is not None:
                    raise AssertionError(f"vigie serve ended: {proc.communicate()[0][-3000:]}")
                spans = segments(postgres_db)
                done = all(any(end > restarted_at for _, end in spans.get(c, [])) for c in CAMERAS)
                return spans if done else {}

            spans = wait_for(through_restart, SEGMENT_S + 60, "every camera's recording indexed past the restart")
            for camera in CAMERAS:
                around = sorted(span for span in spans[camera] if span[1] > stopped_at - timedelta(seconds=SEGMENT_S))
                holes = [(nxt[0] - prev[1]).total_seconds() for prev, nxt in pairwise(around)]
                gap_s = max([0.0, *holes])
                away_s = (restarted_at - stopped_at).total_seconds()
                print(f"{camera}: control plane away {away_s:.1f} s (and restarting), {gap_s:.1f} s not recorded")
                assert gap_s <= RECONNECT_S, f"{camera}: {gap_s:.1f} s lost across the control plane's restart"
            after = actor_table(cluster, namespace)
            adopted = {g: (n, p) for _, g, n, p in after if g.startswith("recorder")}
            assert adopted == recorders, "each recording group adopted: same node, same process"
            assert len([name for name, g, _, _ in after if g.startswith("recorder")]) == len(recorders), (
                "no second recorder on a camera"
            )
        except BaseException:
            if proc.poll() is None:
                print(stop_vigie(proc, signal.SIGTERM, timeout=60)[-8000:])  # the service's side of the failure
            raise
        output = stop_vigie(proc, signal.SIGTERM, timeout=60)
        assert proc.returncode == 0, output[-3000:]
        adoptions = [line for line in output.splitlines() if " adopted on node " in line]
        print("\n".join(adoptions))  # when each group was adopted (shown with pytest -s)
        assert len(adoptions) == len(recorders), output[-3000:]

        # maintenance: recording really stopped, the segments being written finished, uploaded and indexed
        stopping_at = datetime.now(UTC)
        stop = run_vigie("cluster", "stop-recording", "--config", str(config))
        print(stop.stdout, stop.stderr)
        assert stop.returncode == 0, stop.stdout + stop.stderr
        assert actor_table(cluster, namespace) == [], "no recording group left"
        last = segments(postgres_db)
        assert all(max(end for _, end in last[c]) > stopping_at for c in CAMERAS), "the last segments indexed"


def _audit_actions(database_url: str) -> list[tuple[str, dict[str, str]]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT action, details FROM audit_entries ORDER BY seq")).all()
    finally:
        engine.dispose()
    return [(action, json.loads(details)) for action, details in rows]
