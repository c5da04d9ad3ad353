"""Glass-to-glass latency of live view: from the moment a frame is made to the moment the browser shows it.

The "camera" is a clock: each frame carries the wall-clock time (ms, 24 bits) as a row of black and white
blocks, written the instant before the frame goes to the encoder (libx264 ultrafast, zerolatency, as RTP to the
real RTSP server of the simulator). Vigie serves it (``vigie serve`` as a user runs it: workers, recording and all)
and two viewers read the stamp back on the same host, so both clocks are the same:

- an HTTP client reading ``live.mjpeg`` and decoding each JPEG (camera → RTSP → Vigie decode → JPEG → HTTP);
- Debian's chromium (Playwright) showing the console's single view, reading the picture into a canvas on every
  animation frame (… → browser decode → page), which is the glass a person looks at, minus the compositor's
  last frame (≤ 17 ms at 60 Hz): once as MJPEG (the ``<img>``; the page is told it cannot play H.264, so the
  console falls back to it), once as the camera's own H.264 passed through as fragmented MP4 into Media Source
  Extensions (the ``<video>``, issue 16), with the seconds from opening the view to the first picture.

Not included: the exposure and the encoder inside a real camera (typically 30–150 ms, camera-dependent).

    .venv/bin/python bench/live_latency.py [--seconds 20] [--quality full|wall] [--width 1280]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import cv2
import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vigie.sim.rtsp import RtspSimServer, free_udp_ports, rtsp_unavailable_reason  # noqa: E402

BITS = 24
BLOCK = 24
FPS = 25
PASSWORD = "clock-camera glass to glass"
WRAP = 1 << BITS
WARMUP_S = 3.0


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def stamp(frame: np.ndarray, ms: int) -> None:
    """Write ``ms`` mod 2^24 as 24 blocks (MSB first) along the top of a grey frame."""
    value = ms % WRAP
    for bit in range(BITS):
        on = (value >> (BITS - 1 - bit)) & 1
        frame[0:BLOCK, bit * BLOCK : (bit + 1) * BLOCK] = 255 if on else 0


def read_stamp(image: np.ndarray, width: int) -> int:
    """The stamp of a decoded frame (grey or BGR), scaled to ``width`` pixels wide as it was sent."""
    grey = image if image.ndim == 2 else image[..., 1]
    scale = image.shape[1] / width
    value = 0
    for bit in range(BITS):
        x = int((bit * BLOCK + BLOCK / 2) * scale)
        y = int(BLOCK / 2 * scale)
        value = (value << 1) | int(grey[y, x] > 127)
    return value


def latency(received_ms: int, stamped: int) -> int:
    return (received_ms - stamped) % WRAP


class ClockCamera:
    """Frames with their own time in them, encoded live and sent as RTP to ``port``."""

    def __init__(self, port: int, width: int, height: int) -> None:
        self.width, self.height = width, height
        ffmpeg = shutil.which("ffmpeg") or "ffmpeg"
        self.proc = subprocess.Popen(
            [
                ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "gray",
                "-s", f"{width}x{height}", "-r", str(FPS), "-i", "-", "-an", "-c:v", "libx264",
                "-preset", "ultrafast", "-tune", "zerolatency", "-g", str(FPS), "-pix_fmt", "yuv420p",
                "-x264-params", "repeat-headers=1", "-f", "rtp", f"rtp://127.0.0.1:{port}?pkt_size=1200",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,  # the SDP ffmpeg prints
        )  # fmt: skip
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        # A scene-like background (gradients and texture), not white noise: a keyframe of noise is ~1 MB, more
        # than the RTP/UDP hop to the RTSP server carries in a burst, so every keyframe was lost on the way (the
        # MJPEG path decoded on from P-frames; a browser's decoder cannot start without a keyframe).
        ys, xs = np.mgrid[0 : self.height, 0 : self.width]
        background = (60 + (xs * 140 // self.width) + 30 * ((xs // 40 + ys // 40) % 2)).astype(np.uint8)
        start = time.monotonic()
        n = 0
        while not self.stop.is_set():
            frame = background.copy()
            x = (n * 8) % (self.width - 40)
            frame[self.height // 2 : self.height // 2 + 40, x : x + 40] = 250  # something moving
            stamp(frame, now_ms())
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.write(frame.tobytes())
                self.proc.stdin.flush()
            except BrokenPipeError:
                return
            n += 1
            delay = start + n / FPS - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=2)
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.terminate()
        self.proc.wait(timeout=5)


def config(tmp: Path, url: str, port: int) -> Path:
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
          - id: clock
            name: Clock camera
            kind: fixed
            setting: public_street
            main_stream: {url}
            location: {{lat: 45.76, lon: 4.83}}
            authorisation:
              reference: BENCH
              valid_from: "2026-01-01"
              valid_until: "2030-12-31"
              purposes: [crime_prevention]
              retention_days: 1
""",
        encoding="utf-8",
    )
    return path


