"""CPU cost of each event module per analysed frame, on the simulator's ``situations`` scene (60 s, 640×360, 5 fps
analysed), objects from the scene's ground-truth boxes tracked by ByteTracker (the detector's cost is measured
separately in bench/onnx_pipeline.py). One run; the CPU time of this process, module ``update`` only.
``abandoned_object`` runs twice: as configured (``method: scene``, the picture's static foreground at 320 px plus
the detector's bags) and with ``method: detector``; the last lines are the scene method's cost and their ratio.

    .venv/bin/python bench/event_modules.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import yaml

from vigie.analytics.rules.base import RuleInput
from vigie.analytics.rules.registry import build_rule
from vigie.analytics.track import ByteTracker
from vigie.domain.detections import Detections
from vigie.evaluation.module_run import read_mot_boxes
from vigie.evaluation.module_run import sample_frames as _frames
from vigie.sim.builtin import builtin_scene_path, module_settings_path
from vigie.sim.render import render
from vigie.sim.scene import load_scene

MODULES = (
    "intrusion",
    "loitering",
    "abandoned_object",
    "person_on_ground",
    "stationary_vehicle",
    "wrong_way",
    "density",
    "crowd_movement",
    "fire_start",
)


def main() -> None:
    settings = yaml.safe_load(module_settings_path("situations").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="vigie-bench-") as tmp:
        result = render(load_scene(builtin_scene_path("situations")), Path(tmp) / "s.mp4", Path(tmp) / "gt")
        assert result.gt_dir is not None
        boxes = read_mot_boxes(result.gt_dir / "gt" / "gt.txt")
        frames = list(_frames(result.video_path, 5.0))
        tracker = ByteTracker()
        tracked: list[Detections] = []
        start = time.process_time()
        previous = None
        for number, at, _ in frames:
            tracked.append(tracker.update(boxes.get(number, Detections()), 0.2 if previous is None else at - previous))
            previous = at
        track_ms = 1000 * (time.process_time() - start) / len(frames)
        print(f"situations scene: {len(frames)} analysed frames; tracker {track_ms:.3f} ms per frame")
        print(f"{'module':28} {'ms CPU per frame':>16} {'hits':>5}")
        cost: dict[str, float] = {}
        runs = [(module, module, settings.get(module, {})) for module in MODULES]
        scene = settings.get("abandoned_object", {})
        runs.insert(3, ("abandoned_object (detector)", "abandoned_object", {**scene, "method": "detector"}))
        for name, module, params in runs:
            rule = build_rule(module, params)
            hits = 0
            start = time.process_time()
            for (_, at, image), tracks in zip(frames, tracked, strict=True):
                hits += len(rule.update(RuleInput(at, (image.shape[1], image.shape[0]), tracks, image)))
            cost[name] = ms = 1000 * (time.process_time() - start) / len(frames)
            print(f"{name:28} {ms:16.3f} {hits:5d}")
        print(f"abandoned_object_scene_ms_per_frame: {cost['abandoned_object']:.3f}")
        ratio = cost["abandoned_object"] / cost["abandoned_object (detector)"]
        print(f"abandoned_object_scene_over_detector: {ratio:.1f}")


if __name__ == "__main__":
    main()
