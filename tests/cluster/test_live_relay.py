"""A masked camera's live view in cluster mode (issue 17): ``vigie serve`` as the control plane of a real Ray cluster
(real PostgreSQL, real SeaweedFS, the camera from the real RTSP server), the camera recorded on a worker node. Its
fMP4 live view through the API is the recorder's masked stream read on that node through its relay: the control
plane recorded where, the node took the key from its own environment (``vigie cluster live-key``), refuses a reader
without a token, and the record stays when the service stops (the group records on, its relay serves on).

Kept small (one node, one camera, no loss): tests/cluster/test_node_loss.py covers moves; the relay following a
camera to another node is tested without Ray in tests/ingest/test_tap_relay.py.
"""

# ruff: noqa: F811 - the seaweedfs fixture is imported, then named as an argument

from __future__ import annotations

import http.client
import io
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.exc import ProgrammingError

from tests.recording.media import SIZE, write_h264
from tests.storage.conftest_seaweedfs import BUCKET, seaweedfs  # noqa: F401 - fixture
from tests.storage.seaweedfs import SeaweedS3
from tests.support.configs import camera_yaml, cluster_yaml
from tests.support.databases import fresh_database
from tests.support.ray_cluster import running_ray_cluster
from tests.support.rtsp import rtsp_cameras
from tests.support.servers import free_port
from tests.support.vigie_cli import TEST_PASSWORD, ApiSession, add_operator, start_vigie, stop_vigie
from tests.support.waiting import wait_for
from vigie.ingest.masking import mask_raster
from vigie.ingest.tap_relay import KEY_ENV

pytestmark = [pytest.mark.postgres, pytest.mark.rtsp, pytest.mark.slow, pytest.mark.timeout(600)]

CAMERA = "m1"
MASK = ((0.1, 0.1), (0.6, 0.1), (0.6, 0.7), (0.1, 0.7))
WIDTH, HEIGHT = SIZE


@pytest.fixture
def postgres_db(tmp_path: Path) -> Iterator[str]:
    with fresh_database("postgres", tmp_path) as url:
        yield url


@pytest.fixture
def camera(tmp_path: Path) -> Iterator[str]:
    clip = write_h264(tmp_path / "clip.mp4", seconds=6, fmt="mp4")
    with rtsp_cameras({CAMERA: clip}) as urls:
        yield urls[CAMERA]


def cluster_config(tmp_path: Path, database_url: str, s3: SeaweedS3, address: str, url: str) -> Path:
    points = ", ".join(f"[{x}, {y}]" for x, y in MASK)
    masked = camera_yaml(CAMERA, url) + (
        f"            zones:\n              - {{kind: privacy_mask, id: private, points: [{points}]}}\n"
    )
    config = tmp_path / "vigie.yaml"
    config.write_text(
        cluster_yaml(
            tmp_path,
            database_url,
            s3.endpoint_url,
            BUCKET,
            address,
            masked,
            port=free_port(),
            segment_seconds=4,
            cluster=f"  live_port: {free_port()}\n",
        ),
        encoding="utf-8",
    )
    return config


def recorded(database_url: str) -> bool:
    """Whether a segment of the camera is indexed: its recorder runs, and so does its tap."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT 1 FROM segments WHERE camera_id = :c"), {"c": CAMERA}).first() is not None
    except ProgrammingError:  # the service has not created its tables yet
        return False
    finally:
        engine.dispose()


def endpoint(database_url: str) -> tuple[str, int] | None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT host, port FROM live_endpoints WHERE camera_id = :c"), {"c": CAMERA}
            ).first()
    except ProgrammingError:  # the service has not created its tables yet
        return None
    finally:
        engine.dispose()
    return None if row is None else (str(row[0]), int(row[1]))


def live_fmp4(base: str, session: ApiSession, fragments: int) -> list[bytes]:
    """The binary messages of the camera's fMP4 live view (init segment first), as the console receives them."""
    import urllib.request

    from websockets.sync.client import connect

    [jar] = [h.cookiejar for h in session.opener.handlers if isinstance(h, urllib.request.HTTPCookieProcessor)]
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    url = base.replace("http://", "ws://") + f"/api/cameras/{CAMERA}/live.fmp4?quality=full"
    binaries: list[bytes] = []
    with connect(url, additional_headers={"Cookie": cookie}, open_timeout=10) as ws:
        while len(binaries) < fragments + 1:
            message = ws.recv(timeout=30)
            if isinstance(message, bytes):
                binaries.append(message)
            else:
                assert "error" not in json.loads(message), message
    return binaries


