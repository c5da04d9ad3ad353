"""Each MOTChallenge row layout is recognised and read, and malformed files are refused with file, line and reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vigie.evaluation.motfile import MotFileError, MotLayout, read_mot_file


def _write(tmp_path: Path, text: str, name: str = "gt.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_mot15_ten_columns_with_world_coordinates_or_minus_one(tmp_path: Path) -> None:
    # 2DMOT2015 gt: conf 1, then world x, y, z; 2D-only sequences (TUD-Campus…) carry -1 there.
    path = _write(
        tmp_path, "1,1,399,182,121,229,1,-1,-1,-1\n1,2,282,201,92,184,1,4.5,-2.25,0\n2,1,400,183,120,228,1,-1,-1,-1\n"
    )
    f = read_mot_file(path, truth=True)
    assert f.layout is MotLayout.MOT15 and len(f) == 3
    assert f.frames.tolist() == [1, 1, 2] and f.ids.tolist() == [1, 2, 1]
    assert f.boxes[0].tolist() == [399, 182, 520, 411]
    assert f.classes.tolist() == [1, 1, 1], "MOT15 has no class column: the world x (-1, 4.5) is not a class"
    assert f.confidence.tolist() == [1, 1, 1] and f.visibility.tolist() == [1, 1, 1]


def test_mot16_nine_columns_consider_class_visibility(tmp_path: Path) -> None:
    path = _write(tmp_path, "1,1,10,10,5,10,1,1,0.8\n1,2,30,10,5,10,0,7,0.25\n2,3,20,20,5,10,1,3,1\n")
    f = read_mot_file(path, truth=True)
    assert f.layout is MotLayout.MOT16
    assert f.confidence.tolist() == [1, 0, 1]
    assert f.classes.tolist() == [1, 7, 3]
    assert f.visibility.tolist() == [0.8, 0.25, 1.0]


@pytest.mark.parametrize(
    ("text", "layout", "confidence"),
    [
        ("1,1,399,182,121,229,-1\n2,1,400,183,120,228,-1\n", MotLayout.SEVEN_COLUMNS, [-1, -1]),
        ("1,1,399,182,121,229\n2,1,400,183,120,228\n", MotLayout.SIX_COLUMNS, [1, 1]),
    ],
)
def test_seven_and_six_columns(tmp_path: Path, text: str, layout: MotLayout, confidence: list[float]) -> None:
    f = read_mot_file(_write(tmp_path, text), truth=True)
    assert f.layout is layout and f.confidence.tolist() == confidence and f.classes.tolist() == [1, 1]
    assert f.boxes.tolist() == [[399, 182, 520, 411], [400, 183, 520, 411]]


def test_detection_files_with_minus_one_fields(tmp_path: Path) -> None:
    """det.txt: identity -1 and world coordinates -1 (MOT15, and MOT16+ det files keep that shape)."""
    path = _write(tmp_path, "1,-1,155,199,66,162,51.818,-1,-1,-1\n1,-1,283.84,199.64,72.19,177.19,0.14,-1,-1,-1\n")
    f = read_mot_file(path, truth=False)
    assert f.layout is MotLayout.MOT15 and f.ids.tolist() == [-1, -1]
    assert f.confidence.tolist() == [51.818, 0.14]
    with pytest.raises(MotFileError, match=r"line 1: column 2 \(id\) is -1: .*detection file"):
        read_mot_file(path, truth=True)


def test_empty_file_is_an_empty_table(tmp_path: Path) -> None:
    f = read_mot_file(_write(tmp_path, ""), truth=False)
    assert f.layout is MotLayout.EMPTY and len(f) == 0 and f.boxes.shape == (0, 4)


def test_blank_lines_and_comments_keep_line_numbers_right(tmp_path: Path) -> None:
    path = _write(tmp_path, "# exported by hand\n1,1,10,10,5,10,1\n\n1,2,10,10,5,x,1\n")
    with pytest.raises(MotFileError, match=r"gt\.txt, line 4: column 6 \(bb_height\) is 'x', not a number"):
        read_mot_file(path, truth=True)
    assert len(read_mot_file(_write(tmp_path, "# header\n1,1,10,10,5,10,1\n\n", "ok.txt"), truth=True)) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,1,10,10,5,10,1,1\n", r"line 1: 8 columns; MOTChallenge rows have 6, 7, 9"),
        ("1,1,10,10,5,10,1,1,1,1,1\n", r"line 1: 11 columns"),
        ("1,1,10,10,5\n", r"line 1: 5 columns"),
        ("1,1,10,10,5,10,1,-1,-1,-1\n2,1,10,10,5,10,1,1,1\n", r"line 2: 9 columns where line 1 has 10"),
        ("1,1,10,10,5,10,1\n2,one,10,10,5,10,1\n", r"line 2: column 2 \(id\) is 'one', not a number"),
        ("1,1,10,10,5,10,1\n2,1,10,10,5,10,\n", r"line 2: column 7 \(conf\) is '', not a number"),
        ("1,1,10,10,5,10,1\n2,1,10,nan,5,10,1\n", r"line 2: a value is not a finite number"),
        ("1.5,1,10,10,5,10,1\n", r"line 1: column 1 \(frame\) is 1.5: must be a whole frame number"),
        ("1,1,10,10,-5,10,1\n", r"line 1: column 5 \(bb_width\) is -5: .*negative width"),
        ("1,1,10,10,5,10,1,-1,1\n", r"line 1: column 8 \(class\) is -1: a 9-column file is read as MOT16"),
        ("1,1,10,10,5,10,1,1,2\n", r"line 1: column 9 \(visibility\) is 2: .*from 0 to 1"),
        ("1,1,10,10,5,10,1\n1,2,10,10,5,10,1\n1,1,30,10,5,10,1\n", r"line 3: identity 1 already has a box in frame 1"),
    ],
)
def test_malformed_lines_name_the_file_the_line_and_the_fault(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(MotFileError, match=message) as caught:
        read_mot_file(path, truth=True)
    assert str(caught.value).startswith(f"{path}, line ")


def test_not_utf8_and_missing_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "gt.txt"
    path.write_bytes(b"1,1,10,10,5,10,1\n\xff\xfe,1\n")
    with pytest.raises(MotFileError, match="not a UTF-8 text file"):
        read_mot_file(path, truth=True)
    with pytest.raises(MotFileError, match="missing"):
        read_mot_file(tmp_path / "absent.txt", truth=True)


def test_rows_by_frame_groups_without_scanning_per_frame(tmp_path: Path) -> None:
    path = _write(tmp_path, "3,1,0,0,1,1,1\n1,1,0,0,1,1,1\n3,2,0,0,1,1,1\n1,2,0,0,1,1,1\n", "det.txt")
    groups = read_mot_file(path, truth=False).rows_by_frame([1, 2, 3])
    assert {frame: rows.tolist() for frame, rows in groups.items()} == {1: [1, 3], 2: [], 3: [0, 2]}
    assert np.asarray(groups[2]).dtype.kind == "i"
