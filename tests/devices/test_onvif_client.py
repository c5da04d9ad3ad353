"""The ONVIF client as an integrator meets it: a device that cannot be described says which one and why, in words
a person can act on, and never with its password."""

from __future__ import annotations

import asyncio
import http.server
import socket
import threading
from collections.abc import Iterator

import pytest

from vigie.devices.onvif import OnvifError, describe, event_kind, without_credentials

PASSWORD = "Tr0ub4dor&3-not-for-logs"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def web_server() -> Iterator[int]:
    """A web server that is no ONVIF device (it refuses POST, as a camera's web page or a router would)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def describe_error(port: int, timeout_s: float = 3.0) -> OnvifError:
    with pytest.raises(OnvifError) as caught:
        asyncio.run(describe("127.0.0.1", port, "vigie", PASSWORD, timeout_s=timeout_s))
    return caught.value


def test_an_unreachable_device_is_named_with_the_cause() -> None:
    port = free_port()
    error = describe_error(port)
    assert str(error) == f"127.0.0.1:{port}: unreachable (connection refused)"


def test_a_web_server_that_is_not_onvif_is_said_so(web_server: int) -> None:
    error = describe_error(web_server)
    assert str(error).startswith(f"127.0.0.1:{web_server}: not an ONVIF device service")
    assert PASSWORD not in str(error)


def test_a_device_that_never_answers_times_out_in_the_time_given() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = int(silent.getsockname()[1])
        error = describe_error(port, timeout_s=0.5)
    assert str(error) == (
        f"127.0.0.1:{port}: no answer within 0.5 s (is it an ONVIF device, and is this its ONVIF port?)"
    )


def test_stream_uris_lose_the_account_a_device_put_in_them() -> None:
    uri = f"rtsp://admin:{PASSWORD}@192.0.2.4:554/Streaming/Channels/101?transportmode=unicast"
    assert without_credentials(uri) == "rtsp://192.0.2.4:554/Streaming/Channels/101?transportmode=unicast"
    assert without_credentials("rtsp://192.0.2.4/live") == "rtsp://192.0.2.4/live"


@pytest.mark.parametrize(
    ("topic", "kind"),
    [
        ("tns1:RuleEngine/CellMotionDetector/Motion", "motion"),
        ("tns1:VideoSource/MotionAlarm", "motion"),
        ("tns1:VideoSource/GlobalSceneChange/ImagingService", "scene_change"),
        ("tns1:VideoSource/ImageTooBlurry/AnalyticsService", "image_too_blurry"),
        ("tns1:VideoSource/ImageTooDark/ImagingService", "image_too_dark"),
        ("tns1:Monitoring/ProcessorUsage", None),
    ],
)
def test_camera_side_topics_map_to_the_kinds_vigie_listens_to(topic: str, kind: str | None) -> None:
    assert event_kind(topic) == kind
