"""A recorded segment an export waits on: the file becomes a named pipe, so the export that opens it blocks there
(a real open of a real file, nothing patched) until the test writes the segment's bytes into it."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def held(segment: Path) -> bytes:
    """Turn ``segment`` into a named pipe; return its bytes, for :func:`release`."""
    data = segment.read_bytes()
    segment.unlink()
    os.mkfifo(segment)
    return data


def release(segment: Path, data: bytes) -> threading.Thread:
    """Write ``data`` into the pipe from a thread (the write waits for the export to open the pipe)."""

    def write() -> None:
        with segment.open("wb") as pipe:
            pipe.write(data)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread
