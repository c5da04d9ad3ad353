"""SIP speakers (and paging gateways): Vigie calls the speaker with baresip and sends the message's WAV file.

Each play runs one short-lived ``baresip`` (Debian's ``baresip-core``) with a configuration written for it: its
audio source is the message's file (``aufile``), its control is ``ctrl_tcp`` on a loopback port (netstring JSON
commands and events, which this module speaks: a few lines, and baresip ships no Python client). The driver dials
the speaker's URI and returns once the call is **established** (the speaker answered: the message is sounding), or
raises :class:`SpeakerUnreachableError` with the SIP reason. The call ends by itself when the file ends (baresip's
menu hangs up at the end of the source), and is cut after ``max_call_s`` at the latest; the process is then
stopped. A process per play keeps concurrent plays (several speakers, several operators) apart and costs ~100 ms.

The account's password goes to baresip in its ``accounts`` file, in a private temporary folder (0700) removed when
the call ends; it never appears in a log, an error or the audit.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from vigie.domain.speakers import RecordedMessage, SpeakerUnreachableError

log = logging.getLogger(__name__)

BARESIP: Final = "baresip"
MODULE_PATH: Final = Path("/usr/lib/baresip/modules")
START_TIMEOUT_S: Final = 5.0
ANSWER_TIMEOUT_S: Final = 10.0
QUIT_WAIT_S: Final = 1.0


def baresip_available() -> bool:
    return shutil.which(BARESIP) is not None and (MODULE_PATH / "ctrl_tcp.so").is_file()


START_TRIES = 3
"""baresip started again with new ports when it exits as it starts (a port taken between choice and bind)."""


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def netstring(data: dict[str, Any]) -> bytes:
    body = json.dumps(data).encode()
    return str(len(body)).encode() + b":" + body + b","


def netstrings(buffer: bytearray) -> Iterator[dict[str, Any]]:
    """Take the complete netstrings off the front of ``buffer`` (what remains stays for the next read)."""
    while True:
        colon = buffer.find(b":")
        if colon < 0 or not buffer[:colon].isdigit():
            return
        length = int(buffer[:colon])
        end = colon + 1 + length
        if len(buffer) < end + 1:
            return
        body = bytes(buffer[colon + 1 : end])
        del buffer[: end + 1]
        try:
            yield json.loads(body)
        except ValueError:
            continue


class SipSpeaker:
    """One SIP speaker, called at each play."""

    def __init__(
        self,
        speaker_id: str,
        uri: str,
        *,
        username: str | None = None,
        password: str | None = None,
        local_address: str = "0.0.0.0",  # noqa: S104 - the speaker must reach the RTP port; configurable
        max_call_s: float = 60.0,
        answer_timeout_s: float = ANSWER_TIMEOUT_S,
    ) -> None:
        self.speaker_id = speaker_id
        self._uri, self._username, self._password = uri, username, password
        self._local = local_address
        self._max_call_s, self._answer_timeout_s = max_call_s, answer_timeout_s
        self._calls: set[_Call] = set()
        self._lock = threading.Lock()

    def play(self, message: RecordedMessage) -> None:
        if message.audio_file is None:
            raise SpeakerUnreachableError(f"speaker {self.speaker_id}: message {message.id} has no audio file")
        if not message.audio_file.is_file():
            raise SpeakerUnreachableError(f"speaker {self.speaker_id}: audio file {message.audio_file} is missing")
        if not baresip_available():
            raise SpeakerUnreachableError("SIP speakers need baresip (Debian package baresip-core)")
        call = _Call(self, message.audio_file)
        with self._lock:
            self._calls.add(call)
        try:
            call.start()
        except BaseException:
            call.stop()
            with self._lock:
                self._calls.discard(call)
            raise

    def _ended(self, call: _Call) -> None:
        with self._lock:
            self._calls.discard(call)

    def close(self) -> None:
        with self._lock:
            calls = list(self._calls)
        for call in calls:
            call.stop()


class _ExitedEarlyError(SpeakerUnreachableError):
    """baresip exited before its control port answered (most often: a port it was given was taken meanwhile)."""


class _Call:
    """One baresip process placing one call."""

    def __init__(self, speaker: SipSpeaker, audio: Path) -> None:
        self._speaker, self._audio = speaker, audio
        self._folder = Path(tempfile.mkdtemp(prefix="vigie-sip-"))  # 0700
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._buffer = bytearray()

    def start(self) -> None:
        # The two ports are chosen free, then bound by baresip a moment later: on a busy host another connection may
        # take one in between (as its source port) and baresip exits at once. Then new ports, up to START_TRIES.
        speaker = self._speaker
        for attempt in range(1, START_TRIES + 1):
            control_port = self._launch()
            try:
                self._control = self._connect(control_port)
                break
            except _ExitedEarlyError:
                if attempt == START_TRIES:
                    raise SpeakerUnreachableError(
                        f"speaker {speaker.speaker_id}: baresip did not start ({START_TRIES} tries)"
                    ) from None
                log.warning("speakers: baresip exited as it started (a port taken?): trying again with new ports")
        assert self._control is not None
        self._control.sendall(netstring({"command": "dial", "params": speaker._uri, "token": "dial"}))
        self._wait_answer()
        threading.Thread(target=self._until_closed, name=f"sip-{speaker.speaker_id}", daemon=True).start()

    def _launch(self) -> int:
        """Write baresip's configuration with two free ports and start it; its control port."""
        speaker = self._speaker
        control_port = _free_port("127.0.0.1")
        (self._folder / "config").write_text(
            "\n".join(
                [
                    "poll_method epoll",
                    f"sip_listen {speaker._local}:{_free_port(speaker._local)}",
                    f"module_path {MODULE_PATH}",
                    "module g711.so",
                    "module aufile.so",
                    "module_app account.so",
                    "module_app menu.so",
                    "module_app ctrl_tcp.so",
                    f"ctrl_tcp_listen 127.0.0.1:{control_port}",
                    f"audio_source aufile,{self._audio}",
                    "audio_player aufile,/dev/null",
                    "audio_alert aufile,/dev/null",
                    "",
                ]
            ),
            encoding="utf-8",
        )
        user = speaker._username or "vigie"
        account = f"<sip:{user}@{speaker._local}>;regint=0"
        if speaker._password is not None:
            account += f";auth_user={user};auth_pass={speaker._password}"
        accounts = self._folder / "accounts"
        accounts.touch(mode=0o600)
        accounts.write_text(account + "\n", encoding="utf-8")
        self._process = subprocess.Popen(
            [BARESIP, "-f", str(self._folder)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self._folder,
        )
        return control_port

    def _connect(self, port: int) -> socket.socket:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self._process is not None and self._process.poll() is not None:
                raise _ExitedEarlyError(f"speaker {self._speaker.speaker_id}: baresip did not start")
            try:
                return socket.create_connection(("127.0.0.1", port), timeout=0.5)
            except OSError:
                if time.monotonic() > deadline:
                    raise SpeakerUnreachableError(
                        f"speaker {self._speaker.speaker_id}: baresip did not start within {START_TIMEOUT_S:.0f} s"
                    ) from None
                time.sleep(0.01)

    def _events(self, deadline: float) -> Iterator[dict[str, Any]]:
        control = self._control
        if control is None:
            return
        while time.monotonic() < deadline:
            control.settimeout(max(0.01, min(0.5, deadline - time.monotonic())))
            try:
                data = control.recv(8192)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            self._buffer.extend(data)
            yield from netstrings(self._buffer)

    def _wait_answer(self) -> None:
        sid = self._speaker.speaker_id
        for item in self._events(time.monotonic() + self._speaker._answer_timeout_s):
            if item.get("response") and not item.get("ok"):
                raise SpeakerUnreachableError(f"speaker {sid}: the call could not be placed ({item.get('data')!s})")
            kind = item.get("type")
            if kind == "CALL_ESTABLISHED":
                return
            if kind == "CALL_CLOSED":
                raise SpeakerUnreachableError(f"speaker {sid} did not answer: {item.get('param') or 'call closed'}")
        raise SpeakerUnreachableError(f"speaker {sid} did not answer within {self._speaker._answer_timeout_s:.0f} s")

    def _until_closed(self) -> None:
        try:
            for item in self._events(time.monotonic() + self._speaker._max_call_s):
                if item.get("type") == "CALL_CLOSED":
                    break
        finally:
            self.stop()
            self._speaker._ended(self)

    def stop(self) -> None:
        if self._control is not None:
            with contextlib.suppress(OSError):
                self._control.sendall(netstring({"command": "quit", "token": "quit"}))
            self._control.close()
            self._control = None
        process = self._process
        if process is not None and process.poll() is None:
            try:
                process.wait(timeout=QUIT_WAIT_S)
            except subprocess.TimeoutExpired:
                # baresip waits for its SIP transactions (up to 32 s for an INVITE nobody answered): it holds no
                # state worth a clean stop, so it is killed
                process.kill()
                process.wait()
        shutil.rmtree(self._folder, ignore_errors=True)
