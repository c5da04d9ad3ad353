"""A camera's object detector in the configuration: one settings class per detector plugin, told apart by
``kind``, checked by `vigie config check` with the line at fault; earlier files (a bare model name) still valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigie.cli import main
from vigie.config import ConfigError, load_config_text
from vigie.config.detectors import HotBlobDetectorSettings, ModelDetectorSettings
from vigie.runtime.assembly.demo import demo_config

HEAD = """version: 1
communes:
  - id: testville
    name: Testville
    kind: municipal
    sites:
      - id: bois
        name: Bois communal
        cameras:
"""


def camera(camera_id: str, kind: str, detector: str) -> str:
    return f"""          - id: {camera_id}
            name: Camera {camera_id}
            kind: {kind}
            main_stream: rtsp://{camera_id}.example.invalid/stream
            location: {{lat: 45.74, lon: 4.91}}
            authorisation:
              reference: 2026-TEST-001
              valid_from: 2026-01-01
              valid_until: 2099-12-31
              purposes: [rescue_fire]
              retention_days: 7
            analysis:
              detector:
{detector}"""


def issues(text: str) -> list[tuple[int | None, str, str, str]]:
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, "vigie.yaml")
    return [(i.line, i.field, i.message, i.hint) for i in caught.value.issues]


def line_of(text: str, needle: str, after: int = 0) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if n > after and needle in line)


def test_a_thermal_camera_selects_hot_blobs_or_a_model() -> None:
    text = HEAD
    text += camera("thermique-1", "thermal", "                kind: hot_blob\n                k_sigma: 4\n")
    text += camera("thermique-2", "thermal", "                kind: model\n                name: yolox_nano\n")
    text += camera("visible-1", "fixed", "                kind: model\n                name: picodet_s_320\n")
    cameras = load_config_text(text).communes[0].sites[0].cameras
    assert [c.analysis.detector for c in cameras] == [
        HotBlobDetectorSettings(k_sigma=4),
        ModelDetectorSettings(name="yolox_nano"),
        ModelDetectorSettings(name="picodet_s_320"),
    ]


def test_a_bare_model_name_is_still_a_model_and_unset_is_motion_alone() -> None:
    text = HEAD + camera("visible-1", "fixed", "").replace("detector:\n", "detector: yolox_nano\n")
    assert load_config_text(text).communes[0].sites[0].cameras[0].analysis.detector == ModelDetectorSettings(
        name="yolox_nano"
    )
    text = HEAD + camera("visible-1", "fixed", "").replace("              detector:\n", "              fps: 5\n")
    assert load_config_text(text).communes[0].sites[0].cameras[0].analysis.detector is None
    demo = demo_config(Path("var"), "127.0.0.1", 8080, {"cam-1": "rtsp://127.0.0.1:8554/cam-1"}, detector="yolox_nano")
    assert demo.communes[0].sites[0].cameras[0].analysis.detector == ModelDetectorSettings(name="yolox_nano")


def test_hot_blobs_on_a_visible_light_camera_are_refused_at_the_detectors_line() -> None:
    text = HEAD + camera("visible-1", "ptz", "                kind: hot_blob\n")
    [(line, field, message, hint)] = issues(text)
    assert line == line_of(text, "kind: hot_blob")
    assert field == "communes.0.sites.0.cameras.0.analysis.detector.kind"
    assert "reads heat" in message and "`ptz`" in message and "kind: thermal" in hint


def test_detector_mistakes_are_reported_with_their_line_and_a_hint() -> None:
    text = HEAD
    text += camera("thermique-1", "thermal", "                name: yolox_nano\n")  # no kind
    text += camera("thermique-2", "thermal", "                kind: yolo\n                name: yolox_nano\n")
    text += camera("thermique-3", "thermal", "                kind: hot_blob\n                k_sigm: 4\n")
    text += camera("thermique-4", "thermal", "                kind: model\n")  # no name
    text += camera(
        "thermique-5",
        "thermal",
        "                kind: model\n                name: x\n                score_threshold: 2\n",
    )
    found = issues(text)
    assert len(found) == 5
    assert found[0][0] == line_of(text, "detector:") and "no `kind`" in found[0][2] and "kind: hot_blob" in found[0][3]
    assert found[1][2] == "unknown kind" and "model, hot_blob" in found[1][3]
    assert found[2][0] == line_of(text, "k_sigm:") and "did you mean `k_sigma`" in found[2][3]
    assert found[3][2] == "required field is missing" and found[3][1].endswith("analysis.detector.name")
    assert found[4][0] == line_of(text, "score_threshold: 2") and found[4][2] == "must be at most 1.0"


def test_config_check_names_the_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "vigie.yaml"
    text = HEAD + camera("visible-1", "fixed", "                kind: hot_blob\n")
    path.write_text(text, encoding="utf-8")
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:{line_of(text, 'kind: hot_blob')}:" in err and "hot_blob detector reads heat" in err
    path.write_text(text.replace("kind: fixed", "kind: thermal"), encoding="utf-8")
    assert main(["config", "check", str(path)]) == 0


def test_a_thermal_camera_runs_a_model_with_hot_spots_beside_it() -> None:
    text = HEAD
    text += camera("thermique-1", "thermal", "                kind: model\n                name: yolox_nano\n"
                   "                hot_spots: true\n")  # fmt: skip
    text += camera("thermique-2", "thermal", "                kind: model\n                name: yolox_nano\n"
                   "                hot_spots: {k_sigma: 4, min_area: 0.002}\n")  # fmt: skip
    text += camera("thermique-3", "thermal", "                kind: model\n                name: yolox_nano\n")
    first, second, third = (c.analysis.detector for c in load_config_text(text).communes[0].sites[0].cameras)
    assert isinstance(first, ModelDetectorSettings) and isinstance(second, ModelDetectorSettings)
    # beside a model, hot blobs are never persons: the same settings as `kind: hot_blob, classify_persons: false`
    assert first.hot_spots == HotBlobDetectorSettings(classify_persons=False)
    assert second.hot_spots == HotBlobDetectorSettings(k_sigma=4, min_area=0.002, classify_persons=False)
    assert third == ModelDetectorSettings(name="yolox_nano") and third.hot_spots is None  # earlier files unchanged


def test_bad_hot_spots_are_refused_at_their_line_with_what_to_do() -> None:
    text = HEAD
    text += camera("visible-1", "fixed", "                kind: model\n                name: yolox_nano\n"
                   "                hot_spots: true\n")  # fmt: skip
    text += camera("thermique-1", "thermal", "                kind: model\n                name: yolox_nano\n"
                   "                hot_spots: {classify_persons: true}\n")  # fmt: skip
    text += camera("thermique-2", "thermal", "                kind: model\n                name: yolox_nano\n"
                   "                hot_spots: {kind: hot_blob}\n")  # fmt: skip
    text += camera("thermique-3", "thermal", "                kind: hot_blob\n                hot_spots: true\n")
    found = issues(text)
    assert len(found) == 4
    visible, persons, kind, alone = found
    assert visible[0] == line_of(text, "hot_spots: true") and visible[1].endswith("analysis.detector.hot_spots")
    assert "`fixed`, not `thermal`" in visible[2] and "remove `hot_spots`" in visible[3]
    assert persons[0] == line_of(text, "classify_persons: true") and "never classified as persons" in persons[2]
    assert "`kind: hot_blob` alone" in persons[3]
    assert kind[0] == line_of(text, "hot_spots: {kind") and "no `kind` here" in kind[2]
    assert alone[0] == line_of(text, "hot_spots: true", after=line_of(text, "thermique-3"))
    assert alone[1].endswith("analysis.detector.hot_spots")
