"""What a node's live relay (issue 17, ``vigie.ingest.tap_relay``) costs: N cameras' taps, each written like a
~4 Mbit/s camera (one frame of ``--frame-kb`` every 40 ms, in one write, as the tap does), read by one reader per
camera (what one API process opens) either directly on the Unix sockets (one host) or through a ``TapRelay`` over
TCP loopback (cluster mode). Measured in one run, one process (the relay's threads and the readers together), the
two ways alternated ``--rounds`` times: CPU seconds per camera-second of each way (median), the relay's share (the
difference), and the delay from a frame's write to its last byte read, p50/p95, each way.

    flock /work/notes/bench.lock .venv/bin/python bench/live_relay.py \
        [--cameras 16] [--seconds 20] [--rounds 3] [--frame-kb 20]
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import struct
import tempfile
import threading
import time
from pathlib import Path

from vigie.ingest.tap_relay import AUTH_SCHEME, RelayPlan, TapRelay, tap_token

KEY = bytes(32)
PERIOD_S = 0.04


class Tap:
    """A Unix socket fanning one camera's frames out to its readers (a stand-in for ``PacketTap``: same writes)."""

    def __init__(self, path: Path, frame: int) -> None:
        self.frame = frame
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(str(path))
        self.server.listen(4)
        self.readers: list[socket.socket] = []
        self.stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.server.settimeout(0.2)
        while not self.stop.is_set():
            with contextlib.suppress(TimeoutError):
                conn, _ = self.server.accept()
                self.readers.append(conn)

    def write(self) -> None:
        data = struct.pack(">d", time.monotonic()) + bytes(self.frame - 8)
        for conn in list(self.readers):
            with contextlib.suppress(OSError):
                conn.sendall(data)


def read_frames(conn: socket.socket, frame: int, delays: list[float], stop: threading.Event) -> None:
    buffer = bytearray()
    conn.settimeout(1.0)
    while not stop.is_set():
        try:
            chunk = conn.recv(1 << 16)
        except TimeoutError:
            continue
        except OSError:  # closed at the end of the run
            return
        if not chunk:
            return
        buffer += chunk
        while len(buffer) >= frame:
            (sent,) = struct.unpack(">d", buffer[:8])
            delays.append(time.monotonic() - sent)
            del buffer[:frame]


def open_direct(path: Path) -> socket.socket:
    conn = socket.socket(socket.AF_UNIX)
    conn.connect(str(path))
    return conn


def open_relayed(relay: TapRelay, camera: str) -> socket.socket:
    """A reader of the relay as FFmpeg is one: a GET with the token, the response's head read, then the body."""
    conn = socket.create_connection(("127.0.0.1", relay.port))
    token = tap_token(KEY, camera, int(time.time()) + 60)
    conn.sendall(f"GET /tap/{camera} HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH_SCHEME} {token}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += conn.recv(1)  # byte by byte: nothing of the body is taken with the head
    assert head.startswith(b"HTTP/1.0 200"), head
    return conn


def run(mode: str, cameras: int, seconds: float, frame: int) -> tuple[float, list[float]]:
    with tempfile.TemporaryDirectory(prefix="relay-") as folder:
        taps = {f"cam-{i}": Path(folder) / f"cam-{i}.sock" for i in range(cameras)}
        sources = {camera: Tap(path, frame) for camera, path in taps.items()}
        relay = TapRelay(taps, KEY, RelayPlan(first_port=17460, ports=100)) if mode == "relayed" else None
        conns = [open_direct(path) if relay is None else open_relayed(relay, cam) for cam, path in taps.items()]
        for source in sources.values():
            while not source.readers:
                time.sleep(0.01)
        stop = threading.Event()
        delays: list[float] = []
        readers = [threading.Thread(target=read_frames, args=(c, frame, delays, stop), daemon=True) for c in conns]
        for reader in readers:
            reader.start()
        writes = int(seconds / PERIOD_S)
        start_cpu, start = time.process_time(), time.monotonic()
        for tick in range(writes):
            for source in sources.values():
                source.write()
            time.sleep(max(0.0, start + (tick + 1) * PERIOD_S - time.monotonic()))
        time.sleep(0.2)
        cpu = time.process_time() - start_cpu
        stop.set()
        for conn in conns:
            conn.close()
        if relay is not None:
            relay.close()
        for source in sources.values():
            source.stop.set()
        expected = writes * cameras
        assert len(delays) >= expected * 0.99, f"{mode}: {len(delays)} of {expected} frames read"
        return cpu / (cameras * seconds), delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each way, alternated (median CPU)")
    parser.add_argument("--frame-kb", type=int, default=20, help="bytes per 40-ms write (20 KiB: ~4 Mbit/s)")
    args = parser.parse_args()
    frame = args.frame_kb * 1024
    run("direct", args.cameras, 2.0, frame)  # warm-up (imports, first threads), not counted
    runs: dict[str, list[tuple[float, list[float]]]] = {"direct": [], "relayed": []}
    for _ in range(args.rounds):  # alternated, so that a neighbour's load falls on both ways alike
        for mode, found in runs.items():
            found.append(run(mode, args.cameras, args.seconds, frame))
    results = {
        mode: (statistics.median(cpu for cpu, _ in found), [d for _, delays in found for d in delays])
        for mode, found in runs.items()
    }
    mbit = frame * 8 / PERIOD_S / 1e6
    print(f"{args.cameras} cameras x {mbit:.1f} Mbit/s for {args.seconds:.0f} s, one reader each")
    for mode, (cpu, delays) in results.items():
        q = statistics.quantiles(delays, n=20)
        p50, p95 = q[9] * 1000, q[18] * 1000
        print(f"{mode}: {cpu * 1000:.2f} ms CPU per camera-second; delay p50 {p50:.2f} ms p95 {p95:.2f} ms")
    relay_cpu = results["relayed"][0] - results["direct"][0]
    print(f"relay_cpu_ms_per_camera_second: {relay_cpu * 1000:.2f}")
    print(f"cameras_per_core_relayed: {1 / relay_cpu:.0f}" if relay_cpu > 0 else "cameras_per_core_relayed: n/a")
    print(f"cpu_ratio_relayed_to_direct: {results['relayed'][0] / results['direct'][0]:.2f}")
    added = statistics.median(results["relayed"][1]) - statistics.median(results["direct"][1])
    print(f"delay_added_p50_ms: {added * 1000:.2f}")


if __name__ == "__main__":
    main()
