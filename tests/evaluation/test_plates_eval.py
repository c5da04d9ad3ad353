"""``vigie eval plates``: the label format (several plates a file, clear errors), the split, the figures end to end
on a folder of rendered plates, the refusal of Vigie exports, and the accuracy floor on the held-out development half
(skipped without ../shared/data)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from vigie.cli import main
from vigie.domain.detections import Detections, ObjectClass
from vigie.evaluation.plates import PlateLabelError, evaluate, photo_reader, read_folder, read_labels, split
from vigie.lpr.formats import normalise
from vigie.lpr.reader import PlateReader
from vigie.sim.plates import font_path, plate_picture
from vigie.sim.scene import SceneError

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _write(folder: Path, name: str, lines: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(folder / name), np.full((60, 80, 3), 128, np.uint8))
    label = folder / (Path(name).stem + ".txt")
    label.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return label


def test_several_lines_are_several_plates_of_one_image(tmp_path: Path) -> None:
    label = _write(tmp_path, "a.jpg", ["a.jpg\t1\t2\t30\t10\tAB-123-CD", "a.jpg\t40\t2\t30\t10\t1234AB56", ""])
    item = read_labels(label)
    assert item.image == tmp_path / "a.jpg"
    assert [(p.box, p.text) for p in item.plates] == [((1, 2, 30, 10), "AB123CD"), ((40, 2, 30, 10), "1234AB56")]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("a.jpg\t1\t2\t30\tAB123CD", r"a\.txt:2: expected 6 tab-separated fields"),
        ("a.jpg\t1\t2\tthirty\t10\tAB123CD", r"a\.txt:2: x, y, w, h must be numbers"),
        ("a.jpg\t1\t2\t0\t10\tAB123CD", r"a\.txt:2: the plate box has width 0"),
        ("a.jpg\t1\t2\t30\t10\t--", r"a\.txt:2: the plate text '--' has no letter or digit"),
        ("b.jpg\t1\t2\t30\t10\tAB123CD", r"a\.txt:2: names image 'b\.jpg'"),
    ],
)
def test_a_malformed_line_is_named_with_its_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    label = _write(tmp_path, "a.jpg", ["a.jpg\t1\t2\t30\t10\tEF456GH", line])
    with pytest.raises(PlateLabelError, match=message):
        read_labels(label)


def test_a_missing_image_or_empty_folder_is_explained(tmp_path: Path) -> None:
    label = _write(tmp_path, "a.jpg", ["missing.jpg\t1\t2\t30\t10\tAB123CD"])
    with pytest.raises(PlateLabelError, match=r"the image 'missing\.jpg' is not in"):
        read_labels(label)
    with pytest.raises(PlateLabelError, match="is not a folder of images"):
        read_folder(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PlateLabelError, match=r"has no \.txt label file"):
        read_folder(tmp_path / "empty")


def test_the_split_is_fixed_by_file_name_and_covers_everything(tmp_path: Path) -> None:
    for i in range(12):
        _write(tmp_path, f"p{i}.jpg", [f"p{i}.jpg\t1\t2\t30\t10\tAB{i:03d}CD"])
    images = read_folder(tmp_path)
    tune, held = split(images, "tune"), split(images, "held-out")
    assert sorted(i.image.name for i in tune + held) == sorted(i.image.name for i in images)
    assert not {i.image for i in tune} & {i.image for i in held}
    assert tune and held
    assert [i.image.name for i in split(list(reversed(images)), "tune")] == [i.image.name for i in reversed(tune)]


def _rendered_folder(folder: Path) -> dict[str, str]:
    try:
        font_path()
    except SceneError as err:
        pytest.skip(str(err))
    truth = {"one.jpg": "AB-123-CD", "two.jpg": "GE-042-ZR", "three.jpg": "FS-066-SR"}
    folder.mkdir()
    for i, (name, text) in enumerate(truth.items()):
        image = np.full((480, 720, 3), 110 + 10 * i, np.uint8)
        plate = plate_picture(text, 200)
        h, w = plate.shape[:2]
        image[300 : 300 + h, 260 : 260 + w] = plate
        cv2.imwrite(str(folder / name), image)
        (folder / name).with_suffix(".txt").write_text(f"{name}\t260\t300\t{w}\t{h}\t{text.replace('-', '')}\n")
    return truth


def test_eval_plates_prints_one_figure_a_line_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _rendered_folder(tmp_path / "set")
    out = tmp_path / "report.json"
    assert main(["eval", "plates", str(tmp_path / "set"), "--json", str(out)]) == 0
    lines = dict(line.split(" ", 1) for line in capsys.readouterr().out.splitlines())
    assert lines["plates"] == "3"
    assert float(lines["localised_rate"]) == 1.0
    assert lines["exact_reads"] == "3"
    assert float(lines["exact_rate"]) == 1.0
    assert float(lines["crop_exact_rate"]) == 1.0
    assert float(lines["ms_per_image"]) > 0
    report = json.loads(out.read_text())
    assert {p["truth"] for p in report["sets"]["set"]["plates"]} == {"AB123CD", "GE042ZR", "FS066SR"}


def test_eval_plates_refuses_a_vigie_export_and_bad_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = tmp_path / "export"
    _write(export, "a.jpg", ["a.jpg\t1\t2\t30\t10\tAB123CD"])
    (export / "manifest.json").write_text("{}")
    (export / "manifest.sig").write_text("sig")
    assert main(["eval", "plates", str(export)]) == 2
    assert "a file of a Vigie export" in capsys.readouterr().err
    broken = tmp_path / "broken"
    _write(broken, "a.jpg", ["a.jpg\t1\t2\tAB123CD"])
    assert main(["eval", "plates", str(broken)]) == 2
    assert "a.txt:1: expected 6 tab-separated fields" in capsys.readouterr().err


HELD_OUT_FLOORS = {"plates-fr-dev": 0.90, "plates-dev": 0.80}
"""Measured on the held-out halves (docs/plates.md: 0.955 and 0.867 at this version) minus a margin for onnxruntime
builds; the reader's settings were chosen on the other half (docs/plates.md says which choice saw a held-out miss)."""


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(HELD_OUT_FLOORS))
def test_held_out_half_is_read_at_least_at_the_measured_floor(name: str) -> None:
    folder = DATA / name
    if not folder.is_dir():
        pytest.skip(f"development data not found at {folder} (see ../shared/data/README.md)")
    scores = evaluate(photo_reader(threads=1), split(read_folder(folder), "held-out"), crops=False)
    figures = scores.as_dict()
    assert figures["exact_rate"] >= HELD_OUT_FLOORS[name], scores.misses()


