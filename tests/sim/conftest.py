"""Shared fixtures of the simulator tests: small scenes built in code, and one render of the built-in
situations scene shared by the module that needs it (rendering takes about two seconds)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.sim.sample_scenes import small_scene_data
from vigie.sim.builtin import builtin_scene_path
from vigie.sim.render import RenderResult, render
from vigie.sim.rtsp import rtsp_unavailable_reason
from vigie.sim.scene import Scene, load_scene


@pytest.fixture
def small_scene() -> Scene:
    return Scene.model_validate(small_scene_data())


@pytest.fixture
def write_scene(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a scene mapping (or raw text) to a YAML file and return its path."""

    def write(data: dict[str, Any] | str, name: str = "scene.yaml") -> Path:
        path = tmp_path / name
        path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def situations_render(tmp_path_factory: pytest.TempPathFactory) -> RenderResult:
    out = tmp_path_factory.mktemp("situations")
    scene = load_scene(builtin_scene_path("situations"))
    return render(scene, out / "situations.mp4", out / "gt")


def require_rtsp() -> None:
    """Skip (fail when CI=true, where everything is installed) if the RTSP server cannot run here."""
    reason = rtsp_unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"RTSP simulator unavailable in CI: {reason}")
    pytest.skip(f"RTSP simulator unavailable: {reason}")
