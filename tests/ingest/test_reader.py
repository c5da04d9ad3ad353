"""The analysis reader on a real file: rate, size, pixel format, and clear errors that never show credentials."""

from __future__ import annotations

import os
import signal
import time
from itertools import islice
from pathlib import Path

import numpy as np
import pytest

from tests.recording.media import write_h264
from tests.support.clocks import StepClock
from vigie.ingest.reader import CameraError, StreamSpec, sampled_frames
from vigie.sim.rtsp import RtspSimServer, rtsp_unavailable_reason


def test_frames_come_at_the_analysis_rate_size_and_format(moving_square_video: Path) -> None:
    grey = list(islice(sampled_frames(StreamSpec("c", moving_square_video.as_uri(), 5, 160), StepClock()), 6))
    assert {f.image.shape for f in grey} == {(90, 160)}
    assert all(f.decoded_since_last in {1, 2, 3} for f in grey[1:])  # 10 fps source, 5 fps analysis
    assert grey[0].codec == "h264" and (grey[0].source_width, grey[0].source_height) == (320, 180)
    bgr = next(sampled_frames(StreamSpec("c", moving_square_video.as_uri(), 5, 160, pixel_format="bgr24"), StepClock()))
    assert bgr.image.shape == (90, 160, 3)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("file:///no/such/file.mp4", "no such file"),
        ("gopher://user:pw@cam/x", "unsupported stream URL scheme"),
    ],
)
def test_bad_sources_are_explained_without_credentials(url: str, words: str) -> None:
    with pytest.raises(CameraError, match=words) as err:
        next(sampled_frames(StreamSpec("cam-9", url), StepClock()))
    assert "pw" not in str(err.value) and "cam-9" in str(err.value)


def test_grey_at_the_stream_size_is_its_luma_plane(moving_square_video: Path) -> None:
    import av

    sample = next(sampled_frames(StreamSpec("c", moving_square_video.as_uri(), 5, 320), StepClock()))
    with av.open(str(moving_square_video)) as container:
        reference = next(container.decode(video=0)).to_ndarray(format="gray")
    assert sample.image.shape == reference.shape == (180, 320)
    assert sample.image.flags["C_CONTIGUOUS"]
    assert np.abs(sample.image.astype(int) - reference.astype(int)).max() <= 1


@pytest.mark.parametrize("pixel_format", ["gray", "bgr24"])
def test_each_frame_carries_the_source_luma_at_its_own_resolution(moving_square_video: Path, pixel_format: str) -> None:
    """What the sharpness check judges when the source is at least twice as wide as the analysis frame (a 3-px blur
    of the source is a 1-px one at a third of its width): the decoded luma plane, read in place, whatever the
    analysis frame's format; not given below twice the width (it would only keep the decoded frame alive)."""
    import av

    spec = StreamSpec("c", moving_square_video.as_uri(), 5, 160, pixel_format=pixel_format)  # type: ignore[arg-type]
    sample = next(sampled_frames(spec, StepClock()))
    with av.open(str(moving_square_video)) as container:
        reference = next(container.decode(video=0)).to_ndarray(format="gray")  # range-expanded by swscale
    assert sample.luma is not None and sample.luma.shape == (180, 320) == (sample.source_height, sample.source_width)
    assert sample.luma.base is not None, "read in place, not copied"
    expanded = np.clip(np.round((sample.luma.astype(float) - 16) * 255 / 219), 0, 255)
    assert np.abs(expanded - reference.astype(float)).max() <= 1
    narrow = StreamSpec("c", moving_square_video.as_uri(), 5, 200, pixel_format=pixel_format)  # type: ignore[arg-type]
    assert next(sampled_frames(narrow, StepClock())).luma is None, "under twice the analysis width it is not used"


@pytest.mark.parametrize(("width", "height"), [(160, 90), (200, 112), (480, 270)])
def test_grey_at_another_size_matches_a_swscale_conversion(moving_square_video: Path, width: int, height: int) -> None:
    """Scaled grey frames are read from the luma plane and scaled with OpenCV: the picture must be the one swscale
    gives (range-expanded, same geometry), whether the frame is shrunk by a whole factor, by any factor or grown."""
    import av

    from vigie.ingest.reader import analysis_image

    with av.open(str(moving_square_video)) as container:
        frames = list(islice(container.decode(video=0), 8))
    assert len(frames) == 8
    for frame in frames:
        image = analysis_image(frame, width, height, "gray")
        reference = frame.to_ndarray(width=width, height=height, format="gray")
        assert image.shape == reference.shape == (height, width)
        ours, theirs = image.astype(int), reference.astype(int)
        # The background is per-pixel noise, where OpenCV's and swscale's filters differ by a few grey levels;
        # a wrong range or a misplaced picture would differ by far more, and more than a 1-pixel shift does.
        aligned = np.abs(ours - theirs).mean()
        shifted = np.abs(ours[:, 1:] - theirs[:, :-1]).mean()
        assert aligned < 4.0 and aligned < 0.75 * shifted, (aligned, shifted)
        assert abs(ours.mean() - theirs.mean()) < 1.0  # same range: limited-range luma expanded to 0–255


@pytest.mark.rtsp
@pytest.mark.slow
def test_a_sub_stream_that_goes_silent_times_out(tmp_path: Path) -> None:
    """The analysis reader's RTSP read times out by FFmpeg's socket timeout (not PyAV's GIL-taking read callback):
    a camera that stops sending ends its frames with a CameraError instead of blocking its thread."""
    reason = rtsp_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    video = write_h264(tmp_path / "camera.mp4", seconds=4.0)
    with RtspSimServer({"cam": video}) as server:
        spec = StreamSpec("cam", server.url("cam"), analysis_fps=5, analysis_width=160, read_timeout_s=3.0)
        frames = sampled_frames(spec, StepClock())
        assert next(frames).image.shape[1] == 160
        for pid in server.pids:
            os.kill(pid, signal.SIGSTOP)
        frozen = time.monotonic()
        try:
            with pytest.raises(CameraError, match="cam"):
                for _ in frames:
                    pass
            waited = time.monotonic() - frozen
        finally:
            for pid in server.pids:
                os.kill(pid, signal.SIGCONT)
    # frames already buffered are read first, then the 3-s timeout
    assert waited < 15, f"the read timeout (3 s) took {waited:.1f} s"
