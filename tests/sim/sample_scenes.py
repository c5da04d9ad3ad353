"""Scenes built in code for the simulator tests."""

from __future__ import annotations

from typing import Any


def small_scene_data(seed: int = 3) -> dict[str, Any]:
    """A 4-second 320×180 scene with one actor of each kind, a fall and a bag drop."""
    return {
        "name": "small",
        "seed": seed,
        "width": 320,
        "height": 180,
        "fps": 10,
        "duration_s": 4,
        "actors": [
            {"kind": "person", "path": [{"t": 0, "x": 0.1, "y": 0.9}, {"t": 4, "x": 0.9, "y": 0.9}]},
            {"kind": "vehicle", "path": [{"t": 0, "x": 1.1, "y": 0.7}, {"t": 3, "x": 0.3, "y": 0.7}]},
            {"kind": "person", "fall_s": 2, "path": [{"t": 0.5, "x": 0.5, "y": 0.5}, {"t": 2, "x": 0.6, "y": 0.5}]},
        ],
        "situations": [
            {
                "kind": "bag_left",
                "start": [0.0, 0.47],
                "drop": [0.3, 0.47],
                "exit": [0.9, 0.47],
                "start_s": 0,
                "walk_s": 1.5,
                "pause_s": 0.5,
                "leave_s": 1.5,
            },
        ],
    }
