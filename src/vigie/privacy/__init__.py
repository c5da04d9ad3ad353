"""Privacy: redaction of third parties in footage given to someone (an access request, a press or insurer export).

Redaction detects persons and vehicles as classes only, to hide them (L25, L26): no identity, no face, no
appearance feature is computed, and nothing is kept beyond the boxes to blur (where, when, which class, which
track number within one clip), which a reviewer checks before any copy leaves.

Layering (DESIGN.md): this package imports ``domain`` and ``config`` only. The detector and the tracker it uses
(``vigie.analytics.detect.onnx.OnnxDetector``, ``vigie.analytics.track.ByteTracker``) are built by the caller
(the composition root, a service, a bench) and passed in through the small protocols of :mod:`.redact`.
"""

from vigie.privacy.blur import blur_boxes, blur_planar_boxes
from vigie.privacy.boxes import (
    BlurBox,
    BoxPlanner,
    FrameBoxes,
    KeepClear,
    ManualBox,
    PixelBox,
    RedactionError,
    RedactionOptions,
    TimeRange,
)
from vigie.privacy.quality import RecallReport, redaction_recall
from vigie.privacy.redact import (
    REDACTION_TRACKING,
    RedactedFile,
    RedactionDetector,
    RedactionTracker,
    plan_frames,
    redact_file,
    redact_frames,
)

__all__ = [
    "REDACTION_TRACKING",
    "BlurBox",
    "BoxPlanner",
    "FrameBoxes",
    "KeepClear",
    "ManualBox",
    "PixelBox",
    "RecallReport",
    "RedactedFile",
    "RedactionDetector",
    "RedactionError",
    "RedactionOptions",
    "RedactionTracker",
    "TimeRange",
    "blur_boxes",
    "blur_planar_boxes",
    "plan_frames",
    "redact_file",
    "redact_frames",
    "redaction_recall",
]
