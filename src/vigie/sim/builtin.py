"""Scenes shipped with Vigie (``vigie/sim/scenes/*.yaml``, packaged as data)."""

from __future__ import annotations

from pathlib import Path

from vigie.sim.scene import SceneError

SCENES_DIR = Path(__file__).resolve().parent / "scenes"


def list_builtin_scenes() -> list[str]:
    """Names of the built-in scenes, sorted (``street`` is the continuous demo street)."""
    return sorted(path.stem for path in SCENES_DIR.glob("*.yaml"))


def builtin_scene_path(name: str) -> Path:
    """Path of a built-in scene by name (``street`` or ``street.yaml``); ``SceneError`` lists the known ones."""
    stem = name.removesuffix(".yaml")
    path = SCENES_DIR / f"{stem}.yaml"
    if "/" in stem or "\\" in stem or not path.is_file():
        raise SceneError(f"no built-in scene {name!r}; available: {', '.join(list_builtin_scenes())}")
    return path


def module_settings_path(arg: Path | str) -> Path:
    """A module settings file as given or, when no such file exists, the settings shipped for the built-in scene
    of that name (``scenes/modules/<scene>.yaml``: the zones and flows drawn for that scene)."""
    path = Path(arg)
    if path.exists() or len(path.parts) > 1:
        return path
    shipped = SCENES_DIR / "modules" / f"{path.name.removesuffix('.yaml')}.yaml"
    return shipped if shipped.is_file() else path


def resolve_scene_path(arg: Path | str) -> Path:
    """A scene file path as given or, when no such file exists, the built-in scene of that name."""
    path = Path(arg)
    if path.exists() or path.suffix not in ("", ".yaml") or len(path.parts) > 1:
        return path
    try:
        return builtin_scene_path(path.name)
    except SceneError:
        return path
