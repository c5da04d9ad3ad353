"""A real Vigie service recording and analysing one simulated RTSP camera, for the reliability benches
(``rtsp_flaps.py``, ``worker_kill.py``).

The service is built and started as ``vigie serve`` does (``VigieService(config).start()``: audit, reconciliation,
the supervisor with its production restart policy, the SQLite segment index written by the single writer), minus
the HTTP server. The camera is ``vigie.sim.rtsp.RtspSimServer`` (GStreamer's RTSP server fed by ffmpeg, in real
time) serving a generated H.264 clip. What the benches read is what an operator could: segment files on disk
(the ``.partial`` being written names its start), the segment index, the camera status table, the supervisor's
worker pids.

Worker processes are started with ``spawn``: each child re-imports the main module (the bench script, as it
re-imports ``vigie.cli`` under ``vigie serve``). This module and the benches therefore import only the standard
library at the top, so a restart costs what it costs in production, not the price of importing the bench.
"""

from __future__ import annotations

import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vigie.domain.camera import CameraHealth
    from vigie.domain.recording import Segment
    from vigie.runtime.assembly.service import VigieService
    from vigie.sim.rtsp import RtspSimServer

CAMERA = "cam"
POLL_S = 0.05


def make_clip(
    path: Path, *, seconds: float = 20.0, fps: int = 25, gop_s: float = 2.0, size: tuple[int, int] = (640, 360)
) -> Path:
    """A moving gradient as H.264 (x264 ultrafast), one keyframe every ``gop_s``, SPS/PPS repeated before each
    (what cameras send and what the RTSP simulator needs), in MPEG-TS."""
    import av
    import numpy as np

    width, height = size
    ys, xs = np.mgrid[0:height, 0:width]
    gop = max(1, round(gop_s * fps))
    with av.open(str(path), "w", format="mpegts") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        stream.options = {
            "preset": "ultrafast",
            "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:repeat-headers=1",
        }
        for i in range(round(seconds * fps)):
            img = np.stack([(xs * 2 + i * 7) % 256, (ys * 3 + i * 5) % 256, (xs + ys + i) % 256], axis=-1)
            frame = av.VideoFrame.from_ndarray(img.astype(np.uint8), format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def config_text(
    work: Path,
    url: str,
    segment_seconds: float,
    cameras: tuple[str, ...] = (CAMERA,),
    recording_per_process: int | None = None,
) -> str:
    """The service's configuration: every camera reads ``url`` (its own RTSP sessions); ``recording_per_process``
    sets ``workers.recording_cameras_per_process`` (cameras per recorder process), the default when None."""
    entries = "".join(
        f"""
          - id: {camera}
            name: Bench camera {camera}
            kind: fixed
            setting: public_street
            main_stream: {url}
            location: {{lat: 45.76, lon: 4.83}}
            authorisation:
              reference: BENCH
              valid_from: "2026-01-01"
              valid_until: "2030-12-31"
              purposes: [crime_prevention]
              retention_days: 1"""
        for camera in cameras
    )
    workers = (
        ""
        if recording_per_process is None
        else f"workers: {{recording_cameras_per_process: {recording_per_process}}}\n"
    )
    return f"""version: 1
storage:
  database_url: sqlite:///{work / "vigie.db"}
  data_dir: {work / "data"}
  segment_seconds: {segment_seconds}
api: {{host: 127.0.0.1, port: 8080}}
{workers}communes:
  - id: bench
    name: Bench
    kind: municipal
    sites:
      - id: lab
        name: Lab
        cameras:{entries}
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Rig:
    """The running service and its camera server; ``now()`` is the service's clock (the host's)."""

    service: VigieService
    server: RtspSimServer
    segment_seconds: float
    stopped: bool = False
    cameras: tuple[str, ...] = (CAMERA,)

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    def camera_dir(self, camera: str = CAMERA) -> Path:
        return self.service.segments_root / camera

    def writing(self, camera: str = CAMERA) -> datetime | None:
        """Start of the latest segment being written (its ``.partial``), None when nothing is being written."""
        from vigie.recording.segment_writer import start_from_key

        partials = self.camera_dir(camera).rglob("*.ts.partial")
        starts = [start_from_key(p.name.removesuffix(".partial")) for p in partials]
        found = [s for s in starts if s is not None]
        return max(found) if found else None

    def recording_since(self, after: datetime, camera: str = CAMERA) -> datetime | None:
        """Start of a segment begun after ``after`` (being written, or already finished), or None."""
        from vigie.recording.segment_writer import start_from_key

        writing = self.writing(camera)
        if writing is not None and writing > after:
            return writing
        day = self.camera_dir(camera) / f"{after:%Y/%m/%d}"
        done = [start_from_key(p.name) for p in day.glob("*.ts")] if day.is_dir() else []
        later = [s for s in done if s is not None and s > after]
        return min(later) if later else None

    def pid(self, role: str, camera: str = CAMERA) -> int | None:
        """The process running ``camera``'s ``role`` (``recorder``/``analysis``): its group's process."""
        return self.service.supervisor.pids().get(f"{role}:{camera}")

    def group_of(self, role: str, camera: str = CAMERA) -> tuple[str, tuple[str, ...]]:
        """The name of the group (worker process) running ``camera``'s ``role``, and the cameras it hosts."""
        for name, cameras in self.service.supervisor.groups().items():
            if name.startswith(f"{role}-") and camera in cameras:
                return name, cameras
        raise KeyError(f"no {role} group hosts {camera}")

    def health(self, camera: str = CAMERA) -> CameraHealth | None:
        """The camera's latest published health (status table): analysis, made worse by a failing recording."""
        for health in self.service.status.latest():
            if health.camera_id == camera:
                return health
        return None

    def kill(self, role: str, camera: str = CAMERA) -> tuple[int, datetime]:
        """``kill -9`` of the process running ``camera``'s ``role``: its whole group of cameras."""
        pid = self.pid(role, camera)
        if pid is None:
            raise RuntimeError(f"no {role} worker running")
        os.kill(pid, signal.SIGKILL)
        return pid, self.now()

    def segments(self, camera: str = CAMERA) -> list[Segment]:
        """Every playable segment of the camera, by start (the service's SQLite index)."""
        return self.service.segments.between(camera, datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.service.stop()
            self.server.stop()

    @staticmethod
    def supervisor_alive() -> bool:
        return any(t.name == "camera-supervisor" and t.is_alive() for t in threading.enumerate())


def wait(condition: Callable[[], Any], timeout_s: float) -> Any:
    """Poll ``condition`` every 50 ms until it returns something true (returned) or ``timeout_s`` passes (None)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            return None
        time.sleep(POLL_S)


@contextmanager
def running_service(
    segment_seconds: float,
    gop_s: float,
    fps: int = 25,
    *,
    cameras: tuple[str, ...] = (CAMERA,),
    recording_per_process: int | None = None,
) -> Iterator[Rig]:
    """A clip served over RTSP and the service recording it as ``cameras`` (each its own RTSP sessions), their
    recorders ``recording_per_process`` to a process. ``rig.stop()`` stops both cleanly (the segment being
    written is then finished and indexed); the index stays readable until the block ends."""
    from vigie.config import load_config_text
    from vigie.runtime.assembly.service import VigieService
    from vigie.sim.rtsp import RtspSimServer, rtsp_unavailable_reason

    reason = rtsp_unavailable_reason()
    if reason is not None:
        raise SystemExit(f"the RTSP simulator cannot run here: {reason}")
    with tempfile.TemporaryDirectory(prefix="vigie-bench-") as tmp:
        work = Path(tmp)
        clip = make_clip(work / "camera.ts", fps=fps, gop_s=gop_s)
        server = RtspSimServer({CAMERA: clip}, port=free_port())
        server.start()
        text = config_text(work, server.url(CAMERA), segment_seconds, cameras, recording_per_process)
        config = load_config_text(text)
        service = VigieService(config, simulated_cameras=frozenset(cameras))
        service.start()
        rig = Rig(service, server, segment_seconds, cameras=cameras)
        try:
            if wait(lambda: all(rig.writing(c) for c in cameras), 60) is None:
                raise SystemExit("the service never started recording every camera")
            yield rig
        finally:
            rig.stop()


def describe(gop_s: float, segment_seconds: float) -> str:
    return (
        f"camera: 640x360 H.264 25 fps, GOP {gop_s:g} s, over RTSP (RtspSimServer); "
        f"segments {segment_seconds:g} s; service as `vigie serve` runs it, without HTTP"
    )


def stats(values: list[float]) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)
    mean = sum(ordered) / len(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"mean {mean:.2f}, p95 {p95:.2f}, max {ordered[-1]:.2f}"
