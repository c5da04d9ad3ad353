"""Whether this machine can run the end-to-end tests that stream from the real RTSP server."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest


def rtsp_stack_missing() -> str | None:
    """What is missing to stream from a simulated RTSP camera (None when nothing is)."""
    if shutil.which("ffmpeg") is None:
        return "ffmpeg is not installed (apt-get install ffmpeg, or run scripts/test.sh)"
    probe = subprocess.run(
        ["/usr/bin/python3", "-c", "import gi; gi.require_version('GstRtspServer', '1.0')"],
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        return "GStreamer's RTSP server is not installed (apt-get install python3-gi gir1.2-gst-rtsp-server-1.0)"
    return None


@contextmanager
def rtsp_cameras(mounts: Mapping[str, Path]) -> Iterator[dict[str, str]]:
    """The real RTSP server (GStreamer, fed by ffmpeg) serving each clip as a camera; the URL of each. Skips the test
    where the stack is missing, except in CI (``CI=true``), where it fails: a CI run must not pass by skipping."""
    from tests.support.servers import free_port
    from vigie.sim.rtsp import RtspSimServer

    missing = rtsp_stack_missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must have the RTSP stack: {missing}")
        pytest.skip(missing)
    with RtspSimServer(dict(mounts), port=free_port()) as server:
        yield {name: server.url(name) for name in mounts}
