"""Simulated cameras: seeded, deterministic scenes with ground truth, rendered to H.264 and served over RTSP.

Used to test the platform end to end (ingest, recording, analytics scoring) and to train operators, without a
real camera.  Built on ``vigie.domain`` only (an import-linter contract).
"""

from vigie.sim.builtin import builtin_scene_path, list_builtin_scenes
from vigie.sim.groundtruth import MOT_CLASSES, GroundTruthBox, GroundTruthEvent
from vigie.sim.render import RenderedFrame, RenderResult, SceneRenderer, frames, render
from vigie.sim.scene import Scene, SceneError, load_scene

__all__ = [
    "MOT_CLASSES",
    "GroundTruthBox",
    "GroundTruthEvent",
    "RenderResult",
    "RenderedFrame",
    "Scene",
    "SceneError",
    "SceneRenderer",
    "builtin_scene_path",
    "frames",
    "list_builtin_scenes",
    "load_scene",
    "render",
]
