"""Raw model outputs → candidate boxes, one decoder per output layout, plus the checks of that layout.

Decoders work on one image (batch axis removed), keep only the COCO classes Vigie maps (``kept`` ids) *before*
anything else, and decode box geometry only for cells above the score threshold: on a street frame that is a few
dozen cells out of thousands, which is what keeps post-processing small next to the model itself.
Boxes come out in model-input pixels; ``InputTransform`` maps them to the frame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vigie.analytics.detect.letterbox import ModelFormat
from vigie.domain.detections import FloatArray, IntArray

Shape = tuple[int | str | None, ...]
"""A tensor shape as onnxruntime reports it: ints, or names/None for dynamic axes."""

YOLOX_STRIDES = (8, 16, 32)
GFL_STRIDES = (8, 16, 32, 64)
_YOLOX_EXTRA = 5  # x, y, w, h, objectness
_FASTESTDET_EXTRA = 5  # objectness, x, y, w, h
_YOLOV8_EXTRA = 4  # cx, cy, w, h
_SIDES = 4


class ModelFormatError(ValueError):
    """A model file whose inputs/outputs do not match the declared format; the message says expected vs found."""


@dataclass(frozen=True, slots=True)
class Candidates:
    """Boxes above the score threshold, before NMS (model-input pixels, COCO class ids)."""

    boxes: FloatArray
    scores: FloatArray
    coco_ids: IntArray

    @classmethod
    def empty(cls) -> Candidates:
        return cls(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), np.zeros((0,), np.int32))


def _dim(value: int | str | None) -> int | None:
    return value if isinstance(value, int) and value > 0 else None


def _fail(fmt: ModelFormat, expected: str, outputs: Sequence[tuple[str, Shape]]) -> ModelFormatError:
    found = ", ".join(f"{name} {list(shape)}" for name, shape in outputs) or "no outputs"
    return ModelFormatError(f"not a {fmt} model: expected {expected}; found {found}")


def _grid(size: tuple[int, int], strides: Sequence[int], centre: float) -> tuple[FloatArray, FloatArray]:
    """Cell origins (x, y) times stride plus ``centre``·stride offset, and the stride of each cell, all levels."""
    points, cell_strides = [], []
    for stride in strides:
        gh, gw = math.ceil(size[0] / stride), math.ceil(size[1] / stride)
        ys, xs = np.meshgrid(np.arange(gh, dtype=np.float32), np.arange(gw, dtype=np.float32), indexing="ij")
        points.append(np.stack([xs.ravel(), ys.ravel()], 1) * stride + centre * (stride - 1))
        cell_strides.append(np.full((gh * gw, 1), stride, np.float32))
    return np.concatenate(points).astype(np.float32), np.concatenate(cell_strides)


def _best(scores: FloatArray, threshold: float, kept: IntArray) -> tuple[IntArray, FloatArray, IntArray]:
    """Rows whose best kept-class score passes, their score and COCO id."""
    arg = scores.argmax(axis=1)
    best = scores[np.arange(len(scores)), arg]
    rows = np.flatnonzero(best > threshold).astype(np.int32)
    return rows, best[rows].astype(np.float32), kept[arg[rows]]


class YoloxDecoder:
    """[N, 5+C] undecoded YOLOX cells: xy = (xy + grid)·stride, wh = exp(wh)·stride, score = obj·cls."""

    def __init__(self, size: tuple[int, int], kept: IntArray) -> None:
        self.kept = kept
        self._grid, self._strides = _grid(size, YOLOX_STRIDES, 0.0)
        self._grid /= self._strides  # plain cell indices

    @staticmethod
    def check(size: tuple[int, int], outputs: Sequence[tuple[str, Shape]]) -> int:
        cells = sum(math.ceil(size[0] / s) * math.ceil(size[1] / s) for s in YOLOX_STRIDES)
        expected = f"one output [batch, {cells}, 5+classes] (strides 8/16/32 at {size[0]}x{size[1]})"
        if len(outputs) != 1 or len(outputs[0][1]) != 3:
            raise _fail("yolox", expected, outputs)
        n, width = (_dim(d) for d in outputs[0][1][1:])
        if (n is not None and n != cells) or (width is not None and width <= _YOLOX_EXTRA):
            raise _fail("yolox", expected, outputs)
        return (width or _YOLOX_EXTRA + 80) - _YOLOX_EXTRA

    def decode(self, outputs: Sequence[npt.NDArray[np.float32]], threshold: float) -> Candidates:
        out = outputs[0]
        # Objectness and class scores are sigmoids (≤ 1), so score = obj·cls ≤ obj: only cells with obj above the
        # threshold can pass, and the class columns are read for those only (tens of 3 549 at 416×416).
        cand = np.flatnonzero(out[:, 4] > threshold)
        cells = out[cand]
        scores = cells[:, 4:5] * cells[:, _YOLOX_EXTRA + self.kept]
        passed, best, ids = _best(scores, threshold, self.kept)
        if len(passed) == 0:
            return Candidates.empty()
        rows, cells = cand[passed], cells[passed]
        strides = self._strides[rows]
        centre = (cells[:, :2] + self._grid[rows]) * strides
        half = np.exp(cells[:, 2:4]) * strides / 2
        return Candidates(np.concatenate([centre - half, centre + half], 1).astype(np.float32), best, ids)


class GflDecoder:
    """PicoDet/NanoDet heads: per level a [N, C] score map (sigmoid applied) and a [N, 4·bins] distribution.

    Each side's distance is the expectation of a softmax over ``bins`` (DFL), times the level's stride, measured
    from the cell centre ``x·stride + (stride-1)/2``.
    """

    def __init__(self, size: tuple[int, int], kept: IntArray, levels: int) -> None:
        self.kept = kept
        self.levels = levels
        self._centres, self._strides = _grid(size, GFL_STRIDES[:levels], 0.5)

    @staticmethod
    def check(size: tuple[int, int], outputs: Sequence[tuple[str, Shape]]) -> tuple[int, int]:
        """Return (classes, levels); score heads come first, then box heads, as PaddleDetection exports them."""
        levels = len(outputs) // 2
        expected = (
            "2×L outputs (L score heads [batch, cells, classes] then L box heads [batch, cells, 4·bins]), "
            f"cells = ceil({size[0]}/s)·ceil({size[1]}/s) for s in 8/16/32/64"
        )
        if len(outputs) % 2 or not 1 <= levels <= len(GFL_STRIDES) or any(len(s) != 3 for _, s in outputs):
            raise _fail("gfl", expected, outputs)
        classes = {_dim(s[2]) for _, s in outputs[:levels]}
        widths = {_dim(s[2]) for _, s in outputs[levels:]}
        for i, stride in enumerate(GFL_STRIDES[:levels]):
            cells = math.ceil(size[0] / stride) * math.ceil(size[1] / stride)
            for _, shape in (outputs[i], outputs[levels + i]):
                if _dim(shape[1]) not in (None, cells):
                    raise _fail("gfl", expected, outputs)
        if len(classes) != 1 or len(widths) != 1:
            raise _fail("gfl", expected, outputs)
        width = widths.pop()
        if width is not None and width % _SIDES:
            raise _fail("gfl", expected, outputs)
        return classes.pop() or 80, levels

    def decode(self, outputs: Sequence[npt.NDArray[np.float32]], threshold: float) -> Candidates:
        cls = np.concatenate([o[:, self.kept] for o in outputs[: self.levels]])
        rows, best, ids = _best(cls, threshold, self.kept)
        if len(rows) == 0:
            return Candidates.empty()
        dist = np.concatenate(outputs[self.levels :])[rows]
        bins = dist.shape[1] // _SIDES
        logits = dist.reshape(len(rows), _SIDES, bins)
        logits = np.exp(logits - logits.max(axis=2, keepdims=True))
        sides = (logits @ np.arange(bins, dtype=np.float32)) / logits.sum(axis=2)
        sides *= self._strides[rows]
        centres = self._centres[rows]
        boxes = np.concatenate([centres - sides[:, :2], centres + sides[:, 2:]], 1)
        return Candidates(boxes.astype(np.float32), best, ids)


class FastestDetDecoder:
    """One [5+C, H, W] map: obj, tanh x/y offsets in cells, sigmoid w/h of the image; score = obj^0.6·cls^0.4."""

    def __init__(self, size: tuple[int, int], kept: IntArray) -> None:
        self.kept = kept
        self.size = size

    @staticmethod
    def check(size: tuple[int, int], outputs: Sequence[tuple[str, Shape]]) -> int:
        expected = "one output [batch, 5+classes, grid_h, grid_w]"
        if len(outputs) != 1 or len(outputs[0][1]) != 4:
            raise _fail("fastestdet", expected, outputs)
        channels = _dim(outputs[0][1][1])
        if channels is not None and channels <= _FASTESTDET_EXTRA:
            raise _fail("fastestdet", expected, outputs)
        return (channels or _FASTESTDET_EXTRA + 80) - _FASTESTDET_EXTRA

    def decode(self, outputs: Sequence[npt.NDArray[np.float32]], threshold: float) -> Candidates:
        out = outputs[0]
        gh, gw = out.shape[1:]
        flat = out.reshape(out.shape[0], gh * gw)
        # Class scores are ≤ 1, so score ≤ obj^0.6: only cells with obj > threshold^(1/0.6) can pass, and
        # the class maps are read for those cells only (a handful of 484).
        rows = np.flatnonzero(flat[0] > threshold ** (1 / 0.6))
        if len(rows) == 0:
            return Candidates.empty()
        cls = flat[np.ix_(_FASTESTDET_EXTRA + self.kept, rows)].T
        arg = cls.argmax(axis=1)
        best = cls[np.arange(len(arg)), arg]
        score = np.power(flat[0, rows], 0.6) * np.power(np.clip(best, 0, None), 0.4)
        passed = score > threshold
        rows, arg, score = rows[passed], arg[passed], score[passed]
        if len(rows) == 0:
            return Candidates.empty()
        gy, gx = np.divmod(rows, gw)
        cx = (gx + np.tanh(flat[1, rows])) / gw * self.size[1]
        cy = (gy + np.tanh(flat[2, rows])) / gh * self.size[0]
        w = 1.0 / (1.0 + np.exp(-flat[3, rows])) * self.size[1]
        h = 1.0 / (1.0 + np.exp(-flat[4, rows])) * self.size[0]
        boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1).astype(np.float32)
        return Candidates(boxes, score.astype(np.float32), self.kept[arg])


class Yolov8Decoder:
    """Ultralytics YOLOv8 export [4+C, N]: cx, cy, w, h in input pixels and class scores; no objectness."""

    def __init__(self, size: tuple[int, int], kept: IntArray) -> None:
        self.kept = kept

    @staticmethod
    def check(size: tuple[int, int], outputs: Sequence[tuple[str, Shape]]) -> int:
        expected = "one output [batch, 4+classes, anchors] (Ultralytics layout, no objectness)"
        if len(outputs) != 1 or len(outputs[0][1]) != 3:
            raise _fail("yolov8", expected, outputs)
        channels, anchors = (_dim(d) for d in outputs[0][1][1:])
        if channels is not None and (channels <= _YOLOV8_EXTRA or (anchors is not None and channels > anchors)):
            raise _fail("yolov8", expected, outputs)
        return (channels or _YOLOV8_EXTRA + 80) - _YOLOV8_EXTRA

    def decode(self, outputs: Sequence[npt.NDArray[np.float32]], threshold: float) -> Candidates:
        out = outputs[0]
        cls = out[_YOLOV8_EXTRA + self.kept].T
        rows, best, ids = _best(cls, threshold, self.kept)
        if len(rows) == 0:
            return Candidates.empty()
        cx, cy, w, h = out[:4, rows]
        boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1).astype(np.float32)
        return Candidates(boxes, best, ids)


Decoder = YoloxDecoder | GflDecoder | FastestDetDecoder | Yolov8Decoder


def check_layout(fmt: ModelFormat, size: tuple[int, int], outputs: Sequence[tuple[str, Shape]]) -> tuple[int, int]:
    """Validate the outputs of a ``fmt`` model at ``size``; return (number of classes, GFL levels or 0)."""
    if fmt == "yolox":
        return YoloxDecoder.check(size, outputs), 0
    if fmt == "gfl":
        return GflDecoder.check(size, outputs)
    if fmt == "fastestdet":
        return FastestDetDecoder.check(size, outputs), 0
    return Yolov8Decoder.check(size, outputs), 0


def make_decoder(fmt: ModelFormat, size: tuple[int, int], kept: IntArray, levels: int) -> Decoder:
    if fmt == "yolox":
        return YoloxDecoder(size, kept)
    if fmt == "gfl":
        return GflDecoder(size, kept, levels)
    if fmt == "fastestdet":
        return FastestDetDecoder(size, kept)
    return Yolov8Decoder(size, kept)