def test_a_masked_cameras_live_view_is_read_on_the_node_that_records_it(
    tmp_path: Path, postgres_db: str, seaweedfs: SeaweedS3, camera: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = {"VIGIE_TEST_S3_KEY": seaweedfs.access_key, "VIGIE_TEST_S3_SECRET": seaweedfs.secret_key}
    # a token file left in ~/.ray by another local Ray makes a new head require it, which drivers do not send
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    with running_ray_cluster(tmp_path / "ray", env=credentials) as cluster:
        config = cluster_config(tmp_path, postgres_db, seaweedfs, cluster.address, camera)
        printed = subprocess.run(
            [sys.executable, "-m", "vigie.cli", "cluster", "live-key", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        key = printed.stdout.strip()
        assert len(key) == 64 and KEY_ENV in printed.stderr
        node_env = {"VIGIE_NODE_SPOOL": str(tmp_path / "spool-a"), KEY_ENV: key}
        cluster.add_node("a", cpus=2, env=node_env)
        for name, value in credentials.items():  # the control plane reads (plays back) the same bucket
            monkeypatch.setenv(name, value)
        operator = add_operator(config)
        port = int(yaml.safe_load(config.read_text())["api"]["port"])
        proc = start_vigie("serve", "--config", str(config))
        try:

            def served() -> tuple[str, int] | None:
                if proc.poll() is not None:
                    raise AssertionError(f"vigie serve ended: {proc.communicate()[0][-3000:]}")
                return endpoint(postgres_db) if recorded(postgres_db) else None

            # a segment indexed first: the live view is asked of a camera that records (a loaded machine can take
            # longer between the relay's record and the recorder's tap than between the record and this request)
            host, relay_port = wait_for(served, 120, "the control plane recording where the camera is served")
            assert relay_port != port, "the node's relay, not the API"
            refused = http.client.HTTPConnection(host, relay_port, timeout=10)
            refused.request("GET", f"/tap/{CAMERA}")
            assert refused.getresponse().status == 403, "no token, no stream"

            base = f"http://127.0.0.1:{port}"
            session = ApiSession(base).login(operator, TEST_PASSWORD)
            binaries = live_fmp4(base, session, 15)
        finally:
            output = stop_vigie(proc, signal.SIGTERM, timeout=60)
        # recording, and its relay, go on without the control plane (the next one adopts the group): the record stays
        assert endpoint(postgres_db) == (host, relay_port), f"the relay serves on: {output[-2000:]}"
        still = http.client.HTTPConnection(host, relay_port, timeout=10)
        still.request("GET", f"/tap/{CAMERA}")
        assert still.getresponse().status == 403, "the relay still answers (and still refuses a reader without token)"
    assert binaries[0][4:8] == b"ftyp"
    with av.open(io.BytesIO(b"".join(binaries))) as container:
        frames = [f.to_ndarray(format="gray") for f in container.decode(video=0)]
    assert len(frames) >= 15
    import cv2

    inside = cv2.erode(mask_raster([MASK], WIDTH, HEIGHT).astype(np.uint8), np.ones((17, 17), np.uint8)) > 0
    for grey in frames:
        assert grey.shape == (HEIGHT, WIDTH)
        assert grey[inside].max() <= 4, "the node's masked stream, never the camera's raw one"
    assert float(np.std(frames[-1][~inside])) > 5, "the unmasked part shows the camera's picture"
