"""Privacy masks burnt into what is recorded (L6), verified on the pixels of the stored segments: a masked camera's
segments are decoded, masked and re-encoded; an unmasked camera's stay a byte-for-byte remux."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from tests.recording.media import SIZE, codec_parameters, decoded, packet_bytes, write_h264
from tests.support.configs import camera_yaml, config_yaml
from vigie.domain.recording import Segment
from vigie.ingest.masking import mask_raster
from vigie.ingest.packets import PacketSpec
from vigie.runtime.assembly.service import recorder_spec
from vigie.runtime.workers.recorder import RecorderMessage, RecorderSpec, run_recorder

MASK = ((0.10, 0.10), (0.50, 0.10), (0.50, 0.65), (0.10, 0.65))
"""A 64×52 px block of the 160×96 test video."""
WIDTH, HEIGHT = SIZE


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 s of H.264 in MPEG-TS: Annex B packets, as a camera sends them."""
    return write_h264(tmp_path_factory.mktemp("masked") / "camera.ts", seconds=4.0)


def record_file(video: Path, root: Path, masks: tuple[tuple[tuple[float, float], ...], ...]) -> list[Segment]:
    """Run the recorder body in-process on a ``file://`` source read once, fast (no replay): every frame, in order."""
    spec = RecorderSpec(PacketSpec("cam", video.as_uri(), replay=False), root, segment_seconds=2.0, masks=masks)
    out: queue.Queue[RecorderMessage] = queue.Queue()
    run_recorder(spec, out, threading.Event())  # type: ignore[arg-type]
    messages = [out.get_nowait() for _ in range(out.qsize())]
    return sorted((m for m in messages if isinstance(m, Segment)), key=lambda s: s.start)


def frames(path: Path, fmt: str) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format=fmt) for frame in container.decode(video=0)]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def regions() -> tuple[np.ndarray, np.ndarray]:
    """Masked pixels 8 px or more inside the edge, and pixels 8 px or more outside it.

    8 px, not the 4 of tests/ingest: this test video is a sharp gradient that wraps every few pixels, and an 8×8
    transform block that straddles the edge spreads the quantisation error of that texture across it (up to
    7 px; values off by up to 5 levels were seen at 4 px). Never the hidden content: the encoder never saw it."""
    raster = mask_raster([MASK], WIDTH, HEIGHT).astype(np.uint8)
    kernel = np.ones((17, 17), np.uint8)
    return cv2.erode(raster, kernel).astype(bool), ~cv2.dilate(raster, kernel).astype(bool)


def assert_masked(source: list[np.ndarray], stored_bgr: list[np.ndarray], stored_grey: list[np.ndarray]) -> None:
    inside, outside = regions()
    assert source, "no frame to compare"
    for before, after, grey in zip(source, stored_bgr, stored_grey, strict=True):
        hidden = grey[inside].astype(np.int16)
        assert hidden.max() - hidden.min() <= 3 and hidden.max() <= 4, "masked pixels are solid black"
        assert psnr(before[outside], after[outside]) > 30, "the rest is the camera's picture"
        assert psnr(before[inside], after[inside]) < 15, "what the mask hid is gone"


def test_a_masked_camera_records_its_frames_with_the_masks_burnt_in(video: Path, tmp_path: Path) -> None:
    segments = record_file(video, tmp_path, (MASK,))
    assert len(segments) == 2, "4 s in 2 s segments: the re-encoded GOP is 2 s"
    source = frames(video, "bgr24")
    stored: list[np.ndarray] = []
    grey: list[np.ndarray] = []
    for segment in segments:
        path = tmp_path / segment.key
        with av.open(str(path)) as container:
            keys = [frame.key_frame for frame in container.decode(video=0)]
        assert keys[0] and not any(keys[1:]), "each segment starts on its only keyframe"
        assert codec_parameters(path)["codec"] == "h264" and (WIDTH, HEIGHT) == SIZE
        stored += frames(path, "bgr24")
        grey += frames(path, "gray")
    assert len(stored) == len(source) == 40, "every frame recorded once, in order (the encoder is drained)"
    assert_masked(source, stored, grey)
    assert segments[0].end == segments[1].start


def test_an_unmasked_camera_is_still_remuxed_byte_for_byte(video: Path, tmp_path: Path) -> None:
    segments = record_file(video, tmp_path, ())
    paths = [tmp_path / s.key for s in segments]
    copied, original = [b for p in paths for b in packet_bytes(p)], packet_bytes(video)
    assert len(copied) == len(original)
    assert all(src in out for src, out in zip(original, copied, strict=True)), "the TS muxer may only add an AUD"
    assert [f for p in paths for f in decoded(p)] == decoded(video)
    assert all(codec_parameters(p) == codec_parameters(video) for p in paths)


def test_the_service_gives_the_recorder_the_cameras_masks(tmp_path: Path) -> None:
    from vigie.config import load_config_text

    masked = camera_yaml("masked", "rtsp://127.0.0.1:1/main") + (
        "            zones:\n"
        "              - {kind: privacy_mask, id: flat-2, points: [[0.1, 0.1], [0.5, 0.1], [0.5, 0.65]]}\n"
    )
    config = load_config_text(config_yaml(tmp_path, masked + camera_yaml("plain", "rtsp://127.0.0.1:1/main")))
    specs = {p.camera.id: recorder_spec(p.camera, tmp_path) for p in config.placements()}
    assert specs["masked"].masks == (((0.1, 0.1), (0.5, 0.1), (0.5, 0.65)),)
    assert specs["plain"].masks == ()
    served = {p.camera.id: recorder_spec(p.camera, tmp_path, data_dir=tmp_path) for p in config.placements()}
    assert served["masked"].live_tap == tmp_path / "live" / "masked.sock", "live view from the masked stream"
    assert served["plain"].live_tap == tmp_path / "live" / "plain.sock", "one camera session: recording and live"
    assert specs["plain"].live_tap is None, "no data folder, no tap"


@pytest.mark.rtsp
@pytest.mark.slow
def test_a_masked_camera_over_rtsp_stores_only_masked_pixels(tmp_path: Path) -> None:
    """The real GStreamer RTSP server, the recorder under supervision: live timing, 90 kHz timestamps, a stop."""
    from tests.support.recorders import Collected, supervise
    from tests.support.waiting import wait_for
    from vigie.sim.rtsp import RtspSimServer, rtsp_unavailable_reason

    reason = rtsp_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    video = write_h264(tmp_path / "camera.mp4", seconds=4.0)
    sink = Collected()
    with RtspSimServer({"cam": video}) as server:
        stream = PacketSpec("cam", server.url("cam"), open_timeout_s=5, read_timeout_s=3)
        supervisor = supervise(RecorderSpec(stream, tmp_path, segment_seconds=2.0, masks=(MASK,)), sink)
        supervisor.start()
        try:
            wait_for(lambda: len(sink.segments()) >= 2, 30, "two segments recorded", context=sink.health)
        finally:
            supervisor.stop()
    source = frames(video, "bgr24")
    _, outside = regions()
    assert all(s.camera_id == "cam" for s in sink.segments())
    for segment in sink.segments():
        path = tmp_path / segment.key
        stored, grey = frames(path, "bgr24"), frames(path, "gray")
        assert stored
        # the live stream loops the file: match each stored frame to the source frame it came from
        matched = [source[int(np.argmax([psnr(s[outside], f[outside]) for s in source]))] for f in stored]
        assert_masked(matched, stored, grey)
