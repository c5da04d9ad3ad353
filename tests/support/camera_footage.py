"""Real footage replayed to the stream alarms (L18) on a fake clock: the shared clips and TUD-Campus frames, one
look per second of stream time (the cadence at which the analysis worker looks at the picture), looped for as long
as wanted, optionally blurred or relit from some instant. A look is what the worker hands the alarms: the analysis
frame (scaled to 640 px) and the picture at the source's resolution (the decoded luma). Used by the tests and
``bench/defocus.py``.

The shared clips are 768×432 and 640×480 only, and enlarging them adds no detail, so 1080p footage is made from real
photos (``plates-fr-dev``, the only real pictures of that size in the data): :class:`StillCamera` is one photo
cropped to 1920×1080 (``fr070``, 2000×1333) or two 1440×1080 photos side by side (1440 + a 480-px strip), looked at
once a second as a fixed camera would see it: a new sensor noise each look (added after the blur, as a sensor adds
it after the lens), the view shaking by up to 2 px (a mast in the wind), the light drifting by ±15 % over ten
minutes. Nothing moves in it: the moving scenes are the clips.

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
PHOTOS = SHARED / "plates-fr-dev"
STILLS: dict[str, tuple[str, ...]] = {"fr070-1080p": ("fr070",), "fr022+fr019-1080p": ("fr022", "fr019")}
"""1080p cameras made of real photos: one 2000×1333 photo cropped, or a 1440×1080 photo and a strip of another."""
Look = tuple[Grey, Grey]
"""What the worker hands the stream alarms once a second: the analysis frame and the source-resolution luma."""
ANALYSIS_WIDTH = 640
"""The analysis frame's width (the configuration's default): the source frame is scaled to it, as the reader does."""


@dataclass(frozen=True, slots=True)
class Footage:
    """Grey frames at the source's resolution, one per second of stream time."""

    name: str
    frames: tuple[Grey, ...]

    def source(self, second: int, *, blur_px: float = 0.0, gain: float = 1.0) -> Grey:
        """The source frame at ``second`` of a looped replay, blurred by a Gaussian of ``blur_px`` source pixels
        (standard deviation) and multiplied by ``gain`` (clipped)."""
        source = self.frames[second % len(self.frames)]
        if blur_px > 0:
            source = cv2.GaussianBlur(source, (0, 0), blur_px)
        if gain != 1.0:
            source = np.clip(source.astype(np.float32) * gain, 0, 255).astype(np.uint8)
        return source

    def analysis(self, second: int, *, blur_px: float = 0.0, gain: float = 1.0) -> Grey:
        """The analysis frame at ``second``: :meth:`source` scaled to the analysis width."""
        return to_analysis(self.source(second, blur_px=blur_px, gain=gain))

    def look(self, second: int, *, blur_px: float = 0.0, gain: float = 1.0) -> Look:
        """The analysis frame and the source frame at ``second``."""
        source = self.source(second, blur_px=blur_px, gain=gain)
        return to_analysis(source), source


def to_analysis(source: Grey) -> Grey:
    """``source`` scaled to the analysis width, as the reader does."""
    height, width = source.shape
    size = (ANALYSIS_WIDTH, round(height * ANALYSIS_WIDTH / width))
    return np.asarray(cv2.resize(source, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


class StillCamera:
    """A fixed 1920×1080 camera looking at a real photo (see the module docstring). Deterministic: the look at a
    given second is always the same."""

    SIZE = (1920, 1080)
    SHAKE_PX = 2
    NOISE = 2.0
    """Sensor noise (standard deviation, grey levels) of each look: a daylight camera's, as encoded."""

    def __init__(self, name: str) -> None:
        self.name = name
        photos = [cv2.imread(str(PHOTOS / f"{p}.jpg"), cv2.IMREAD_GRAYSCALE) for p in STILLS[name]]
        width, height = self.SIZE
        margin = self.SHAKE_PX
        if len(photos) == 1:
            photo = photos[0]
            y, x = (photo.shape[0] - height) // 2, (photo.shape[1] - width) // 2
            scene = photo[y - margin : y + height + margin, x - margin : x + width + margin]
        else:
            left, right = photos
            strip = right[:, -(width - left.shape[1]) :]
            scene = cv2.copyMakeBorder(np.hstack([left, strip]), *(margin,) * 4, cv2.BORDER_REFLECT)
        if scene.shape != (height + 2 * margin, width + 2 * margin):
            raise ValueError(f"{name}: photos of the wrong size for a 1920×1080 camera")
        self.scene = np.asarray(scene, dtype=np.uint8)

    def source(self, second: int, *, blur_px: float = 0.0, gain: float = 1.0) -> Grey:
        """The 1920×1080 picture at ``second``: shaken, blurred by a Gaussian of ``blur_px`` (lens), relit by
        ``gain`` and the slow drift, then the sensor's noise."""
        rng = np.random.default_rng(second)
        dy, dx = rng.integers(-self.SHAKE_PX, self.SHAKE_PX + 1, 2)
        width, height = self.SIZE
        m = self.SHAKE_PX
        view = self.scene[m + dy : m + dy + height, m + dx : m + dx + width]
        if blur_px > 0:
            view = cv2.GaussianBlur(view, (0, 0), blur_px)
        light = gain * (1.0 + 0.15 * np.sin(2 * np.pi * second / 600))
        noise = rng.standard_normal((height, width), dtype=np.float32) * np.float32(self.NOISE)
        return np.asarray(np.clip(view * np.float32(light) + noise, 0, 255), dtype=np.uint8)

    def analysis(self, second: int, *, blur_px: float = 0.0, gain: float = 1.0) -> Grey:
        return to_analysis(self.source(second, blur_px=blur_px, gain=gain))

    def look(self, second: int, *, blur_px: float = 0.0, gain: float = 1.0) -> Look:
        source = self.source(second, blur_px=blur_px, gain=gain)
        return to_analysis(source), source


def missing(name: str) -> str | None:
    """Why ``name`` cannot be replayed here (its data is absent), or None."""
    if name in STILLS:
        absent = [PHOTOS / f"{p}.jpg" for p in STILLS[name] if not (PHOTOS / f"{p}.jpg").exists()]
        if absent:
            return f"{absent[0]} is absent (development data in ../shared/data, see its README; never committed)"
        return None
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
    looks: Iterator[Grey | Look],
    start: datetime,
    seconds: int,
) -> list[StreamAlarm]:
    """Feed ``seconds`` looks, one a second of stream time from ``start`` (a packet with each), and return every
    alarm transition. A look is an analysis frame alone (a source the reader has no luma plane of, or a dome's
    masked picture) or an analysis frame and its source-resolution luma."""
    out: list[StreamAlarm] = []
    for second in range(seconds):
        at = start + timedelta(seconds=second)
        item = next(looks)
        image, native = item if isinstance(item, tuple) else (item, None)
        out += alarms.packet(at)
        out += alarms.frame(image, at, native)
    return out


def looks(footage: Footage | StillCamera, first: int = 0, *, blur_px: float = 0.0, gain: float = 1.0) -> Iterator[Look]:
    """The footage's looks (analysis frame, source frame) from ``first`` on, looped forever."""
    second = first
    while True:
        yield footage.look(second, blur_px=blur_px, gain=gain)
        second += 1


def encoded_looks(sources: list[Grey], crf: int) -> Iterator[Look]:
    """Source frames through H.264 (:func:`through_h264`) and decoded back, each with its analysis frame."""
    for source in through_h264(sources, crf):
        yield to_analysis(source), source


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
