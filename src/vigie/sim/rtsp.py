"""Simulated cameras served live over a real RTSP server (GStreamer rtsp-server), fed by ffmpeg.

Why this shape: the platform must be tested against a real RTSP/RTP implementation, the kind cameras and
media servers speak, with several clients at once.  GStreamer's rtsp-server is Debian-packaged, LGPL and
maintained; its Python bindings come from Debian (``python3-gi``), not from our virtualenv, so the server runs
as a subprocess of ``/usr/bin/python3`` executing the standalone ``gst_rtsp_server.py``.  One Debian ``ffmpeg``
per mount loops the rendered MP4 in real time (``-re -stream_loop -1``) as RTP/H.264 to a local UDP port, and
the server re-payloads it as a shared media, so every client sees the same live stream.

Every child process is ours to stop: ``stop()`` terminates then kills them, the server also exits when its
stdin closes (when we die), and on Linux the children get SIGTERM if the thread that started them dies.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

from vigie.domain.digest import file_sha256
from vigie.sim.cutouts import PhotoBank
from vigie.sim.render import render
from vigie.sim.scene import Scene, load_scene

DEBIAN_PYTHON = Path("/usr/bin/python3")
SERVER_SCRIPT = Path(__file__).resolve().with_name("gst_rtsp_server.py")
GST_PACKAGES = (
    "python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad"
)
RENDER_CACHE_VERSION = "1"
"""Bump when rendering changes, so cached videos of unchanged scene files are rendered again."""

_PROBE = (
    "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0'); "
    "from gi.repository import Gst, GstRtspServer"
)


class RtspUnavailableError(RuntimeError):
    """A system dependency of the RTSP simulator is missing; the message names the Debian package."""


class RtspServerError(RuntimeError):
    """The RTSP server or a feeder failed to start or died; the message carries its last error output."""


@functools.lru_cache(maxsize=8)
def rtsp_unavailable_reason(python: Path = DEBIAN_PYTHON) -> str | None:
    """Why the RTSP simulator cannot run here (naming the Debian packages to install), or None if it can.

    Asked once per interpreter and process (the probe imports GStreamer in a child: about a second, on the path to
    the demo's first event): ``vigie demo`` asks it in a thread while its scenes render."""
    if shutil.which("ffmpeg") is None:
        return "ffmpeg not found on PATH: install the Debian package ffmpeg"
    if not python.exists():
        return f"{python} not found: install the Debian packages python3 {GST_PACKAGES}"
    probe = subprocess.run([str(python), "-c", _PROBE], capture_output=True, text=True, timeout=30, check=False)
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["unknown error"])[-1]
        return f"{python} cannot load GStreamer's RTSP server ({last}): install the Debian packages {GST_PACKAGES}"
    return None


def check_rtsp_dependencies(python: Path = DEBIAN_PYTHON) -> None:
    """Raise ``RtspUnavailableError`` naming the missing Debian package, if any."""
    reason = rtsp_unavailable_reason(python)
    if reason is not None:
        raise RtspUnavailableError(reason)


