"""Concurrent live viewers per core: the CPU per viewer-second that live view adds, MJPEG against fMP4.

``vigie serve`` runs as a user runs it, on ``--cameras`` cameras without privacy masks, each a 1280×720 25-fps
H.264 stream (2 Mbit/s, a keyframe a second) from the real RTSP server of the simulator; each camera's sub stream
is the same 720p stream under another RTSP path, so the wall's fMP4 is exactly the pass-through of a camera's
stream read from the camera. The same viewers, in this process, watch every camera ``--viewers`` times, one
transport after the other (between two the feeds go idle and stop):

- ``mjpeg``: ``live.mjpeg?quality=full`` (the API process reads the camera, decodes, JPEG, HTTP);
- ``fmp4-rtsp``: ``live.fmp4?quality=wall`` (the API process opens its own RTSP session on the camera, demuxes,
  fragments, WebSocket) — the path every fMP4 view took before the recorder's tap;
- ``fmp4-tap``: ``live.fmp4?quality=full`` (the recorder muxes the packets it records into MPEG-TS on its tap
  while someone reads it; the API process demuxes that, fragments, WebSocket): what the single view does now.

The CPU counted is the serving process's (its threads) *and* the recorder processes' (the workers holding a
segment file open), each minus its own idle CPU in the same run (measured before the first viewer and after the
last), from /proc over the measured window: every CPU second that live view adds. The other workers (analysis)
and the viewers are not counted. Viewers read and discard (they do not decode): what is measured is the server.

    .venv/bin/python bench/live_viewers.py [--cameras 2] [--viewers 4] [--seconds 20]

On a loaded host a starved feed sends fewer frames (and spends less): the CPU per viewer-second is also given at
the rate a viewer should get (MJPEG 15 fps, fMP4 25 fps), scaled from the frames actually delivered; the
headline figures use that. The last lines are the headline figures (``name: value``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from live_latency import add_operator, cpu_seconds, login_body  # noqa: E402

from vigie.sim.rtsp import RtspSimServer, rtsp_unavailable_reason  # noqa: E402

WARMUP_S = 4.0
NOMINAL_FPS = {"mjpeg": 15.0, "fmp4-rtsp": 25.0, "fmp4-tap": 25.0}
"""What a viewer of ``quality=full`` should receive: MJPEG is capped at 15 fps (runtime/assembly/live.py), fMP4
passes every frame of the 25-fps stream."""
TRANSPORTS = {"mjpeg": ("mjpeg", "full"), "fmp4-rtsp": ("fmp4", "wall"), "fmp4-tap": ("fmp4", "full")}
"""What each measured transport asks: (endpoint, quality)."""


def render(path: Path, width: int, height: int, seconds: int) -> Path:
    """A moving test pattern in H.264 (SPS/PPS before each keyframe, as the RTSP feeders need)."""
    subprocess.run(
        [
            shutil.which("ffmpeg") or "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
            "-i", f"testsrc2=size={width}x{height}:rate=25", "-t", str(seconds), "-c:v", "libx264",
            "-preset", "veryfast", "-b:v", "2M", "-g", "25", "-pix_fmt", "yuv420p",
            "-x264-params", "repeat-headers=1:scenecut=0", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


def config(tmp: Path, urls: list[str], port: int) -> Path:
    cameras = "".join(
        f"""          - id: cam{i}
            name: Camera {i}
            kind: fixed
            setting: public_street
            main_stream: {url}
            sub_stream: {url}-sub
            location: {{lat: 45.76, lon: 4.83}}
            authorisation:
              reference: BENCH-{i}
              valid_from: "2026-01-01"
              valid_until: "2030-12-31"
              purposes: [crime_prevention]
              retention_days: 1
"""
        for i, url in enumerate(urls)
    )
    path = tmp / "vigie.yaml"
    path.write_text(
        f"""version: 1
storage:
  database_url: sqlite:///{tmp / "vigie.db"}
  data_dir: {tmp / "data"}
