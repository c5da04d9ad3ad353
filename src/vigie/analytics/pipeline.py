"""The per-camera analysis pipeline: frames in, observations out, gated by governance.

A plain object with no global state, so the same code runs in a local worker process or, later, a Ray actor.
"""

from __future__ import annotations

from datetime import datetime

from vigie.analytics.detect.motion import MotionDetector
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation
from vigie.domain.ports import Frame, Gate

MOTION_MODULE = "motion"


class MotionPipeline:
    """Motion detection on one camera's analysis frames.

    The gate is asked before every frame batch; when it says no, the detector's state is dropped so nothing
    learnt while the module was authorised outlives the authorisation.
    """

    def __init__(self, camera_id: str, detector: MotionDetector, gate: Gate) -> None:
        self.camera_id = camera_id
        self._detector = detector
        self._gate = gate
        self._was_allowed = False
        self.frames_analysed = 0
        self.frames_refused = 0

    def process(self, frame: Frame, at: datetime) -> Observation | None:
        """Analyse one frame taken at ``at``; return an observation when there is motion."""
        if not self._gate.allows(MOTION_MODULE, self.camera_id, at):
            if self._was_allowed:
                self._detector.reset()
            self._was_allowed = False
            self.frames_refused += 1
            return None
        self._was_allowed = True
        self.frames_analysed += 1
        regions = self._detector.detect(frame)
        if not regions:
            return None
        union: Box = regions[0][0]
        for box, _ in regions[1:]:
            union = union.union(box)
        score = max(fill for _, fill in regions)
        return Observation(
            camera_id=self.camera_id,
            module=MOTION_MODULE,
            kind="motion",
            at=at,
            regions=tuple(box for box, _ in regions[:16]),
            score=round(score, 3),
            model_version="mog2",
        )