def add_operator(cfg: Path, username: str) -> str | None:
    """An operator account (video-authorised, trained) straight through the account service, as ``vigie users add``
    makes it; returns its TOTP secret when the configuration asks operators for a second factor."""
    from datetime import UTC, date, datetime, timedelta
    from urllib.parse import parse_qs, urlparse

    from vigie.cli.commands.context import opened
    from vigie.domain.actor import Actor
    from vigie.domain.users import Role
    from vigie.runtime.assembly.auth import open_auth_service

    def clock() -> datetime:
        return datetime.now(UTC)

    with opened(cfg, clock) as context:
        auth = open_auth_service(context.config, context.engine, context.audit, clock)
        created = auth.add_user(
            Actor.command_line("bench"),
            username=username,
            display_name=f"Bench {username}",
            commune_id="bench",
            roles=[Role.OPERATOR],
            password=PASSWORD,
            authorised_until=date.today() + timedelta(days=365),
            trained_on=date.today() - timedelta(days=30),
        )
    return parse_qs(urlparse(created.totp_uri).query)["secret"][0] if created.totp_uri else None


def login_body(username: str, secret: str | None) -> dict[str, str]:
    from datetime import UTC, datetime

    from vigie.services.credentials import totp_code

    body = {"username": username, "password": PASSWORD}
    if secret:
        body["totp"] = totp_code(secret, datetime.now(UTC))
    return body


def vigie(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "vigie.cli", *args], input=stdin, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"vigie {args[0]} {args[1]} failed: {result.stderr.strip()}")
    return result


def http_viewer(base: str, cookies: httpx.Cookies, quality: str, width: int, seconds: float) -> list[int]:
    """Latency (ms) of every JPEG of the MJPEG stream, decoded as it arrives, after a warm-up of WARMUP_S (the
    RTSP session's first GOP arrives in a burst)."""
    out: list[int] = []
    warm = time.monotonic() + WARMUP_S
    deadline = warm + seconds
    url = f"/api/cameras/clock/live.mjpeg?quality={quality}"
    with httpx.Client(base_url=base, cookies=cookies, timeout=10) as client, client.stream("GET", url) as response:
        response.raise_for_status()
        buffer = b""
        for chunk in response.iter_raw():
            buffer += chunk
            while True:
                end = buffer.find(b"\xff\xd9")
                start = buffer.find(b"\xff\xd8")
                if start < 0 or end < 0 or end < start:
                    break
                received = now_ms()
                jpeg, buffer = buffer[start : end + 2], buffer[end + 2 :]
                image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
                if time.monotonic() >= warm:
                    out.append(latency(received, read_stamp(image, width)))
            if time.monotonic() > deadline:
                return out
    return out


