"""Box overlap and optimal assignment, shared by the tracker and the evaluation."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]


def box_iou(a: npt.ArrayLike, b: npt.ArrayLike) -> Array:
    """IoU of every box of ``a`` (N×4, x1 y1 x2 y2) with every box of ``b`` (M×4): an N×M matrix."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    out: Array = np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
    return out


def assign(similarity: Array, min_similarity: float) -> tuple[IndexArray, IndexArray]:
    """Rows and columns of the assignment maximising total similarity, keeping pairs ≥ ``min_similarity``."""
    if similarity.size == 0:
        empty = np.zeros(0, np.intp)
        return empty, empty
    # Imported at the first assignment, not with the module: scipy.optimize costs about a second to import, on the
    # start-up path of every process that imports a tracker (vigie serve, vigie demo) though few cameras track.
    from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped]

    rows, cols = linear_sum_assignment(-similarity)
    keep = similarity[rows, cols] >= min_similarity
    return rows[keep].astype(np.intp), cols[keep].astype(np.intp)