api: {{host: 127.0.0.1, port: {port}}}
communes:
  - id: bench
    name: Bench
    kind: municipal
    sites:
      - id: lab
        name: Lab
        cameras:
{cameras}""",
        encoding="utf-8",
    )
    return path


class Viewers:
    """``count`` viewers of each camera, on threads, counting what they receive until :meth:`stop`."""

    def __init__(self, base: str, cookie: str, cameras: int, count: int, transport: str) -> None:
        self.base, self.cookie = base, cookie
        self.transport, self.quality = TRANSPORTS[transport]
        self.bytes = 0
        self.messages = 0
        self.errors: list[str] = []
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self.run, args=(f"cam{c}",), daemon=True)
            for c in range(cameras)
            for _ in range(count)
        ]
        for thread in self.threads:
            thread.start()

    def count(self, size: int, messages: int) -> None:
        with self.lock:
            self.bytes += size
            self.messages += messages

    def run(self, camera: str) -> None:
        try:
            if self.transport == "mjpeg":
                self.mjpeg(camera)
            else:
                self.fmp4(camera)
        except Exception as err:  # a viewer that fails is reported, the others go on
            self.errors.append(f"{camera}: {type(err).__name__}: {err}")

    def mjpeg(self, camera: str) -> None:
        url = f"{self.base}/api/cameras/{camera}/live.mjpeg?quality={self.quality}"
        headers = {"Cookie": self.cookie}
        with httpx.Client(timeout=10) as client, client.stream("GET", url, headers=headers) as response:
            response.raise_for_status()
            for chunk in response.iter_raw(1 << 16):
                self.count(len(chunk), chunk.count(b"--vigieframe"))
                if self.done.is_set():
                    return

    def fmp4(self, camera: str) -> None:
        from websockets.sync.client import connect

        url = f"{self.base.replace('http', 'ws', 1)}/api/cameras/{camera}/live.fmp4?quality={self.quality}"
        with connect(url, additional_headers={"Cookie": self.cookie}, max_size=None) as ws:
            while not self.done.is_set():
                try:
                    message = ws.recv(timeout=1.0)
                except TimeoutError:
                    continue
                if isinstance(message, bytes):
                    self.count(len(message), message.count(b"moof"))

    def stop(self) -> None:
        self.done.set()
        for thread in self.threads:
            thread.join(timeout=5)


def children(pid: int) -> list[int]:
    """Every process below ``pid`` (the service's workers), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        kids = [p for p, pp in parents.items() if pp == parent]
        found += kids
        todo += kids
    return found


def recorders(pid: int, segments: Path) -> list[int]:
    """The service's recorder processes: those holding a file under the segment folder open."""
    found = []
    for child in children(pid):
        try:
            fds = list(Path(f"/proc/{child}/fd").iterdir())
            if any(str(segments) in os.readlink(fd) for fd in fds):
                found.append(child)
        except OSError:
            continue
    return found


class Cpu:
    """CPU seconds of the API process and of the recorder processes, read together."""

    def __init__(self, api: int, recorder_pids: list[int]) -> None:
        self.api, self.recorders = api, recorder_pids

    def read(self) -> tuple[float, float]:
        return cpu_seconds(self.api), sum(cpu_seconds(p) for p in self.recorders)

    def over(self, seconds: float) -> tuple[float, float]:
        """Cores used by (API, recorders) over the next ``seconds``."""
        (api, rec), started = self.read(), time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - started
        api2, rec2 = self.read()
        return (api2 - api) / elapsed, (rec2 - rec) / elapsed


def measure(cpu: Cpu, base: str, cookie: str, args: argparse.Namespace, transport: str) -> dict:
    viewers = Viewers(base, cookie, args.cameras, args.viewers, transport)
    time.sleep(WARMUP_S)  # the feeds open, the first GOP arrives
    started = time.monotonic()
    before_bytes, before_messages = viewers.bytes, viewers.messages
    api, rec = cpu.over(args.seconds)
    elapsed = time.monotonic() - started
    received = (viewers.bytes - before_bytes) / elapsed
    frames = (viewers.messages - before_messages) / elapsed
    viewers.stop()
    if viewers.errors:
        print(f"{transport}: viewer errors: {viewers.errors[:3]}")
    return {"api": api, "recorders": rec, "bytes_s": received, "frames_s": frames}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=2)
    parser.add_argument("--viewers", type=int, default=4, help="viewers per camera")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--width", type=int, default=1280)
    args = parser.parse_args()
    reason = rtsp_unavailable_reason()
    if reason:
        print(f"cannot run: {reason}")
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="vigie-live-viewers-"))
    width, height = args.width, args.width * 9 // 16
    clip = render(tmp / "camera.mp4", width, height, 20)
    server = RtspSimServer({f"cam{i}{sub}": clip for i in range(args.cameras) for sub in ("", "-sub")})
    proc = None
    try:
        server.start()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        cfg = config(tmp, [server.url(f"cam{i}") for i in range(args.cameras)], port)
        secret = add_operator(cfg, "viewers")
        proc = subprocess.Popen(
            [sys.executable, "-m", "vigie.cli", "serve", "--config", str(cfg)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        with httpx.Client(base_url=base, timeout=60) as client:
            client.post("/api/auth/login", json=login_body("viewers", secret)).raise_for_status()
            cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        time.sleep(5)  # the service's start is over
        segments = tmp / "data" / "segments"
        deadline = time.monotonic() + 30
        while not (found := recorders(proc.pid, segments)) and time.monotonic() < deadline:
            time.sleep(0.5)
        cpu = Cpu(proc.pid, found)
        idle_before = cpu.over(5)
        n = args.cameras * args.viewers
        print(
            f"{args.cameras} cameras {width}x{height} 25 fps, {args.viewers} viewers each ({n}), {args.seconds:.0f} s"
        )
        print(f"recorder processes: {len(found)}")
        results, measured = {}, {}
        for transport in TRANSPORTS:
            measured[transport] = measure(cpu, base, cookie, args, transport)
            time.sleep(8)  # idle_s: the feeds of this transport stop before the next
        idle_after = cpu.over(5)
        idle = [(a + b) / 2 for a, b in zip(idle_before, idle_after, strict=True)]
        print(
            f"idle: API process {idle_before[0]:.3f} / {idle_after[0]:.3f} core (before / after), "
            f"recorders {idle_before[1]:.3f} / {idle_after[1]:.3f} core"
        )
        for transport, result in measured.items():
            api, rec = (result["api"] - idle[0]) / n, (result["recorders"] - idle[1]) / n
            per_viewer = api + rec  # cores per viewer = CPU seconds per viewer-second
            fps = result["frames_s"] / n
            # On a loaded host a starved feed sends fewer frames and so uses less CPU: per viewer-second at the
            # rate a viewer should get (MJPEG full: 15 fps cap; fMP4: every frame, 25 fps).
            nominal = NOMINAL_FPS[transport]
            scale = nominal / max(fps, 1e-6)
            results[transport] = per_viewer * scale
            print(
                f"{transport}: API {result['api']:.3f} core, recorders {result['recorders']:.3f} core with {n} "
                f"viewers; per viewer-second {api * 1000:.1f} ms API + {rec * 1000:.1f} ms recorder = "
                f"{per_viewer * 1000:.1f} ms at {fps:.1f} frames/s and {result['bytes_s'] / n / 1e6:.2f} MB/s, "
                f"{results[transport] * 1000:.1f} ms at {nominal:.0f} frames/s "
                f"({api * scale * 1000:.1f} API + {rec * scale * 1000:.1f} recorder)"
            )
        mjpeg, rtsp, tap = (max(results[t], 1e-6) for t in TRANSPORTS)
        print(f"mjpeg_viewers_per_core: {1 / mjpeg:.1f}")
        print(f"fmp4_rtsp_viewers_per_core: {1 / rtsp:.1f}")
        print(f"fmp4_tap_viewers_per_core: {1 / tap:.1f}")
        print(f"fmp4_rtsp_vs_mjpeg_viewers_per_core: {mjpeg / rtsp:.1f}")
        print(f"fmp4_vs_mjpeg_viewers_per_core: {mjpeg / tap:.1f}")
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
