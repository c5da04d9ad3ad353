"""``render_command`` and ``serve_command``: exit codes, messages, and no partial output."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sim.sample_scenes import small_scene_data
from vigie.sim.cli_commands import render_command, serve_command


def test_render_command_writes_video_and_ground_truth(write_scene, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    scene = write_scene(small_scene_data())
    code = render_command(scene, tmp_path / "out.mp4", tmp_path / "gt")
    assert code == 0
    assert (tmp_path / "out.mp4").stat().st_size > 0
    assert {p.name for p in (tmp_path / "gt").iterdir()} == {"gt", "seqinfo.ini", "events.json"}
    assert "40 frames" in capsys.readouterr().out


def test_invalid_scene_exits_2_and_writes_nothing(write_scene, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    data = small_scene_data()
    data["fps"] = 0
    scene = write_scene(data, "bad.yaml")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code = render_command(scene, out_dir / "out.mp4", out_dir / "gt")
    assert code == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "fps" in err
    assert list(out_dir.iterdir()) == []


def test_event_never_visible_exits_2_and_removes_partial_video(write_scene, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    data = small_scene_data()
    data["situations"] = [
        {"kind": "person_falls", "start": [1.4, 0.5], "fall_at": [1.3, 0.5], "start_s": 0, "walk_s": 1}
    ]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code = render_command(write_scene(data), out_dir / "out.mp4", out_dir / "gt")
    assert code == 2
    assert "situations.0 (person_falls)" in capsys.readouterr().err
    assert list(out_dir.iterdir()) == []


def test_unwritable_ground_truth_removes_video(write_scene, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "gt"
    blocker.write_text("a file where the gt directory should go")
    code = render_command(write_scene(small_scene_data()), tmp_path / "out.mp4", blocker)
    assert code == 1
    assert "error" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gt", "scene.yaml"]


def test_render_command_accepts_a_builtin_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import vigie.sim.cli_commands as cli

    seen = {}

    def fake_render(scene, out, gt, photo=None, *, images=False):  # type: ignore[no-untyped-def]
        seen["scene"] = scene
        raise OSError("disk full")

    monkeypatch.setattr(cli, "render", fake_render)
    assert render_command(Path("street"), tmp_path / "x.mp4", None) == 1  # not a file here: the built-in
    assert seen["scene"].name == "street"


def test_serve_command_rejects_invalid_scene_before_serving(write_scene, capsys) -> None:  # type: ignore[no-untyped-def]
    assert serve_command([write_scene("name: X\nseed: -1\n", "bad.yaml")], 0) == 2
    assert "bad.yaml" in capsys.readouterr().err


def test_serve_command_photoreal_refuses_a_folder_without_the_footage(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert serve_command([Path("plaza")], 0, photoreal=tmp_path / "nothing") == 2
    err = capsys.readouterr().err
    assert "--photoreal" in err and "tracking/tud-campus" in err


def test_serve_command_refuses_a_photoreal_scene_without_footage(capsys) -> None:  # type: ignore[no-untyped-def]
    assert serve_command([Path("plaza")], 0) == 2
    assert "background.style: photoreal" in capsys.readouterr().err
