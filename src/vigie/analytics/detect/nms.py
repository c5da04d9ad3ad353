"""Class-aware non-maximum suppression: two boxes suppress each other only when they claim the same class."""

from __future__ import annotations

import cv2
import numpy as np

from vigie.domain.detections import FloatArray, IntArray


def batched_nms(
    boxes: FloatArray, scores: FloatArray, class_ids: IntArray, iou_threshold: float, max_detections: int
) -> IntArray:
    """Indices of the boxes kept, best score first (``cv2.dnn.NMSBoxesBatched``, C++ speed for any N)."""
    if len(boxes) == 0:
        return np.zeros((0,), np.int32)
    xywh = boxes.astype(np.float64)
    xywh[:, 2:] -= xywh[:, :2]
    # The stubs ask for sequences; the binding takes NumPy arrays directly (no per-box Python objects).
    keep = cv2.dnn.NMSBoxesBatched(
        xywh,  # type: ignore[arg-type]
        scores.astype(np.float32),  # type: ignore[arg-type]
        class_ids.astype(np.int32),  # type: ignore[arg-type]
        0.0,
        iou_threshold,
    )
    kept = np.asarray(keep, np.int32).reshape(-1)
    kept = kept[np.argsort(-scores[kept], kind="stable")]
    return kept[:max_detections]


def box_iou(a: FloatArray, b: FloatArray) -> FloatArray:
    """Pairwise IoU of two sets of x1, y1, x2, y2 boxes (len(a) × len(b))."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0).astype(np.float32)
