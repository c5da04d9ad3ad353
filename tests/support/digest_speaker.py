"""A real HTTP server standing in for an IP speaker's VAPIX ``playclip.cgi`` (issue 21), with HTTP digest
authentication (RFC 7616, MD5, qop=auth) checked as such speakers check it: a request without or with a wrong
``Authorization`` gets 401 and a fresh challenge. Written on the standard library's HTTP server because no
packaged server does digest authentication; only for tests."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

REALM = "AXIS_ACCC8E000000"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


@dataclass
class ClipSpeaker:
    username: str
    password: str
    clips: frozenset[str] = frozenset({"1", "2", "3"})
    played: list[tuple[str, float]] = field(default_factory=list)
    """(clip, ``time.time()``) of each accepted play."""
    refused: int = 0
    url: str = ""
    nonces: set[str] = field(default_factory=set)

    def check(self, method: str, header: str) -> bool:
        if not header.startswith("Digest "):
            return False
        parts = dict(re.findall(r'(\w+)="?([^",]*)"?', header[7:]))
        if parts.get("username") != self.username or parts.get("nonce") not in self.nonces:
            return False
        ha1 = _md5(f"{self.username}:{REALM}:{self.password}")
        ha2 = _md5(f"{method}:{parts.get('uri', '')}")
        expected = _md5(f"{ha1}:{parts['nonce']}:{parts.get('nc', '')}:{parts.get('cnonce', '')}:auth:{ha2}")
        return secrets.compare_digest(expected, parts.get("response", ""))


@contextmanager
def clip_speaker(username: str = "vigie", password: str = "s3cret-speaker") -> Iterator[ClipSpeaker]:
    speaker = ClipSpeaker(username, password)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if not speaker.check("GET", self.headers.get("Authorization", "")):
                speaker.refused += 1
                nonce = secrets.token_hex(16)
                speaker.nonces.add(nonce)
                self.send_response(401)
                self.send_header(
                    "WWW-Authenticate", f'Digest realm="{REALM}", nonce="{nonce}", algorithm=MD5, qop="auth"'
                )
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            clip = parse_qs(url.query).get("clip", [""])[0]
            if url.path != "/axis-cgi/playclip.cgi" or clip not in speaker.clips:
                self.send_response(400)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            speaker.played.append((clip, time.time()))
            body = b"OK"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    speaker.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield speaker
    finally:
        server.shutdown()
        server.server_close()
