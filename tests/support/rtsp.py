"""Whether this machine can run the end-to-end tests that stream from the real RTSP server."""

from __future__ import annotations

import shutil
import subprocess


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
