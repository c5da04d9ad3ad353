"""Standalone RTSP server for simulated cameras, built on GStreamer's rtsp-server library.

This file is run as a subprocess by Debian's ``/usr/bin/python3`` (which has PyGObject and the GstRtspServer
typelib); it must import only ``gi`` and the standard library, never ``vigie``.  Each mount re-payloads an H.264
RTP stream that a feeder (``ffmpeg -re -stream_loop -1 -i scene.mp4 -c copy -f rtp rtp://127.0.0.1:PORT``)
sends to a local UDP port; the media is shared, so any number of clients watch the same live stream.

Usage::

    /usr/bin/python3 gst_rtsp_server.py --port 8554 --mount cam1=5004 --mount cam2=5006

Protocol with the parent process (promised, relied upon by ``vigie.sim.rtsp``):

* once the server listens *and every mount's media is prepared* (the feed is flowing), one line
  ``READY <port>`` is printed on stdout (``<port>`` is the bound port, useful with ``--port 0``); exit code 4
  if a mount receives no stream within ``--warmup-timeout`` seconds;
* the server keeps one idle RTSP connection per mount (a DESCRIBE, never a session) for its whole life, so the
  shared media stays prepared: clients then join a running stream immediately, and two clients connecting at
  the same moment never race on preparing the same media (a race that otherwise stalls one of them);
* the server stops when stdin reaches end of file (so it dies with its parent), or on SIGTERM/SIGINT;
* exit code 3 with a message on stderr naming the missing Debian package when a GStreamer element is missing;
* when the environment variable ``VIGIE_SIM_RTSP_ACCOUNT`` holds ``user:password`` (an environment variable, never an
  argument: arguments show in ``ps``), every mount asks for that account (RTSP Basic authentication: the binding cannot
  offer Basic and Digest together), and the warm-up connection gives it.
"""

from __future__ import annotations

import argparse
import base64
import os
import signal
import socket
import sys
import threading
import time

try:
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer
except (ImportError, ValueError) as err:  # pragma: no cover - exercised only on broken installs
    sys.stderr.write(
        f"cannot load GStreamer RTSP server bindings ({err}); "
        "install the Debian packages python3-gi and gir1.2-gst-rtsp-server-1.0\n"
    )
    sys.exit(3)

RTP_CAPS = "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96"
"""Caps of the RTP stream ffmpeg's ``-f rtp`` muxer sends for H.264 (dynamic payload type 96)."""

REQUIRED_ELEMENTS = {
    "udpsrc": "gstreamer1.0-plugins-good",
    "rtph264depay": "gstreamer1.0-plugins-good",
    "rtph264pay": "gstreamer1.0-plugins-good",
    "h264parse": "gstreamer1.0-plugins-bad",
}


def launch_line(udp_port: int) -> str:
    """The media pipeline of one mount: depayload, reparse (so SPS/PPS are known) and payload again."""
    return (
        f'( udpsrc address=127.0.0.1 port={udp_port} caps="{RTP_CAPS}" '
        "! rtph264depay ! h264parse config-interval=-1 "
        "! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Serve H.264 RTP feeds as RTSP mounts (shared media).")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8554, help="RTSP port; 0 picks a free one")
    parser.add_argument(
        "--mount",
        action="append",
        default=[],
        metavar="NAME=UDP_PORT",
        help="serve the RTP/H.264 stream received on UDP_PORT at rtsp://HOST:PORT/NAME",
    )
    parser.add_argument("--warmup-timeout", type=float, default=20.0, help="seconds to wait for each mount's stream")
    return parser.parse_args(argv)


def check_elements() -> None:
    """Exit with code 3 naming the Debian package when a needed GStreamer element is missing."""
    for element, package in REQUIRED_ELEMENTS.items():
        if Gst.ElementFactory.find(element) is None:
            sys.stderr.write(f"GStreamer element {element!r} is missing; install the Debian package {package}\n")
            sys.exit(3)


ACCOUNT_VARIABLE = "VIGIE_SIM_RTSP_ACCOUNT"
ROLE = "viewer"


def account() -> tuple[str, str] | None:
    """The account every mount asks for (``user:password`` in :data:`ACCOUNT_VARIABLE`), or None: no account."""
    value = os.environ.get(ACCOUNT_VARIABLE, "")
    user, sep, password = value.partition(":")
    return (user, password) if sep and user else None