class RtspSimServer:
    """An RTSP server with one mount per rendered MP4, e.g. ``{"cam1": Path("street.mp4")}``.

    A mount may also be a UDP port number instead of a file: the caller already sends RTP/H.264 there (a live
    encoder of its own, e.g. the clock camera of ``bench/live_latency.py``) and no feeder is started for it.

    Use as a context manager; ``port=0`` picks a free port (read it from ``port`` or ``url()``).  When
    ``start()`` returns, the server accepts connections and the feeders run; a client may still wait up to one
    GOP (two seconds) for the first keyframe.
    """

    def __init__(
        self,
        mounts: Mapping[str, Path | int],
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        python: Path = DEBIAN_PYTHON,
        start_timeout_s: float = 25.0,
        account: tuple[str, str] | None = None,
    ) -> None:
        """``account``: (user, password) every mount asks for, as a real camera does (RTSP Basic authentication);
        given to the server process in its environment, never on its command line."""
        if not mounts:
            raise ValueError("RtspSimServer needs at least one mount")
        for name in mounts:
            if not name or "/" in name.strip("/") or not name.strip("/").replace("-", "").replace("_", "").isalnum():
                raise ValueError(f"invalid mount name {name!r}: use letters, digits, - and _")
        self._mounts = {
            name.strip("/"): source if isinstance(source, int) else Path(source) for name, source in mounts.items()
        }
        self._requested_port = port
        self._host = host
        self._python = python
        self._timeout = start_timeout_s
        self._account = account
        self._server: subprocess.Popen[bytes] | None = None
        self._feeders: list[subprocess.Popen[bytes]] = []
        self._udp_ports: list[int] = []
        """Each mount's RTP port, in the mounts' order (planned at launch)."""
        self._logs: list[IO[bytes]] = []
        self.port: int | None = None

    def __enter__(self) -> RtspSimServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def pids(self) -> tuple[int, ...]:
        """Process ids of the server and the feeders while running (for supervision and tests)."""
        return tuple(proc.pid for proc in [self._server, *self._feeders] if proc is not None)

    def planned_url(self, mount: str) -> str:
        """The URL :meth:`url` will give once started, for a server given its port (to configure its clients while
        it starts)."""
        if not self._requested_port:
            raise RuntimeError("the RTSP server's port is chosen as it starts: ask url() after start()")
        return self._url(self._requested_port, mount)

    def url(self, mount: str) -> str:
        """``rtsp://HOST:PORT/MOUNT`` of a mount (127.0.0.1 when listening on all addresses)."""
        if self.port is None:
            raise RuntimeError("the RTSP server is not started")
        return self._url(self.port, mount)

    def _url(self, port: int, mount: str) -> str:
        name = mount.strip("/")
        if name not in self._mounts:
            raise KeyError(f"no mount {mount!r}; mounts: {', '.join(self._mounts)}")
        host = "127.0.0.1" if self._host in ("0.0.0.0", "") else self._host  # noqa: S104
        return f"rtsp://{host}:{port}/{name}"

    def start(self) -> None:
        """Start one ffmpeg feeder per mount, then the server; on any failure stop everything and raise.

        Returns once the server has prepared every mount's media (its ``READY`` line), so the first client
        gets frames at once.
        """
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """The first half of :meth:`start`: the feeders and the server started, not waited for (the caller does
        something else meanwhile, then calls :meth:`wait_ready`). Processes are tied to the calling thread's life
        (PR_SET_PDEATHSIG): launch from a thread that outlives the server."""
        check_rtsp_dependencies(self._python)
        self._check_files()
        self._all_or_nothing(self._plan_ports, self._start_feeders, self._spawn_server)

    def launch_server(self) -> None:
        """:meth:`launch` in two steps, for files still being written: the server first (its start, seconds of
        GStreamer's, runs meanwhile), then :meth:`launch_feeders` once the files exist; then :meth:`wait_ready`. The
        server waits for each mount's stream as long as its start time lasts."""
        check_rtsp_dependencies(self._python)
        self._all_or_nothing(self._plan_ports, self._spawn_server)

    def launch_feeders(self) -> None:
        """The feeders of a server started by :meth:`launch_server`, the files now written."""
        if self._server is None:
            raise RtspServerError("the RTSP server was not launched: call launch_server() first")
        self._all_or_nothing(self._check_files, self._start_feeders)

    def wait_ready(self) -> None:
        """The second half of :meth:`start`: returns once every mount's media is prepared and the server accepts;
        on a failure everything is stopped and the error raised."""
        self._all_or_nothing(self._read_ready, self._wait_accepting, self.check)

    def _all_or_nothing(self, *steps: Callable[[], None]) -> None:
        """The steps in order; on any failure everything started is stopped and the error raised."""
        try:
            for step in steps:
                step()
        except BaseException:
            self.stop()
            raise

    def _check_files(self) -> None:
        for name, source in self._mounts.items():
            if isinstance(source, Path) and not source.is_file():
                raise FileNotFoundError(f"video for mount {name!r} not found: {source}")

    def _plan_ports(self) -> None:
        files = [source for source in self._mounts.values() if isinstance(source, Path)]
        free = iter(free_udp_ports(len(files)))
        self._udp_ports = [source if isinstance(source, int) else next(free) for source in self._mounts.values()]

    def _start_feeders(self) -> None:
        for source, udp_port in zip(self._mounts.values(), self._udp_ports, strict=True):
            if isinstance(source, Path):
                self._feeders.append(self._spawn(_feeder_command(source, udp_port), stdin=subprocess.DEVNULL))

    def check(self) -> None:
        """Raise ``RtspServerError`` if the server or a feeder has exited."""
        for proc in [self._server, *self._feeders]:
            if proc is not None and proc.poll() is not None:
                raise RtspServerError(f"{_name(proc)} exited with code {proc.returncode}: {self._errors()}")

    def stop(self) -> None:
        """Stop feeders then server (terminate, then kill after 3 s); safe to call twice."""
        procs = [*self._feeders, *([self._server] if self._server is not None else [])]
        if self._server is not None and self._server.stdin is not None:
            self._server.stdin.close()
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        for log in self._logs:
            log.close()
        self._server, self._feeders, self._logs = None, [], []

    def _spawn(
        self,
        command: list[str],
        *,
        stdin: int,
        stdout: int = subprocess.DEVNULL,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self._logs.append(log)
        return subprocess.Popen(
            command,
            stdin=stdin,
            stdout=stdout,
            stderr=log,
            env=env,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only calls a pre-resolved prctl
            close_fds=True,
        )

    def _spawn_server(self) -> None:
        command = [str(self._python), str(SERVER_SCRIPT), "--host", self._host, "--port", str(self._requested_port)]
        command += ["--warmup-timeout", str(max(1.0, self._timeout - 2.0))]
        for name, udp_port in zip(self._mounts, self._udp_ports, strict=True):
            command += ["--mount", f"{name}={udp_port}"]
        env = None
        if self._account is not None:
            env = {**os.environ, "VIGIE_SIM_RTSP_ACCOUNT": f"{self._account[0]}:{self._account[1]}"}
        self._server = self._spawn(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)

    def _read_ready(self) -> None:
        if self._server is None:
            raise RtspServerError("the RTSP server was not launched")
        line = _read_line(self._server, self._timeout)
        if not line.startswith("READY "):
            code = self._server.poll()
            raise RtspServerError(f"RTSP server did not start (exit code {code}): {self._errors() or line}")
        self.port = int(line.split()[1])

    def _wait_accepting(self) -> None:
        deadline = time.monotonic() + self._timeout
        host = "127.0.0.1" if self._host in ("0.0.0.0", "") else self._host  # noqa: S104
        while True:
            try:
                with socket.create_connection((host, self.port or 0), timeout=0.5):
                    return
            except OSError as err:
                if time.monotonic() > deadline:
                    raise RtspServerError(f"RTSP server does not accept connections on port {self.port}") from err
                time.sleep(0.05)

    def _errors(self) -> str:
        """The last lines written on stderr by our children (for error messages)."""
        tails = []
        for log in self._logs:
            log.seek(0)
            text = log.read().decode("utf-8", "replace").strip()
            if text:
                tails.append(" | ".join(text.splitlines()[-3:]))
        return " ; ".join(tails)


def _feeder_command(video: Path, udp_port: int) -> list[str]:
    """Loop the file in real time as RTP/H.264.

    No bitstream filter: ffmpeg 5.1 fails with ``-stream_loop`` plus ``-bsf:v h264_mp4toannexb`` at the first
    loop.  The server learns SPS/PPS from the stream itself, so the file must repeat them before keyframes, as
    ``render`` does (x264 ``repeat-headers=1``); re-encode other files that way before serving them.
    """
    return [
        shutil.which("ffmpeg") or "ffmpeg",
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        "-re",
        "-stream_loop",
        "-1",
        "-i",
        str(video),
        "-an",
        "-c:v",
        "copy",
        "-f",
        "rtp",
        f"rtp://127.0.0.1:{udp_port}?pkt_size=1200",
    ]


def _name(proc: subprocess.Popen[bytes]) -> str:
    args = proc.args if isinstance(proc.args, list) else [str(proc.args)]
    return "RTSP server" if str(SERVER_SCRIPT) in map(str, args) else "ffmpeg feeder"


def _read_line(proc: subprocess.Popen[bytes], timeout: float) -> str:
    """One line from the child's stdout, or '' on timeout or exit (never blocks past ``timeout``)."""
    if proc.stdout is None:
        return ""
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return ""
    return proc.stdout.readline().decode("utf-8", "replace").strip()


def free_udp_ports(count: int) -> list[int]:
    """Distinct free UDP ports ``p`` whose ``p + 1`` (where ffmpeg sends RTCP) is free and unused too."""
    chosen: list[int] = []
    while len(chosen) < count:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            if port + 1 > 65535 or {port, port + 1} & {p + d for p in chosen for d in (0, 1)}:
                continue
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as second:
                    second.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
            chosen.append(port)
    return chosen


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


_PRCTL = _load_prctl()
"""Resolved in the parent, so the child between fork and exec only makes one foreign call (no dlopen)."""
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGTERM the child when the thread that started it dies (no orphans after a crash)."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/vigie/sim`` (``~/.cache/vigie/sim`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vigie" / "sim"


def render_cache_path(scene: Scene, cache_dir: Path | None = None, photo: PhotoBank | None = None) -> Path:
    """Where the render of ``scene`` is cached: ``<dir>/<scene name>-<hash of the scene>.mp4`` (the hash also
    covers the footage a photo-real render's cut-outs come from: ``-photo`` is added to the name)."""
    directory = cache_dir if cache_dir is not None else default_cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    material = RENDER_CACHE_VERSION + scene.model_dump_json()
    if photo is not None:
        material += "".join(f"{name}:{digest};" for name, digest in photo.sources)
    key = hashlib.sha256(material.encode()).hexdigest()[:16]
    return directory / f"{scene.name}{'-photo' if photo is not None else ''}-{key}.mp4"


def cached_render(scene: Scene, cache_dir: Path | None = None, photo: PhotoBank | None = None) -> Path:
    """The rendered MP4 of ``scene``, rendering it once per scene content (the cache key hashes the scene).

    Whatever file sits at the cache path is trusted: fine to serve test footage, never enough to call footage
    simulated (that needs :func:`proven_render`)."""
    path = render_cache_path(scene, cache_dir, photo)
    if not path.is_file():
        render(scene, path, photo=photo)
    return path


@dataclass(frozen=True, slots=True)
class ProvenRender:
    """A render of a scene made by this process, and what was found at its cache path before."""

    path: Path
    sha256: str
    verdict: str
    """``rendered`` (nothing cached), ``verified`` (the cached file was byte-identical to this render) or
    ``replaced`` (it was not: it was discarded)."""
    found_sha256: str = ""
    """The discarded file's SHA-256 (``replaced`` only)."""


def proven_render(scene: Scene, cache_dir: Path | None = None, photo: PhotoBank | None = None) -> ProvenRender:
    """The MP4 of ``scene``, proven to be its render and nothing else: the scene is rendered now, in this process
    (rendering is deterministic: the same scene gives the same bytes), and the result is what the cache path holds
    afterwards. A file found there before is compared with it: byte-identical, the verdict is ``verified``;
    anything else (other footage copied there, a render by another version or machine) is ``replaced``. No
    signature or manifest is trusted: whoever can write the cache could write those too.

    It costs one render per scene at every call (about 5 s for the built-in scenes on a shared 2-core VM), the same
    as a first start."""
    path = render_cache_path(scene, cache_dir, photo)
    fresh = path.with_name(f".{path.name}.{os.getpid()}.proof.mp4")
    try:
        render(scene, fresh, photo=photo)
        digest = file_sha256(fresh)
        found = file_sha256(path) if path.is_file() else None
        fresh.replace(path)  # always the file rendered here, even when the old one was identical
    finally:
        fresh.unlink(missing_ok=True)
    if found is None:
        return ProvenRender(path, digest, "rendered")
    if found == digest:
        return ProvenRender(path, digest, "verified")
    return ProvenRender(path, digest, "replaced", found)


def serve(
    scene_paths: Sequence[Path],
    port: int = 8554,
    *,
    host: str = "127.0.0.1",
    cache_dir: Path | None = None,
    photo: PhotoBank | None = None,
) -> None:
    """Render the scenes if needed, serve them (one mount per scene name) and block until Ctrl-C."""
    mounts: dict[str, Path] = {}
    for path in scene_paths:
        scene = load_scene(path)
        name, suffix = scene.name, 2
        while name in mounts:
            name, suffix = f"{scene.name}-{suffix}", suffix + 1
        print(f"rendering {path} ...", flush=True)
        mounts[name] = cached_render(scene, cache_dir, photo)
    with RtspSimServer(mounts, port, host=host) as server:
        for name in mounts:
            print(f"{name}: {server.url(name)}", flush=True)
        print("serving; press Ctrl-C to stop", flush=True)
        try:
            while True:
                server.check()
                time.sleep(0.5)
        except KeyboardInterrupt:
            print("stopping", flush=True)