def fmp4_viewer(base: str, cookies: httpx.Cookies, quality: str, width: int, seconds: float) -> list[int]:
    """Latency (ms) of every frame of the fMP4 WebSocket, decoded as it arrives (PyAV, the decoder set up from the
    init segment's ``avcC``, fed each fragment's sample), after the same warm-up as the MJPEG client."""
    import av
    from websockets.sync.client import connect

    out: list[int] = []
    decoder = None
    warm = time.monotonic() + WARMUP_S
    deadline = warm + seconds
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    url = f"{base.replace('http', 'ws', 1)}/api/cameras/clock/live.fmp4?quality={quality}"
    with connect(url, additional_headers={"Cookie": cookie}, max_size=None) as ws:
        while time.monotonic() < deadline:
            message = ws.recv(timeout=10)
            if not isinstance(message, bytes):
                continue
            if message[4:8] == b"ftyp":
                at = message.find(b"avcC")
                decoder = av.CodecContext.create("h264", "r")
                decoder.extradata = message[at + 4 : at - 4 + int.from_bytes(message[at - 4 : at], "big")]
                continue
            received = now_ms()
            for sample in _samples(message) if decoder is not None else ():
                for frame in decoder.decode(av.Packet(sample)):
                    if time.monotonic() >= warm:
                        out.append(latency(received, read_stamp(frame.to_ndarray(format="gray"), width)))
    return out


def _samples(data: bytes) -> list[bytes]:
    """The ``mdat`` payloads (one sample each here) of the moof+mdat pairs in ``data``."""
    samples, pos = [], 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        if data[pos + 4 : pos + 8] == b"mdat":
            samples.append(data[pos + 8 : pos + size])
        pos += max(size, 8)
    return samples


BROWSER_PROBE = """
([bits, block, width, seconds]) => new Promise((resolve) => {
  const video = document.querySelector('#single-mse');
  const picture = document.querySelector('#single-video');
  const mse = video && !video.hidden;
  const img = mse
    ? { get naturalWidth() { return video.videoWidth; }, get naturalHeight() { return video.videoHeight; } }
    : picture;
  const source = mse ? video : picture;
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const out = [];
  const events = { seeking: 0, waiting: 0 };
  if (mse) for (const name of Object.keys(events)) video.addEventListener(name, () => { events[name] += 1; });
  let last = -1;
  const until = performance.now() + seconds * 1000;
  function tick() {
    const now = Date.now();
    if (img.naturalWidth > 0) {
      canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
      ctx.drawImage(source, 0, 0);
      const scale = img.naturalWidth / width;
      const row = ctx.getImageData(0, Math.floor(block / 2 * scale), img.naturalWidth, 1).data;
      let value = 0;
      for (let bit = 0; bit < bits; bit++) {
        const x = Math.floor((bit * block + block / 2) * scale);
        value = value * 2 + (row[x * 4 + 1] > 127 ? 1 : 0);
      }
      if (value !== last) { out.push(((now % 2 ** bits) - value + 2 ** bits) % 2 ** bits); last = value; }
    }
    if (performance.now() < until) { requestAnimationFrame(tick); return; }
    const quality = mse ? video.getVideoPlaybackQuality() : null;
    resolve({ out, stats: quality && { ...events, frames: quality.totalVideoFrames,
      dropped: quality.droppedVideoFrames, behind_s: video.buffered.length
        ? +(video.buffered.end(video.buffered.length - 1) - video.currentTime).toFixed(3) : null } });
  }
  requestAnimationFrame(tick);
})
"""


