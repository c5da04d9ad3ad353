"""Real footage replayed to the stream alarms (L18) on a fake clock: the shared clips and TUD-Campus frames, one
analysis frame per second of stream time (the cadence at which the analysis worker looks at the picture), looped
for as long as wanted, optionally blurred or relit from some instant. Used by the tests and ``bench/defocus.py``.

The data lives beside the project (``../shared/data``, never committed); :func:`footage` says why when absent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

from vigie.domain.camera import StreamAlarm
from vigie.ingest.alarms import StreamAlarms

Grey = npt.NDArray[np.uint8]

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
CLIPS = {
    "car-detection": SHARED / "video" / "car-detection.mp4",
    "one-by-one-person-detection": SHARED / "video" / "one-by-one-person-detection.mp4",
}
TUD_CAMPUS = SHARED / "tracking" / "tud-campus" / "img1"
NAMES = (*CLIPS, "tud-campus")
ANALYSIS_WIDTH = 640
"""The analysis frame's width (the configuration's default): the source frame is scaled to it, as the reader does."""


@dataclass(frozen=True, slots=True)
class Footage:
    """Grey frames at the source's resolution, one per second of stream time."""

    name: str
    frames: tuple[Grey, ...]

    def analysis(self, second: int, *, blur_px: float = 0.0, gain: float = 1.0) -> Grey:
        """The analysis frame at ``second`` of a looped replay: the source frame, blurred by a Gaussian of
        ``blur_px`` source pixels (standard deviation) and multiplied by ``gain`` (clipped), scaled to the
        analysis width."""
        source = self.frames[second % len(self.frames)]
        if blur_px > 0:
            source = cv2.GaussianBlur(source, (0, 0), blur_px)
        if gain != 1.0:
            source = np.clip(source.astype(np.float32) * gain, 0, 255).astype(np.uint8)
        height, width = source.shape
        size = (ANALYSIS_WIDTH, round(height * ANALYSIS_WIDTH / width))
        return np.asarray(cv2.resize(source, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def missing(name: str) -> str | None:
    """Why ``name`` cannot be replayed here (its data is absent), or None."""
    path = CLIPS.get(name, TUD_CAMPUS)
    if not path.exists():
        return f"{path} is absent (development data in ../shared/data, see its README; never committed)"
    return None


def footage(name: str) -> Footage:
    """A shared clip sampled at each whole second (the frame shown at that instant), or TUD-Campus's 71 frames
    taken one per second (people then move 25 times faster than they walked: a harsher test)."""
    if name == "tud-campus":
        frames = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in sorted(TUD_CAMPUS.glob("*.jpg"))]
        return Footage(name, tuple(np.asarray(f, dtype=np.uint8) for f in frames))
    kept: list[Grey] = []
    with av.open(str(CLIPS[name])) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= len(kept):
                kept.append(np.asarray(frame.to_ndarray(format="gray"), dtype=np.uint8))
    return Footage(name, tuple(kept))


def replay(
    alarms: StreamAlarms,
    looks: Iterator[Grey],
    start: datetime,
    seconds: int,
) -> list[StreamAlarm]:
    """Feed ``seconds`` looks, one a second of stream time from ``start`` (a packet with each), and return every
    alarm transition."""
    out: list[StreamAlarm] = []
    for second in range(seconds):
        at = start + timedelta(seconds=second)
        out += alarms.packet(at)
        out += alarms.frame(next(looks), at)
    return out


def looks(footage: Footage, first: int = 0, *, blur_px: float = 0.0, gain: float = 1.0) -> Iterator[Grey]:
    """The footage's analysis frames from ``first`` on, looped forever."""
    second = first
    while True:
        yield footage.analysis(second, blur_px=blur_px, gain=gain)
        second += 1


def through_h264(frames: list[Grey], crf: int) -> list[Grey]:
    """Grey frames encoded with libx264 at constant quality ``crf`` (23: good, 32: a starved sub stream; 2-s GOP at
    5 fps) and decoded back: what a camera's encoder makes of a picture it blurs itself."""
    height, width = frames[0].shape
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.time_base, codec.gop_size = Fraction(1, 5), 10
    codec.options = {"preset": "veryfast", "tune": "zerolatency", "crf": str(crf)}
    decoder = av.CodecContext.create("h264", "r")
    out: list[Grey] = []
    for index, image in enumerate([*frames, None]):
        frame = None
        if image is not None:
            frame = av.VideoFrame.from_ndarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), format="bgr24")
            frame.pts = index
        for packet in codec.encode(frame):
            out += [np.asarray(d.to_ndarray(format="gray"), dtype=np.uint8) for d in decoder.decode(packet)]
    out += [np.asarray(d.to_ndarray(format="gray"), dtype=np.uint8) for d in decoder.decode(None)]
    return out
