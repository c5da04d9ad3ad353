"""A real SIP speaker for the SIP driver's tests (issue 21): a second Debian ``baresip`` on loopback that answers
every call at once (``answermode=auto``), as IP speakers and paging gateways do, and keeps the audio it received
(``sndfile`` writes each call's decoded audio to a WAV file). Its ``ctrl_tcp`` events say when a call came in and
ended. Without baresip (``scripts/setup.sh --with-sip``) the tests are skipped, except in CI where they fail.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import socket
import struct
import subprocess
import threading
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import free_port
from tests.support.waiting import wait_for
from vigie.devices.speakers.sip import MODULE_PATH, baresip_available, netstring, netstrings


def require_baresip() -> None:
    if not baresip_available():
        reason = "Debian's baresip-core is not installed: run scripts/setup.sh --with-sip (scripts/test.sh does)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def write_tone(path: Path, seconds: float, frequency: float = 440.0, amplitude: int = 8000) -> Path:
    """A mono 8 kHz 16-bit WAV: a tone (``amplitude`` 0: silence)."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        samples = int(8000 * seconds)
        out.writeframes(
            b"".join(
                struct.pack("<h", int(amplitude * math.sin(2 * math.pi * frequency * i / 8000))) for i in range(samples)
            )
        )
    return path


def loudness(path: Path) -> float:
    """Root mean square of a 16-bit mono WAV's samples."""
    with wave.open(str(path), "rb") as source:
        frames = source.readframes(source.getnframes())
    count = len(frames) // 2
    if count == 0:
        return 0.0
    values = struct.unpack(f"<{count}h", frames[: count * 2])
    return math.sqrt(sum(v * v for v in values) / count)


@dataclass
class SipSpeakerRig:
    uri: str
    folder: Path
    events: list[dict[str, Any]] = field(default_factory=list)

    def types(self) -> list[str]:
        return [str(e.get("type")) for e in list(self.events)]

    def received(self) -> list[Path]:
        """The decoded audio of each call (what the speaker would sound)."""
        return sorted((self.folder / "dump").glob("*-dec.wav"))

    def wait(self, event: str, count: int = 1, timeout: float = 10.0) -> None:
        wait_for(lambda: self.types().count(event) >= count, timeout, f"{count} {event} at the speaker")


@contextmanager
def sip_speaker(tmp_path: Path) -> Iterator[SipSpeakerRig]:
    require_baresip()
    folder = tmp_path / "speaker"
    (folder / "dump").mkdir(parents=True)
    sip_port, control_port = free_port(), free_port()
    write_tone(folder / "silence.wav", 60.0, amplitude=0)  # what the speaker sends back: it listens only
    (folder / "config").write_text(
        "\n".join(
            [
                "poll_method epoll",
                f"sip_listen 127.0.0.1:{sip_port}",
                f"module_path {MODULE_PATH}",
                "module g711.so",
                "module aufile.so",
                "module sndfile.so",
                "module_app account.so",
                "module_app menu.so",
                "module_app ctrl_tcp.so",
                f"ctrl_tcp_listen 127.0.0.1:{control_port}",
                f"audio_source aufile,{folder / 'silence.wav'}",
                "audio_player aufile,/dev/null",
                f"snd_path {folder / 'dump'}",
                "",
            ]
        )
    )
    (folder / "accounts").write_text("<sip:speaker@127.0.0.1>;regint=0;answermode=auto\n")
    process = subprocess.Popen(
        [shutil.which("baresip") or "baresip", "-f", str(folder)],
        stdin=subprocess.DEVNULL,
        stdout=(folder / "baresip.log").open("wb"),
        stderr=subprocess.STDOUT,
        cwd=folder,
    )
    rig = SipSpeakerRig(f"sip:speaker@127.0.0.1:{sip_port}", folder)
    connected = wait_for(lambda: _connect(control_port), 10.0, "the SIP speaker's control port")
    assert connected is not None  # wait_for never returns a false value
    control = connected
    stop = threading.Event()

    def read() -> None:
        buffer = bytearray()
        control.settimeout(0.2)
        while not stop.is_set():
            try:
                data = control.recv(8192)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            buffer.extend(data)
            rig.events.extend(netstrings(buffer))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield rig
    finally:
        stop.set()
        reader.join(2)
        with contextlib.suppress(OSError):
            control.sendall(netstring({"command": "quit", "token": "quit"}))
        control.close()
        try:
            process.wait(1)
        except subprocess.TimeoutExpired:
            process.kill()  # baresip waits for its SIP transactions to end: nothing to keep here
            process.wait()


def _connect(port: int) -> socket.socket | None:
    try:
        return socket.create_connection(("127.0.0.1", port), timeout=0.5)
    except OSError:
        return None