def browser_viewer(
    base: str, login: dict[str, str], quality: str, width: int, seconds: float, transport: str
) -> tuple[list[int], float]:
    """Latencies read in the console's single view, and the seconds from opening it to the first picture.
    ``transport`` mjpeg: the page is told it cannot play H.264 (``MediaSource.isTypeSupported`` false), so the
    console falls back to the MJPEG ``<img>``; fmp4: the console's own choice for a camera without masks."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        if transport == "mjpeg":
            page.add_init_script("MediaSource.isTypeSupported = () => false;")
        page.goto(base + "/")
        page.fill("#username", login["username"])
        page.fill("#password", login["password"])
        if "totp" in login:
            page.fill("#totp", login["totp"])
        page.click("#login-form button[type=submit]")
        page.locator("#who-name").wait_for()
        opened = time.monotonic()
        page.goto(base + f"/#/live/clock?quality={quality}")
        ready = (
            "() => { const v = document.querySelector('#single-mse'); return v && !v.hidden && v.videoWidth > 0"
            " && v.currentTime > 0 }"
            if transport == "fmp4"
            else "() => document.querySelector('#single-video')?.naturalWidth > 0"
        )
        page.wait_for_function(ready, timeout=30000)
        first = time.monotonic() - opened
        probe = page.evaluate(BROWSER_PROBE, [BITS, BLOCK, width, seconds])
        browser.close()
    if probe["stats"]:
        print(f"chromium {transport} player: {probe['stats']}")
    return probe["out"][1:], first  # the first value is whatever frame was already there


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (its threads included, not its children): /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summary(name: str, values: list[int]) -> dict[str, float]:
    values = [v for v in values if v < 10_000]  # a misread stamp (torn frame) is not a latency
    if not values:
        print(f"{name}: no frame read")
        return {}
    ordered = sorted(values)
    result = {
        "frames": len(values),
        "p50_ms": statistics.median(values),
        "p95_ms": ordered[int(0.95 * (len(ordered) - 1))],
        "max_ms": ordered[-1],
        "mean_ms": round(statistics.fmean(values), 1),
    }
    print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in result.items()))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--quality", choices=["full", "wall"], default="full")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    reason = rtsp_unavailable_reason()
    if reason:
        print(f"cannot run: {reason}")
        return 2
    width, height = args.width, args.width * 9 // 16
    [udp] = free_udp_ports(1)
    camera = ClockCamera(udp, width, height)
    server = RtspSimServer({"clock": udp})
    tmp = Path(tempfile.mkdtemp(prefix="vigie-live-bench-"))
    proc = None
    try:
        server.start()
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        cfg = config(tmp, server.url("clock"), port)
        secret = add_operator(cfg, "latency")
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
            client.post("/api/auth/login", json=login_body("latency", secret)).raise_for_status()
            cookies = client.cookies
        print(f"clock camera {width}x{height} @ {FPS} fps, quality={args.quality}, {args.seconds:.0f} s per viewer")
        idle = cpu_seconds(proc.pid)
        time.sleep(5)
        idle = (cpu_seconds(proc.pid) - idle) / 5
        before, started = cpu_seconds(proc.pid), time.monotonic()
        latencies = http_viewer(base, cookies, args.quality, width, args.seconds)
        results: dict[str, dict[str, float]] = {"http": summary("HTTP client (MJPEG decoded)", latencies)}
        busy = (cpu_seconds(proc.pid) - before) / (time.monotonic() - started)
        frames = results["http"].get("frames", 0) / args.seconds
        results["server_cpu"] = {"idle": round(idle, 3), "one_viewer": round(busy, 3), "fps": round(frames, 1)}
        print(
            f"API process CPU: {idle:.3f} core idle, {busy:.3f} core with one live viewer "
            f"({(busy - idle) / max(frames, 1e-9) * 1000:.1f} ms of CPU per frame sent: decode + masks + JPEG)"
        )
        results["ws_fmp4"] = summary(
            "WebSocket client (fMP4 decoded)", fmp4_viewer(base, cookies, args.quality, width, args.seconds)
        )
        if not args.no_browser:
            for transport in ("mjpeg", "fmp4"):
                login = login_body("latency", secret)
                values, first = browser_viewer(base, login, args.quality, width, args.seconds, transport)
                results[f"browser_{transport}"] = summary(f"chromium, console single view, {transport}", values)
                results[f"browser_{transport}"]["first_picture_s"] = round(first, 2)
                print(f"chromium {transport}: first picture {first:.2f} s after opening the view")
            for transport in ("mjpeg", "fmp4"):
                print(f"{transport}_glass_to_glass_p50_ms: {results[f'browser_{transport}'].get('p50_ms', 'n/a')}")
        if args.json:
            args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        server.stop()
        camera.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
