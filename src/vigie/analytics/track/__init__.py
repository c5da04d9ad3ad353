"""Multi-object tracking: one tracker instance per camera, bounded state, ``update(detections, period)``."""

from vigie.analytics.track.bytetrack import ByteTracker, ByteTrackerConfig

__all__ = ["ByteTracker", "ByteTrackerConfig"]
