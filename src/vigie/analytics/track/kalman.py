"""Constant-velocity Kalman filter on ``(cx, cy, a, h)`` boxes, batched over tracks, with the time step as input.

The state is ``(cx, cy, a, h, vcx, vcy, va, vh)`` (centre, aspect ratio w/h, height and their velocities per
*second*). ByteTrack's filter counts in frames; this one counts in seconds so that a tracker fed at 5 fps, or one
that skipped frames, predicts the right distance: the transition and the process noise both scale with ``dt``.
Noise is proportional to the box height, as in SORT/ByteTrack, so near and far objects behave alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]

_NDIM = 4
_EYE8 = np.eye(2 * _NDIM)


@dataclass(frozen=True, slots=True)
class KalmanNoise:
    """Noise levels, as fractions of the box height (aspect ratio uses fixed small values, as in ByteTrack)."""

    measurement: float = 0.05
    """Standard deviation of a measured centre/height."""
    process_position: float = 0.25
    """Position random walk, per √second (ByteTrack's 1/20 per frame at 25 fps)."""
    process_velocity: float = 0.8
    """Velocity random walk, per √second (ByteTrack's 1/160 per frame at 25 fps, in per-second units)."""
    initial_velocity: float = 1.5
    """Standard deviation of the unknown velocity of a new track, per second."""


def boxes_to_measurements(boxes: npt.NDArray[np.float32] | Array) -> Array:
    """``x1, y1, x2, y2`` → ``cx, cy, a, h``."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    w = np.maximum(b[:, 2] - b[:, 0], 1e-3)
    h = np.maximum(b[:, 3] - b[:, 1], 1e-3)
    return np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, w / h, h], 1)


def states_to_boxes(means: Array) -> Array:
    """``cx, cy, a, h, …`` → ``x1, y1, x2, y2``."""
    h = np.maximum(means[:, 3], 1e-3)
    w = np.maximum(means[:, 2], 1e-3) * h
    return np.stack([means[:, 0] - w / 2, means[:, 1] - h / 2, means[:, 0] + w / 2, means[:, 1] + h / 2], 1)


def _measurement_std(h: Array, noise: KalmanNoise) -> Array:
    s = noise.measurement * h
    return np.stack([s, s, np.full_like(h, 1e-1), s], 1)


def initiate(measurements: Array, noise: KalmanNoise) -> tuple[Array, Array]:
    """New states (N×8) and covariances (N×8×8) from first measurements, with zero velocity."""
    n = len(measurements)
    means = np.zeros((n, 2 * _NDIM))
    means[:, :_NDIM] = measurements
    h = measurements[:, 3]
    pos = 2 * _measurement_std(h, noise)
    vel = np.stack([noise.initial_velocity * h] * 2 + [np.full_like(h, 1e-5), noise.initial_velocity * h], 1)
    std = np.concatenate([pos, vel], 1)
    covs = np.einsum("ni,ij->nij", std**2, _EYE8)
    return means, covs


def predict(means: Array, covs: Array, dt: float, noise: KalmanNoise) -> tuple[Array, Array]:
    """Advance every state by ``dt`` seconds."""
    if len(means) == 0:
        return means, covs
    f = _EYE8.copy()
    f[:_NDIM, _NDIM:] = dt * np.eye(_NDIM)
    h = np.maximum(means[:, 3], 1e-3)
    pos = noise.process_position * h
    vel = noise.process_velocity * h
    std = np.stack([pos, pos, np.full_like(h, 1e-2), pos, vel, vel, np.full_like(h, 1e-5), vel], 1)
    q = np.einsum("ni,ij->nij", std**2 * dt, _EYE8)
    new_means = means @ f.T
    new_covs = f @ covs @ f.T + q
    return new_means, new_covs


def update(means: Array, covs: Array, measurements: Array, noise: KalmanNoise) -> tuple[Array, Array]:
    """Correct N states (N×8) / (N×8×8) with one measurement each (N×4), in one batched solve."""
    if len(means) == 0:
        return means, covs
    std = _measurement_std(np.maximum(means[:, 3], 1e-3), noise)
    # H selects the first four state components, so H P Hᵀ and H P are slices, not products.
    s = covs[:, :_NDIM, :_NDIM] + np.einsum("ni,ij->nij", std**2, _EYE8[:_NDIM, :_NDIM])
    cov_ht = covs[:, :, :_NDIM]  # P Hᵀ (N×8×4)
    gain = np.linalg.solve(s, np.swapaxes(cov_ht, 1, 2)).transpose(0, 2, 1)  # K = P Hᵀ S⁻¹ (S symmetric)
    innovation = measurements - means[:, :_NDIM]
    new_means = means + np.einsum("nij,nj->ni", gain, innovation)
    new_covs = covs - gain @ s @ np.swapaxes(gain, 1, 2)
    return new_means, new_covs
