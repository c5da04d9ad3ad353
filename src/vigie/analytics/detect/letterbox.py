"""Frame checks and the per-format pre-processing that turns a BGR frame into a model input.

Each model was trained with one exact recipe (see ``../shared/data/models/SOURCE-*.md``); feeding it anything else
silently costs recall, so the recipes live here, named after the format, with the inverse mapping of boxes back
to frame pixels next to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from vigie.domain.detections import FloatArray

ModelFormat = Literal["yolox", "gfl", "fastestdet", "yolov8"]

_PAD_VALUE = 114.0
_GFL_MEAN = np.array([103.53, 116.28, 123.675], np.float32)
_GFL_INV_STD = 1.0 / np.array([57.375, 57.12, 58.395], np.float32)
_GREY_DIMS = 2
_COLOUR_DIMS = 3
_BGRA = 4


class FrameError(ValueError):
    """A frame the detector cannot analyse (wrong dtype, shape or channel count); the message says why."""


@dataclass(frozen=True, slots=True)
class InputTransform:
    """How model-input pixels map back to frame pixels: ``frame = input / scale`` on each axis."""

    scale_x: float
    scale_y: float
    frame_width: int
    frame_height: int

    def to_frame(self, boxes: FloatArray) -> FloatArray:
        """Boxes (x1, y1, x2, y2) in model-input pixels → frame pixels, clipped to the frame."""
        out = boxes / np.array([self.scale_x, self.scale_y, self.scale_x, self.scale_y], np.float32)
        np.clip(out[:, 0::2], 0, self.frame_width, out=out[:, 0::2])
        np.clip(out[:, 1::2], 0, self.frame_height, out=out[:, 1::2])
        return out.astype(np.float32, copy=False)


def as_bgr(frame: npt.NDArray[np.generic]) -> npt.NDArray[np.uint8]:
    """A frame as H×W×3 uint8 BGR: grey is expanded, an alpha channel is dropped, anything else is refused."""
    if not isinstance(frame, np.ndarray):
        raise FrameError(f"a frame must be a NumPy array, got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise FrameError(f"frames must be uint8 (as decoded from video), got dtype {frame.dtype}; convert first")
    if frame.ndim not in (_GREY_DIMS, _COLOUR_DIMS) or frame.shape[0] == 0 or frame.shape[1] == 0:
        raise FrameError(f"a frame must be H×W (grey) or H×W×C with H, W > 0, got shape {frame.shape}")
    image = np.asarray(frame, np.uint8)
    if frame.ndim == _GREY_DIMS or frame.shape[2] == 1:
        return np.asarray(cv2.cvtColor(image.reshape(image.shape[:2]), cv2.COLOR_GRAY2BGR), np.uint8)
    if frame.shape[2] == _BGRA:
        return image[:, :, :3]
    if frame.shape[2] != _COLOUR_DIMS:
        raise FrameError(f"a frame must have 1, 3 or 4 channels, got {frame.shape[2]}")
    return image


def preprocess(
    frame: npt.NDArray[np.uint8], fmt: ModelFormat, size: tuple[int, int], out: FloatArray | None = None
) -> tuple[FloatArray, InputTransform]:
    """One BGR frame → a 3×H×W float32 input for ``fmt`` at ``size`` (height, width), and its inverse mapping.

    ``out`` (3×H×W float32) is filled in place when given, so batches are built without extra copies.
    """
    height, width = size
    fh, fw = frame.shape[:2]
    target = np.empty((3, height, width), np.float32) if out is None else out
    if fmt in ("yolox", "yolov8"):
        # Letterbox: keep the aspect ratio, pad bottom/right with grey 114.
        ratio = min(height / fh, width / fw)
        nh, nw = max(1, round(fh * ratio)), max(1, round(fw * ratio))
        resized = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_LINEAR)
        target.fill(_PAD_VALUE if fmt == "yolox" else _PAD_VALUE / 255.0)
        chw = resized.transpose(2, 0, 1)
        if fmt == "yolox":  # BGR, raw 0..255
            target[:, :nh, :nw] = chw
        else:  # Ultralytics convention: RGB, 0..1
            target[:, :nh, :nw] = chw[::-1]
            target[:, :nh, :nw] *= 1.0 / 255.0
        return target, InputTransform(nw / fw, nh / fh, fw, fh)
    if fmt == "gfl":
        resized = cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR)
        # Straight into the CHW target: no intermediate float HWC image.
        np.subtract(resized.transpose(2, 0, 1), _GFL_MEAN[:, None, None], out=target, casting="unsafe")
        target *= _GFL_INV_STD[:, None, None]
    else:  # fastestdet
        # The authors' demo resizes with INTER_AREA; OpenCV has no fast path for its non-whole ratios (0.55 ms at
        # 640×480, a quarter of the model). Bilinear scores the same on TUD-Campus (docs/detectors.md).
        resized = cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR)
        np.multiply(resized.transpose(2, 0, 1), np.float32(1.0 / 255.0), out=target, casting="unsafe")
    return target, InputTransform(width / fw, height / fh, fw, fh)
