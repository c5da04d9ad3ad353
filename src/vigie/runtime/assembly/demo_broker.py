"""The demo's own MQTT broker (issue 21): Debian's ``mosquitto`` started by ``vigie demo``, as it starts its own
RTSP server, so the default demo publishes its confirmed alerts, camera states and health and runs the simulated
radar without a broker set up by hand.

The broker is private to the demo: a generated configuration under the demo's data folder (``mqtt/``: the
configuration, a persistence folder, the broker's log), one listener on a free port of 127.0.0.1, stopped with
SIGTERM (it saves its database first) when the demo ends. The distribution's system service is never started,
stopped or read. Without the binary the demo runs without MQTT and says how to get it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

log = logging.getLogger(__name__)

SYSTEM_BINARIES = ("/usr/sbin/mosquitto", "/usr/bin/mosquitto")
"""Where Debian's package puts the broker: ``/usr/sbin`` is not on a regular user's PATH on Debian."""

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0


class DemoBrokerError(RuntimeError):
    """The demo's broker could not be started; the message says why (its log's last lines included)."""


def find_mosquitto(binary: str | None = None) -> str | None:
    """The broker to start: ``binary`` when given (None if it is not an executable file), else ``mosquitto`` on
    PATH, else Debian's ``/usr/sbin/mosquitto``; None when there is none."""
    if binary is not None:
        return binary if os.path.isfile(binary) and os.access(binary, os.X_OK) else None
    return shutil.which("mosquitto") or next((p for p in SYSTEM_BINARIES if os.access(p, os.X_OK)), None)


def free_loopback_port() -> int:
    """A port of 127.0.0.1 free now (the kernel's choice); the broker binds it a moment later."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def broker_config(folder: Path, port: int) -> str:
    """The broker's configuration text: loopback only, anonymous, persistent, logging to ``folder/mosquitto.log``."""
    data = folder / "data"
    lines = [
        "# Written by `vigie demo` at each start; edits are overwritten. The demo's private broker.",
        f"listener {port} 127.0.0.1",
        # Anonymous clients are accepted only because the one listener is bound to 127.0.0.1: nothing off this
        # machine can connect. A broker reachable from elsewhere needs TLS and per-commune accounts and ACLs
        # (docs/integrations.md, "Security"); the demo never offers one.
        "allow_anonymous true",
        "persistence true",
        f"persistence_location {data}/",
        "autosave_interval 5",
        f"log_dest file {folder / 'mosquitto.log'}",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "connection_messages true",
        # started as root, mosquitto would switch to the `mosquitto` user, who cannot write the demo's folder
        f"user {pwd.getpwuid(os.geteuid()).pw_name}",
    ]
    return "\n".join(lines) + "\n"


class DemoBroker:
    """A running private broker in ``folder`` (a context manager); ``address`` is ``127.0.0.1:PORT``."""

    def __init__(self, binary: str, folder: Path, port: int | None = None) -> None:
        self.binary, self.folder = binary, folder
        self.port = port if port is not None else free_loopback_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.folder / "mosquitto.log"

    def __enter__(self) -> DemoBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid_file(self) -> Path:
        return self.folder / "mosquitto.pid"

    def start(self) -> None:
        (self.folder / "data").mkdir(parents=True, exist_ok=True)
        conf = (self.folder / "mosquitto.conf").resolve()
        self._stop_left_over(conf)
        conf.write_text(broker_config(self.folder.resolve(), self.port), encoding="utf-8")
        started = self.log_file.stat().st_size if self.log_file.exists() else 0
        with self.log_file.open("ab") as output:  # what it says before its log file opens; the child keeps a copy
            # a session of its own: Ctrl-C in the terminal reaches the demo, which stops the broker last (after
            # the service has flushed to it), rather than the broker at once
            self._process = subprocess.Popen(
                [self.binary, "-c", str(conf)],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                start_new_session=True,
            )
        self.pid_file.write_text(f"{self._process.pid}\n", encoding="utf-8")
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._listening():
            if self._process.poll() is not None or time.monotonic() > deadline:
                error = self._failure(started)
                self.stop()
                raise DemoBrokerError(error)
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM (the broker saves its database), then wait; a broker that does not exit is killed."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        self.pid_file.unlink(missing_ok=True)

    def _stop_left_over(self, conf: Path) -> None:
        """A broker a previous demo left running on this folder (the demo was killed, ``kill -9``) would share its
        persistence folder: stopped (SIGTERM) first — only when the process named by the pid file is still a
        mosquitto started with this very configuration, never another process that reused the id."""
        try:
            pid = int(self.pid_file.read_text(encoding="utf-8").strip())
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return
        if str(conf).encode() not in command or not any(part.endswith(b"mosquitto") for part in command):
            return
        log.warning("stopping the broker a previous demo left running on this folder (pid %d)", pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while _running(pid) and time.monotonic() < deadline:
                time.sleep(0.05)

    def _listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def _failure(self, log_offset: int) -> str:
        process = self._process
        exited = process is not None and process.poll() is not None
        said = ""
        if self.log_file.exists():
            with self.log_file.open("rb") as broker_log:
                broker_log.seek(log_offset)
                said += broker_log.read().decode(errors="replace")
        what = f"exited ({process.returncode})" if exited and process is not None else "did not listen in time"
        tail = " | ".join(line for line in said.strip().splitlines()[-3:] if line)
        return f"mosquitto {what} on 127.0.0.1:{self.port}{f': {tail}' if tail else ''} (its log: {self.log_file})"


def _running(pid: int) -> bool:
    """The process exists and has not exited (an exited one stays a zombie until its parent reaps it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def open_demo_broker(stack: contextlib.ExitStack, folder: Path, binary: str | None = None) -> str | None:
    """Start the demo's broker in ``folder`` (stopped when ``stack`` closes) and return its ``127.0.0.1:PORT``;
    None, with one line saying why and how to get one, when there is no ``mosquitto`` or it did not start.
    ``binary``: the broker to start instead of the one found on PATH or in ``/usr/sbin`` (``--mosquitto``)."""
    found = find_mosquitto(binary)
    if found is None:
        where = f"no executable mosquitto at {binary}" if binary is not None else "Debian's mosquitto is not installed"
        log.warning(
            "no MQTT in this demo: %s (`bash scripts/setup.sh --with-mqtt` installs it; or give --mqtt HOST:PORT of "
            "a broker you run); the demo runs without MQTT messages and without its simulated radar",
            where,
        )
        return None
    try:
        broker = stack.enter_context(DemoBroker(found, folder))
    except (DemoBrokerError, OSError) as err:
        log.error("no MQTT in this demo: its broker did not start (%s); the demo runs without MQTT", err)
        return None
    log.info(
        "MQTT: the demo's own broker on %s (loopback only; configuration and log in %s); watch it with "
        "`mosquitto_sub -h 127.0.0.1 -p %d -t 'vigie/#' -v -V mqttv5`",
        broker.address,
        folder,
        broker.port,
    )
    return broker.address


def demo_broker_address(
    stack: contextlib.ExitStack, folder: Path, *, given: str | None, own: bool, binary: str | None
) -> str | None:
    """The broker the demo publishes to: ``given`` (``--mqtt HOST:PORT``, a broker already running), else with
    ``own`` its own (:func:`open_demo_broker`), else none (``--no-mqtt``); each choice is logged once."""
    if given is not None:
        log.info("MQTT: publishing to the broker at %s (--mqtt)", given)
        return given
    if own:
        return open_demo_broker(stack, folder, binary)
    log.info("no MQTT in this demo (--no-mqtt): no MQTT messages and no simulated radar")
    return None