def build_server(host: str, port: int, mounts: dict[str, int]) -> GstRtspServer.RTSPServer:
    server = GstRtspServer.RTSPServer()
    server.set_address(host)
    server.set_service(str(port))
    points = server.get_mount_points()
    required = account()
    if required is not None:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, ROLE)
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(*required), token)
        server.set_auth(auth)
    for name, udp_port in mounts.items():
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch_line(udp_port))
        factory.set_shared(True)
        if required is not None:
            factory.add_role_from_structure(
                Gst.Structure.from_string(
                    f"{ROLE}, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
                )[0]
            )
        points.add_factory(f"/{name}", factory)
    return server


def warm_up(port: int, name: str, timeout: float) -> socket.socket:
    """DESCRIBE a mount on our own server and keep the connection: the media is prepared and stays so."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    required = account()
    authorization = ""
    if required is not None:
        basic = base64.b64encode(f"{required[0]}:{required[1]}".encode()).decode("ascii")
        authorization = f"Authorization: Basic {basic}\r\n"
    request = (
        f"DESCRIBE rtsp://127.0.0.1:{port}/{name} RTSP/1.0\r\nCSeq: 1\r\n{authorization}"
        "Accept: application/sdp\r\nUser-Agent: vigie-sim-warmup\r\n\r\n"
    )
    conn.sendall(request.encode("ascii"))
    reply = b""
    while b"\r\n\r\n" not in reply:
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionError("connection closed during DESCRIBE")
        reply += chunk
    status = reply.split(b"\r\n", 1)[0].decode("ascii", "replace")
    if " 200 " not in status:
        raise ConnectionError(status)
    conn.settimeout(None)
    return conn


def start_warm_up(port: int, mounts: dict[str, int], timeout: float, loop: GLib.MainLoop) -> list[socket.socket]:
    """Warm every mount in a thread (the main loop must run to answer), then print READY or exit with 4."""
    kept: list[socket.socket] = []
    errors: list[str] = []

    def one(name: str) -> None:
        # GStreamer gives a media 20 s to preroll and answers 503 past that (rtsp-media.c): on a loaded machine a
        # feeder can start later than that, so a 503 is asked again while this mount's time lasts.
        deadline = time.monotonic() + timeout
        while True:
            try:
                kept.append(warm_up(port, name, max(1.0, deadline - time.monotonic())))
                return
            except OSError as err:
                if " 503 " in str(err) and time.monotonic() + 1.0 < deadline:
                    time.sleep(0.5)
                    continue
                errors.append(f"mount {name!r} got no stream: {err}")
                return

    def run() -> None:
        # all mounts at once: each waits for a keyframe of its feed after its media is prepared (up to a GOP),
        # so one after the other the waits added up (6.1 s for the demo's four mounts, 2-s GOPs)
        threads = [threading.Thread(target=one, args=(name,), name=f"warm-up-{name}") for name in mounts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        GLib.idle_add(report)

    def report() -> bool:
        if errors:
            sys.stderr.write("; ".join(errors) + "\n")
            STATUS["code"] = 4
            loop.quit()
        else:
            sys.stdout.write(f"READY {port}\n")
            sys.stdout.flush()
        return False

    threading.Thread(target=run, name="warm-up", daemon=True).start()
    return kept


STATUS: dict[str, int] = {"code": 0}
"""Exit code decided inside the main loop (4 when a mount never got a stream)."""


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    mounts: dict[str, int] = {}
    for item in args.mount:
        name, sep, udp = item.partition("=")
        if not sep or not name or not udp.isdigit():
            sys.stderr.write(f"invalid --mount {item!r}: expected NAME=UDP_PORT\n")
            return 2
        mounts[name.strip("/")] = int(udp)
    Gst.init(None)
    check_elements()
    server = build_server(args.host, args.port, mounts)
    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        sys.stderr.write(f"cannot listen on {args.host}:{args.port}\n")
        return 1

    def on_stdin(_source: object, _condition: object) -> bool:
        data = sys.stdin.buffer.read1(4096) if hasattr(sys.stdin.buffer, "read1") else b""
        if not data:
            loop.quit()
            return False
        return True

    GLib.io_add_watch(sys.stdin.fileno(), GLib.IO_IN | GLib.IO_HUP | GLib.IO_ERR, on_stdin)
    for signum in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_HIGH, signum, lambda *_: (loop.quit(), False)[1])
    kept = start_warm_up(server.get_bound_port(), mounts, args.warmup_timeout, loop)
    loop.run()
    for conn in kept:
        conn.close()
    return STATUS["code"]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
