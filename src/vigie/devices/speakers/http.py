"""IP speakers that play a clip stored on them on an HTTP request: the common "play stored clip" API, here Axis
VAPIX's ``GET /axis-cgi/playclip.cgi?clip=N`` (Axis C1310-E, C1410…; other makers' paths are configurable), with
HTTP digest authentication (httpx's ``DigestAuth``, which keeps the challenge for the next requests)."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx

from vigie.domain.redact import redact_url
from vigie.domain.speakers import RecordedMessage, SpeakerUnreachableError


class HttpSpeaker:
    """One speaker; its HTTP connection is kept open between plays (a click must not wait for a TLS handshake)."""

    def __init__(
        self,
        speaker_id: str,
        base_url: str,
        *,
        username: str,
        password: str,
        path: str = "/axis-cgi/playclip.cgi",
        timeout_s: float = 2.0,
        ca_file: Path | None = None,
    ) -> None:
        self.speaker_id = speaker_id
        self._url = base_url.rstrip("/") + path
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=str(ca_file)) if ca_file else True
        self._client = httpx.Client(
            auth=httpx.DigestAuth(username, password), timeout=timeout_s, verify=verify, follow_redirects=False
        )

    def play(self, message: RecordedMessage) -> None:
        if message.clip is None:
            raise SpeakerUnreachableError(f"speaker {self.speaker_id}: message {message.id} has no clip for it")
        try:
            response = self._client.get(self._url, params={"clip": message.clip})
        except httpx.HTTPError as err:
            raise SpeakerUnreachableError(
                f"speaker {self.speaker_id} ({redact_url(self._url)}) did not answer: {type(err).__name__}"
            ) from None
        if response.status_code == 401:
            raise SpeakerUnreachableError(
                f"speaker {self.speaker_id} refused Vigie's account (401): check its username and password variable"
            )
        if response.status_code != 200:
            raise SpeakerUnreachableError(
                f"speaker {self.speaker_id} answered {response.status_code} to clip {message.clip}"
            )

    def close(self) -> None:
        self._client.close()
