from __future__ import annotations

from pathlib import Path

import pytest

from tests.sim.sample_scenes import small_scene_data
from vigie.sim import builtin_scene_path, list_builtin_scenes, load_scene
from vigie.sim.scene import Scene, SceneError


def test_builtin_scenes_load() -> None:
    names = list_builtin_scenes()
    assert {"street", "situations"} <= set(names)
    for name in names:
        scene = load_scene(builtin_scene_path(name))
        assert scene.name == name
    assert builtin_scene_path("street.yaml") == builtin_scene_path("street")


def test_unknown_builtin_lists_available() -> None:
    with pytest.raises(SceneError, match=r"available: .*street"):
        builtin_scene_path("nope")


def test_defaults() -> None:
    scene = Scene.model_validate({"name": "x", "seed": 1, "duration_s": 2})
    assert (scene.width, scene.height, scene.fps, scene.frame_count) == (640, 360, 10, 20)


def test_unknown_field_names_file_and_field(write_scene) -> None:  # type: ignore[no-untyped-def]
    data = small_scene_data()
    data["actors"][1]["colour"] = [1, 2, 3]
    path = write_scene(data)
    with pytest.raises(SceneError) as info:
        load_scene(path)
    message = str(info.value)
    assert str(path) in message
    assert "actors.1.colour" in message


def test_bad_value_names_field(write_scene) -> None:  # type: ignore[no-untyped-def]
    data = small_scene_data()
    data["situations"][0]["drop"] = [0.3, 7.0]
    with pytest.raises(SceneError, match=r"situations\.0\.bag_left\.drop\.1"):
        load_scene(write_scene(data))


def test_path_times_must_increase(write_scene) -> None:  # type: ignore[no-untyped-def]
    data = small_scene_data()
    data["actors"][0]["path"][1]["t"] = 0
    with pytest.raises(SceneError, match=r"actors\.0: .*strictly increasing"):
        load_scene(write_scene(data))


def test_zone_target_must_be_inside(write_scene) -> None:  # type: ignore[no-untyped-def]
    data = small_scene_data()
    data["situations"] = [
        {
            "kind": "enter_zone",
            "zone": [[0.5, 0.5], [0.9, 0.5], [0.9, 0.9]],
            "start": [0.1, 0.1],
            "target": [0.2, 0.2],
            "start_s": 0,
        }
    ]
    with pytest.raises(SceneError, match="inside the zone"):
        load_scene(write_scene(data))


def test_invalid_yaml_and_missing_file(write_scene, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SceneError, match="invalid YAML"):
        load_scene(write_scene("name: [unclosed"))
    with pytest.raises(SceneError, match="must be a YAML mapping"):
        load_scene(write_scene("- 1\n- 2\n"))
    with pytest.raises(SceneError, match="cannot read"):
        load_scene(tmp_path / "absent.yaml")


def test_every_field_has_title_and_description() -> None:
    from pydantic import BaseModel

    seen: set[type[BaseModel]] = set()

    def visit(model: type[BaseModel]) -> None:
        if model in seen:
            return
        seen.add(model)
        for name, field in model.model_fields.items():
            assert field.title and field.description, f"{model.__name__}.{name}"
        for sub in model.__subclasses__():
            visit(sub)

    import vigie.sim.scene as scene_module

    for value in vars(scene_module).values():
        is_model = isinstance(value, type) and issubclass(value, BaseModel)
        if is_model and value.__module__ == scene_module.__name__ and not value.__name__.startswith("_"):
            visit(value)
    assert Scene in seen