def _clip(path: Path, plates: list[str], frames_each: int = 6) -> None:
    """Plates driving up a 640×360 lane one after the other, 5 frames a second (H.264)."""
    import av

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=5)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        for text in plates:
            picture = plate_picture(text, 150)
            h, w = picture.shape[:2]
            for i in range(frames_each):
                image = np.full((360, 640, 3), 90, np.uint8)
                y = 300 - i * 45
                image[y : y + h, 245 : 245 + w] = picture
                frame = av.VideoFrame.from_ndarray(image, format="bgr24")
                container.mux(stream.encode(frame))
            for _ in range(12):  # an empty lane between two vehicles
                container.mux(stream.encode(av.VideoFrame.from_ndarray(np.full((360, 640, 3), 90, np.uint8), "bgr24")))
        container.mux(stream.encode(None))


def test_eval_plates_video_reads_one_plate_per_passing_vehicle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        font_path()
    except SceneError as err:
        pytest.skip(str(err))
    clip = tmp_path / "lane.mp4"
    _clip(clip, ["AB-123-CD", "GE-042-ZR"])
    truth = tmp_path / "plates.txt"
    truth.write_text("1,1,245,300,150,32,1.000,AB-123-CD\n19,2,245,300,150,32,1.000,GE-042-ZR\n")
    assert main(["eval", "plates", "--video", str(clip), "--truth", str(truth)]) == 0
    out = capsys.readouterr().out
    lines = dict(line.split(" ", 1) for line in out.splitlines() if not line.startswith(" "))
    assert lines["truth_plates"] == "2"
    assert lines["plates_found"] == "2"
    assert lines["false_tracks"] == "0"
    assert "AB123CD confidence" in out and "GE042ZR confidence" in out
    assert float(lines["reads_per_track"]) >= 4  # each vehicle read on most of its 6 frames, then voted once


def test_the_street_cameras_path_reads_only_below_a_vehicles_windows(tmp_path: Path) -> None:
    """With a detector, each vehicle's plate is looked for in the lower 60 % of its box, as ``plate_reading`` does
    on a street camera: a plate in a car's lower part is read, one in the top of a car's box (its windows) or in a
    person's box is not; photos wider than ``width`` are scaled down, their annotations with them."""
    truth = _rendered_folder(tmp_path / "set")  # plates at x 260-460, y 300-344 of 720×480 pictures
    boxes = {
        110: ((200, 100, 520, 380), ObjectClass.CAR),  # plate at 71-87 % of the box's height: read
        120: ((200, 280, 520, 600), ObjectClass.CAR),  # plate at 6-20 %: behind the windows, never looked at
        130: ((200, 100, 520, 380), ObjectClass.PERSON),  # not a vehicle
    }

    def detect(image: np.ndarray) -> Detections:
        grey = int(image[0, 0, 0])
        (x1, y1, x2, y2), cls = min(boxes.items(), key=lambda kv: abs(kv[0] - grey))[1]
        scale = image.shape[1] / 720
        return Detections.create([(x1 * scale, y1 * scale, x2 * scale, y2 * scale)], [0.9], [int(cls)])

    images = read_folder(tmp_path / "set")
    for width in (None, 540):
        scores = evaluate(PlateReader(detect_side=640), images, crops=False, detect=detect, width=width)
        reads = {r.image: r.read for r in scores.results}
        assert reads == {"one.jpg": normalise(truth["one.jpg"]), "two.jpg": None, "three.jpg": None}, width
        assert scores.vehicles == 2 and scores.as_dict()["vehicles"] == 2
        assert [r.localised for r in scores.results if r.image == "one.jpg"] == [True]


def test_eval_plates_refuses_a_width_too_small_to_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path / "set", "a.jpg", ["a.jpg\t1\t2\t30\t10\tAB123CD"])
    assert main(["eval", "plates", str(tmp_path / "set"), "--width", "100"]) == 2
    assert "--width 100 is too small" in capsys.readouterr().err
