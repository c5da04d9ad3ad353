"""The analysis worker's stream checks (L18) hand the alarms what the reader decoded: a 1080p camera analysed at
640 px has a 3-px blur raised from its own luma (issue 20). Real photos made into a camera
(tests/support/camera_footage.py); skipped, with the reason, where the development data is absent."""

from __future__ import annotations

import queue
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tests.support.camera_footage import STILLS, StillCamera, missing
from vigie.domain.camera import StreamAlarm, StreamAlarmKind
from vigie.ingest.alarms import StreamAlarmConfig, StreamAlarms
from vigie.ingest.reader import SampledFrame
from vigie.runtime.workers.analysis import _dome_masked, _StreamChecks

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
FPS = 5


def run(
    camera: StillCamera, checks: _StreamChecks, first: int, seconds: int, blur_px: float, luma: bool
) -> list[object]:
    """Frames at 5 fps as the reader yields them (the picture changes once a second: the picture checks run once a
    second anyway)."""
    out: queue.Queue[object] = queue.Queue()
    for i in range(seconds * FPS):
        if i % FPS == 0:
            image, source = camera.look(first + i // FPS, blur_px=blur_px)
        at = T0 + timedelta(seconds=first + i / FPS)
        sample = SampledFrame(image, at, 5, "h264", 1920, 1080, source if luma else None)
        checks.check(sample, out)  # type: ignore[arg-type]
    return [out.get() for _ in range(out.qsize())]


@pytest.mark.parametrize("luma", [True, False], ids=["with the source luma", "analysis frame alone"])
def test_a_3_px_blur_of_a_1080p_camera_is_raised_only_from_its_own_luma(luma: bool) -> None:
    name = next(iter(STILLS))
    if (why := missing(name)) is not None:
        pytest.skip(why)
    camera = StillCamera(name)
    config = StreamAlarmConfig()
    checks = _StreamChecks(StreamAlarms("cam-1", config), config)
    assert run(camera, checks, 0, 30, 0.0, luma) == []
    records = run(camera, checks, 30, 12, 3.0, luma)
    blurry = [r for r in records if isinstance(r, StreamAlarm) and r.kind is StreamAlarmKind.IMAGE_TOO_BLURRY]
    if luma:
        assert len(blurry) == 1 and blurry[0].at - (T0 + timedelta(seconds=30)) <= timedelta(seconds=10)
    else:
        assert blurry == [], "scaled to 640 px, a 3-px blur of 1080p is a 1-px one: what the luma is for"


class _OneMask:
    """A dome's masks at any position: the top rows of the picture (a window in the view)."""

    def raster(self, at: float, width: int, height: int) -> np.ndarray:
        mask = np.zeros((height, width), bool)
        mask[: height // 4] = True
        return mask


def test_a_domes_masked_frame_carries_no_unmasked_source_luma() -> None:
    """L6: what the worker looks at is masked; the source's luma is not, so it goes no further (the dome's
    sharpness is judged on its masked analysis frame)."""
    sample = SampledFrame(
        np.full((360, 640), 200, np.uint8), T0, 1, "h264", 1920, 1080, np.full((1080, 1920), 200, np.uint8)
    )
    masked = _dome_masked(sample, _OneMask())  # type: ignore[arg-type]
    assert masked.luma is None
    assert (masked.image[:90] == 0).all() and (masked.image[90:] == 200).all()
